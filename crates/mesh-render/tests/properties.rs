//! Properties over generated valid configs (proptest, 64 cases each).
//!
//! A config is generated as YAML text from random valid values: an Istio release from the version
//! table, a root namespace, an optional revision, an mTLS mode, app namespaces, Knative with or
//! without Eventing, tracing, access logging, metrics, Gateway names and environments that override
//! some of it. For every such config:
//!
//! - loading and rendering succeed, for the base settings and for every environment;
//! - the output is deterministic (two loads and renders give the same bytes);
//! - every document of the YAML stream and every item of the JSON list reads back to the JSON of the
//!   object it was written from (numbers compared by value);
//! - the app namespaces of the config are exactly the namespaces that get an AuthorizationPolicy;
//! - listing the app namespaces, or the keys of the `components.istio` mapping, in another order
//!   gives byte-identical output.

use std::collections::BTreeSet;

use mesh_render::config::syntax::{self, Limits};
use mesh_render::versions::RELEASES;
use mesh_render::Rendered;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value as Json;

/// Rendered output of 12 app namespaces is a few hundred kB: far inside these limits.
const OUTPUT_LIMITS: Limits = Limits { max_bytes: 64 * 1024 * 1024, max_depth: 128, max_nodes: 5_000_000 };

const ROOT_NAMESPACES: &[&str] = &["istio-system", "mesh-root", "istio"];

/// Names an app namespace may not have (system namespaces).
const RESERVED: &[&str] = &["kube-system", "kube-public", "kube-node-lease", "knative-serving", "knative-eventing"];

/// A DNS-1123 label of 1 to 20 characters.
fn dns_label() -> impl Strategy<Value = String> {
    let first = select(('a'..='z').collect::<Vec<_>>());
    let middle = prop::collection::vec(select(('a'..='z').chain('0'..='9').chain(['-']).collect::<Vec<_>>()), 0..18);
    let last = prop::option::of(select(('a'..='z').chain('0'..='9').collect::<Vec<_>>()));
    (first, middle, last).prop_map(|(f, m, l)| {
        let mut s: String = std::iter::once(f).chain(m).collect();
        match l {
            Some(l) => s.push(l),
            None => {
                while s.ends_with('-') {
                    s.pop();
                }
            }
        }
        s
    })
}

#[derive(Clone, Debug)]
struct Tracing {
    provider: Option<String>,
    service: String,
    port: Option<u16>,
    /// Written as it is in the config: `10`, `2.5`, `100.0`.
    sampling: Option<String>,
}

#[derive(Clone, Debug)]
struct Environment {
    name: String,
    mtls: Option<&'static str>,
    apps: Option<Vec<String>>,
    sampling: Option<String>,
    revision: Option<String>,
}

#[derive(Clone, Debug)]
struct Spec {
    version: String,
    namespace: &'static str,
    revision: Option<String>,
    mtls: &'static str,
    apps: Vec<String>,
    /// `None`: no Knative section; `Some(eventing)`.
    knative: Option<bool>,
    tracing: Option<Tracing>,
    access_logging: bool,
    prometheus: bool,
    external_gateway: Option<(String, &'static str)>,
    environments: Vec<Environment>,
}

fn sampling() -> impl Strategy<Value = String> {
    prop_oneof![(0u32..=100).prop_map(|n| n.to_string()), (0u32..1000).prop_map(|n| format!("{}.{}", n / 10, n % 10))]
}

fn apps() -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set(dns_label(), 0..12)
        .prop_map(|set| set.into_iter().filter(|n| !RESERVED.contains(&n.as_str()) && !ROOT_NAMESPACES.contains(&n.as_str())).collect())
}

fn tracing() -> impl Strategy<Value = Tracing> {
    (prop::option::of(dns_label()), dns_label(), prop::option::of(1u16..=65535), prop::option::of(sampling())).prop_map(
        |(provider, svc, port, sampling)| Tracing { provider, service: format!("{svc}.observability.svc.cluster.local"), port, sampling },
    )
}

fn environment() -> impl Strategy<Value = Environment> {
    (
        dns_label(),
        prop::option::of(select(vec!["STRICT", "PERMISSIVE"])),
        prop::option::of(apps()),
        prop::option::of(sampling()),
        prop::option::of(dns_label()),
    )
        .prop_map(|(name, mtls, apps, sampling, revision)| Environment { name, mtls, apps, sampling, revision })
}

fn spec() -> impl Strategy<Value = Spec> {
    let versions: Vec<String> = RELEASES.iter().map(|r| r.version.to_string()).collect();
    (
        (select(versions), select(ROOT_NAMESPACES), prop::option::of(dns_label()), select(vec!["STRICT", "PERMISSIVE", "DISABLE"]), apps()),
        (
            prop::option::of(any::<bool>()),
            prop::option::of(tracing()),
            any::<bool>(),
            any::<bool>(),
            prop::option::of((dns_label(), select(vec!["LoadBalancer", "NodePort", "ClusterIP"]))),
            prop::collection::vec(environment(), 0..3),
        ),
    )
        .prop_map(
            |((version, namespace, revision, mtls, apps), (knative, tracing, access_logging, prometheus, external_gateway, envs))| {
                // DISABLE with app namespaces is an error by design; keep such specs valid.
                let mtls = if mtls == "DISABLE" && (!apps.is_empty() || envs.iter().any(|e| e.apps.as_ref().is_some_and(|a| !a.is_empty())))
                {
                    "PERMISSIVE"
                } else {
                    mtls
                };
                // Environment names are unique mapping keys; sampling overrides need a tracing section.
                let mut seen = BTreeSet::new();
                let environments = envs
                    .into_iter()
                    .filter(|e| seen.insert(e.name.clone()))
                    .map(|e| Environment { sampling: e.sampling.filter(|_| tracing.is_some()), ..e })
                    .collect();
                // The external Gateway must not take the local Gateway's name.
                let external_gateway = external_gateway.filter(|(name, _)| name != "knative-local-gateway");
                Spec {
                    version,
                    namespace,
                    revision,
                    mtls,
                    apps,
                    knative,
                    tracing,
                    access_logging,
                    prometheus,
                    external_gateway,
                    environments,
                }
            },
        )
}

fn flow_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

impl Spec {
    /// The entries of `components.istio`, each a key with its YAML (indented for that level).
    fn istio_entries(&self, apps: &[String]) -> Vec<String> {
        let mut e = vec!["enabled: true".to_string(), format!("version: \"{}\"", self.version), format!("namespace: {}", self.namespace)];
        if let Some(r) = &self.revision {
            e.push(format!("revision: {r}"));
        }
        e.push(format!("mtls:\n      mode: {}", self.mtls));
        e.push(format!("namespaces:\n      apps: {}", flow_list(apps)));
        if let Some(t) = &self.tracing {
            let mut s = format!("tracing:\n      service: {}", t.service);
            if let Some(p) = &t.provider {
                s.push_str(&format!("\n      provider: {p}"));
            }
            if let Some(p) = t.port {
                s.push_str(&format!("\n      port: {p}"));
            }
            if let Some(x) = &t.sampling {
                s.push_str(&format!("\n      samplingPercent: {x}"));
            }
            e.push(s);
        }
        e.push(format!("accessLogging: {{enabled: {}}}", self.access_logging));
        e.push(format!("metrics: {{prometheus: {}}}", self.prometheus));
        if let Some((name, ty)) = &self.external_gateway {
            e.push(format!("gateways:\n      external: {{name: {name}, serviceType: {ty}}}"));
        }
        if !self.environments.is_empty() {
            let mut s = "environments:".to_string();
            for env in &self.environments {
                s.push_str(&format!("\n      {}:", env.name));
                let mut any = false;
                if let Some(m) = env.mtls {
                    s.push_str(&format!("\n        mtls: {{mode: {m}}}"));
                    any = true;
                }
                if let Some(a) = &env.apps {
                    s.push_str(&format!("\n        namespaces: {{apps: {}}}", flow_list(a)));
                    any = true;
                }
                if let Some(x) = &env.sampling {
                    s.push_str(&format!("\n        tracing: {{samplingPercent: {x}}}"));
                    any = true;
                }
                if let Some(r) = &env.revision {
                    s.push_str(&format!("\n        revision: {r}"));
                    any = true;
                }
                if !any {
                    s.push_str(" {}");
                }
            }
            e.push(s);
        }
        e
    }

    /// The config as YAML text, with the app namespaces and the `components.istio` keys in the given orders.
    fn yaml(&self, apps: &[String], key_order: &[usize]) -> String {
        let mut text = String::from("components:\n");
        if let Some(eventing) = self.knative {
            text.push_str(&format!("  knative:\n    enabled: true\n    eventing: {{enabled: {eventing}}}\n"));
        }
        text.push_str("  istio:\n");
        let entries = self.istio_entries(apps);
        for i in key_order.iter().copied().filter(|i| *i < entries.len()) {
            text.push_str(&format!("    {}\n", entries[i]));
        }
        text
    }

    fn text(&self) -> String {
        self.yaml(&self.apps, &(0..16).collect::<Vec<_>>())
    }

    /// Every selection to render: the base settings and each environment.
    fn selections(&self) -> Vec<Option<&str>> {
        std::iter::once(None).chain(self.environments.iter().map(|e| Some(e.name.as_str()))).collect()
    }

    /// The app namespaces the selection renders.
    fn apps_of(&self, env: Option<&str>) -> BTreeSet<String> {
        let over = env.and_then(|n| self.environments.iter().find(|e| e.name == n)).and_then(|e| e.apps.clone());
        over.unwrap_or_else(|| self.apps.clone()).into_iter().collect()
    }
}

fn render(text: &str, env: Option<&str>) -> Rendered {
    let loaded = mesh_render::load(text, env, Limits::DEFAULT).unwrap_or_else(|e| panic!("a valid config was refused:\n{text}\n{e:#?}"));
    mesh_render::render(&loaded)
}

/// Every number as an f64, so that `10` and `10.0` compare equal (YAML may write either).
fn by_value(v: Json) -> Json {
    match v {
        Json::Number(n) => n.as_f64().map_or(Json::Number(n), Json::from),
        Json::Array(a) => Json::Array(a.into_iter().map(by_value).collect()),
        Json::Object(o) => Json::Object(o.into_iter().map(|(k, v)| (k, by_value(v))).collect()),
        other => other,
    }
}

fn config() -> ProptestConfig {
    ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_valid_config_always_renders_and_deterministically(spec in spec()) {
        let text = spec.text();
        for env in spec.selections() {
            let a = render(&text, env);
            let b = render(&text, env);
            prop_assert!(!a.manifests.is_empty());
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(a.stream_yaml(), b.stream_yaml());
            prop_assert_eq!(a.json_list(), b.json_list());
            prop_assert_eq!(a.tree(), b.tree());
        }
    }

    #[test]
    fn every_document_reads_back_to_its_object(spec in spec()) {
        let text = spec.text();
        for env in spec.selections() {
            let r = render(&text, env);
            let expected: Vec<Json> =
                r.manifests.iter().map(|m| by_value(serde_json::to_value(&m.object).expect("JSON of an object"))).collect();
            let docs = syntax::parse_documents(&r.stream_yaml(), OUTPUT_LIMITS).expect("the stream is valid YAML");
            let read_back: Vec<Json> = docs.iter().map(|d| by_value(d.to_json())).collect();
            prop_assert_eq!(&read_back, &expected);

            let list: Json = serde_json::from_str(&r.json_list()).expect("the list is valid JSON");
            let items = list["items"].as_array().expect("items").iter().cloned().map(by_value).collect::<Vec<_>>();
            prop_assert_eq!(&items, &expected);

            // The tree's manifest files hold the same documents, in the same order.
            let files: Vec<Json> = r
                .tree()
                .iter()
                .filter(|(path, _)| path.starts_with("manifests/"))
                .flat_map(|(_, text)| syntax::parse_documents(text, OUTPUT_LIMITS).expect("a manifest file is valid YAML"))
                .map(|d| by_value(d.to_json()))
                .collect();
            prop_assert_eq!(&files, &expected);
        }
    }

    /// Besides the app namespaces, only Knative Serving's namespace holds a policy: the activator's
    /// `activator-callers`, exactly when Knative is on.
    #[test]
    fn app_namespaces_are_exactly_those_with_an_authorization_policy(spec in spec()) {
        let text = spec.text();
        for env in spec.selections() {
            let r = render(&text, env);
            let policies = || r.manifests.iter().filter(|m| m.object.kind() == "AuthorizationPolicy");
            let activator: Vec<_> = policies().filter(|m| m.object.metadata().name.as_deref() == Some("activator-callers")).collect();
            prop_assert_eq!(activator.len(), usize::from(spec.knative.is_some()));
            prop_assert!(activator.iter().all(|m| m.object.metadata().namespace.as_deref() == Some("knative-serving")));
            let with_policy: Vec<String> = policies()
                .filter(|m| m.object.metadata().name.as_deref() != Some("activator-callers"))
                .map(|m| m.object.metadata().namespace.clone().expect("a namespaced policy"))
                .collect();
            let unique: BTreeSet<String> = with_policy.iter().cloned().collect();
            prop_assert_eq!(unique.len(), with_policy.len(), "one policy per namespace: {:?}", with_policy);
            prop_assert_eq!(unique, spec.apps_of(env));
        }
    }

    #[test]
    fn order_free_entries_in_another_order_give_identical_bytes(
        spec in spec(),
        app_order in Just((0..12).collect::<Vec<usize>>()).prop_shuffle(),
        key_order in Just((0..16).collect::<Vec<usize>>()).prop_shuffle(),
    ) {
        let shuffled_apps: Vec<String> = app_order.iter().filter_map(|i| spec.apps.get(*i).cloned()).collect();
        prop_assert_eq!(shuffled_apps.len(), spec.apps.len());
        let shuffled = spec.yaml(&shuffled_apps, &key_order);
        let text = spec.text();
        for env in spec.selections() {
            let a = render(&text, env);
            let b = render(&shuffled, env);
            prop_assert_eq!(a.stream_yaml(), b.stream_yaml());
            prop_assert_eq!(a.json_list(), b.json_list());
            prop_assert_eq!(a.tree(), b.tree());
        }
    }
}
