//! The lifecycle scripts (`scripts/`) against fake `kubectl` and `helm` (`support/bench.rs`): they
//! render and run the plans, what `test-mesh.sh` checks, and shellcheck on the scripts and every plan.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use support::bench::{apply_calls, bin, shellcheck, Bench, BUNDLE, HEALTHY, R};
use support::playground;
use support::repo_root;

#[test]
fn build_and_destroy_scripts_render_then_run_the_plans() {
    let bench = Bench::new(&playground(), None);
    let config = bench.path().join("config.yaml");
    let script = |name: &str, fail: Option<&str>| {
        let mut cmd = Command::new("bash");
        cmd.arg(repo_root().join("scripts").join(name)).env("CONFIG", &config).env_remove("MESH_ENV").env_remove("MESH_RENDER");
        bench.run(cmd, fail, HEALTHY)
    };
    // The scripts render into a fresh folder under TMPDIR; name it like the plan's default.
    let normalize = |calls: Vec<String>| -> Vec<String> {
        calls
            .into_iter()
            .map(|c| {
                c.split(' ')
                    .map(|w| match w.find("/rendered/") {
                        Some(i) if w.starts_with(bench.path().to_str().unwrap()) => format!("{R}{}", &w[i + "/rendered".len()..]),
                        _ => w.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    let (out, calls) = script("build.sh", None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(normalize(calls), apply_calls());
    let (_, plan_destroy) = bench.run_plan(&bench.plan("destroy", None), None);
    let (out, calls) = script("destroy.sh", None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(normalize(calls), plan_destroy);
    // The temporary tree is gone, and the failing step fails the script.
    assert!(!std::fs::read_dir(bench.path()).unwrap().flatten().any(|e| e.file_name().to_string_lossy().starts_with("mesh-render.")));
    let (out, calls) = script("build.sh", Some("helm upgrade --install istio-base"));
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(calls.len(), 3, "{calls:?}");
    // An invalid config renders nothing and runs nothing.
    std::fs::write(&config, "components:\n  istio:\n    enabled: true\n    bogus: 1\n").unwrap();
    let (out, calls) = script("build.sh", None);
    assert_ne!(out.status.code(), Some(0));
    assert!(calls.is_empty());
}

/// `scripts/regenerate-rendered.sh` is `make render` under the original component's name: the tree
/// it writes is the committed one, and `--clean` starts from an empty folder (a stray file goes).
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn regenerate_rendered_writes_what_make_render_writes() {
    let out = tempfile::tempdir().unwrap();
    let tree = out.path().join("rendered");
    std::fs::create_dir_all(tree.join("manifests")).unwrap();
    std::fs::write(tree.join("manifests/99-stray.yaml"), "stray\n").unwrap();
    let run = |args: &[&str]| {
        Command::new("bash")
            .arg(repo_root().join("scripts/regenerate-rendered.sh"))
            .args(args)
            .env("OUT", &tree)
            .env("MESH_RENDER", bin())
            .env_remove("CONFIG")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = run(&["--clean"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!tree.join("manifests/99-stray.yaml").exists(), "--clean renders from an empty folder");
    let committed = repo_root().join("deployment/rendered");
    let files = |root: &Path| -> BTreeSet<String> {
        fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, root, out);
                } else {
                    out.insert(p.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(root, root, &mut out);
        out.retain(|f| !f.starts_with("helm/charts/") && f != "helm/Chart.lock");
        out
    };
    assert_eq!(files(&tree), files(&committed));
    for f in files(&tree) {
        assert_eq!(std::fs::read(tree.join(&f)).unwrap(), std::fs::read(committed.join(&f)).unwrap(), "{f}");
    }
    let o = run(&["--bogus"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn test_mesh_checks_the_live_cluster() {
    let bench = Bench::new(&playground(), None);
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("scripts/test/test-mesh.sh")).env("CONFIG", bench.path().join("config.yaml")).env_remove("MESH_ENV");
    let healthy = "get crd gateways.gateway.networking.k8s.io --output=jsonpath\tv1.4.1\nget gateway knative-gateway --output=jsonpath\tTrue\nget peerauthentication default\tSTRICT\nget ksvc mesh-render-probe\thttp://mesh-render-probe.demo.example.com\nrun mesh-render-client-gateway\t200\nrun mesh-render-client-plaintext\tcurl-exit=56\n";
    let (out, calls) = bench.run(cmd, None, healthy);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let expect_in_order = [
        "kubectl --namespace istio-system rollout status deployment/istiod",
        "kubectl wait --for=condition=Accepted gatewayclass/istio",
        BUNDLE,
        "kubectl --namespace istio-system wait --for=create deployment/knative-gateway-istio deployment/knative-local-gateway-istio",
        "kubectl --namespace istio-system wait --for=condition=Programmed gateway/knative-local-gateway",
        "kubectl --namespace istio-system wait --for=condition=Accepted gateway/knative-gateway",
        "kubectl --namespace istio-system get peerauthentication default --output=jsonpath={.spec.mtls.mode}",
        "kubectl delete namespace mesh-render-verify --ignore-not-found --wait=true",
        "kubectl create namespace mesh-render-verify",
        "kubectl apply --namespace demo --filename -",
        "kubectl wait ksvc/mesh-render-probe --namespace demo --for=condition=Ready",
        "kubectl run mesh-render-client-gateway --namespace mesh-render-verify",
        "kubectl run mesh-render-client-plaintext --namespace mesh-render-verify",
        "kubectl delete ksvc mesh-render-probe --namespace demo",
        "kubectl delete namespace mesh-render-verify",
    ];
    let mut at = 0;
    for want in expect_in_order {
        let found =
            calls[at..].iter().position(|c| c.starts_with(want)).unwrap_or_else(|| panic!("no `{want}` after call {at}: {calls:#?}"));
        at += found + 1;
    }
    let gateway = calls.iter().find(|c| c.contains("mesh-render-client-gateway")).unwrap();
    assert!(
        gateway.contains("-H 'Host: mesh-render-probe.demo.example.com' http://knative-gateway-istio.istio-system.svc.cluster.local/"),
        "{gateway}"
    );
    assert!(calls.iter().any(|c| c.contains("http://mesh-render-echo.demo.svc.cluster.local/")));

    // Each check fails the script: mTLS not STRICT, the gateway not answering, plaintext accepted.
    for (broken, message) in [
        (healthy.replace("\tSTRICT", "\tPERMISSIVE"), "has mode 'PERMISSIVE', expected STRICT"),
        (healthy.replace("\t200", "\t503"), "the Istio gateway answered '503'"),
        (healthy.replace("curl-exit=56", "curl-exit=0"), "the plaintext request was not reset by the sidecar"),
    ] {
        let mut cmd = Command::new("bash");
        cmd.arg(repo_root().join("scripts/test/test-mesh.sh")).env("CONFIG", bench.path().join("config.yaml"));
        let (out, calls) = bench.run(cmd, None, &broken);
        assert_ne!(out.status.code(), Some(0), "{message}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(message), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(calls.last().unwrap().starts_with("kubectl delete namespace mesh-render-verify"), "cleanup runs: {calls:#?}");
    }
}

#[test]
#[ignore = "needs shellcheck: run by `make test` (`make tools` installs it)"]
fn shellcheck_passes_on_the_scripts_and_every_plan() {
    // Every shell script under scripts/ (found, not listed: a new one cannot be missed) and the fake tool.
    let mut scripts = vec!["crates/mesh-render-cli/tests/support/fake-tool.sh".to_string()];
    let mut dirs = vec![repo_root().join("scripts")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "sh") {
                scripts.push(path.strip_prefix(repo_root()).unwrap().display().to_string());
            }
        }
    }
    scripts.sort();
    for expected in ["scripts/regenerate-rendered.sh", "scripts/tools/fetch-tools.sh", "scripts/tools/refresh-reference.sh"] {
        assert!(scripts.iter().any(|s| s == expected), "{expected} not found in {scripts:?}");
    }
    let args: Vec<&str> = std::iter::once("-x").chain(scripts.iter().map(String::as_str)).collect();
    let o = shellcheck(&args, None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let mut checked = 0;
    let mut configs = vec![repo_root().join("config.yaml")];
    configs.extend(
        std::fs::read_dir(repo_root().join("golden")).unwrap().flatten().map(|e| e.path().join("config.yaml")).filter(|p| p.is_file()),
    );
    // A fleet whose kube context holds a `$`, kept as it is in single quotes.
    let temp = tempfile::tempdir().unwrap();
    let literal = temp.path().join("config.yaml");
    std::fs::write(
        &literal,
        std::fs::read_to_string(repo_root().join("golden/fleet-two-networks/config.yaml"))
            .unwrap()
            .replace("context: kind-west", "context: kind-$west"),
    )
    .unwrap();
    configs.push(literal.clone());
    // A fleet with NodePort east-west gateways, one with a node selector: the plans check the nodes.
    let node_port = temp.path().join("node-port.yaml");
    std::fs::write(
        &node_port,
        std::fs::read_to_string(repo_root().join("golden/fleet-two-networks/config.yaml"))
            .unwrap()
            .replace(
                "service: {type: ClusterIP, externalIPs: [172.18.0.3]}",
                r#"service: {type: NodePort, annotations: {traffic.istio.io/nodeSelector: '{"edge": "true"}'}}"#,
            )
            .replace("      eastWest:\n        replicas: 2", "      eastWest:\n        replicas: 2\n        service: {type: NodePort}"),
    )
    .unwrap();
    configs.push(node_port);
    for config in configs {
        let text = std::fs::read_to_string(&config).unwrap();
        let loaded = mesh_render::load(&text, None, mesh_render::config::syntax::Limits::DEFAULT).unwrap();
        let envs: Vec<Option<String>> = std::iter::once(None).chain(loaded.environments.keys().cloned().map(Some)).collect();
        for env in envs {
            let loaded = mesh_render::load(&text, env.as_deref(), mesh_render::config::syntax::Limits::DEFAULT).unwrap();
            // A multi-cluster mesh: the fleet plan, then each cluster's plan, once with a kube context
            // that needs quoting.
            let clusters = loaded.clusters();
            let mut plans: Vec<(String, mesh_render::Loaded, Option<&str>)> = vec![("fleet".into(), loaded.clone(), None)];
            for (i, c) in clusters.iter().enumerate() {
                let one = loaded.clone().with_cluster(Some(c)).unwrap();
                plans.push((format!("cluster {c}"), one, (i == 0).then_some("arn:aws:eks:eu-west-1:1:cluster/$x")));
            }
            for (what, loaded, context) in &plans {
                use mesh_render::plans::Kind;
                // The join plan is a multi-cluster mesh's whole fleet's only.
                let join = (what == "fleet" && !clusters.is_empty()).then_some(Kind::Join);
                for kind in [Kind::Apply, Kind::Verify, Kind::Destroy].into_iter().chain(join) {
                    let plan = mesh_render::plans::render_in_context(kind, loaded, "deployment/rendered", *context).unwrap();
                    let o = shellcheck(&["--shell=sh", "-"], Some(&plan));
                    assert!(
                        o.status.success(),
                        "{} {env:?} {what} {}: {}",
                        config.display(),
                        kind.name(),
                        String::from_utf8_lossy(&o.stdout)
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 50, "{checked} plans checked");
}
