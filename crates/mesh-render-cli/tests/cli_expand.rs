//! The CLI with the real tools: `render --expand-charts` with Helm, the committed tree kept current,
//! kubectl reading every rendered file back, and Helm reading the values.

mod support;

use std::process::Command;

use support::{playground, repo_root, run_in, snapshot_tree, stderr, workdir};

/// The Helm 4 binary of `make tools` (`MESH_RENDER_HELM4`, else `.cache/tools/helm4/helm`).
fn helm4() -> String {
    support::helm::locate_helm(4, std::env::var_os("MESH_RENDER_HELM4"), &repo_root())
        .unwrap_or_else(|e| panic!("{e}"))
        .display()
        .to_string()
}

fn reference_charts() -> String {
    repo_root().join("reference/istio-{version}/charts").display().to_string()
}

/// The CI gate: the committed `deployment/rendered/` (expanded charts included) is what
/// `config.yaml` renders to today, as `make render` renders it.
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn committed_deployment_rendered_is_up_to_date() {
    let (helm, charts) = (helm4(), reference_charts());
    let o = run_in(
        &repo_root(),
        &["render", "--out", "deployment/rendered", "--check", "--expand-charts", "--charts", &charts, "--helm", &helm],
    );
    assert_eq!(o.status.code(), Some(0), "deployment/rendered is stale; run `make render`:\n{}", stderr(&o));
}

#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn a_pilot_resources_change_shows_in_the_values_and_the_istiod_deployment() {
    let (helm, charts) = (helm4(), reference_charts());
    let dir = workdir(&playground());
    let expand = ["--expand-charts", "--charts", charts.as_str(), "--helm", helm.as_str()];
    let render = |out: &str| {
        let o = run_in(dir.path(), &[&["render", "--out", out][..], &expand[..]].concat());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    };
    render("before");
    std::fs::write(
        dir.path().join("config.yaml"),
        playground().replacen("requests: {cpu: 500m, memory: 2048Mi}", "requests: {cpu: 750m, memory: 3Gi}", 1),
    )
    .unwrap();
    render("after");
    let changed: Vec<String> = snapshot_tree(&dir.path().join("before"))
        .into_iter()
        .zip(snapshot_tree(&dir.path().join("after")))
        .filter(|((_, a), (_, b))| a != b)
        .map(|((p, _), _)| p.strip_prefix(dir.path().join("before")).unwrap().display().to_string())
        .collect();
    // istiod's `values` ConfigMap carries the merged chart values, so it changes with them.
    assert_eq!(
        changed,
        [
            "expanded/istiod/configmap-values.yaml",
            "expanded/istiod/deployment-istiod.yaml",
            "helm/values.yaml",
            "lifecycle/istiod-values.yaml"
        ]
    );
    let deployment = std::fs::read_to_string(dir.path().join("after/expanded/istiod/deployment-istiod.yaml")).unwrap();
    assert!(deployment.contains("requests:\n            cpu: 750m\n            memory: 3Gi"), "{deployment}");
    // --check sees the expanded part too.
    std::fs::write(dir.path().join("after/expanded/istiod/deployment-istiod.yaml"), "tampered\n").unwrap();
    let o = run_in(dir.path(), &[&["render", "--out", "after", "--check"][..], &expand[..]].concat());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("differs:   expanded/istiod/deployment-istiod.yaml"), "{}", stderr(&o));
}

#[test]
fn expand_without_helm_fails_clearly_and_writes_nothing() {
    let dir = workdir(&playground());
    let o = run_in(dir.path(), &["render", "--out", "out", "--expand-charts", "--helm", "no-such-helm-binary"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("error: --expand-charts: `no-such-helm-binary` was not found: --expand-charts runs Helm (3.17 or 4.x)"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("out").exists());
    // The normal render does not need Helm.
    assert_eq!(run_in(dir.path(), &["render", "--out", "out"]).status.code(), Some(0));
}

/// Charts of another version are refused rather than silently rendered.
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn expand_with_charts_of_another_version_fails_and_writes_nothing() {
    let dir = workdir(&playground());
    let charts = repo_root().join("reference/istio-1.29.0/charts").display().to_string();
    let o = run_in(dir.path(), &["render", "--out", "out", "--expand-charts", "--charts", &charts, "--helm", &helm4()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is the `base` chart 1.29.0, but the config asks for Istio 1.29.6"), "{}", stderr(&o));
    assert!(!dir.path().join("out").exists());
}

#[test]
fn check_rendered_validates_a_tree_and_a_stream() {
    let dir = workdir(&playground());
    assert_eq!(run_in(dir.path(), &["render", "--out", "out"]).status.code(), Some(0));
    let o = run_in(dir.path(), &["check", "--rendered", "out"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("validated against istio-1.29.6, gateway-api-v1.4.0"), "{err}");
    assert!(err.contains("security.istio.io/v1/PeerAuthentication: 6 object(s), 26 CEL rule(s) evaluated"), "{err}");
    assert!(err.ends_with("out: 22 objects valid\n"), "{err}");

    // Break one field of each class in the rendered files.
    let security = dir.path().join("out/manifests/10-security.yaml");
    let text = std::fs::read_to_string(&security).unwrap();
    let broken =
        text.replacen("mode: STRICT", "mode: STRICTEST", 1).replacen("  selector:\n    matchLabels:\n      app: eventing-webhook\n", "", 1);
    std::fs::write(&security, broken).unwrap();
    let o = run_in(dir.path(), &["check", "--rendered", "out"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert!(err.contains("PeerAuthentication istio-system/default: /spec/mtls/mode: schema: \"STRICTEST\" is not one of"), "{err}");
    assert!(
        err.contains("PeerAuthentication knative-eventing/eventing-webhook: /spec: CEL rule: portLevelMtls requires selector"),
        "{err}"
    );
    assert!(err.ends_with("out: 2 problem(s); 0 error(s), 0 warning(s) from the mesh analyzers\n"), "{err}");

    let o = Command::new(env!("CARGO_BIN_EXE_mesh-render"))
        .current_dir(dir.path())
        .args(["check", "--rendered", "-", "--istio-version", "1.30.3"])
        .stdin(std::fs::File::open(dir.path().join("out/manifests/30-gateways.yaml")).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("validated against istio-1.30.3"));
}

/// kubectl's parser reads every committed Kubernetes file (manifests and expanded charts) back to
/// the same objects mesh-render's own reader sees.
#[test]
#[ignore = "needs kubectl on PATH: run by `make test` (`make tools` checks for it)"]
fn kubectl_reads_every_committed_rendered_file_back_unchanged() {
    let root = repo_root().join("deployment/rendered");
    let mut checked = 0;
    for (path, bytes) in snapshot_tree(&root) {
        let rel = path.strip_prefix(&root).unwrap().display().to_string();
        // Helm values (the wrapper chart's and the per-chart ones of lifecycle/) are not objects.
        if rel.starts_with("helm/") || rel.ends_with("-values.yaml") {
            continue;
        }
        let text = String::from_utf8(bytes).unwrap();
        let ours: Vec<serde_json::Value> = mesh_render::config::syntax::parse_documents(
            &text,
            mesh_render::config::syntax::Limits { max_bytes: 1 << 26, max_depth: 256, max_nodes: 5_000_000 },
        )
        .unwrap()
        .iter()
        .map(mesh_render::config::syntax::Node::to_json)
        .collect();
        let out = Command::new("kubectl").args(["label", "--local", "-o", "json", "probe=1", "-f"]).arg(&path).output().unwrap();
        assert!(out.status.success(), "{rel}: {}", String::from_utf8_lossy(&out.stderr));
        let theirs: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&out.stdout)
            .into_iter::<serde_json::Value>()
            .map(|v| {
                let mut v = v.unwrap();
                let labels = v["metadata"]["labels"].as_object_mut().unwrap();
                labels.remove("probe");
                if labels.is_empty() {
                    v["metadata"].as_object_mut().unwrap().remove("labels");
                }
                v
            })
            .collect();
        assert_eq!(theirs.len(), ours.len(), "{rel}");
        for (t, o) in theirs.iter().zip(&ours) {
            assert!(same_json(t, o), "{rel}: kubectl read {t}\nmesh-render meant {o}");
        }
        checked += 1;
    }
    assert!(checked >= 30, "{checked} files");
}

/// Equal, with numbers compared by value (kubectl writes 1.0 back as 1).
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => x.as_f64() == y.as_f64(),
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q)),
        (Object(x), Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w))),
        _ => a == b,
    }
}

/// The YAML 1.1 risky strings survive the Helm values form too: the real Helm reads the rendered
/// `values.yaml` and puts each istiod env value into the Deployment unchanged.
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn risky_strings_survive_the_helm_values() {
    let (helm, charts) = (helm4(), reference_charts());
    let text = std::fs::read_to_string(repo_root().join("golden/yaml11-strings/config.yaml")).unwrap();
    let dir = workdir(&text);
    let o = run_in(dir.path(), &["render", "--out", "out", "--expand-charts", "--charts", &charts, "--helm", &helm]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let deployment = std::fs::read_to_string(dir.path().join("out/expanded/istiod/deployment-istiod.yaml")).unwrap();
    let docs = mesh_render::config::syntax::parse_documents(&deployment, mesh_render::config::syntax::Limits::DEFAULT).unwrap();
    let json = docs[0].to_json();
    let env: std::collections::BTreeMap<String, serde_json::Value> = json["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?.to_string(), e["value"].clone())))
        .collect();
    for (name, value) in [
        ("FLAG_ON", "on"),
        ("FLAG_YES", "yes"),
        ("FLAG_N", "n"),
        ("HEX", "0X1F"),
        ("UNDERSCORE", "1_000"),
        ("DATE", "2024-01-01"),
        ("TILDE", "~"),
        ("NULL_WORD", "null"),
        ("OCTAL", "0755"),
        ("FLOATISH", "1e3"),
        ("SEXAGESIMAL", "1:20"),
        ("EMPTY", ""),
    ] {
        assert_eq!(env.get(name), Some(&serde_json::Value::String(value.into())), "{name}");
    }
    // And kubectl reads the expanded Deployment the same way.
    let out = Command::new("kubectl")
        .args(["label", "--local", "-o", "json", "probe=1", "-f"])
        .arg(dir.path().join("out/expanded/istiod/deployment-istiod.yaml"))
        .output()
        .unwrap();
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs["spec"]["template"]["spec"]["containers"][0]["env"], json["spec"]["template"]["spec"]["containers"][0]["env"]);
}

/// A fleet's clusters on different networks each get their east-west gateway from Istio's `gateway`
/// chart, expanded under `expanded/istio-eastwestgateway/`: the Service carries the cluster's network
/// label and the chart's network-gateway ports (15021, 15443, 15012, 15017:
/// `charts/gateway/templates/service.yaml:11-13,52-64`), which is what istiod reads to find the
/// gateway of a network. Helm checks the values against the chart's `values.schema.json` before it
/// templates; the schema's top level refuses unknown keys, so values the chart would ignore fail.
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn a_fleets_east_west_gateways_are_expanded_from_the_gateway_chart() {
    let (helm, charts) = (helm4(), reference_charts());
    let dir = workdir(&std::fs::read_to_string(repo_root().join("golden/fleet-two-networks/config.yaml")).unwrap());
    let o = run_in(dir.path(), &["render", "--out", "out", "--expand-charts", "--charts", &charts, "--helm", &helm]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for (cluster, network, service_type) in [("east", "net-east", "LoadBalancer"), ("west", "net-west", "ClusterIP")] {
        let tree = dir.path().join("out/clusters").join(cluster);
        let text = std::fs::read_to_string(tree.join("expanded/istio-eastwestgateway/service-istio-eastwestgateway.yaml")).unwrap();
        let docs = support::helm::documents(&text);
        let service = support::helm::object(&docs, "Service", "istio-eastwestgateway").unwrap_or_else(|| panic!("{cluster}: {text}"));
        assert_eq!(support::helm::text(service, "metadata.namespace"), Some("istio-system"), "{cluster}");
        let labels = support::helm::json(support::helm::at(service, "metadata.labels").unwrap());
        assert_eq!(labels["topology.istio.io/network"], network, "{cluster}: {text}");
        assert_eq!(labels["istio"], "eastwestgateway", "{cluster}: the cross-network Gateway's selector");
        let mut ports: Vec<&str> =
            support::helm::items(support::helm::at(service, "spec.ports")).iter().filter_map(|p| support::helm::text(p, "port")).collect();
        ports.sort_unstable();
        assert_eq!(ports, ["15012", "15017", "15021", "15443"], "{cluster}: {text}");
        assert_eq!(support::helm::text(service, "spec.type"), Some(service_type), "{cluster}");
        let deployment =
            std::fs::read_to_string(tree.join("expanded/istio-eastwestgateway/deployment-istio-eastwestgateway.yaml")).unwrap();
        assert!(deployment.contains(&format!("- name: ISTIO_META_REQUESTED_NETWORK_VIEW\n          value: {network}\n")), "{deployment}");
    }
    let west =
        std::fs::read_to_string(dir.path().join("out/clusters/west/expanded/istio-eastwestgateway/service-istio-eastwestgateway.yaml"))
            .unwrap();
    assert!(west.contains("externalIPs:\n  - \"172.18.0.3\"\n"), "{west}");

    // The schema is enforced by `helm template` itself: the rendered values with a key the chart
    // does not take, or a value of the wrong type, are refused.
    let values = std::fs::read_to_string(dir.path().join("out/clusters/west/lifecycle/istio-eastwestgateway-values.yaml")).unwrap();
    let chart = repo_root().join("reference/istio-1.29.6/charts/gateway");
    for (broken, refusal) in [
        (format!("{values}networkGateways: net-west\n"), "additional properties 'networkGateways' not allowed"),
        (values.replacen("replicaCount: 2", "replicaCount: two", 1), "/replicaCount"),
    ] {
        let file = dir.path().join("broken-values.yaml");
        std::fs::write(&file, broken).unwrap();
        let o = Command::new(&helm)
            .args(["template", "istio-eastwestgateway", "--namespace", "istio-system", "--kube-version", "1.34.0", "-f"])
            .arg(&file)
            .arg(&chart)
            .env("HOME", dir.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{refusal}: {}", stderr(&o));
        assert!(stderr(&o).contains("don't meet the specifications of the schema") && stderr(&o).contains(refusal), "{}", stderr(&o));
    }

    // One network: no east-west gateway, so no gateway chart.
    let dir = workdir(&std::fs::read_to_string(repo_root().join("golden/fleet-one-network/config.yaml")).unwrap());
    let o = run_in(dir.path(), &["render", "--out", "out", "--expand-charts", "--charts", &charts, "--helm", &helm]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(dir.path().join("out/clusters/east/expanded/istiod").is_dir());
    assert!(!dir.path().join("out/clusters/east/expanded/istio-eastwestgateway").exists());
}

/// The gateway chart must be the config's version: reference/ vendors it for some versions only, and
/// a version without it is a clear error that writes nothing.
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn an_east_west_gateway_without_its_gateway_chart_fails_clearly() {
    let text = std::fs::read_to_string(repo_root().join("golden/fleet-two-networks/config.yaml")).unwrap();
    let dir = workdir(&text.replacen("version: \"1.29.6\"", "version: \"1.29.0\"", 1));
    let o = run_in(
        dir.path(),
        &["--cluster", "west", "render", "--out", "out", "--expand-charts", "--charts", &reference_charts(), "--helm", &helm4()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("reference/istio-1.29.0/charts/gateway is not an unpacked `gateway` chart, which the east-west gateway `istio-eastwestgateway` is installed from (Istio's gateway chart 1.29.0)"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("out").exists());
}
