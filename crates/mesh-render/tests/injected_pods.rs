//! The flow evaluator's beliefs about injected pods, checked against the pods Istio's own injector
//! wrote (`oracle inject` on the playground's rendered istiod release, committed in
//! `crates/mesh-render-cli/tests/fixtures/injected/`; `make oracle` fails when they are stale).
//! Each assertion names the rule of `check/flows/eval.rs` or the plans that relies on it.

mod common;

use std::collections::BTreeSet;

use mesh_render::check::flows::eval::{ALWAYS_EXCLUDED, GATEWAY_NAME_LABEL};
use serde_json::Value;

fn injected_pods() -> Vec<(String, Value)> {
    let dir = common::repo_root().join("crates/mesh-render-cli/tests/fixtures/injected");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), serde_json::to_value(yaml).unwrap())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn sidecar_status(pod: &Value) -> Option<Value> {
    pod["metadata"]["annotations"]["sidecar.istio.io/status"].as_str().map(|s| serde_json::from_str(s).unwrap())
}

fn containers<'a>(pod: &'a Value, key: &str) -> Vec<&'a Value> {
    pod["spec"][key].as_array().map(|a| a.iter().collect()).unwrap_or_default()
}

/// The playground's pods as the injector wrote them: which carry a sidecar, and what that sidecar
/// captures. A test that reads only beliefs cannot fail on a wrong belief; this one reads Istio's output.
#[test]
fn the_injectors_pods_bear_out_the_evaluators_beliefs() {
    let pods = injected_pods();
    assert!(pods.len() >= 15, "the playground's injected pods: {:?}", pods.iter().map(|p| &p.0).collect::<Vec<_>>());
    let (mut with_sidecar, mut gateways) = (0, 0);
    for (file, pod) in &pods {
        let labels = &pod["metadata"]["labels"];
        let annotations = &pod["metadata"]["annotations"];
        if labels.get(GATEWAY_NAME_LABEL).is_some() {
            // eval.rs: a gateway pod has no sidecar and no `security.istio.io/tlsMode` label, so a
            // caller's auto mTLS sends it plaintext (the "through the local gateway" rows).
            gateways += 1;
            assert!(sidecar_status(pod).is_none(), "{file}: the injector left gateway pods alone");
            assert!(labels.get("security.istio.io/tlsMode").is_none(), "{file}: {labels}");
            continue;
        }
        let Some(status) = sidecar_status(pod) else {
            // The catalogue's "pod outside the mesh" (in `default`) and Prometheus (in
            // `observability`) have no sidecar (docs/flows.md), nor istiod, whose chart labels its
            // pod `sidecar.istio.io/inject: "false"` (istio 1.29.6 charts/istiod/templates/deployment.yaml:65).
            assert!(
                ["default.pod.yaml", "observability.prometheus.yaml", "istio-system.istiod.yaml"].contains(&file.as_str()),
                "{file}: not injected"
            );
            continue;
        };
        with_sidecar += 1;
        // Issue 20 point 1: the revision is an annotation (and in the status), never a label.
        assert_eq!(annotations["istio.io/rev"], status["revision"], "{file}");
        assert!(labels.get("istio.io/rev").is_none(), "{file}: the injector writes no istio.io/rev label");
        // Auto mTLS reaches the pod (cluster_tls.go: the `tlsMode: istio` endpoint label).
        assert_eq!(labels["security.istio.io/tlsMode"], "istio", "{file}");
        // eval.rs ALWAYS_EXCLUDED: the ports istio-init leaves out of inbound capture (`-d`),
        // besides a pod's own `traffic.sidecar.istio.io/excludeInboundPorts`.
        let init = containers(pod, "initContainers").into_iter().find(|c| c["name"] == "istio-init");
        let args: Vec<&str> = init
            .unwrap_or_else(|| panic!("{file}: no istio-init"))
            .get("args")
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let d = args.iter().position(|a| *a == "-d").map(|i| args[i + 1]).unwrap_or_else(|| panic!("{file}: no -d in {args:?}"));
        let excluded: BTreeSet<u16> = d.split(',').map(|p| p.parse().unwrap()).collect();
        let mut expected: BTreeSet<u16> = ALWAYS_EXCLUDED.into_iter().collect();
        if let Some(own) = annotations["traffic.sidecar.istio.io/excludeInboundPorts"].as_str() {
            expected.extend(own.split(',').map(|p| p.trim().parse::<u16>().unwrap()));
        }
        assert_eq!(excluded, expected, "{file}: istio-init -d {d}");
        // eval.rs: kubelet's HTTP probes go to pilot-agent on 15020, which calls the app inside the pod.
        for c in containers(pod, "containers") {
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if let Some(port) = c[probe]["httpGet"]["port"].as_u64() {
                    assert_eq!(port, 15020, "{file}: {} {probe}", c["name"]);
                }
            }
        }
        // The kubelet's preStop hook on the revision's user container (Knative's drain call to
        // queue-proxy's 8022, the "kubelet preStop hook -> queue-proxy drain" rows, bypass) goes to
        // pilot-agent too.
        for c in containers(pod, "containers") {
            if let Some(port) = c["lifecycle"]["preStop"]["httpGet"]["port"].as_u64() {
                assert_eq!(port, 15020, "{file}: {} preStop", c["name"]);
            }
        }
        // The merged metrics the "Prometheus -> merged Istio metrics" rows scrape.
        assert_eq!(annotations["prometheus.io/port"], "15020", "{file}");
    }
    assert_eq!(gateways, 2, "the two Knative gateways' pods");
    // Two gateways, the pod outside the mesh, Prometheus and istiod.
    assert_eq!(with_sidecar, pods.len() - 5, "every other pod is injected");
}
