//! Calls from the other clusters of a multi-cluster mesh into the rendered one.
//!
//! Istio merges the Services of every cluster by name and namespace ("namespace sameness"): a pod
//! of cluster B calling `<svc>.<ns>.svc.cluster.local` gets endpoints in every cluster that has the
//! Service, and the destination's sidecar checks the caller's identity, the same SPIFFE principal
//! in every cluster of one trust domain, against its own cluster's policies. So a call from B is
//! evaluated here, with this cluster's objects, and then what only a call from another cluster
//! meets:
//!
//! - On one network the caller reaches the pod IP directly. On two, istiod gives it the
//!   destination network's east-west gateway instead, on 15443, and only for endpoints that accept
//!   Istio mTLS, which the gateway passes through by SNI (`AUTO_PASSTHROUGH`): istio 1.29.6
//!   `pilot/pkg/xds/endpoints/ep_filters.go:146-162` (an endpoint of another network is kept only
//!   when it is mTLS; with no gateway for its network it is handed out as it is, `:146-151` and
//!   `:48-63`, unreachable in practice).
//! - The caller's certificate must chain to a root the destination trusts: one root for every
//!   cluster (`multiCluster.trust`), or each istiod signs with its own and the handshake fails.
//! - Knative's namespaces and the root namespace (the gateways) are cluster-local
//!   (`render::multi_cluster::cluster_local_settings`): each cluster's Knative and gateways serve
//!   that cluster alone, so a Knative Service is not reached from another cluster through this
//!   cluster's local gateway, and no activator reports to another cluster's autoscaler.
//!
//! The oracle (`oracle multicluster`) judges these rows with Istio's config generator holding every
//! cluster's objects.

use super::catalogue::{app_pod, gateway, revision, GATEWAY_HTTP, QUEUE_HTTP1, SUBSCRIBER_PORT};

/// The autoscaler's statistics port, where each activator's WebSocket goes (serving knative-v1.23.0
/// `cmd/activator/main.go:74`, `cmd/autoscaler/main.go:68`).
const AUTOSCALER_STATS: u16 = 8080;
use super::{Call, Flow, Hop, Need, Via};
use crate::config::multi_cluster::EAST_WEST_PORT;
use crate::config::Config;

/// What a call from another cluster adds to the evaluation of its flow in this cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cross {
    pub from_cluster: String,
    pub to_cluster: String,
    /// The destination network's east-west gateway, when the networks differ: the call goes there.
    pub east_west: Option<Via>,
    /// Why nothing reaches the destination whatever the policies say (no gateway for another network,
    /// no shared root, no mTLS endpoint).
    pub blocked: Option<String>,
}

/// The calls from every other cluster into the rendered one: for every app namespace both have, a
/// pod of the other cluster calling a Kubernetes Service of that namespace here (needed: that is
/// what one mesh across clusters is for), and, across networks, a Knative Service here (listed to
/// show that it is not reachable).
pub fn cross_flows(config: &Config) -> Vec<Flow> {
    let (Some(mc), Some(here)) = (&config.multi_cluster, &config.cluster) else { return Vec::new() };
    let mut out = Vec::new();
    for other in mc.clusters.iter().filter(|c| c.name != here.name) {
        let networks_differ = other.network != here.network;
        let trust = match &mc.trust {
            Some(_) => None,
            None => Some(format!(
                "`multiCluster.trust` is off: {}'s istiod signs with a root of its own, which {}'s sidecars do not trust, so the mTLS handshake fails",
                other.name, here.name
            )),
        };
        let east_west = Via { namespace: config.namespace.clone(), workload: here.east_west.name.clone(), port: EAST_WEST_PORT };
        let (east_west, network) = match (networks_differ, here.east_west.enabled) {
            (false, _) => (None, None),
            (true, true) => (Some(east_west), None),
            (true, false) => (
                None,
                Some(format!(
                    "{} (network {}) has no east-west gateway: istiod hands {}'s callers its pod IPs, which network {} cannot reach",
                    here.name, here.network, other.name, other.network
                )),
            ),
        };
        let cross = |blocked: Option<String>| Cross {
            from_cluster: other.name.clone(),
            to_cluster: here.name.clone(),
            east_west: east_west.clone(),
            blocked: blocked.or_else(|| network.clone()).or_else(|| trust.clone()),
        };
        for ns in config.apps.iter().filter(|ns| other.summary.apps.contains(ns)) {
            let pod = app_pod(ns);
            out.push(Flow {
                purpose: format!("pod of cluster {} -> Kubernetes Service of its namespace in cluster {}", other.name, here.name),
                need: Need::Needed,
                from: pod.clone(),
                hops: vec![Hop { to: pod, port: SUBSCRIBER_PORT, path: None, call: Call::Service { host: None } }],
                expectation: None,
                cross: Some(cross(None)),
            });
            if config.knative.is_some() {
                let local = gateway(&config.namespace, &config.gateways.local);
                let blocked = format!(
                    "the local gateway's Service is cluster-local (meshConfig.serviceSettings): {}'s pods reach their own cluster's local gateway, which routes {}'s Knative Services only; run the Knative Service in {} too, or call a Service of the app",
                    other.name, other.name, other.name
                );
                out.push(Flow {
                    purpose: format!(
                        "pod of cluster {} -> Knative Service of its namespace in cluster {} (through the local gateway)",
                        other.name, here.name
                    ),
                    need: Need::Info,
                    from: app_pod(ns),
                    hops: vec![
                        Hop { to: local, port: GATEWAY_HTTP, path: None, call: Call::Service { host: None } },
                        Hop { to: revision(ns), port: QUEUE_HTTP1, path: None, call: Call::Service { host: None } },
                    ],
                    expectation: None,
                    cross: Some(Cross { east_west: None, ..cross(Some(blocked)) }),
                });
            }
        }
        // Each cluster's activator reports its request statistics to its own autoscaler, over a
        // WebSocket to `autoscaler.<serving namespace>:8080` (serving knative-v1.23.0
        // `cmd/activator/main.go:74,218-220`, `config/core/deployments/autoscaler.yaml:131-133`): another
        // cluster's statistics would scale this cluster's revisions, and the other's would never see
        // them. Knative's namespaces are cluster-local, so istiod gives the caller no endpoint here.
        if let Some(k) = &config.knative {
            let serving = super::catalogue::serving(&k.serving_namespace);
            out.push(Flow {
                purpose: format!("activator of cluster {} -> autoscaler of cluster {} (request statistics)", other.name, here.name),
                need: Need::Refused,
                from: serving.activator,
                hops: vec![Hop { to: serving.autoscaler, port: AUTOSCALER_STATS, path: None, call: Call::Service { host: None } }],
                expectation: None,
                cross: Some(Cross {
                    east_west: None,
                    ..cross(Some(format!(
                        "Knative's namespace {} is cluster-local (meshConfig.serviceSettings): istiod gives {}'s activator only its own cluster's autoscaler",
                        k.serving_namespace, other.name
                    )))
                }),
            });
        }
    }
    out
}
