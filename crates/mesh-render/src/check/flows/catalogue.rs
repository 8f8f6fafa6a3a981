//! The catalogue: the calls this mesh exists for, and the calls it must refuse.
//!
//! Workloads, labels, service accounts and ports come from the upstream manifests named next to
//! each entry:
//! - knative/serving, tag knative-v1.23.0 (`config/core/deployments/*.yaml`,
//!   `pkg/networking/constants.go`, `pkg/reconciler/revision/resources/{deploy,queue}.go`,
//!   `pkg/activator/net/revision_backends.go`, `pkg/autoscaler/metrics/stats_scraper.go`,
//!   `pkg/reconciler/route/resources/service.go`);
//! - knative-extensions/net-gateway-api, tag knative-v1.23.0 (`config/300-controller.yaml`,
//!   `config/400-webhook-deployment.yaml`, `pkg/reconciler/ingress/{ingress,lister}.go`,
//!   `pkg/status/status.go`);
//! - knative/eventing, tag knative-v1.22.2, the newest tag in the stored snapshot (no 1.23 tag
//!   there) (`config/core/deployments/*.yaml`, `config/brokers/mt-channel-broker/deployments/*.yaml`,
//!   `config/channels/in-memory-channel/deployments/*.yaml`);
//! - istio/istio, tag 1.29.6 (`manifests/charts/istio-control/istio-discovery/files/kube-gateway.yaml`);
//! - the rendered AI-serving objects (`crate::render::ai_serving`) for the endpoint picker and the pools.
//!
//! App pods are generic: a Knative revision pod (queue-proxy in front of the user container), and
//! a plain pod behind a Kubernetes Service. They carry no labels, so only namespace-wide policies
//! apply to them here.

mod ports;

use super::{Call, Flow, Hop, Need, Role, Workload};
use crate::config::Config;
use crate::render::ai_serving::{gateway_service_account, picker_name, EXT_PROC_PORT, HEALTH_PORT, METRICS_PORT};
use crate::render::facts::ACTIVATOR_METRICS_PORT;
use crate::render::gateways::service_name;

pub use ports::{
    ACTIVATOR_PROBE_PATH, DRAIN_PATH, EVENTING_HTTP, GATEWAY_HTTP, HEALTH_PATH, MERGED_METRICS_PORT, OUTSIDE_NAMESPACE,
    PROMETHEUS_NAMESPACE, QUEUE_ADMIN, QUEUE_AUTOSCALING_METRICS, QUEUE_H2C, QUEUE_HTTP1, QUEUE_USER_METRICS, SUBSCRIBER_PORT,
    WEBHOOK_PORT,
};

/// Need of the calls that reach another namespace's Knative Service through the local gateway.
///
/// Least privilege wants them refused, but the mesh allows them, also under STRICT: callers reach the
/// local gateway's pods in plaintext (no `tlsMode` label on gateway pods, istio 1.29.6
/// `files/kube-gateway.yaml`), so a policy there cannot tell callers apart, and the revision's policy
/// sees the gateway's identity.
///
/// What would change it, read at the tags (docs/architecture.md, "Cluster-local calls are plaintext"):
/// the listener on 80 terminating mesh mTLS (`gateway.istio.io/tls-terminate-mode: ISTIO_MUTUAL`,
/// `pilot/pkg/config/kube/gateway/conversion.go:2262-2278`) and a plaintext listener named `http` on
/// another port for net-gateway-api's prober, which picks the Endpoints port by that name
/// (net-gateway-api knative-v1.23.0 `pkg/reconciler/ingress/lister.go:73,84-93`; istiod names Service
/// ports after listeners, `deploymentcontroller.go:1044-1054`). Every route attaches to both listeners
/// (`resources/httproute.go:246-258`), but a gateway policy admitting only `K-Network-Probe: probe`
/// there lets no plaintext request reach an app: queue-proxy answers probes itself (serving
/// knative-v1.23.0 `vendor/knative.dev/pkg/network/handlers/drain.go:103-109`), as does the activator
/// (`cmd/activator/main.go:270-271`). Not rendered: the sidecars' side (an ExternalName alias to a port
/// whose `appProtocol` becomes `https`, ISTIO_MUTUAL from a DestinationRule, HTTP/2 kept) needs Istio's
/// own config generation to confirm, and this evaluator models neither listener TLS modes nor `when`
/// header conditions. So the rows are `info` and show what the mesh does: `allow`, plaintext to the gateway;
/// under STRICT the one from outside the mesh's namespaces is `refused` by the NetworkPolicy
/// `<local gateway>-mesh-only` (`render/security.rs`).
pub const THROUGH_LOCAL_GATEWAY: Need = Need::Info;

/// A Gateway of the inference gateway's namespace that is not the inference gateway (its pods run as
/// `<name>-istio` there, with mTLS: the caller an admission by namespace would let through).
pub const ANOTHER_GATEWAY: &str = "another-gateway";

/// Need of the endpoint picker's scrape of the model servers: without metrics it cannot pick. The
/// scrape goes to pod IPs, which leave the picker's sidecar without mTLS (istio/istio#37431) unless a
/// headless Service covers them; `crate::render::ai_serving` renders one (`<pool>-model-server-metrics`).
pub const PICKER_SCRAPE: Need = Need::Needed;

fn hop(to: &Workload, port: u16, call: Call) -> Hop {
    Hop { to: to.clone(), port, path: None, call }
}

fn hop_path(to: &Workload, port: u16, path: &str, call: Call) -> Hop {
    Hop { to: to.clone(), port, path: Some(path.into()), call }
}

fn service() -> Call {
    Call::Service { host: None }
}

/// An istiod-deployed gateway: Deployment and ServiceAccount `<gateway>-istio`, pods labelled
/// `gateway.networking.k8s.io/gateway-name` (istio 1.29.6 `files/kube-gateway.yaml`).
pub fn gateway(namespace: &str, gateway: &str) -> Workload {
    let name = service_name(gateway);
    Workload {
        namespace: namespace.into(),
        name: name.clone(),
        labels: [
            (super::eval::GATEWAY_NAME_LABEL, gateway),
            ("gateway.networking.k8s.io/gateway-class-name", crate::render::gateways::GATEWAY_CLASS),
            ("sidecar.istio.io/inject", "false"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        service_account: name,
        role: Role::Gateway { gateway: gateway.into() },
    }
}

/// A Knative revision pod in an app namespace (queue-proxy and the user container).
pub fn revision(namespace: &str) -> Workload {
    Workload::pod(namespace, "revision", &[], "default")
}

/// A plain pod of an app namespace (a client, or a subscriber behind a Kubernetes Service).
pub fn app_pod(namespace: &str) -> Workload {
    Workload::pod(namespace, "pod", &[], "default")
}

/// Knative Serving's and net-gateway-api's system workloads, by Deployment name.
pub(super) struct Serving {
    pub(super) activator: Workload,
    pub(super) autoscaler: Workload,
    webhook: Workload,
    ngw_controller: Workload,
    ngw_webhook: Workload,
}

pub(super) fn serving(ns: &str) -> Serving {
    Serving {
        // serving config/core/deployments/activator.yaml: labels app/role activator, SA activator.
        activator: Workload::pod(ns, "activator", &[("app", "activator"), ("role", "activator")], "activator"),
        // autoscaler.yaml: app autoscaler, SA controller.
        autoscaler: Workload::pod(ns, "autoscaler", &[("app", "autoscaler")], "controller"),
        // webhook.yaml: app/role webhook, SA controller, containerPort 8443.
        webhook: Workload::pod(ns, "webhook", &[("app", "webhook"), ("role", "webhook")], "controller"),
        // net-gateway-api config/300-controller.yaml: app net-gateway-api-controller, SA controller.
        ngw_controller: Workload::pod(ns, "net-gateway-api-controller", &[("app", "net-gateway-api-controller")], "controller"),
        // net-gateway-api config/400-webhook-deployment.yaml: app net-gateway-api-webhook, SA controller, 8443.
        ngw_webhook: Workload::pod(ns, "net-gateway-api-webhook", &[("app", "net-gateway-api-webhook")], "controller"),
    }
}

/// Knative Eventing's system workloads (knative/eventing knative-v1.22.2).
struct Eventing {
    broker_ingress: Workload,
    broker_filter: Workload,
    imc_dispatcher: Workload,
    ping_adapter: Workload,
    webhook: Workload,
    imc_controller: Workload,
    kafka: KafkaPlanes,
}

/// Knative Kafka's workloads in the Eventing namespace (knative-extensions/eventing-kafka-broker,
/// tag knative-v1.22.2, the release of eventing knative-v1.22.2: `data-plane/config/*/500-*.yaml`,
/// `control-plane/config/eventing-kafka-broker/200-webhook/500-webhook.yaml`).
struct KafkaPlanes {
    broker_dispatcher: Workload,
    channel_dispatcher: Workload,
    source_dispatcher: Workload,
    sink_receiver: Workload,
    webhook: Workload,
}

fn kafka(ns: &str) -> KafkaPlanes {
    let plane =
        |name: &str, component: &str, sa: &str| Workload::pod(ns, name, &[("app", name), ("app.kubernetes.io/component", component)], sa);
    KafkaPlanes {
        // broker/500-dispatcher.yaml:20-25,37-39,60: StatefulSet, SA knative-kafka-broker-data-plane.
        broker_dispatcher: plane("kafka-broker-dispatcher", "kafka-broker-dispatcher", "knative-kafka-broker-data-plane"),
        // channel/500-dispatcher.yaml:20-25,37-39,60.
        channel_dispatcher: plane("kafka-channel-dispatcher", "kafka-channel-dispatcher", "knative-kafka-channel-data-plane"),
        // source/500-dispatcher.yaml:20,37-39,60 (its pods' component label says kafka-channel-dispatcher).
        source_dispatcher: plane("kafka-source-dispatcher", "kafka-channel-dispatcher", "knative-kafka-source-data-plane"),
        // sink/500-receiver.yaml:20-25,57: receives events and writes them to Kafka, delivers none.
        sink_receiver: plane("kafka-sink-receiver", "kafka-sink-receiver", "knative-kafka-sink-data-plane"),
        // 500-webhook.yaml:18-35,48,96-97: app kafka-webhook-eventing, https-webhook 8443.
        webhook: Workload::pod(ns, "kafka-webhook-eventing", &[("app", "kafka-webhook-eventing")], "kafka-webhook-eventing"),
    }
}

fn eventing(ns: &str) -> Eventing {
    Eventing {
        // config/brokers/mt-channel-broker/deployments/broker-ingress.yaml: SA mt-broker-ingress, 8080.
        broker_ingress: Workload::pod(
            ns,
            "mt-broker-ingress",
            &[("eventing.knative.dev/brokerRole", "ingress"), ("app.kubernetes.io/component", "broker-ingress")],
            "mt-broker-ingress",
        ),
        // broker-filter.yaml: SA mt-broker-filter, 8080.
        broker_filter: Workload::pod(
            ns,
            "mt-broker-filter",
            &[("eventing.knative.dev/brokerRole", "filter"), ("app.kubernetes.io/component", "broker-filter")],
            "mt-broker-filter",
        ),
        // config/channels/in-memory-channel/deployments/dispatcher.yaml: SA imc-dispatcher, 8080.
        imc_dispatcher: Workload::pod(ns, "imc-dispatcher", &[("app.kubernetes.io/component", "imc-dispatcher")], "imc-dispatcher"),
        // config/core/deployments/pingsource-mt-adapter.yaml: SA pingsource-mt-adapter.
        ping_adapter: Workload::pod(
            ns,
            "pingsource-mt-adapter",
            &[("app.kubernetes.io/component", "pingsource-mt-adapter")],
            "pingsource-mt-adapter",
        ),
        // config/core/deployments/webhook.yaml: app eventing-webhook, SA eventing-webhook, 8443.
        webhook: Workload::pod(
            ns,
            "eventing-webhook",
            &[("app", "eventing-webhook"), ("app.kubernetes.io/component", "eventing-webhook")],
            "eventing-webhook",
        ),
        // config/channels/in-memory-channel/deployments/controller.yaml: the IMC webhook, 8443.
        imc_controller: Workload::pod(ns, "imc-controller", &[("app.kubernetes.io/component", "imc-controller")], "imc-controller"),
        kafka: kafka(ns),
    }
}

/// Every catalogued flow for the config, in a stable order.
pub fn catalogue(config: &Config) -> Vec<Flow> {
    catalogue_with(config, &|_| true)
}

/// The catalogue with the per-app-namespace flows of the app namespaces `keep` accepts (by index
/// in `config.apps`); every other flow is always there.
pub fn catalogue_with(config: &Config, keep: &dyn Fn(usize) -> bool) -> Vec<Flow> {
    let mut out = Vec::new();
    let kubelet = Workload::host("kubelet");
    let apiserver = Workload::host("kube-apiserver");
    let prometheus = Workload::pod(PROMETHEUS_NAMESPACE, "prometheus", &[("app.kubernetes.io/name", "prometheus")], "prometheus");
    let outsider = app_pod(OUTSIDE_NAMESPACE);
    let outsider_usable = !config.apps.iter().any(|a| a == OUTSIDE_NAMESPACE);

    if let Some(k) = &config.knative {
        let s = serving(&k.serving_namespace);
        let ev = k.eventing_namespace.as_deref().map(eventing);
        let external = gateway(&config.namespace, &config.gateways.external);
        let local = gateway(&config.namespace, &config.gateways.local);
        let flow = Flow::new;

        // net-gateway-api routes external and cluster-local traffic to the revision's Service, whose
        // endpoints are the activator while a revision scales from zero (serving activator.yaml:
        // containerPorts http1 8012, h2c 8013).
        for gw in [&external, &local] {
            out.push(flow(
                Need::Needed,
                "gateway -> activator (revision scaled to zero)",
                gw.clone(),
                vec![hop(&s.activator, QUEUE_HTTP1, service())],
            ));
        }
        // net-gateway-api's prober calls every endpoint of the configured gateway Service by pod IP on
        // the `http` port with path /healthz (`pkg/reconciler/ingress/lister.go`, `pkg/status/status.go`).
        for gw in [&external, &local] {
            out.push(flow(
                Need::Needed,
                "net-gateway-api prober -> gateway pods",
                s.ngw_controller.clone(),
                vec![hop_path(gw, GATEWAY_HTTP, HEALTH_PATH, Call::PodIp)],
            ));
        }
        // The autoscaler's KPA scaler probes the revision's public Service on //healthz before scaling
        // to zero, to learn whether the activator is in the path (serving knative-v1.23.0
        // `pkg/reconciler/autoscaling/kpa/scaler.go:127-142,245`); its endpoints are the activator's.
        out.push(flow(
            Need::Needed,
            "autoscaler -> activator (probe before scaling to zero)",
            s.autoscaler.clone(),
            vec![hop_path(&s.activator, QUEUE_HTTP1, ACTIVATOR_PROBE_PATH, service())],
        ));
        // kube-apiserver calls admission webhooks without a mesh identity.
        let mut hooks = vec![&s.webhook, &s.ngw_webhook];
        if let Some(ev) = &ev {
            hooks.extend([&ev.webhook, &ev.imc_controller]);
            if k.kafka.any() {
                hooks.push(&ev.kafka.webhook);
            }
        }
        for hook in hooks {
            out.push(flow(
                Need::Needed,
                "kube-apiserver -> admission webhook",
                apiserver.clone(),
                vec![hop(hook, WEBHOOK_PORT, service())],
            ));
        }
        // activator.yaml: readinessProbe and livenessProbe httpGet on 8012.
        out.push(flow(Need::Needed, "kubelet probe -> activator", kubelet.clone(), vec![hop(&s.activator, QUEUE_HTTP1, Call::Kubelet)]));
        // The activator's metrics (`metrics` containerPort 9090, serving `activator.yaml:98-99`) scraped
        // by a Prometheus without a sidecar. Refused under every mode: STRICT refuses plaintext, and
        // under PERMISSIVE `activator-callers` admits 9090 only to `security.prometheus.principals`
        // (a scraper needs a mesh identity, as on the app pods' ports): a rule without `from` on 9090
        // would show every namespace's revision traffic to any pod, under PERMISSIVE to any caller
        // outside the mesh too.
        out.push(flow(
            Need::Refused,
            "Prometheus outside the mesh -> activator metrics",
            prometheus.clone(),
            vec![hop_path(&s.activator, ACTIVATOR_METRICS_PORT, "/metrics", Call::PodIp)],
        ));

        if let Some(ev) = &ev {
            // The channel-based broker: ingress → its channel (imc-dispatcher) → the broker filter;
            // PingSource's adapter sends to its sink, here a broker.
            out.push(flow(
                Need::Needed,
                "PingSource adapter -> broker ingress",
                ev.ping_adapter.clone(),
                vec![hop(&ev.broker_ingress, EVENTING_HTTP, service())],
            ));
            out.push(flow(
                Need::Needed,
                "broker ingress -> channel dispatcher",
                ev.broker_ingress.clone(),
                vec![hop(&ev.imc_dispatcher, EVENTING_HTTP, service())],
            ));
            out.push(flow(
                Need::Needed,
                "channel dispatcher -> broker filter",
                ev.imc_dispatcher.clone(),
                vec![hop(&ev.broker_filter, EVENTING_HTTP, service())],
            ));
        }

        for (i, app) in config.apps.iter().enumerate() {
            if !keep(i) {
                continue;
            }
            let rev = revision(app);
            let pod = app_pod(app);
            // Through the gateways, the revision's Service targets queue-proxy (8012, or 8013 for h2c).
            out.push(flow(Need::Needed, "external gateway -> revision (http1)", external.clone(), vec![hop(&rev, QUEUE_HTTP1, service())]));
            out.push(flow(Need::Needed, "external gateway -> revision (h2c)", external.clone(), vec![hop(&rev, QUEUE_H2C, service())]));
            out.push(flow(Need::Needed, "local gateway -> revision", local.clone(), vec![hop(&rev, QUEUE_HTTP1, service())]));
            // Under a mesh the activator sends to the revision's private ClusterIP Service
            // (`revision_backends.go`: pod-IP probes fail with a mesh error, it falls back to the ClusterIP).
            out.push(flow(Need::Needed, "activator -> revision", s.activator.clone(), vec![hop(&rev, QUEUE_HTTP1, service())]));
            // The autoscaler scrapes queue-proxy's 9090 through the private Service in mesh mode
            // (`stats_scraper.go`, `scrapeService`); in `auto` mode it tries pod IPs first and falls
            // back when every pod answers with a mesh error.
            out.push(flow(
                Need::Needed,
                "autoscaler -> queue-proxy metrics",
                s.autoscaler.clone(),
                vec![hop_path(&rev, QUEUE_AUTOSCALING_METRICS, "/metrics", service())],
            ));
            if k.mesh_compatibility_mode != "enabled" {
                out.push(flow(
                    Need::Info,
                    "autoscaler -> queue-proxy metrics by pod IP (tried first in auto mode)",
                    s.autoscaler.clone(),
                    vec![hop_path(&rev, QUEUE_AUTOSCALING_METRICS, "/metrics", Call::PodIp)],
                ));
            }
            // queue-proxy's readiness probe (httpGet on 8012, `queue.go`) and the user container's
            // preStop hook (httpGet 8022 /wait-for-drain, `deploy.go` `userLifecycle`).
            out.push(flow(Need::Needed, "kubelet probe -> queue-proxy", kubelet.clone(), vec![hop(&rev, QUEUE_HTTP1, Call::Kubelet)]));
            out.push(flow(
                Need::Needed,
                "kubelet preStop hook -> queue-proxy drain",
                kubelet.clone(),
                vec![hop_path(&rev, QUEUE_ADMIN, DRAIN_PATH, Call::Kubelet)],
            ));
            // A Knative Service's cluster-local name is an ExternalName to the local gateway's Service
            // (serving `route/resources/service.go`; net-gateway-api `ingress.go` sets DomainInternal).
            out.push(flow(
                Need::Needed,
                "pod -> Knative Service of its own namespace (through the local gateway)",
                pod.clone(),
                vec![hop(&local, GATEWAY_HTTP, service()), hop(&rev, QUEUE_HTTP1, service())],
            ));
            // A DomainMapping's route goes to the Knative Service's own Service (serving
            // knative-v1.23.0 `pkg/reconciler/domainmapping/resources/ingress.go:50-54`), an
            // ExternalName to the local gateway (`route/resources/service.go:139-141`): the external
            // gateway calls the local one, which the NetworkPolicy `<local>-mesh-only` admits.
            out.push(flow(
                Need::Needed,
                "external gateway -> DomainMapping -> local gateway -> revision",
                external.clone(),
                vec![hop(&local, GATEWAY_HTTP, service()), hop(&rev, QUEUE_HTTP1, service())],
            ));
            if let Some(ev) = &ev {
                out.push(flow(
                    Need::Needed,
                    "broker filter -> Knative Service subscriber (through the local gateway)",
                    ev.broker_filter.clone(),
                    vec![hop(&local, GATEWAY_HTTP, service()), hop(&rev, QUEUE_HTTP1, service())],
                ));
                out.push(flow(
                    Need::Needed,
                    "broker filter -> Kubernetes Service subscriber",
                    ev.broker_filter.clone(),
                    vec![hop(&pod, SUBSCRIBER_PORT, service())],
                ));
                out.push(flow(
                    Need::Needed,
                    "channel dispatcher -> Knative Service subscriber (through the local gateway)",
                    ev.imc_dispatcher.clone(),
                    vec![hop(&local, GATEWAY_HTTP, service()), hop(&rev, QUEUE_HTTP1, service())],
                ));
                out.push(flow(
                    Need::Needed,
                    "event producer -> broker ingress",
                    pod.clone(),
                    vec![hop(&ev.broker_ingress, EVENTING_HTTP, service())],
                ));
                // Knative Kafka's dispatchers deliver to a subscriber or sink URI like the senders
                // above, under their data planes' ServiceAccounts; through the local gateway the
                // revision sees the gateway, so the direct call is the one their admission decides.
                let kafka = &ev.kafka;
                for (on, purpose, from) in [
                    (k.kafka.broker, "Kafka broker dispatcher -> Kubernetes Service subscriber", &kafka.broker_dispatcher),
                    (k.kafka.channel, "Kafka channel dispatcher -> Kubernetes Service subscriber", &kafka.channel_dispatcher),
                    (k.kafka.source, "KafkaSource dispatcher -> Kubernetes Service sink", &kafka.source_dispatcher),
                ] {
                    if on {
                        out.push(flow(Need::Needed, purpose, from.clone(), vec![hop(&pod, SUBSCRIBER_PORT, service())]));
                    }
                }
                if k.kafka.broker {
                    out.push(flow(
                        Need::Needed,
                        "Kafka broker dispatcher -> Knative Service subscriber (through the local gateway)",
                        kafka.broker_dispatcher.clone(),
                        vec![hop(&local, GATEWAY_HTTP, service()), hop(&rev, QUEUE_HTTP1, service())],
                    ));
                }
            }
            // Istio's merged metrics: the injector points prometheus.io/port at pilot-agent's 15020.
            let scrape_need = if config.prometheus { Need::Needed } else { Need::Info };
            out.push(flow(
                scrape_need,
                "Prometheus -> merged Istio metrics",
                prometheus.clone(),
                vec![hop_path(&rev, MERGED_METRICS_PORT, "/stats/prometheus", Call::PodIp)],
            ));
            out.push(flow(
                Need::Info,
                "Prometheus -> queue-proxy user metrics",
                prometheus.clone(),
                vec![hop_path(&rev, QUEUE_USER_METRICS, "/metrics", Call::PodIp)],
            ));

            // Least privilege: another app namespace (the next one, cyclically) and a pod outside the
            // mesh reach none of this namespace's pods, directly or through the local gateway.
            if config.apps.len() > 1 {
                let other = app_pod(&config.apps[(i + 1) % config.apps.len()]);
                out.push(flow(
                    Need::Refused,
                    "pod of another app namespace -> revision",
                    other.clone(),
                    vec![hop(&rev, QUEUE_HTTP1, service())],
                ));
                out.push(flow(
                    Need::Refused,
                    "pod of another app namespace -> revision health path",
                    other.clone(),
                    vec![hop_path(&rev, QUEUE_HTTP1, HEALTH_PATH, service())],
                ));
                // No Service port targets queue-proxy's admin port (the private Service's ports are
                // http, https, http-autometric, http-usermetric and http-istio: serving knative-v1.23.0
                // `pkg/reconciler/serverlessservice/resources/services.go:132-183`, MakePrivateService), so only a pod-IP
                // call reaches it: the caller's sidecar sends it through the passthrough cluster in
                // plaintext, and STRICT refuses it before RBAC (Istio's config generator in the oracle,
                // issue 22).
                out.push(flow(
                    Need::Refused,
                    "pod of another app namespace -> queue-proxy drain",
                    other.clone(),
                    vec![hop_path(&rev, QUEUE_ADMIN, DRAIN_PATH, Call::PodIp)],
                ));
                out.push(flow(
                    Need::Refused,
                    "pod of another app namespace -> queue-proxy user metrics",
                    other.clone(),
                    vec![hop_path(&rev, QUEUE_USER_METRICS, "/metrics", service())],
                ));
                // The activator forwards to whichever revision the request's headers or Host name
                // (serving `pkg/activator/handler/context_handler.go:58-67`): only its real callers
                // may reach it (`activator-callers`).
                out.push(flow(
                    Need::Refused,
                    "pod of another app namespace -> activator -> revision",
                    other.clone(),
                    vec![hop(&s.activator, QUEUE_HTTP1, service()), hop(&rev, QUEUE_HTTP1, service())],
                ));
                out.push(flow(
                    THROUGH_LOCAL_GATEWAY,
                    "pod of another app namespace -> Knative Service (through the local gateway)",
                    other,
                    vec![hop(&local, GATEWAY_HTTP, service()), hop(&rev, QUEUE_HTTP1, service())],
                ));
            }
            // The Serving webhook runs as SA `controller`, like the autoscaler (serving
            // `config/core/deployments/webhook.yaml`, `autoscaler.yaml:52`): admitted on 9090 only.
            out.push(flow(
                Need::Refused,
                "Knative Serving webhook (the autoscaler's service account) -> revision",
                s.webhook.clone(),
                vec![hop(&rev, QUEUE_HTTP1, service())],
            ));
            // queue-proxy's admin port drains on any request to /wait-for-drain (serving
            // knative-v1.23.0 `pkg/queue/sharedmain/handlers.go:111-130`); its preStop caller
            // reaches it past the sidecar, so no caller through the mesh may, not even the own
            // namespace (`notPorts` in `allow-mesh-and-knative`). No Service port targets 8022 (see
            // the other app's row above), so the call is a pod-IP call: plaintext through the
            // caller's passthrough cluster, refused by STRICT first, by the policy under PERMISSIVE.
            out.push(flow(
                Need::Refused,
                "pod of its own namespace -> queue-proxy drain",
                pod.clone(),
                vec![hop_path(&rev, QUEUE_ADMIN, DRAIN_PATH, Call::PodIp)],
            ));
            if let Some(ev) = &ev {
                // A subscriber URI may name any port of any Service, and a selector-less Service's
                // EndpointSlice any pod IP: the senders' rule has `notPorts` queue-proxy's reserved
                // ports, so a subscriber `http://<svc>:8022/wait-for-drain` drains nothing. The row is
                // the pod-IP call the world has (no such Service in it); the `notPorts` themselves
                // are pinned by `eventing_senders_and_the_own_namespace_never_reach_queue_proxys_reserved_ports`.
                out.push(flow(
                    Need::Refused,
                    "broker filter -> queue-proxy drain (a subscriber URI on 8022)",
                    ev.broker_filter.clone(),
                    vec![hop_path(&rev, QUEUE_ADMIN, DRAIN_PATH, Call::PodIp)],
                ));
                for (on, purpose, from) in [
                    (
                        k.kafka.broker,
                        "Kafka broker dispatcher -> queue-proxy drain (a subscriber URI on 8022)",
                        &ev.kafka.broker_dispatcher,
                    ),
                    (
                        k.kafka.channel,
                        "Kafka channel dispatcher -> queue-proxy drain (a subscriber URI on 8022)",
                        &ev.kafka.channel_dispatcher,
                    ),
                    (k.kafka.source, "KafkaSource dispatcher -> queue-proxy drain (a sink URI on 8022)", &ev.kafka.source_dispatcher),
                ] {
                    if on {
                        out.push(flow(Need::Refused, purpose, from.clone(), vec![hop_path(&rev, QUEUE_ADMIN, DRAIN_PATH, Call::PodIp)]));
                    }
                }
                // Eventing is admitted by its senders' principals only, not by namespace.
                out.push(flow(
                    Need::Refused,
                    "broker ingress (not a sender to subscribers) -> revision",
                    ev.broker_ingress.clone(),
                    vec![hop(&rev, QUEUE_HTTP1, service())],
                ));
                if k.kafka.any() {
                    out.push(flow(
                        Need::Refused,
                        "Kafka sink receiver (not a sender to subscribers) -> revision",
                        ev.kafka.sink_receiver.clone(),
                        vec![hop(&rev, QUEUE_HTTP1, service())],
                    ));
                }
                // A Kafka data plane the config does not name is not admitted.
                for (on, purpose, from) in [
                    (k.kafka.broker, "Kafka broker dispatcher (not configured) -> revision", &ev.kafka.broker_dispatcher),
                    (k.kafka.channel, "Kafka channel dispatcher (not configured) -> revision", &ev.kafka.channel_dispatcher),
                    (k.kafka.source, "KafkaSource dispatcher (not configured) -> revision", &ev.kafka.source_dispatcher),
                ] {
                    if !on && k.kafka.any() {
                        out.push(flow(Need::Refused, purpose, from.clone(), vec![hop(&rev, QUEUE_HTTP1, service())]));
                    }
                }
            }
            if outsider_usable {
                out.push(flow(
                    Need::Refused,
                    "pod outside the mesh -> revision",
                    outsider.clone(),
                    vec![hop(&rev, QUEUE_HTTP1, service())],
                ));
                out.push(flow(
                    Need::Refused,
                    "pod outside the mesh -> activator -> revision",
                    outsider.clone(),
                    vec![hop(&s.activator, QUEUE_HTTP1, service()), hop(&rev, QUEUE_HTTP1, service())],
                ));
                // Under STRICT the NetworkPolicy `<local gateway>-mesh-only` (render/security.rs)
                // admits to the gateway's listener only the mesh's namespaces: refused there, where
                // the network plugin enforces NetworkPolicy. Without it (PERMISSIVE, or `meshOnly:
                // false`, MR028) the row shows the open path.
                let outsider_need = if config.mtls == crate::config::MtlsMode::Strict && config.gateways.local_mesh_only {
                    Need::Refused
                } else {
                    THROUGH_LOCAL_GATEWAY
                };
                out.push(flow(
                    outsider_need,
                    "pod outside the mesh -> Knative Service (through the local gateway)",
                    outsider.clone(),
                    vec![hop(&local, GATEWAY_HTTP, service()), hop(&rev, QUEUE_HTTP1, service())],
                ));
            }
        }
    }

    if let Some(ai) = &config.ai_serving {
        let mut gw = gateway(&ai.gateway.namespace, &ai.gateway.name);
        // A reused Gateway's pods may run under another ServiceAccount (`gateway.istio.io/service-account`).
        gw.service_account = gateway_service_account(ai);
        for pool in &ai.pools {
            let ns = pool.namespace.as_str();
            let epp = picker_name(pool);
            // The picker's pods: label app=<pool>-epp, SA <pool>-epp (`crate::render::ai_serving::picker`).
            let picker = Workload::pod(ns, &epp, &[("app", &epp)], &epp);
            let selector: Vec<(&str, &str)> = pool.selector.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let model = Workload::pod(ns, &format!("{}-model-server", pool.name), &selector, "default");
            let picker_host = format!("{epp}.{ns}.svc.cluster.local");
            // The gateway calls the picker's ext_proc Service port (InferencePool endpointPickerRef).
            out.push(Flow::new(
                Need::Needed,
                "inference gateway -> endpoint picker (ext_proc)",
                gw.clone(),
                vec![hop(&picker, EXT_PROC_PORT as u16, Call::Service { host: Some(picker_host.clone()) })],
            ));
            for port in &pool.target_ports {
                // Istio builds one EDS cluster for an InferencePool's shadow Service (istio 1.29.6
                // `pilot/pkg/networking/core/cluster.go`), so auto-mTLS applies to model servers.
                out.push(Flow::new(Need::Needed, "inference gateway -> model server", gw.clone(), vec![hop(&model, *port, service())]));
                // The picker scrapes each model server at http://<podIP>:<port>/metrics (DOMAIN, istio#37431).
                out.push(Flow::new(
                    PICKER_SCRAPE,
                    "endpoint picker -> model server metrics (pod IP)",
                    picker.clone(),
                    vec![hop_path(&model, *port, "/metrics", Call::PodIp)],
                ));
            }
            // `crate::render::ai_serving::picker`: gRPC liveness and readiness probes on 9003.
            out.push(Flow::new(
                Need::Needed,
                "kubelet probe -> endpoint picker",
                kubelet.clone(),
                vec![hop(&picker, HEALTH_PORT as u16, Call::Kubelet)],
            ));
            out.push(Flow::new(
                Need::Info,
                "Prometheus -> endpoint picker metrics",
                prometheus.clone(),
                vec![hop_path(&picker, METRICS_PORT as u16, "/metrics", Call::PodIp)],
            ));
            if let Some(other) = config.apps.iter().find(|a| *a != ns) {
                out.push(Flow::new(
                    Need::Refused,
                    "pod of an app namespace -> model server",
                    app_pod(other),
                    vec![hop(&model, pool.target_ports[0], service())],
                ));
            }
            // Least privilege by principal: only `sa/<pool>-epp` of the pool's namespace scrapes the
            // model servers, only the inference gateway's pods (not istiod or another gateway of its
            // namespace) reach them and the picker's 9002, and no rule opens 9003 or (without a
            // configured scraper) 9090. In a namespace that is also an app namespace the DENY
            // policies `<pool>-model-servers-deny-others` and `<pool>-epp-deny-others` keep it so.
            let neighbour = app_pod(ns);
            // istio 1.29.6 manifests/charts/istio-control/istio-discovery/templates/deployment.yaml:
            // labels app/istio istiod, SA istiod. istiod has no sidecar, so its call is plaintext:
            // STRICT refuses it first; under PERMISSIVE the pool's ALLOW policy does (no identity,
            // no principal rule matches). The row that shows the principal narrowing itself is the
            // next gateway's: it calls over mTLS from the gateway's namespace, which an admission by
            // namespace (`source.namespaces: [<gateway ns>]`) would let through.
            let istiod = Workload::pod(&config.namespace, "istiod", &[("app", "istiod"), ("istio", "pilot")], "istiod");
            let other = if ai.gateway.name == ANOTHER_GATEWAY { "another-gateway-2" } else { ANOTHER_GATEWAY };
            let neighbour_gateway = gateway(&ai.gateway.namespace, other);
            let first = pool.target_ports[0];
            out.push(Flow::new(
                Need::Refused,
                "another pod of the pool namespace -> model server",
                neighbour.clone(),
                vec![hop(&model, first, service())],
            ));
            out.push(Flow::new(Need::Refused, "istiod -> model server", istiod.clone(), vec![hop(&model, first, service())]));
            out.push(Flow::new(
                Need::Refused,
                "another gateway of the inference gateway's namespace -> model server",
                neighbour_gateway.clone(),
                vec![hop(&model, first, service())],
            ));
            if pool.picker.tls == crate::config::ai_serving::PickerTls::Mesh {
                out.push(Flow::new(
                    Need::Refused,
                    "another pod of the pool namespace -> endpoint picker (ext_proc)",
                    neighbour.clone(),
                    vec![hop(&picker, EXT_PROC_PORT as u16, service())],
                ));
                out.push(Flow::new(
                    Need::Refused,
                    "istiod -> endpoint picker (ext_proc)",
                    istiod.clone(),
                    vec![hop(&picker, EXT_PROC_PORT as u16, service())],
                ));
                out.push(Flow::new(
                    Need::Refused,
                    "another gateway of the inference gateway's namespace -> endpoint picker (ext_proc)",
                    neighbour_gateway.clone(),
                    vec![hop(&picker, EXT_PROC_PORT as u16, service())],
                ));
            } else {
                // `tls: selfSigned` (MR026): 9002 is in the picker's excludeInboundPorts, so no
                // policy sees the call and any pod reaches it. Shown, not hidden: `info`, the
                // evaluator reads the annotation and says `bypass`.
                out.push(Flow::new(
                    Need::Info,
                    "another pod of the pool namespace -> endpoint picker (ext_proc, tls: selfSigned, uncaptured)",
                    neighbour.clone(),
                    vec![hop(&picker, EXT_PROC_PORT as u16, service())],
                ));
            }
            // Through the picker's Service, whose DestinationRule (selfSigned) decides the transport
            // of each port.
            for port in [HEALTH_PORT as u16, METRICS_PORT as u16] {
                out.push(Flow::new(
                    Need::Refused,
                    "another pod of the pool namespace -> endpoint picker health or metrics",
                    neighbour.clone(),
                    vec![hop(&picker, port, Call::Service { host: Some(picker_host.clone()) })],
                ));
            }
            if let Some(k) = &config.knative {
                // A Knative gateway that is not the inference gateway (a config may reuse one as it).
                let knative_gw = [&config.gateways.external, &config.gateways.local]
                    .into_iter()
                    .find(|g| !(config.namespace == ai.gateway.namespace && **g == ai.gateway.name));
                if let Some(g) = knative_gw {
                    out.push(Flow::new(
                        Need::Refused,
                        "Knative gateway (not the inference gateway) -> model server",
                        gateway(&config.namespace, g),
                        vec![hop(&model, first, service())],
                    ));
                }
                if let Some(ev) = k.eventing_namespace.as_deref().map(eventing) {
                    out.push(Flow::new(
                        Need::Refused,
                        "broker filter -> model server",
                        ev.broker_filter,
                        vec![hop(&model, first, service())],
                    ));
                }
            }
        }
    }
    // Calls from the other clusters of a multi-cluster mesh (every app namespace: they depend on the
    // other clusters' namespaces too, which the classes of `for_each_row_by_class` do not see).
    out.extend(super::fleet::cross_flows(config));
    out
}

/// The config's `components.istio.flows.expect` entries as flows. A named workload that the
/// catalogue knows in that namespace is that workload; any other is a plain pod labelled
/// `app: <workload>`.
pub fn expectations(config: &Config) -> Vec<Flow> {
    if config.flow_expectations.is_empty() {
        return Vec::new();
    }
    let known: Vec<Workload> =
        catalogue(config).into_iter().flat_map(|f| std::iter::once(f.from).chain(f.hops.into_iter().map(|h| h.to))).collect();
    let resolve = |namespace: &str, workload: Option<&str>| -> Workload {
        match workload {
            None => app_pod(namespace),
            Some(name) => known
                .iter()
                .find(|w| w.namespace == namespace && w.name == name)
                .cloned()
                .unwrap_or_else(|| Workload::pod(namespace, name, &[("app", name)], "default")),
        }
    };
    config
        .flow_expectations
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let from = resolve(&e.from.namespace, e.from.workload.as_deref());
            let to = resolve(&e.to.namespace, e.to.workload.as_deref());
            let need = if e.allow { Need::Needed } else { Need::Refused };
            let verdict = if e.allow { "allow" } else { "deny" };
            Flow {
                purpose: format!("expectation {i}: {verdict}"),
                need,
                from,
                hops: vec![hop(&to, e.port, service())],
                expectation: Some(i),
                cross: None,
            }
        })
        .collect()
}
