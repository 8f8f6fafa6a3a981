//! Validation of rendered objects against the schemas the cluster will apply.
//!
//! Custom resources are checked against the `openAPIV3Schema` of their upstream CRD, bundled under
//! `schemas/` (extracted from `reference/`; a test keeps them in sync), in strict
//! mode: unknown fields, wrong types, enum violations and missing required fields all fail. The
//! CRDs' CEL rules (`x-kubernetes-validations`) are evaluated too, with kube-cel. Built-in kinds are
//! read into their k8s-openapi types; any field the type does not know, or a wrong type, fails.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde_json::{json, Value};

use crate::versions::Version;

/// One bundled CRD schema.
#[derive(Clone, Copy, Debug)]
pub struct Bundled {
    /// Where it came from, e.g. `istio-1.29.6` (a folder of `reference/`).
    pub source: &'static str,
    pub api_version: &'static str,
    pub kind: &'static str,
    /// Path under `crates/mesh-render/schemas/`.
    pub file: &'static str,
    /// The CRD version's `openAPIV3Schema`, as compact JSON.
    pub schema: &'static str,
}

macro_rules! bundled {
    ($source:literal, $api:literal, $kind:literal, $file:literal) => {
        Bundled {
            source: $source,
            api_version: $api,
            kind: $kind,
            file: concat!($source, "/", $file),
            schema: include_str!(concat!("../../schemas/", $source, "/", $file)),
        }
    };
}

macro_rules! istio_schemas {
    ($($v:literal),*) => {
        [$(
            bundled!($v, "security.istio.io/v1", "PeerAuthentication", "peerauthentication.v1.json"),
            bundled!($v, "security.istio.io/v1", "AuthorizationPolicy", "authorizationpolicy.v1.json"),
            bundled!($v, "telemetry.istio.io/v1", "Telemetry", "telemetry.v1.json"),
            bundled!($v, "networking.istio.io/v1", "DestinationRule", "destinationrule.v1.json"),
            bundled!($v, "networking.istio.io/v1", "Gateway", "gateway.v1.json"),
        )*]
    };
}

const ISTIO: [Bundled; 20] = istio_schemas!("istio-1.29.0", "istio-1.29.6", "istio-1.30.3", "istio-1.31.0-rc.0");

const OTHERS: [Bundled; 13] = [
    bundled!("gateway-api-v1.4.0", "gateway.networking.k8s.io/v1", "Gateway", "gateway.v1.json"),
    bundled!("gateway-api-v1.4.0", "gateway.networking.k8s.io/v1", "HTTPRoute", "httproute.v1.json"),
    bundled!("gateway-api-v1.5.1", "gateway.networking.k8s.io/v1", "Gateway", "gateway.v1.json"),
    bundled!("gateway-api-v1.5.1", "gateway.networking.k8s.io/v1", "HTTPRoute", "httproute.v1.json"),
    bundled!("gateway-api-v1.6.1", "gateway.networking.k8s.io/v1", "Gateway", "gateway.v1.json"),
    bundled!("gateway-api-v1.6.1", "gateway.networking.k8s.io/v1", "HTTPRoute", "httproute.v1.json"),
    bundled!("gie-v1.1.0", "inference.networking.k8s.io/v1", "InferencePool", "inferencepool.v1.json"),
    bundled!("gie-v1.1.0", "inference.networking.x-k8s.io/v1alpha2", "InferenceObjective", "inferenceobjective.v1alpha2.json"),
    bundled!("gie-v1.6.0", "inference.networking.k8s.io/v1", "InferencePool", "inferencepool.v1.json"),
    bundled!("argo-cd-v3.5.1", "argoproj.io/v1alpha1", "Application", "application.v1alpha1.json"),
    bundled!("argo-cd-v3.5.1", "argoproj.io/v1alpha1", "ApplicationSet", "applicationset.v1alpha1.json"),
    bundled!("cert-manager-v1.19.1", "cert-manager.io/v1", "Certificate", "certificate.v1.json"),
    bundled!("cert-manager-v1.19.1", "cert-manager.io/v1", "ClusterIssuer", "clusterissuer.v1.json"),
];

/// Every bundled schema.
pub fn bundled() -> impl Iterator<Item = &'static Bundled> {
    ISTIO.iter().chain(OTHERS.iter())
}

/// Which bundled source validates each API family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sources {
    pub istio: String,
    pub gateway_api: String,
    pub inference: String,
    pub argocd: String,
}

impl Sources {
    /// The sources for an Istio release: the CRDs of its vendored charts
    /// ([`crate::versions::reference_charts`]), and the Gateway API schemas of the minor release it
    /// pins (v1.4.x: v1.4.0; v1.5.x: v1.5.1; v1.6.x: v1.6.1, which changes no API over v1.6.0).
    pub fn for_release(version: Version, inference: &str) -> Sources {
        let istio = format!("istio-{}", crate::versions::reference_charts(version));
        let pin = crate::versions::release(version).map_or("v1.4.0", |r| r.gateway_api);
        Sources {
            istio,
            gateway_api: gateway_api_schemas(pin).into(),
            inference: format!("gie-{inference}"),
            argocd: "argo-cd-v3.5.1".into(),
        }
    }

    /// The sources for what a config renders.
    pub fn for_config(config: &crate::Config) -> Sources {
        let inference = config.ai_serving.as_ref().map_or(crate::config::ai_serving::RELEASES[0], |a| a.release);
        Sources::for_release(config.release.version, inference)
    }

    fn source_for(&self, api_version: &str) -> &str {
        let group = api_version.split('/').next().unwrap_or_default();
        if group.ends_with("istio.io") {
            &self.istio
        } else if group.starts_with("inference.networking") {
            &self.inference
        } else if group == "argoproj.io" {
            &self.argocd
        } else if group == "cert-manager.io" {
            CERT_MANAGER
        } else {
            &self.gateway_api
        }
    }
}

/// The cert-manager release whose CRDs validate the trust objects (the playground's cert-manager).
pub const CERT_MANAGER: &str = "cert-manager-v1.19.1";

/// The bundled Gateway API schemas for a pin: the vendored release of the same minor.
pub fn gateway_api_schemas(pin: &str) -> &'static str {
    match pin.trim_start_matches('v').split('.').nth(1) {
        Some("5") => "gateway-api-v1.5.1",
        Some("6") => "gateway-api-v1.6.1",
        _ => "gateway-api-v1.4.0",
    }
}

/// What kind of check a problem comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// Structure, types, enums, required fields (OpenAPI schema or built-in type).
    Schema,
    /// A CRD's CEL rule.
    Cel,
    /// A kind for which no schema is bundled.
    UnknownKind,
}

/// One problem in one object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// `Kind namespace/name`.
    pub object: String,
    /// JSON path inside the object (`/spec/listeners/0/port`), empty for the object itself.
    pub path: String,
    pub check: Check,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let check = match self.check {
            Check::Schema => "schema",
            Check::Cel => "CEL rule",
            Check::UnknownKind => "unknown kind",
        };
        if self.path.is_empty() {
            write!(f, "{}: {check}: {}", self.object, self.message)
        } else {
            write!(f, "{}: {}: {check}: {}", self.object, self.path, self.message)
        }
    }
}

/// Counts per kind: objects validated and CEL rules evaluated on them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindCount {
    pub objects: usize,
    pub cel_rules: usize,
}

/// The outcome of validating a set of objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub problems: Vec<Problem>,
    /// By `apiVersion/Kind` (`v1/ConfigMap`, `security.istio.io/v1/PeerAuthentication`).
    pub counts: BTreeMap<String, KindCount>,
}

struct Compiled {
    json: jsonschema::Validator,
    cel: kube_cel::CompiledSchema,
    raw: Value,
}

/// Validates objects; compiles each schema once.
pub struct Validator {
    sources: Sources,
    compiled: HashMap<(String, String), Option<Compiled>>,
    cel: kube_cel::Validator,
}

impl Validator {
    pub fn new(sources: Sources) -> Self {
        Validator { sources, compiled: HashMap::new(), cel: kube_cel::Validator::new() }
    }

    /// Validates every object (JSON form of a Kubernetes object).
    pub fn validate(&mut self, objects: &[Value]) -> Report {
        let mut report = Report::default();
        for object in objects {
            self.validate_one(object, &mut report);
        }
        report.problems.sort();
        report
    }

    fn validate_one(&mut self, object: &Value, report: &mut Report) {
        let api_version = object["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let meta = &object["metadata"];
        let name = match (meta["namespace"].as_str(), meta["name"].as_str()) {
            (Some(ns), Some(n)) => format!("{kind} {ns}/{n}"),
            (None, Some(n)) => format!("{kind} {n}"),
            _ => format!("{kind} (unnamed)"),
        };
        let problem = |path: String, check, message: String| Problem { object: name.clone(), path, check, message };
        if meta["name"].as_str().is_none_or(str::is_empty) {
            report.problems.push(problem("/metadata/name".into(), Check::Schema, "metadata.name is required".into()));
        }
        let count = report.counts.entry(format!("{api_version}/{kind}")).or_default();
        count.objects += 1;

        if let Some(errors) = builtin(&api_version, &kind, object) {
            report.problems.extend(errors.into_iter().map(|(path, msg)| problem(path, Check::Schema, msg)));
            return;
        }
        let key = (api_version.clone(), kind.clone());
        if !self.compiled.contains_key(&key) {
            let source = self.sources.source_for(&api_version).to_string();
            let entry = bundled().find(|b| b.source == source && b.api_version == api_version && b.kind == kind).map(compile);
            self.compiled.insert(key.clone(), entry);
        }
        let Some(Some(compiled)) = self.compiled.get(&key) else {
            report.problems.push(problem(String::new(), Check::UnknownKind, format!("no schema is bundled for {api_version} {kind}")));
            return;
        };
        let before = report.problems.len();
        for e in compiled.json.iter_errors(object) {
            report.problems.push(problem(e.instance_path().to_string(), Check::Schema, e.to_string()));
        }
        // CEL rules assume a structurally valid object (a missing required field only makes them
        // fail to evaluate), so they run once the schema passes.
        if report.problems.len() > before {
            return;
        }
        count.cel_rules += count_rules(&compiled.raw, object);
        if let Err(errors) = self.cel.validate_compiled(&compiled.cel, object, None) {
            for e in errors.iter() {
                let path = if e.field_path.is_empty() { String::new() } else { format!("/{}", e.field_path.replace('.', "/")) };
                report.problems.push(problem(path, Check::Cel, format!("{} (rule: {})", e.message, e.rule)));
            }
        }
    }
}

fn compile(b: &Bundled) -> Compiled {
    let raw: Value = serde_json::from_str(b.schema).unwrap_or_else(|e| unreachable!("bundled schema {} is JSON: {e}", b.file));
    let strict = strict_root(&raw);
    let json = jsonschema::validator_for(&strict).unwrap_or_else(|e| unreachable!("bundled schema {} compiles: {e}", b.file));
    Compiled { json, cel: kube_cel::compile_schema(&raw), raw }
}

/// The CRD schema as a strict JSON Schema: what the API server's structural pruning would drop
/// silently becomes an error, so a misspelt field fails a test instead of vanishing in a cluster.
pub fn strict_root(schema: &Value) -> Value {
    let mut out = strict(schema);
    if let Some(props) = out.get_mut("properties").and_then(Value::as_object_mut) {
        props.entry("apiVersion").or_insert(json!({"type": "string"}));
        props.entry("kind").or_insert(json!({"type": "string"}));
        props.entry("metadata").or_insert(json!({"type": "object"}));
    }
    out
}

fn strict(schema: &Value) -> Value {
    let Some(map) = schema.as_object() else { return schema.clone() };
    let mut out = serde_json::Map::new();
    for (k, v) in map {
        let v = match k.as_str() {
            "properties" => {
                Value::Object(v.as_object().map(|p| p.iter().map(|(pk, pv)| (pk.clone(), strict(pv))).collect()).unwrap_or_default())
            }
            "items" | "additionalProperties" | "not" if v.is_object() => strict(v),
            "allOf" | "anyOf" | "oneOf" => Value::Array(v.as_array().map(|a| a.iter().map(strict).collect()).unwrap_or_default()),
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if map.contains_key("properties") && !map.contains_key("additionalProperties") && !preserve {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    if map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        out.remove("type");
        out.insert("anyOf".into(), json!([{"type": "integer"}, {"type": "string"}]));
    }
    if map.get("nullable") == Some(&Value::Bool(true)) {
        if let Some(Value::String(t)) = map.get("type") {
            out.insert("type".into(), json!([t, "null"]));
        }
    }
    Value::Object(out)
}

/// CEL rules on the schema nodes the object actually has a value for: the rules the API server
/// evaluates for this object.
fn count_rules(schema: &Value, value: &Value) -> usize {
    let here = schema.get("x-kubernetes-validations").and_then(Value::as_array).map_or(0, Vec::len);
    let below: usize = match value {
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| {
                let child = schema
                    .get("properties")
                    .and_then(|p| p.get(k))
                    .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
                child.map_or(0, |c| count_rules(c, v))
            })
            .sum(),
        Value::Array(items) => schema.get("items").map_or(0, |s| items.iter().map(|i| count_rules(s, i)).sum()),
        _ => 0,
    };
    here + below
}

/// Built-in kinds: read into the k8s-openapi type; fields it ignores and type errors are problems.
/// `None` when the kind is not a built-in kind mesh-render knows.
fn builtin(api_version: &str, kind: &str, object: &Value) -> Option<Vec<(String, String)>> {
    use k8s_openapi::api::{admissionregistration, apps, batch, core, networking, rbac};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;
    fn check<T: serde::de::DeserializeOwned>(object: &Value) -> Vec<(String, String)> {
        let mut unknown = Vec::new();
        let result: Result<T, _> = serde_ignored::deserialize(object, |path| unknown.push(path.to_string()));
        let mut out: Vec<(String, String)> = unknown
            .into_iter()
            .map(|p| {
                let pointer = format!("/{}", p.replace('.', "/"));
                (pointer, format!("unknown field `{}`", p.rsplit('.').next().unwrap_or(&p)))
            })
            .collect();
        if let Err(e) = result {
            out.push((String::new(), e.to_string()));
        }
        out
    }
    Some(match (api_version, kind) {
        ("v1", "Namespace") => check::<core::v1::Namespace>(object),
        ("v1", "ConfigMap") => check::<core::v1::ConfigMap>(object),
        ("v1", "Service") => check::<core::v1::Service>(object),
        ("v1", "ServiceAccount") => check::<core::v1::ServiceAccount>(object),
        ("apps/v1", "Deployment") => check::<apps::v1::Deployment>(object),
        ("rbac.authorization.k8s.io/v1", "Role") => check::<rbac::v1::Role>(object),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => check::<rbac::v1::RoleBinding>(object),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => check::<rbac::v1::ClusterRole>(object),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => check::<rbac::v1::ClusterRoleBinding>(object),
        ("batch/v1", "Job") => check::<batch::v1::Job>(object),
        ("networking.k8s.io/v1", "NetworkPolicy") => check::<networking::v1::NetworkPolicy>(object),
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration") => {
            check::<admissionregistration::v1::MutatingWebhookConfiguration>(object)
        }
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => check::<apiextensions::v1::CustomResourceDefinition>(object),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_forbids_unknown_fields_but_keeps_preserved_and_maps() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "object", "properties": {"x": {"type": "string"}}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"y": {}}},
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
            "port": {"x-kubernetes-int-or-string": true}
        }});
        let v = jsonschema::validator_for(&strict_root(&schema)).unwrap();
        assert!(v.is_valid(&json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "n"}, "a": {"x": "s"}, "free": {"z": 1}, "map": {"k": "v"}, "port": 8080})));
        assert!(v.is_valid(&json!({"port": "http"})));
        assert!(!v.is_valid(&json!({"a": {"typo": "s"}})));
        assert!(!v.is_valid(&json!({"extra": 1})));
        assert!(!v.is_valid(&json!({"map": {"k": 1}})));
    }

    #[test]
    fn sources_follow_the_release_line() {
        let s = Sources::for_release(Version::new(1, 29, 3), "v1.1.0");
        assert_eq!(s.istio, "istio-1.29.0");
        assert_eq!(Sources::for_release(Version::new(1, 29, 9), "v1.1.0").istio, "istio-1.29.6");
        assert_eq!(Sources::for_release(Version::new(1, 30, 1), "v1.1.0").istio, "istio-1.30.3");
        assert_eq!(s.source_for("inference.networking.k8s.io/v1"), "gie-v1.1.0");
    }
}
