//! The bundled CRD schemas, their sync with the vendored reference data (`reference/`), and proof that each
//! validator catches its class of mistake.

mod common;

use std::path::PathBuf;

use mesh_render::check::schema::{bundled, Check, Sources, Validator};
use serde_json::{json, Value};

/// The reference files a bundled source was extracted from.
fn reference_files(source: &str) -> Vec<PathBuf> {
    let reference = common::repo_root().join("reference");
    let dir = if let Some(v) = source.strip_prefix("istio-") {
        return vec![reference.join(format!("istio-{v}/charts/base/files/crd-all.gen.yaml"))];
    } else if let Some(v) = source.strip_prefix("gie-") {
        reference.join(format!("gateway-api-inference-extension-{v}/bases"))
    } else if source.starts_with("gateway-api-") {
        reference.join(source).join("standard")
    } else {
        reference.join(source).join("crds")
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// `openAPIV3Schema` of `kind` at `api_version` in the reference CRDs, as compact sorted JSON.
fn extract(source: &str, api_version: &str, kind: &str) -> String {
    let (group, version) = api_version.split_once('/').unwrap();
    for file in reference_files(source) {
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let Ok(crd) = <serde_json::Value as serde::Deserialize>::deserialize(doc) else { continue };
            if crd["kind"] != "CustomResourceDefinition" || crd["spec"]["group"] != group || crd["spec"]["names"]["kind"] != kind {
                continue;
            }
            let versions = crd["spec"]["versions"].as_array().unwrap();
            let v = versions.iter().find(|v| v["name"] == version).unwrap_or_else(|| panic!("{source}: {kind} has no {version}"));
            return serde_json::to_string(&v["schema"]["openAPIV3Schema"]).unwrap() + "\n";
        }
    }
    panic!("{source}: no CRD for {api_version} {kind}");
}

/// `MESH_RENDER_UPDATE_SCHEMAS=1 cargo test --test schemas` (or `make schemas`) rewrites them.
#[test]
fn bundled_schemas_match_the_reference_crds() {
    let update = std::env::var_os("MESH_RENDER_UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for b in bundled() {
        let fresh = extract(b.source, b.api_version, b.kind);
        if fresh != b.schema {
            if update {
                std::fs::write(common::repo_root().join("crates/mesh-render/schemas").join(b.file), &fresh).unwrap();
            }
            stale.push(b.file);
        }
    }
    assert!(update || stale.is_empty(), "stale bundled schemas (run `make schemas`): {stale:?}");
}

fn validate(object: Value) -> Vec<String> {
    let mut v = Validator::new(Sources::for_release(mesh_render::versions::Version::new(1, 29, 6), "v1.1.0"));
    v.validate(&[object]).problems.iter().map(ToString::to_string).collect()
}

fn peer_authentication(spec: Value) -> Value {
    json!({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication", "metadata": {"name": "p", "namespace": "ns"}, "spec": spec})
}

#[test]
fn every_golden_render_is_valid_and_rules_are_counted() {
    let mut totals: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for case in common::golden_cases() {
        let loaded = case.loaded();
        let rendered = mesh_render::render(&loaded);
        // The Argo CD Applications too (argocd/applications.yaml), against Argo CD's CRD.
        let objects: Vec<Value> =
            rendered.manifests.iter().chain(&rendered.applications).map(|m| serde_json::to_value(&m.object).unwrap()).collect();
        let mut v = Validator::new(Sources::for_config(loaded.selected()));
        let report = v.validate(&objects);
        assert!(report.problems.is_empty(), "{}: {:#?}", case.snapshot_name(), report.problems);
        for (kind, c) in report.counts {
            let t = totals.entry(kind).or_default();
            t.0 += c.objects;
            t.1 += c.cel_rules;
        }
    }
    eprintln!("objects and CEL rules validated per kind: {totals:#?}");
    assert!(totals["gateway.networking.k8s.io/v1/Gateway"].1 > 0, "no Gateway CEL rule was evaluated");
    assert!(totals["security.istio.io/v1/PeerAuthentication"].1 > 0, "no PeerAuthentication CEL rule was evaluated");
    assert!(totals["argoproj.io/v1alpha1/Application"].0 >= 6, "the app-of-apps golden config's Applications were not validated");
}

/// A multi-cluster mesh's ApplicationSet (`fleet/applicationset.yaml`) against Argo CD's CRD.
#[test]
fn every_golden_fleets_application_set_is_valid() {
    let mut checked = 0;
    for case in common::fleet_cases() {
        let loaded = case.loaded();
        let fleet = mesh_render::render_fleet(&loaded).expect("a multi-cluster mesh");
        let objects: Vec<Value> = fleet.application_set.iter().map(|m| serde_json::to_value(&m.object).unwrap()).collect();
        let mut v = Validator::new(Sources::for_config(loaded.selected()));
        let report = v.validate(&objects);
        assert!(report.problems.is_empty(), "{}: {:#?}", case.snapshot_name(), report.problems);
        checked += report.counts.get("argoproj.io/v1alpha1/ApplicationSet").map_or(0, |c| c.objects);
    }
    assert!(checked >= 1, "no golden fleet has an ApplicationSet");
}

#[test]
fn an_unknown_field_fails() {
    assert_eq!(
        validate(peer_authentication(json!({"mtls": {"mode": "STRICT", "strict": true}}))),
        ["PeerAuthentication ns/p: /spec/mtls: schema: Additional properties are not allowed ('strict' was unexpected)"]
    );
}

#[test]
fn a_wrong_type_fails() {
    assert_eq!(
        validate(peer_authentication(json!({"mtls": {"mode": 1}}))),
        [
            "PeerAuthentication ns/p: /spec/mtls/mode: schema: 1 is not of type \"string\"",
            "PeerAuthentication ns/p: /spec/mtls/mode: schema: 1 is not one of \"UNSET\", \"DISABLE\" or 2 other candidates",
        ]
    );
}

#[test]
fn an_enum_violation_fails() {
    assert_eq!(
        validate(peer_authentication(json!({"mtls": {"mode": "STRICTEST"}}))),
        ["PeerAuthentication ns/p: /spec/mtls/mode: schema: \"STRICTEST\" is not one of \"UNSET\", \"DISABLE\" or 2 other candidates"]
    );
}

#[test]
fn a_missing_required_field_fails() {
    let gateway = json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "g", "namespace": "ns"},
        "spec": {"gatewayClassName": "istio", "listeners": [{"name": "http", "protocol": "HTTP"}]}});
    assert_eq!(validate(gateway), ["Gateway ns/g: /spec/listeners/0: schema: \"port\" is a required property"]);
}

#[test]
fn a_cel_rule_fails() {
    assert_eq!(
        validate(peer_authentication(json!({"portLevelMtls": {"8443": {"mode": "PERMISSIVE"}}}))),
        ["PeerAuthentication ns/p: /spec: CEL rule: portLevelMtls requires selector (rule: has(self.portLevelMtls) ? (((has(self.selector) && has(self.selector.matchLabels)) ? self.selector.matchLabels : {}).size() > 0) : true)"]
    );
}

#[test]
fn builtin_kinds_reject_unknown_fields_and_wrong_types() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}, "data": {"a": "b"}, "dta": {}});
    assert_eq!(validate(cm), ["ConfigMap ns/c: /dta: schema: unknown field `dta`"]);
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}, "data": {"a": true}});
    let problems = validate(cm);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("ConfigMap ns/c: schema: invalid type: boolean `true`, expected a string"), "{problems:?}");
}

#[test]
fn an_unbundled_kind_is_reported() {
    let obj = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    let mut v = Validator::new(Sources::for_release(mesh_render::versions::Version::new(1, 29, 0), "v1.1.0"));
    let report = v.validate(&[obj]);
    assert_eq!(report.problems[0].check, Check::UnknownKind);
}

/// The Inference Extension CRDs that `aiServing.installCRDs` renders, kept equal to the reference.
#[test]
fn bundled_inference_crds_match_the_reference() {
    let update = std::env::var_os("MESH_RENDER_UPDATE_SCHEMAS").is_some();
    let expected = [
        ("v1.1.0", "inferencepools.inference.networking.k8s.io"),
        ("v1.1.0", "inferenceobjectives.inference.networking.x-k8s.io"),
        ("v1.6.0", "inferencepools.inference.networking.k8s.io"),
    ];
    let bundled: Vec<_> = mesh_render::api::inference::bundled_crds().collect();
    assert_eq!(bundled.len(), expected.len());
    let mut stale = Vec::new();
    for ((release, name), (bundled_release, bundled_json)) in expected.iter().zip(bundled) {
        assert_eq!(*release, bundled_release);
        let mut fresh = None;
        for file in reference_files(&format!("gie-{release}")) {
            let text = std::fs::read_to_string(&file).unwrap();
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let crd = <Value as serde::Deserialize>::deserialize(doc).unwrap();
                if crd["metadata"]["name"] == *name {
                    fresh = Some(serde_json::to_string(&crd).unwrap() + "\n");
                }
            }
        }
        let fresh = fresh.unwrap_or_else(|| panic!("gie-{release}: no CRD {name}"));
        if fresh != bundled_json {
            if update {
                std::fs::write(common::repo_root().join(format!("crates/mesh-render/crds/gie-{release}/{name}.json")), &fresh).unwrap();
            }
            stale.push(format!("gie-{release}/{name}"));
        }
    }
    assert!(update || stale.is_empty(), "stale bundled CRDs (run `make schemas`): {stale:?}");
}
