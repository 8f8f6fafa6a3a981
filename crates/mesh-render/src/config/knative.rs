//! `components.knative` (the Knative install, read loosely: it belongs to the Knative component) and
//! `components.istio.knative` (how the mesh meets Knative: mesh-compatibility mode, webhook exceptions).

use super::codes;
use std::collections::BTreeMap;

use super::decode::{self, Decoder};
use super::mesh::MtlsMode;
use crate::config::syntax::{Node, Value};

/// What mesh-render needs to know of the Knative install.
#[derive(Clone, Debug, PartialEq)]
pub struct Knative {
    pub serving_namespace: String,
    pub eventing_namespace: Option<String>,
    /// The Knative Kafka data planes installed in the Eventing namespace
    /// (`components.knative.eventing.kafka`); none without Eventing.
    pub kafka: Kafka,
    /// `config-network` `mesh-compatibility-mode`.
    pub mesh_compatibility_mode: &'static str,
    /// Webhooks that kube-apiserver calls in plaintext, each given a port-level PERMISSIVE exception.
    pub webhooks: Vec<Webhook>,
}

/// Which data planes of Knative Kafka (knative-extensions/eventing-kafka-broker) run in the Eventing
/// namespace: each delivers events to subscribers and sinks in app namespaces under its own
/// ServiceAccount, which the app policies then admit ([`crate::render::facts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kafka {
    /// The Kafka Broker (`kafka-broker-dispatcher` delivers to Triggers' subscribers).
    pub broker: bool,
    /// The KafkaChannel (`kafka-channel-dispatcher` delivers to Subscriptions' subscribers).
    pub channel: bool,
    /// KafkaSource (`kafka-source-dispatcher` delivers to the source's sink).
    pub source: bool,
}

impl Kafka {
    pub fn any(self) -> bool {
        self.broker || self.channel || self.source
    }
}

/// Keys of `components.knative.eventing.kafka`.
const KAFKA_KEYS: &[&str] = &["broker", "channel", "source"];

/// A workload that kube-apiserver must reach without mesh mTLS.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Webhook {
    pub namespace: String,
    pub name: String,
    pub selector: BTreeMap<String, String>,
    pub port: u16,
}

/// Reads `components.knative`, which belongs to the Knative component: only the keys used are checked.
pub(super) fn read_knative(node: &Node, dec: &mut Decoder) -> Option<Knative> {
    let f = dec.map(node, "components.knative", None)?;
    let enabled = match f.get("enabled") {
        Some(n) => dec.bool(n, &f.path("enabled"))?,
        None => true,
    };
    if !enabled {
        return None;
    }
    let mut serving_namespace = "knative-serving".to_string();
    if let Some(s) = f.get("serving") {
        let sf = dec.map(s, &f.path("serving"), None)?;
        if let Some(ns) = sf.get("namespace") {
            serving_namespace = dec.dns_label(ns, &sf.path("namespace"))?;
        }
    }
    let mut eventing_namespace = None;
    let mut kafka = Kafka::default();
    if let Some(e) = f.get("eventing") {
        let ef = dec.map(e, &f.path("eventing"), None)?;
        let on = match ef.get("enabled") {
            Some(n) => dec.bool(n, &ef.path("enabled"))?,
            None => true,
        };
        if on {
            eventing_namespace = Some(match ef.get("namespace") {
                Some(ns) => dec.dns_label(ns, &ef.path("namespace"))?,
                None => "knative-eventing".to_string(),
            });
            if let Some(k) = ef.get("kafka") {
                kafka = read_kafka(k, &ef.path("kafka"), dec)?;
            }
        }
    }
    let webhooks = default_webhooks(&serving_namespace, eventing_namespace.as_deref());
    Some(Knative { serving_namespace, eventing_namespace, kafka, mesh_compatibility_mode: "auto", webhooks })
}

/// `components.knative.eventing.kafka: {broker, channel, source}`, each `false` by default. Checked
/// strictly: a misspelt component would silently leave its dispatcher refused by every app policy.
fn read_kafka(node: &Node, path: &str, dec: &mut Decoder) -> Option<Kafka> {
    let f = dec.map(node, path, Some(KAFKA_KEYS))?;
    let flag = |dec: &mut Decoder, key: &str| match f.get(key) {
        Some(n) => dec.bool(n, &f.path(key)),
        None => Some(false),
    };
    let (broker, channel, source) = (flag(dec, "broker"), flag(dec, "channel"), flag(dec, "source"));
    Some(Kafka { broker: broker?, channel: channel?, source: source? })
}

/// Knative's webhooks, which kube-apiserver calls on 8443 without a client certificate.
/// Serving's labels are upstream's; Eventing's follow its deployment names (derived, overridable).
pub fn default_webhooks(serving: &str, eventing: Option<&str>) -> Vec<Webhook> {
    let hook = |ns: &str, name: &str, key: &str, value: &str| Webhook {
        namespace: ns.to_string(),
        name: name.to_string(),
        selector: [(key.to_string(), value.to_string())].into(),
        port: 8443,
    };
    let mut hooks =
        vec![hook(serving, "webhook", "app", "webhook"), hook(serving, "net-gateway-api-webhook", "app", "net-gateway-api-webhook")];
    if let Some(ev) = eventing {
        hooks.push(hook(ev, "eventing-webhook", "app", "eventing-webhook"));
        hooks.push(hook(ev, "imc-controller", "app.kubernetes.io/component", "imc-controller"));
        // Knative Kafka's webhook, given its exception whether or not `eventing.kafka` names a data
        // plane: every Kafka component installs it (eventing-kafka-broker knative-v1.22.2
        // `control-plane/config/eventing-kafka-broker/200-webhook/500-webhook.yaml`), and a
        // port-level PERMISSIVE exception on a pod that does not exist admits nothing.
        hooks.push(hook(ev, "kafka-webhook-eventing", "app", "kafka-webhook-eventing"));
    }
    hooks.sort();
    hooks
}

/// The Knative settings of one environment: `components.istio.knative` over the install's defaults,
/// then the PERMISSIVE rule. Settings without Knative are still checked, and get a warning.
pub(super) fn read_settings(
    knative: Option<Knative>,
    node: Option<&Node>,
    path: &str,
    mtls: MtlsMode,
    dec: &mut Decoder,
) -> Option<Knative> {
    let knative = match (knative, node) {
        (Some(mut k), Some(n)) => {
            read_knative_settings(n, path, &mut k, dec);
            Some(k)
        }
        (None, Some(n)) => {
            // Still checked, so that a typo does not wait until Knative is switched on.
            let mut unused = Knative {
                serving_namespace: String::new(),
                eventing_namespace: None,
                kafka: Kafka::default(),
                mesh_compatibility_mode: "auto",
                webhooks: Vec::new(),
            };
            read_knative_settings(n, path, &mut unused, dec);
            dec.report(
                &codes::INEFFECTIVE_SETTING,
                n.pos,
                path,
                "these settings are ignored: `components.knative` is off or missing",
                "remove them, or switch Knative on",
            );
            None
        }
        (k, None) => k,
    };
    knative.map(|k| permissive_mesh_compatibility(k, mtls, node, path, dec))
}

/// With `mesh-compatibility-mode: auto`, the autoscaler and the activator first call revision pods
/// by IP and fall back to the revision's private ClusterIP Service only when every failure looks
/// like a mesh: an HTTP 502 or 503 (knative-v1.23.0 `pkg/autoscaler/metrics/http_scrape_client.go:54-77`,
/// `mightBeMesh: IsPotentialMeshErrorResponse`, `vendor/knative.dev/networking/pkg/http/error.go`). A bare
/// transport error is not one: it ends in `errPodsExhausted` and never falls back (`stats_scraper.go:333-357`).
///
/// Under STRICT, `auto` works, for a reason that is not "the connection is reset": the private
/// Service declares queue-proxy's 8012/8013 (`http`/`http2`) and 9090 (`http-autometric`) as HTTP
/// (`pkg/reconciler/serverlessservice/resources/services.go:148-178`, `pkg/apis/serving/v1/revision_helpers.go:43`),
/// so the caller's sidecar serves those ports on an HTTP listener; a pod-IP call there goes to
/// PassthroughCluster in plaintext, the revision's STRICT sidecar resets it, and the caller's sidecar
/// answers with an HTTP 503, which counts as a mesh error. So mesh-render keeps Knative's default `auto`
/// under STRICT; were the ports TCP, `auto` would never fall back.
///
/// Under PERMISSIVE, the plaintext pod-IP call is accepted by the pod's sidecar and then denied by the
/// app namespace's ALLOW policy (403: plaintext has no principal). 403 is not a mesh error, so the
/// activator keeps probing pod IPs and never falls back (`pkg/activator/net/revision_backends.go`,
/// `probePodIPs`): requests through the activator fail. So under PERMISSIVE the default becomes
/// `enabled`, and an explicit `auto` or `disabled` gets a warning.
fn permissive_mesh_compatibility(mut k: Knative, mtls: MtlsMode, node: Option<&Node>, path: &str, dec: &mut Decoder) -> Knative {
    if mtls != MtlsMode::Permissive {
        return k;
    }
    match node.and_then(|n| n.get("meshCompatibilityMode")) {
        None => k.mesh_compatibility_mode = "enabled",
        Some(n) if k.mesh_compatibility_mode != "enabled" => dec.report(&codes::MESH_COMPATIBILITY_MODE,
            n.pos,
            &decode::join(path, "meshCompatibilityMode"),
            format!(
                "with mTLS PERMISSIVE and `{}`, the activator's plaintext probes of revision pods get 403 from their policies and it never falls back to the ClusterIP: requests through the activator fail",
                k.mesh_compatibility_mode
            ),
            "remove the key (mesh-render then sets `enabled` under PERMISSIVE) or set `enabled`",
        ),
        Some(_) => {}
    }
    k
}

/// `components.istio.knative`: how the mesh meets Knative.
fn read_knative_settings(node: &Node, path: &str, k: &mut Knative, dec: &mut Decoder) {
    let Some(f) = dec.map(node, path, Some(&["meshCompatibilityMode", "webhooks"])) else { return };
    if let Some(n) = f.get("meshCompatibilityMode") {
        if let Some(mode) = dec.one_of(n, &f.path("meshCompatibilityMode"), &["auto", "enabled", "disabled"]) {
            k.mesh_compatibility_mode = mode;
        }
    }
    if let Some(n) = f.get("webhooks") {
        let wpath = f.path("webhooks");
        let Some(items) = dec.seq(n, &wpath) else { return };
        let mut hooks = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ipath = format!("{wpath}[{i}]");
            let Some(wf) = dec.map(item, &ipath, Some(&["namespace", "name", "selector", "port"])) else { continue };
            let (Some(ns), Some(name), Some(sel)) = (wf.get("namespace"), wf.get("name"), wf.get("selector")) else {
                dec.report(
                    &codes::MISSING_SETTING,
                    item.pos,
                    &ipath,
                    "a webhook needs `namespace`, `name` and `selector`",
                    "e.g. `{namespace: knative-serving, name: webhook, selector: {app: webhook}}`",
                );
                continue;
            };
            let namespace = dec.dns_label(ns, &wf.path("namespace"));
            let name = dec.dns_label(name, &wf.path("name"));
            let mut selector = BTreeMap::new();
            if let Some(sf) = dec.map(sel, &wf.path("selector"), None) {
                if let Value::Map(entries) = &sf.node.value {
                    for (sk, sv) in entries {
                        let key = sk.as_scalar().unwrap_or_default().to_string();
                        if let Some(v) = dec.string(sv, &sf.path(&key)) {
                            selector.insert(key, v);
                        }
                    }
                }
            }
            if selector.is_empty() {
                dec.report(
                    &codes::INVALID_VALUE,
                    sel.pos,
                    &wf.path("selector"),
                    "the selector is empty",
                    "a port-level exception needs a pod selector (Istio refuses portLevelMtls without one)",
                );
                continue;
            }
            let port = wf.get("port").map_or(Some(8443), |p| dec.int(p, &wf.path("port"), 1, 65535));
            if let (Some(namespace), Some(name), Some(port)) = (namespace, name, port) {
                hooks.push(Webhook { namespace, name, selector, port: port as u16 });
            }
        }
        hooks.sort();
        k.webhooks = hooks;
    }
}
