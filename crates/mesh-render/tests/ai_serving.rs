//! AI serving: what each pool renders, in both picker TLS modes.

mod common;

use mesh_render::syntax::Limits;
use serde_json::Value;

fn render(yaml: &str) -> Vec<Value> {
    let loaded = mesh_render::load(yaml, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
    mesh_render::render(&loaded).manifests.iter().map(|m| serde_json::to_value(&m.object).unwrap()).collect()
}

fn config(tls: &str, apps: &str) -> String {
    format!(
        "components:\n  istio:\n    enabled: true\n    namespaces: {{apps: [{apps}]}}\n    aiServing:\n      pools:\n        - {{name: llm, namespace: ai, selector: {{app: vllm}}, targetPorts: [8000], endpointPicker: {{tls: {tls}}}}}\n"
    )
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

#[test]
fn self_signed_picker_gets_a_destination_rule_and_an_uncaptured_port() {
    let objects = render(&config("selfSigned", ""));
    let dr = find(&objects, "DestinationRule", "llm-epp").expect("DestinationRule");
    assert_eq!(dr["spec"]["host"], "llm-epp.ai.svc.cluster.local");
    assert_eq!(dr["spec"]["trafficPolicy"]["tls"], serde_json::json!({"mode": "SIMPLE", "insecureSkipVerify": true}));
    let deployment = find(&objects, "Deployment", "llm-epp").unwrap();
    // The pool namespace joins the mesh, so the sidecar must leave 9002 to the picker's own TLS.
    assert_eq!(deployment["spec"]["template"]["metadata"]["annotations"]["traffic.sidecar.istio.io/excludeInboundPorts"], "9002");
    assert!(deployment["spec"]["template"]["spec"]["containers"][0]["args"].as_array().unwrap().contains(&"--secure-serving=true".into()));
    let ns = find(&objects, "Namespace", "ai").unwrap();
    assert_eq!(ns["metadata"]["labels"]["istio-injection"], "enabled");
}

#[test]
fn mesh_picker_gets_neither_destination_rule_nor_annotation() {
    let objects = render(&config("mesh", ""));
    assert!(find(&objects, "DestinationRule", "llm-epp").is_none());
    let deployment = find(&objects, "Deployment", "llm-epp").unwrap();
    assert!(deployment["spec"]["template"]["metadata"].get("annotations").is_none());
    assert!(deployment["spec"]["template"]["spec"]["containers"][0]["args"].as_array().unwrap().contains(&"--secure-serving=false".into()));
}

#[test]
fn pool_route_and_access_are_complete() {
    let objects = render(&config("mesh", "ai"));
    let pool = find(&objects, "InferencePool", "llm").unwrap();
    assert_eq!(pool["apiVersion"], "inference.networking.k8s.io/v1");
    assert_eq!(
        pool["spec"]["endpointPickerRef"],
        serde_json::json!({"group": "", "kind": "Service", "name": "llm-epp", "port": {"number": 9002}, "failureMode": "FailClose"})
    );
    let route = find(&objects, "HTTPRoute", "llm").unwrap();
    assert_eq!(
        route["spec"]["rules"][0]["backendRefs"][0],
        serde_json::json!({"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "llm", "weight": 1})
    );
    assert_eq!(route["spec"]["parentRefs"][0]["name"], "inference-gateway");
    assert!(find(&objects, "Gateway", "inference-gateway").is_some());
    let service = find(&objects, "Service", "llm-epp").unwrap();
    assert_eq!(service["spec"]["ports"][0]["appProtocol"], "http2");
    let models = find(&objects, "AuthorizationPolicy", "llm-model-servers").unwrap();
    assert_eq!(models["spec"]["selector"]["matchLabels"]["app"], "vllm");
    assert_eq!(models["spec"]["rules"][0]["from"][0]["source"]["namespaces"][0], "istio-system");
    assert_eq!(models["spec"]["rules"][0]["to"][0]["operation"]["ports"][0], "8000");
    let epp = find(&objects, "AuthorizationPolicy", "llm-epp").unwrap();
    assert_eq!(epp["spec"]["rules"][0]["to"][0]["operation"]["ports"][0], "9002");
    // An app namespace keeps its namespace-wide policy too.
    assert!(find(&objects, "AuthorizationPolicy", "allow-mesh-and-knative").is_some());
}

#[test]
fn pools_switch_istiod_support_on() {
    let loaded = mesh_render::load(&config("mesh", ""), None, Limits::DEFAULT).unwrap();
    let values = mesh_render::control_plane::values(loaded.selected());
    assert_eq!(values.istiod().env.get("ENABLE_GATEWAY_API_INFERENCE_EXTENSION").map(String::as_str), Some("true"));
    let without = mesh_render::load("components:\n  istio:\n    enabled: true\n", None, Limits::DEFAULT).unwrap();
    assert!(!mesh_render::control_plane::values(without.selected()).istiod().env.contains_key("ENABLE_GATEWAY_API_INFERENCE_EXTENSION"));
}

#[test]
fn crds_are_rendered_first_only_when_asked() {
    let yaml = config("mesh", "").replace("    aiServing:\n", "    aiServing:\n      installCRDs: true\n");
    let loaded = mesh_render::load(&yaml, None, Limits::DEFAULT).unwrap();
    let rendered = mesh_render::render(&loaded);
    let tree = rendered.tree();
    let crds = &tree["manifests/05-inference-crds.yaml"];
    assert_eq!(crds.matches("kind: CustomResourceDefinition").count(), 2);
    assert!(!render(&config("mesh", "")).iter().any(|o| o["kind"] == "CustomResourceDefinition"));
}
