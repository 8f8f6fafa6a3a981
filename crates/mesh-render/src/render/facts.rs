//! The mesh facts: what the renderers, the plans, the generated docs and the analyzers must agree
//! on, derived from the config in one step ([`MeshFacts::of`]). `render` computes them once and
//! keeps them in [`crate::Rendered::facts`]; nothing else restates these rules.

use crate::config::{Config, MtlsMode, Webhook};
use crate::render::gateways::{service_name, GATEWAY_CLASS};

/// The Knative gateways' `config-gateway` entry, as net-gateway-api parses it.
#[derive(serde::Serialize, Clone, Debug, PartialEq, Eq)]
pub struct GatewayEntry {
    /// Required by the parser, otherwise unused.
    pub class: String,
    /// `namespace/name` of the Gateway.
    pub gateway: String,
    /// `namespace/name` of the Service net-gateway-api probes.
    pub service: String,
    #[serde(rename = "supported-features")]
    pub supported_features: Vec<String>,
}

/// An istio principal: `cluster.local/ns/<namespace>/sa/<service account>` (`cluster.local` stands
/// for the mesh's trust domain and its aliases, istio.io reference "Authorization Policy", `source.principals`).
pub(crate) fn principal(namespace: &str, service_account: &str) -> String {
    format!("cluster.local/ns/{namespace}/sa/{service_account}")
}

/// queue-proxy's HTTP/1 and h2c ports, where the gateways and the activator send a revision's
/// requests (serving knative-v1.23.0 `pkg/networking/constants.go`, `BackendHTTPPort` 8012,
/// `BackendHTTP2Port` 8013), and the activator's containerPorts `http1` 8012 and `h2c` 8013
/// (`config/core/deployments/activator.yaml:102-105`).
pub(crate) const REQUEST_PORTS: [u16; 2] = [8012, 8013];
/// queue-proxy's autoscaling metrics port, which the autoscaler scrapes (`AutoscalingQueueMetricsPort`).
pub(crate) const AUTOSCALING_METRICS_PORT: u16 = 9090;
/// The activator's metrics containerPort (`activator.yaml:98-99`).
pub(crate) const ACTIVATOR_METRICS_PORT: u16 = 9090;
/// queue-proxy's admin port (serving knative-v1.23.0 `pkg/networking/constants.go:34`,
/// `QueueAdminPort`; served at `pkg/queue/sharedmain/main.go:257`): any request to `/wait-for-drain`
/// there drains the revision pod (`handlers.go:111-130`). Its one caller is the user container's
/// preStop hook (`pkg/reconciler/revision/resources/deploy.go:106-110`), which the injector rewrites
/// to pilot-agent (istio 1.29.6 `pkg/kube/inject/app_probe.go:285-290`), which calls it from
/// 127.0.0.6 inside the pod (`pilot/cmd/pilot-agent/status/server.go:87,184`), past the sidecar: no
/// caller needs it through the mesh, so no rule of an app policy admits it.
pub(crate) const QUEUE_ADMIN_PORT: u16 = 8022;
/// The paths of the autoscaler's activator probe. The KPA scaler builds its URL as
/// `fmt.Sprintf("http://%s/%s", host, nethttp.HealthCheckPath)` with `HealthCheckPath = "/healthz"`
/// (serving knative-v1.23.0 `pkg/reconciler/autoscaling/kpa/scaler.go:131`,
/// `vendor/knative.dev/networking/pkg/http/constants.go:22`), so the request path is `//healthz`.
/// Istio's default path normalization (`BASE`) does not merge slashes, and an AuthorizationPolicy
/// path is an exact match: `//healthz` as sent, and `/healthz` for a mesh whose
/// `meshConfig.pathNormalization` is `MERGE_SLASHES` or `DECODE_AND_MERGE_SLASHES`.
pub(crate) const ACTIVATOR_PROBE_PATHS: [&str; 2] = ["//healthz", "/healthz"];
/// Name of the activator's ALLOW policy in Knative Serving's namespace.
pub(crate) const ACTIVATOR_POLICY: &str = "activator-callers";

/// One ALLOW rule: the principals that make a call, on its ports and paths (empty: any), never on
/// `not_ports`.
#[derive(serde::Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    pub principals: Vec<String>,
    pub ports: Vec<u16>,
    /// Ports the rule never admits (`to.operation.notPorts`), for a call to "any port".
    pub not_ports: Vec<u16>,
    pub paths: Vec<String>,
    /// The call, for the generated docs.
    pub purpose: String,
}

/// Facts about the mesh a config describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshFacts {
    /// Every namespace whose pods get a sidecar, in label order: Knative's system namespaces, the
    /// apps, then the namespaces of inference pools (not the root namespace).
    pub injected: Vec<String>,
    /// The injection label: `istio.io/rev=<stable tag>` with revisions (moving the tag moves the
    /// namespace), `istio.io/rev=<revision>` with one named revision, else `istio-injection=enabled`
    /// (never both).
    pub injection_label: (String, String),
    /// The webhooks that get a port-level PERMISSIVE exception: every Knative webhook, under STRICT
    /// only. kube-apiserver has no mesh identity, so under STRICT it cannot reach them; under
    /// PERMISSIVE it can anyway.
    pub webhook_exceptions: Vec<Webhook>,
    /// Knative's system namespaces (injected; no longer admitted by namespace anywhere).
    pub knative_namespaces: Vec<String>,
    /// Who an app namespace's policy admits besides its own namespace, by principal and port:
    /// the Knative gateways and the activator on queue-proxy's request ports, the autoscaler on
    /// its metrics port, eventing's senders on any port but queue-proxy's reserved ones.
    pub app_callers: Vec<Admission>,
    /// Who may call the activator (its ALLOW policy `activator-callers`); empty without Knative.
    pub activator_callers: Vec<Admission>,
    /// The identities of the two Knative gateways, the only callers admitted from the root
    /// namespace (not istiod, not an inference Gateway, not whatever else runs there). istiod names a
    /// Gateway's ServiceAccount `<gateway>-<class>` (istio/istio 1.29.6 `pilot/pkg/config/kube/gateway/
    /// deploymentcontroller.go` `ServiceAccount: ... defaultName`, `conversion.go` `getDefaultName`).
    /// `cluster.local` stands for the mesh's trust domain and its aliases in Istio's principals.
    pub gateway_principals: Vec<String>,
    /// Knative's `config-gateway` entries (external, local): exactly one of each; `None` without Knative.
    pub gateway_entries: Option<(GatewayEntry, GatewayEntry)>,
}

impl MeshFacts {
    /// The facts of one environment's config.
    pub fn of(config: &Config) -> MeshFacts {
        let mut knative_namespaces = Vec::new();
        if let Some(k) = &config.knative {
            knative_namespaces.push(k.serving_namespace.clone());
            knative_namespaces.extend(k.eventing_namespace.clone());
        }
        let mut injected = knative_namespaces.clone();
        injected.extend(config.apps.iter().cloned());
        for pool in config.ai_serving.iter().flat_map(|a| &a.pools) {
            if !injected.contains(&pool.namespace) && pool.namespace != config.namespace {
                injected.push(pool.namespace.clone());
            }
        }
        let injection_label = match (&config.revisions, &config.revision) {
            (Some(rs), _) => ("istio.io/rev".into(), rs.stable_tag.clone()),
            (None, Some(rev)) => ("istio.io/rev".into(), rev.clone()),
            (None, None) => ("istio-injection".into(), "enabled".into()),
        };
        let strict = config.mtls == MtlsMode::Strict;
        let webhook_exceptions = config.knative.iter().flat_map(|k| &k.webhooks).filter(|_| strict).cloned().collect();
        let gateways = [&config.gateways.external, &config.gateways.local];
        let gateway_principals: Vec<String> = gateways.iter().map(|gw| principal(&config.namespace, &service_name(gw))).collect();
        let entry = |gw: &str| GatewayEntry {
            class: GATEWAY_CLASS.into(),
            gateway: format!("{}/{gw}", config.namespace),
            service: format!("{}/{}", config.namespace, service_name(gw)),
            supported_features: vec!["HTTPRouteRequestTimeout".into()],
        };
        let gateway_entries = config.knative.as_ref().map(|_| (entry(gateways[0]), entry(gateways[1])));
        let (app_callers, activator_callers) = knative_callers(config, &gateway_principals);
        MeshFacts {
            injected,
            injection_label,
            webhook_exceptions,
            knative_namespaces,
            gateway_principals,
            gateway_entries,
            app_callers,
            activator_callers,
        }
    }

    /// Namespaces admitted by namespace into an app namespace: itself only. Knative's system
    /// namespaces are admitted by the principals of the pods that call revisions
    /// ([`MeshFacts::app_callers`]): admitting `knative-serving` by namespace let the activator,
    /// which any mesh pod can ask to forward to any revision, be a way around every app policy.
    pub fn policy_sources(&self, app: &str) -> Vec<String> {
        vec![app.to_string()]
    }

    /// The principals of `app_callers` and of the app namespace itself, for the docs.
    pub fn app_caller_principals(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in self.app_callers.iter().flat_map(|a| &a.principals) {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }

    /// Whether pods of `namespace` get a sidecar.
    pub fn is_injected(&self, namespace: &str) -> bool {
        self.injected.iter().any(|n| n == namespace)
    }
}

/// The callers of revisions and of the activator, each with the upstream file that makes the call.
fn knative_callers(config: &Config, gateway_principals: &[String]) -> (Vec<Admission>, Vec<Admission>) {
    let Some(k) = &config.knative else { return (Vec::new(), Vec::new()) };
    let serving = k.serving_namespace.as_str();
    let ports = |p: &[u16]| p.to_vec();
    // serving config/core/deployments/activator.yaml:49 `serviceAccountName: activator`.
    let activator = principal(serving, "activator");
    // autoscaler.yaml:52 `serviceAccountName: controller` (shared with the controller, the webhook
    // and net-gateway-api's pods: a principal cannot tell them apart).
    let autoscaler = principal(serving, "controller");
    let mut forwarders = gateway_principals.to_vec();
    forwarders.push(activator);
    let mut app = vec![
        Admission {
            principals: forwarders,
            ports: ports(&REQUEST_PORTS),
            not_ports: Vec::new(),
            paths: Vec::new(),
            purpose: "the Knative gateways and the activator forward requests to queue-proxy".into(),
        },
        // `pkg/autoscaler/metrics/stats_scraper.go`: the autoscaler scrapes queue-proxy's 9090.
        Admission {
            principals: vec![autoscaler.clone()],
            ports: vec![AUTOSCALING_METRICS_PORT],
            not_ports: Vec::new(),
            paths: Vec::new(),
            purpose: "the autoscaler scrapes queue-proxy's metrics".into(),
        },
    ];
    if let Some(eventing) = &k.eventing_namespace {
        // A Trigger's or Subscription's subscriber, and a PingSource's sink, is any URI (eventing
        // knative-v1.22.2 `vendor/knative.dev/pkg/apis/duck/v1/destination.go:33`), so these senders
        // may POST to any port of any Service, and a selector-less Service with a hand-made
        // EndpointSlice may point at any pod IP: their rule has `notPorts` queue-proxy's admin port
        // ([`QUEUE_ADMIN_PORT`]), or a subscriber URI `http://<svc>:8022/wait-for-drain` would drain
        // any revision of any app namespace. Only 8022: the policy has no selector, so `notPorts`
        // applies to every workload of the namespace, and a plain Deployment subscriber may well
        // listen on 9090, 9091 or 8008, which Knative reserves for queue-proxy in revision pods only
        // (serving knative-v1.23.0 `pkg/apis/serving/k8s_validation.go:61-67`). What that leaves
        // open to the senders on a revision pod is read-only: queue-proxy's metrics (9090, 9091) and,
        // when profiling is on, pprof (8008, `vendor/knative.dev/pkg/observability/runtime/pprof.go:34`).
        // Their principals: broker-filter.yaml:37, in-memory-channel dispatcher.yaml:50,
        // pingsource-mt-adapter.yaml:126.
        let mut senders: Vec<&str> = vec!["mt-broker-filter", "imc-dispatcher", "pingsource-mt-adapter"];
        // Knative Kafka's dispatchers, for the data planes the config names (`eventing.kafka`):
        // eventing-kafka-broker knative-v1.22.2 `data-plane/config/broker/500-dispatcher.yaml:60`,
        // `channel/500-dispatcher.yaml:60`, `source/500-dispatcher.yaml:60` (StatefulSets). Each
        // data plane's receiver runs under the same ServiceAccount (`broker/500-receiver.yaml:57`,
        // `channel/500-receiver.yaml:58`), so a principal cannot tell it from its dispatcher; the
        // KafkaSink's receiver (`sink/500-receiver.yaml:57`, `knative-kafka-sink-data-plane`) only
        // writes to Kafka and is never admitted.
        let kafka = k.kafka;
        for (on, sa) in [
            (kafka.broker, "knative-kafka-broker-data-plane"),
            (kafka.channel, "knative-kafka-channel-data-plane"),
            (kafka.source, "knative-kafka-source-data-plane"),
        ] {
            if on {
                senders.push(sa);
            }
        }
        app.push(Admission {
            principals: senders.iter().map(|sa| principal(eventing, sa)).collect(),
            ports: Vec::new(),
            not_ports: vec![QUEUE_ADMIN_PORT],
            paths: Vec::new(),
            purpose: if kafka.any() {
                "brokers, channels and sources (Knative Kafka's included) deliver events to a subscriber URI (any port but queue-proxy's admin port)".into()
            } else {
                "brokers, channels and PingSource deliver events to a subscriber URI (any port but queue-proxy's admin port)".into()
            },
        });
    }
    let mut activator_callers = vec![
        // net-gateway-api routes a revision's traffic to its public Service, whose endpoints are the
        // activator's pods while the revision is in proxy mode.
        Admission {
            principals: gateway_principals.to_vec(),
            ports: ports(&REQUEST_PORTS),
            not_ports: Vec::new(),
            paths: Vec::new(),
            purpose: "the Knative gateways route to a revision backed by the activator".into(),
        },
        // The autoscaler's KPA scaler probes `http://<public service>.<ns>:80|81//healthz` to learn
        // whether the activator is in the path before scaling to zero (serving knative-v1.23.0
        // `pkg/reconciler/autoscaling/kpa/scaler.go:127-142,245`): only that path
        // ([`ACTIVATOR_PROBE_PATHS`]).
        Admission {
            principals: vec![autoscaler],
            ports: ports(&REQUEST_PORTS),
            not_ports: Vec::new(),
            paths: ACTIVATOR_PROBE_PATHS.map(String::from).to_vec(),
            purpose: "the autoscaler probes whether the activator is in the path".into(),
        },
    ];
    if let Some(scrape) = &config.security.prometheus {
        activator_callers.push(Admission {
            principals: scrape.principals.clone(),
            ports: vec![ACTIVATOR_METRICS_PORT],
            not_ports: Vec::new(),
            paths: Vec::new(),
            purpose: "the scraper reads the activator's metrics".into(),
        });
    }
    (app, activator_callers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::syntax::Limits;

    fn facts(istio: &str) -> MeshFacts {
        let text = format!("components:\n  knative: {{enabled: true, eventing: {{}}}}\n  istio:\n    enabled: true\n{istio}");
        MeshFacts::of(crate::load(&text, None, Limits::DEFAULT).expect("config").selected())
    }

    #[test]
    fn injected_namespaces_are_knative_then_apps_then_pool_namespaces_never_the_root() {
        let pool = |ns: &str| format!("{{name: p-{ns}, namespace: {ns}, selector: {{app: m}}, targetPorts: [8000]}}");
        let pools = [pool("ai"), pool("demo"), pool("istio-system")].join(", ");
        let f = facts(&format!("    namespaces: {{apps: [demo]}}\n    aiServing: {{inferenceExtension: v1.1.0, pools: [{pools}]}}\n"));
        assert_eq!(f.injected, ["knative-serving", "knative-eventing", "demo", "ai"]);
        assert!(f.is_injected("demo") && !f.is_injected("istio-system"));
        assert_eq!(f.policy_sources("demo"), ["demo"]);
    }

    #[test]
    fn injection_label_follows_the_revision_setting() {
        assert_eq!(facts("").injection_label, ("istio-injection".into(), "enabled".into()));
        assert_eq!(facts("    revision: blue\n").injection_label, ("istio.io/rev".into(), "blue".into()));
    }

    #[test]
    fn webhook_exceptions_exist_under_strict_only() {
        assert!(!facts("").webhook_exceptions.is_empty());
        assert!(facts("    mtls: {mode: PERMISSIVE}\n").webhook_exceptions.is_empty());
    }

    #[test]
    fn gateway_principals_name_the_service_accounts_istiod_creates() {
        assert_eq!(
            facts("").gateway_principals,
            ["cluster.local/ns/istio-system/sa/knative-gateway-istio", "cluster.local/ns/istio-system/sa/knative-local-gateway-istio"]
        );
    }
}
