//! Mesh analyzers: checks with stable codes that catch what breaks Knative under Istio before
//! anything is applied. They look at the whole intended mesh: the config (when there is one), the
//! objects (rendered by mesh-render or read from files) and the wrapper chart's Helm values.
//!
//! Codes are stable: a code is never reused for another check. One module per family of checks.

mod annotations;
pub mod fleet;
mod flows;
mod inference;
mod injection;
mod knative;
mod revisions;
mod security;
mod telemetry;
mod versions;

use std::cell::OnceCell;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::config::Config;
use crate::diagnostics::{Diagnostic, Rule};
use crate::{Loaded, MeshFacts, Object};

pub use security::istio_match;

/// An object under analysis and where it came from.
///
/// Objects mesh-render rendered stay typed: the checks read their metadata and the few fields they
/// need directly, and the JSON form is built only for the objects a check reads by path (at 10,000
/// app namespaces, converting every object to JSON was 40% of a render and most of its memory).
#[derive(Clone, Debug)]
pub struct Subject<'a> {
    typed: Option<&'a Object>,
    json: OnceCell<Value>,
    /// `file` or `file#3` (the fourth document); empty for objects mesh-render rendered.
    pub origin: String,
}

impl<'a> Subject<'a> {
    /// An object read from a file (`check --rendered`), as JSON.
    pub fn read(json: Value, origin: impl Into<String>) -> Self {
        Subject { typed: None, json: OnceCell::from(json), origin: origin.into() }
    }

    /// An object mesh-render rendered.
    pub fn rendered(object: &'a Object) -> Self {
        Subject { typed: Some(object), json: OnceCell::new(), origin: String::new() }
    }

    /// The object as JSON (built on first use for rendered objects).
    pub fn json(&self) -> &Value {
        self.json.get_or_init(|| self.typed.map(|o| serde_json::to_value(o).unwrap_or_default()).unwrap_or_default())
    }

    fn meta(&self) -> Option<&'a ObjectMeta> {
        self.typed.map(Object::metadata)
    }

    pub fn kind(&self) -> &str {
        match self.typed {
            Some(o) => o.kind(),
            None => self.json()["kind"].as_str().unwrap_or_default(),
        }
    }

    pub fn namespace(&self) -> &str {
        match self.meta() {
            Some(m) => m.namespace.as_deref().unwrap_or_default(),
            None => self.json()["metadata"]["namespace"].as_str().unwrap_or_default(),
        }
    }

    pub fn name(&self) -> &str {
        match self.meta() {
            Some(m) => m.name.as_deref().unwrap_or_default(),
            None => self.json()["metadata"]["name"].as_str().unwrap_or_default(),
        }
    }

    /// `Kind namespace/name`.
    pub fn id(&self) -> String {
        match self.namespace() {
            "" => format!("{} {}", self.kind(), self.name()),
            ns => format!("{} {ns}/{}", self.kind(), self.name()),
        }
    }

    pub fn labels(&self) -> Vec<(&str, &str)> {
        match self.meta() {
            Some(m) => string_map(m.labels.as_ref()),
            None => json_string_map(&self.json()["metadata"]["labels"]),
        }
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        match self.meta() {
            Some(m) => m.labels.as_ref()?.get(key).map(String::as_str),
            None => self.json()["metadata"]["labels"][key].as_str(),
        }
    }

    /// Annotation keys on the object (`metadata`) and on its pod template (`spec.template.metadata`).
    pub fn annotation_keys(&self) -> Vec<(&'static str, &str)> {
        let (own, template) = match self.typed {
            Some(o) => {
                let template = match o {
                    Object::Deployment(d) => {
                        d.spec.as_ref().and_then(|s| s.template.metadata.as_ref()).and_then(|m| m.annotations.as_ref())
                    }
                    _ => None,
                };
                (string_map(o.metadata().annotations.as_ref()), string_map(template))
            }
            None => {
                let json = self.json();
                (json_string_map(&json["metadata"]["annotations"]), json_string_map(&json["spec"]["template"]["metadata"]["annotations"]))
            }
        };
        let own = own.into_iter().map(|(k, _)| ("metadata", k));
        own.chain(template.into_iter().map(|(k, _)| ("spec.template.metadata", k))).collect()
    }

    /// `spec.selector.matchLabels` of an Istio object with a workload selector (`None`: no selector,
    /// or not an Istio kind: a Service's `spec.selector` is something else).
    pub fn selector_labels(&self) -> Option<Vec<(&str, &str)>> {
        let selector = match self.typed {
            Some(Object::PeerAuthentication(p)) => p.spec.selector.as_ref(),
            Some(Object::AuthorizationPolicy(p)) => p.spec.selector.as_ref(),
            Some(_) => None,
            None => {
                let json = self.json();
                let istio = json["apiVersion"].as_str().is_some_and(|v| v.split('/').next().is_some_and(|g| g.ends_with(".istio.io")));
                return json["spec"].get("selector").filter(|_| istio).map(|s| json_string_map(&s["matchLabels"]));
            }
        };
        selector.map(|s| string_map(Some(&s.match_labels)))
    }

    /// The namespace patterns of an AuthorizationPolicy's sources: (`namespaces` or `notNamespaces`, pattern).
    pub fn source_namespaces(&self) -> Vec<(&'static str, &str)> {
        if let Some(o) = self.typed {
            let Object::AuthorizationPolicy(p) = o else { return Vec::new() };
            let sources = p.spec.rules.iter().flat_map(|r| &r.from).map(|f| &f.source);
            return sources.flat_map(|s| s.namespaces.iter().map(|n| ("namespaces", n.as_str()))).collect();
        }
        let mut out = Vec::new();
        for rule in self.json()["spec"]["rules"].as_array().into_iter().flatten() {
            for from in rule["from"].as_array().into_iter().flatten() {
                for key in ["namespaces", "notNamespaces"] {
                    out.extend(from["source"][key].as_array().into_iter().flatten().filter_map(|v| v.as_str()).map(|p| (key, p)));
                }
            }
        }
        out
    }
}

/// istiod's values in the wrapper chart's values: under `istiod`, or with revisions under the first
/// `istiod-<revision>` alias (every revision gets the same settings but its name and tags).
pub(crate) fn istiod_values(values: &Value) -> &Value {
    match values.get("istiod") {
        Some(v) => v,
        None => values.as_object().and_then(|m| m.iter().find(|(k, _)| k.starts_with("istiod-")).map(|(_, v)| v)).unwrap_or(&Value::Null),
    }
}

fn string_map(map: Option<&BTreeMap<String, String>>) -> Vec<(&str, &str)> {
    map.into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn json_string_map(value: &Value) -> Vec<(&str, &str)> {
    value.as_object().map(|m| m.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))).collect()).unwrap_or_default()
}

/// What the analyzers look at.
pub struct Input<'a> {
    /// The config, when the mesh was rendered from one.
    pub config: Option<&'a Config>,
    /// Its mesh facts ([`crate::Rendered::facts`]), with the config.
    pub facts: Option<&'a MeshFacts>,
    pub objects: &'a [Subject<'a>],
    /// The wrapper chart's values (`{base: …, istiod: …}`), when known.
    pub values: Option<&'a Value>,
}

impl<'a> Input<'a> {
    pub fn of_kind<'s>(&'s self, kind: &'s str) -> impl Iterator<Item = &'s Subject<'a>> + 's {
        self.objects.iter().filter(move |o| o.kind() == kind)
    }

    /// Istio's root namespace: the config's, else where a `default` PeerAuthentication or istiod lives.
    pub fn root_namespace(&self) -> String {
        if let Some(c) = self.config {
            return c.namespace.clone();
        }
        self.of_kind("PeerAuthentication")
            .find(|p| p.name() == "default" && p.selector_labels().is_none())
            .map_or_else(|| "istio-system".into(), |p| p.namespace().to_string())
    }

    /// The mesh-wide mTLS mode: the root namespace's selector-less PeerAuthentication.
    pub fn mesh_mtls(&self) -> Option<String> {
        let root = self.root_namespace();
        self.of_kind("PeerAuthentication")
            .find(|p| p.namespace() == root && p.selector_labels().is_none())
            .and_then(|p| p.json()["spec"]["mtls"]["mode"].as_str().map(str::to_string))
            .or_else(|| self.config.map(|c| c.mtls.as_str().to_string()))
    }

    /// Knative's system namespaces: from the config, else the upstream defaults that appear.
    pub fn knative_namespaces(&self) -> Option<(String, Option<String>)> {
        if let Some(c) = self.config {
            return c.knative.as_ref().map(|k| (k.serving_namespace.clone(), k.eventing_namespace.clone()));
        }
        let present = |ns: &str| self.objects.iter().any(|o| o.namespace() == ns || (o.kind() == "Namespace" && o.name() == ns));
        present("knative-serving").then(|| ("knative-serving".into(), present("knative-eventing").then(|| "knative-eventing".into())))
    }

    /// Every namespace the input declares: config namespaces, Namespace objects and object namespaces.
    pub fn declared_namespaces(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if let Some(c) = self.config {
            out.push(&c.namespace);
        }
        if let Some(f) = self.facts {
            out.extend(f.injected.iter().map(String::as_str));
        }
        for o in self.objects {
            if o.kind() == "Namespace" {
                out.push(o.name());
            } else if !o.namespace().is_empty() {
                out.push(o.namespace());
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl Diagnostic {
    /// About `subject`: its `Kind namespace/name`, and the file it was read from.
    fn on(mut self, subject: &Subject) -> Self {
        self.object = Some(subject.id());
        self.origin = (!subject.origin.is_empty()).then(|| subject.origin.clone());
        self
    }
}

/// A check: its rule, and the function that finds its problems.
type Check = (&'static Rule, fn(&Input) -> Vec<Diagnostic>);

macro_rules! registry {
    ($($module:ident :: $rule:ident => $check:path),* $(,)?) => {
        /// Every analyzer rule, by code.
        pub const RULES: &[&Rule] = &[$(&$module::$rule),*];
        static CHECKS: &[Check] = &[$((&$module::$rule, $check)),*];
    };
}

registry! {
    security::UNDECLARED_NAMESPACE => security::undeclared_namespace,
    injection::NOT_INJECTED => injection::not_injected,
    injection::BOTH_INJECTION_LABELS => injection::both_labels,
    security::WEBHOOK_WITHOUT_EXCEPTION => security::webhook_without_exception,
    telemetry::PROMETHEUS_LOST => telemetry::prometheus_lost,
    telemetry::UNDECLARED_PROVIDER => telemetry::undeclared_provider,
    telemetry::SEVERAL_MESH_TELEMETRIES => telemetry::several_telemetries,
    security::SELECTOR_ON_GATEWAY_PODS => security::selector_on_gateway_pods,
    annotations::REMOVED_ANNOTATION => annotations::removed_annotation,
    injection::AMBIENT_WITH_KNATIVE => injection::ambient_with_knative,
    inference::SWITCH_OFF => inference::switch_off,
    inference::INFERENCE_MODEL => inference::inference_model,
    versions::OUTDATED_RELEASE => versions::outdated,
    knative::UNPARSEABLE_CONFIG_GATEWAY => knative::unparseable,
    versions::RETIRED_HOST => versions::retired_host,
    versions::KNOWN_ISSUE => versions::known_issue,
    flows::NEEDED_FLOW_DENIED => flows::catalogue_findings,
    flows::REFUSED_FLOW_ALLOWED => flows::reported_by_mr120,
    flows::PLAINTEXT_UNDER_STRICT => flows::reported_by_mr120,
    flows::EXPECTATION_VIOLATED => flows::expectation_violated,
    revisions::REVISION_LABEL => revisions::revision_label,
    revisions::TAG_WITHOUT_REVISION => revisions::tag_without_revision,
    revisions::REVISION_SKEW => revisions::revision_skew,
    fleet::DUPLICATE_CLUSTER_NAME => fleet::duplicate_cluster_name,
    fleet::MESH_ID_MISMATCH => fleet::mesh_id_mismatch,
    fleet::NETWORK_GATEWAY_MISMATCH => fleet::network_gateway_mismatch,
    fleet::TRUST_NOT_SHARED => fleet::trust_not_shared,
    fleet::CLUSTER_VERSION_SKEW => fleet::cluster_version_skew,
}

/// The analyzer rule with this code (case-insensitive); [`crate::check::rule`] also knows the config codes.
pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.code.eq_ignore_ascii_case(code))
}

/// Runs every check, less the codes the config ignores; findings sorted by severity, code and object.
pub fn run(input: &Input) -> Vec<Diagnostic> {
    let ignored = input.config.map_or(&[][..], |c| c.ignored_checks.as_slice());
    let mut out: Vec<Diagnostic> = CHECKS.iter().flat_map(|(_, check)| check(input)).filter(|f| !ignored.contains(&f.code)).collect();
    out.sort_by(|a, b| (a.severity, a.code, &a.object, &a.message).cmp(&(b.severity, b.code, &b.object, &b.message)));
    out.dedup();
    out
}

/// The objects of a render as analyzer subjects.
pub fn subjects(manifests: &[crate::Manifest]) -> Vec<Subject<'_>> {
    manifests.iter().map(|m| Subject::rendered(&m.object)).collect()
}

/// Runs every check on what a loaded config renders, with config positions filled in.
pub fn analyze(loaded: &Loaded, rendered: &crate::Rendered) -> Vec<Diagnostic> {
    let config = loaded.selected();
    let objects = subjects(&rendered.manifests);
    let values = serde_json::to_value(&rendered.selected_values).unwrap_or_default();
    let mut findings = run(&Input { config: Some(config), facts: Some(&rendered.facts), objects: &objects, values: Some(&values) });
    for f in &mut findings {
        locate(f, loaded);
    }
    findings
}

/// Fills in the config position of a finding that names a config key.
pub fn locate(finding: &mut Diagnostic, loaded: &Loaded) {
    if let Some(path) = &finding.config_path {
        finding.pos = Some(loaded.position(path));
    }
}
