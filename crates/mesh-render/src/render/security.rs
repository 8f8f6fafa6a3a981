//! mTLS and authorization: the mesh-wide PeerAuthentication, the webhook exceptions Knative needs,
//! and a least-privilege AuthorizationPolicy per app namespace.

use std::collections::BTreeMap;

use crate::api::istio::*;
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::config::{Config, MtlsMode};
use crate::render::facts::{Admission, MeshFacts, ACTIVATOR_POLICY, QUEUE_ADMIN_PORT};
use crate::render::manifest::{owned_meta, Concern, Manifest, Object};

/// Name of the per-namespace ALLOW policy.
pub(crate) const APP_POLICY: &str = "allow-mesh-and-knative";

pub(crate) fn render(config: &Config, facts: &MeshFacts) -> Vec<Manifest> {
    let mut out = Vec::new();
    let mesh_wide = PeerAuthentication::new(
        "default",
        PeerAuthenticationSpec { mtls: Some(PeerAuthenticationMtls { mode: config.mtls.as_str().into() }), ..Default::default() },
    );
    out.push(peer_authentication(mesh_wide, &config.namespace));

    for hook in &facts.webhook_exceptions {
        let spec = PeerAuthenticationSpec {
            selector: Some(WorkloadSelector { match_labels: hook.selector.clone() }),
            mtls: None,
            port_level_mtls: BTreeMap::from([(hook.port.to_string(), PeerAuthenticationMtls { mode: "PERMISSIVE".into() })]),
        };
        out.push(peer_authentication(PeerAuthentication::new(&hook.name, spec), &hook.namespace));
    }

    if let Some(k) = &config.knative {
        out.push(activator_policy(facts, &k.serving_namespace));
        if config.mtls == MtlsMode::Strict && config.gateways.local_mesh_only {
            out.push(local_gateway_mesh_only(config, facts));
        }
    }
    // What every app policy has but its own namespace's rule, made once: a mesh may have thousands.
    let shared = AppPolicy {
        callers: facts.app_callers.iter().map(admission_rule).collect(),
        scrape: config.security.prometheus.as_ref().map(|scrape| AuthorizationRule {
            from: vec![RuleFrom { source: Source { principals: scrape.principals.clone(), ..Default::default() } }],
            to: vec![RuleTo { operation: Operation { ports: scrape.ports.iter().map(u16::to_string).collect(), ..Default::default() } }],
        }),
        own_to: vec![RuleTo { operation: Operation { not_ports: vec![QUEUE_ADMIN_PORT.to_string()], ..Default::default() } }],
        metadata: owned_meta(APP_POLICY, None, Concern::Security),
    };
    for app in &config.apps {
        let mut policy = AuthorizationPolicy::new(APP_POLICY, app_policy(&shared, facts, app));
        policy.metadata = ObjectMeta { namespace: Some(app.clone()), ..shared.metadata.clone() };
        out.push(Manifest { concern: Concern::Security, object: Object::from(policy) });
    }
    out
}

/// The parts of [`app_policy`] that are the same in every app namespace.
struct AppPolicy {
    callers: Vec<AuthorizationRule>,
    scrape: Option<AuthorizationRule>,
    /// `to` of the namespace's own rule.
    own_to: Vec<RuleTo>,
    /// Its metadata, without the namespace.
    metadata: ObjectMeta,
}

/// The port of the local gateway's one listener (`render/gateways.rs`): istiod's Service for a
/// Gateway has no `targetPort` (istio 1.29.6 `files/kube-gateway.yaml:347-352`), so the gateway pods
/// listen on it themselves (`:77-78` lowers `ip_unprivileged_port_start` for that).
pub(crate) const LOCAL_GATEWAY_PORT: i32 = 80;

/// The ports an istiod-deployed gateway pod listens on besides its listeners (istio 1.29.6
/// `files/kube-gateway.yaml:108-116`: pilot-agent's status 15020, readiness 15021, Envoy's metrics 15090).
pub(crate) const GATEWAY_POD_PORTS: [i32; 3] = [15020, 15021, 15090];

/// Name of the NetworkPolicy that keeps pods outside the mesh off the local gateway's listener.
pub(crate) fn mesh_only_policy_name(local_gateway: &str) -> String {
    format!("{local_gateway}-mesh-only")
}

/// Under STRICT, a cluster-local call to a Knative Service reaches the local gateway's pods in
/// plaintext (they have no sidecar and no `security.istio.io/tlsMode` label), and the gateway calls
/// the app over mTLS with its own identity, which every app policy admits: no AuthorizationPolicy can
/// tell a pod outside the mesh from one inside. This NetworkPolicy can, by namespace: it selects the
/// gateway's pods (`gateway.networking.k8s.io/gateway-name`, istio 1.29.6 `files/kube-gateway.yaml:68`)
/// and admits to the listener port only pods with a sidecar in the mesh's namespaces
/// ([`MeshFacts::injected`]: Knative's, the apps', the pools'; net-gateway-api's prober runs in Knative
/// Serving's) and the external gateway's pods (DomainMapping). Its second rule keeps the pod's other
/// ports open to every source as before. Kubelet's probes
/// come from the node, which NetworkPolicy always lets through (kubernetes/website
/// `content/en/docs/concepts/services-networking/network-policies.md`). It takes effect only where
/// the network plugin enforces NetworkPolicy.
fn local_gateway_mesh_only(config: &Config, facts: &MeshFacts) -> Manifest {
    let gateway = &config.gateways.local;
    let name = mesh_only_policy_name(gateway);
    let tcp = |port: i32| NetworkPolicyPort { protocol: Some("TCP".into()), port: Some(IntOrString::Int(port)), end_port: None };
    let labels = |pairs: &[(&str, &str)]| -> Option<LabelSelector> {
        Some(LabelSelector {
            match_labels: Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            match_expressions: None,
        })
    };
    let mut mesh: Vec<String> = facts.injected.clone();
    mesh.sort();
    mesh.dedup();
    // Pods of the mesh's namespaces that carry a sidecar (the injector labels them
    // `security.istio.io/tlsMode: istio`, see `tests/injected_pods.rs`): a pod opted out of
    // injection there is outside the mesh too. The label is set by whoever creates the pod, so this
    // narrows by namespace and intent, not by identity.
    let mesh_pods = NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "kubernetes.io/metadata.name".into(),
                operator: "In".into(),
                values: Some(mesh),
            }]),
            match_labels: None,
        }),
        pod_selector: labels(&[("security.istio.io/tlsMode", "istio")]),
        ..Default::default()
    };
    // The external gateway's pods: a DomainMapping's route goes to the Knative Service's own
    // Service (serving knative-v1.23.0 `pkg/reconciler/domainmapping/resources/ingress.go:50-54`),
    // an ExternalName to the local gateway (`route/resources/service.go:139-141`), which Istio treats
    // as an alias of the local gateway's Service (istio 1.29.6
    // `pilot/pkg/serviceregistry/kube/conversion.go:53-56`): the external gateway calls the local one.
    let external_gateway = NetworkPolicyPeer {
        namespace_selector: labels(&[("kubernetes.io/metadata.name", &config.namespace)]),
        pod_selector: labels(&[(crate::check::flows::eval::GATEWAY_NAME_LABEL, &config.gateways.external)]),
        ..Default::default()
    };
    let from_mesh = NetworkPolicyIngressRule { from: Some(vec![mesh_pods, external_gateway]), ports: Some(vec![tcp(LOCAL_GATEWAY_PORT)]) };
    // No `from` on purpose: the gateway pod's other ports stay open to every source as before
    // (`kube-gateway.yaml:108-116`): pilot-agent's 15020, the readiness port 15021 (kubelet, and
    // any load balancer's health check), Envoy's metrics 15090 (a Prometheus anywhere). Listed one
    // by one, not as a range: some network plugins accepted `endPort` without enforcing it.
    let other_ports = NetworkPolicyIngressRule { from: None, ports: Some(GATEWAY_POD_PORTS.iter().map(|p| tcp(*p)).collect()) };
    let policy = NetworkPolicy {
        metadata: owned_meta(&name, Some(&config.namespace), Concern::Security),
        spec: Some(NetworkPolicySpec {
            pod_selector: labels(&[(crate::check::flows::eval::GATEWAY_NAME_LABEL, gateway)]),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(vec![from_mesh, other_ports]),
            egress: None,
        }),
    };
    Manifest { concern: Concern::Security, object: Object::from(policy) }
}

fn peer_authentication(mut pa: PeerAuthentication, namespace: &str) -> Manifest {
    let name = pa.metadata.name.clone().unwrap_or_default();
    pa.metadata = owned_meta(&name, Some(namespace), Concern::Security);
    Manifest { concern: Concern::Security, object: Object::from(pa) }
}

/// An ALLOW policy denies everything it does not match: that is what makes it least privilege.
///
/// There is no `to`-only rule. Knative's "allowlist by paths" (`/healthz`, `/metrics`, and port
/// 8022) is for system pods without sidecars; here the Knative system namespaces are always injected
/// ([`MeshFacts::injected`]), so the activator's and autoscaler's calls carry their
/// principals and match the rules of [`MeshFacts::app_callers`], each on the ports of its call. Kubelet's probes and preStop/postStart hooks are rewritten
/// to pilot-agent (istio/istio 1.29.6 `pkg/kube/inject/app_probe.go`), which calls the app from
/// 127.0.0.6 and bypasses the policy. A `to`-only rule would open those paths on every port, and
/// queue-proxy's admin port 8022 (drain), to any caller, under PERMISSIVE to plaintext ones.
fn app_policy(shared: &AppPolicy, facts: &MeshFacts, app: &str) -> AuthorizationPolicySpec {
    // The namespace itself: its own services call each other on any port (its own business) but
    // queue-proxy's admin port, whose only caller, the preStop hook, reaches it past the sidecar
    // ([`QUEUE_ADMIN_PORT`]): without `notPorts` any pod of the namespace could drain its revisions.
    let own = AuthorizationRule {
        from: vec![RuleFrom { source: Source { namespaces: facts.policy_sources(app), ..Default::default() } }],
        to: shared.own_to.clone(),
    };
    let mut rules = Vec::with_capacity(1 + shared.callers.len() + usize::from(shared.scrape.is_some()));
    rules.push(own);
    rules.extend(shared.callers.iter().cloned());
    rules.extend(shared.scrape.iter().cloned());
    AuthorizationPolicySpec { selector: None, action: Some("ALLOW".into()), rules }
}

/// One ALLOW rule from an [`Admission`]: its principals, on its ports and paths, never its `not_ports`.
pub(crate) fn admission_rule(a: &Admission) -> AuthorizationRule {
    let strings = |ports: &[u16]| ports.iter().map(u16::to_string).collect();
    let to = (!a.ports.is_empty() || !a.paths.is_empty() || !a.not_ports.is_empty())
        .then(|| RuleTo { operation: Operation { ports: strings(&a.ports), not_ports: strings(&a.not_ports), paths: a.paths.clone() } });
    AuthorizationRule {
        from: vec![RuleFrom { source: Source { principals: a.principals.clone(), ..Default::default() } }],
        to: to.into_iter().collect(),
    }
}

/// The activator's ALLOW policy: only its real callers ([`MeshFacts::activator_callers`]). The
/// activator forwards to whichever revision the `Knative-Serving-Namespace`/`Knative-Serving-Revision`
/// headers or a `<rev>.<ns>.svc` Host name (serving knative-v1.23.0
/// `pkg/activator/handler/context_handler.go:58-67`), with its own identity, which every app policy
/// admits: without this policy any mesh pod (under PERMISSIVE any pod) could reach any revision
/// through `activator:8012`. Kubelet's probes of 8012 are rewritten to pilot-agent (istio 1.29.6
/// `pkg/kube/inject/app_probe.go:67-79`) and need no rule; the activator's 8112 (HTTPS, only with
/// Knative's system-internal TLS) and 8008 (profiling, off by default) get none.
fn activator_policy(facts: &MeshFacts, namespace: &str) -> Manifest {
    let spec = AuthorizationPolicySpec {
        // serving config/core/deployments/activator.yaml: pods labelled `app: activator`.
        selector: Some(WorkloadSelector { match_labels: BTreeMap::from([("app".to_string(), "activator".to_string())]) }),
        action: Some("ALLOW".into()),
        rules: facts.activator_callers.iter().map(admission_rule).collect(),
    };
    let mut policy = AuthorizationPolicy::new(ACTIVATOR_POLICY, spec);
    policy.metadata = owned_meta(ACTIVATOR_POLICY, Some(namespace), Concern::Security);
    Manifest { concern: Concern::Security, object: Object::from(policy) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::syntax::Limits;

    fn render_yaml(istio: &str) -> Vec<Manifest> {
        let text = format!(
            "components:\n  knative:\n    enabled: true\n    eventing: {{enabled: true}}\n  istio:\n    enabled: true\n    namespaces: {{apps: [demo]}}\n{istio}"
        );
        let loaded = crate::load(&text, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
        render(loaded.selected(), &MeshFacts::of(loaded.selected()))
    }

    fn app_policy_of(manifests: &[Manifest]) -> AuthorizationPolicySpec {
        manifests
            .iter()
            .find_map(|m| match &m.object {
                Object::AuthorizationPolicy(p) if p.metadata.name.as_deref() == Some(APP_POLICY) => Some(p.spec.clone()),
                _ => None,
            })
            .expect("app policy")
    }

    /// Rule: no `to`-only rule in `allow-mesh-and-knative` (Knative's system namespaces are injected,
    /// probes and lifecycle hooks go through pilot-agent), and no rule that would admit queue-proxy's
    /// admin port 8022 (`/wait-for-drain` drains, serving knative-v1.23.0
    /// `pkg/queue/sharedmain/handlers.go:111-130`): neither an explicit 8022 nor an empty `to` nor a
    /// `to` without `notPorts: [8022]` (the own-namespace rule and the eventing senders' rule
    /// included), with or without Knative Kafka and the Prometheus rule.
    #[test]
    fn app_policy_has_no_to_only_rule_and_never_opens_the_queue_admin_port() {
        let prometheus = "    security:\n      prometheus: {principals: [cluster.local/ns/monitoring/sa/prometheus], ports: [9091]}\n";
        for mtls in ["STRICT", "PERMISSIVE"] {
            for extra in ["", prometheus] {
                let spec = app_policy_of(&render_yaml(&format!("    mtls: {{mode: {mtls}}}\n{extra}")));
                assert_eq!(spec.rules.len(), if extra.is_empty() { 4 } else { 5 }, "{mtls}: {:?}", spec.rules);
                for rule in &spec.rules {
                    assert!(!rule.from.is_empty(), "{mtls}: a rule without `from` admits any caller: {rule:?}");
                    assert!(rule.to.iter().all(|t| t.operation.paths.is_empty()));
                    assert!(!crate::check::flows::eval::rule_admits_port(rule, 8022), "{mtls}: rule admits 8022: {rule:?}");
                }
            }
        }
    }

    /// Rule (issue 21 point 5): under STRICT with Knative, the NetworkPolicy
    /// `knative-local-gateway-mesh-only` selects the local gateway's pods and admits to its listener
    /// (80) only sidecar pods of the mesh's namespaces and the external gateway's pods (DomainMapping),
    /// the pod's other ports (15020, 15021, 15090) to every source; none under PERMISSIVE or with
    /// `gateways.local.meshOnly: false`.
    #[test]
    fn the_local_gateway_admits_only_the_mesh_namespaces_on_its_listener() {
        let policy = |manifests: &[Manifest]| {
            manifests.iter().find_map(|m| match &m.object {
                Object::NetworkPolicy(p) => Some(serde_json::to_value(p).unwrap()),
                _ => None,
            })
        };
        let p = policy(&render_yaml("")).expect("rendered under STRICT");
        assert_eq!(p["metadata"]["name"], "knative-local-gateway-mesh-only");
        assert_eq!(p["metadata"]["namespace"], "istio-system");
        assert_eq!(
            p["spec"]["podSelector"],
            serde_json::json!({"matchLabels": {"gateway.networking.k8s.io/gateway-name": "knative-local-gateway"}})
        );
        assert_eq!(p["spec"]["policyTypes"], serde_json::json!(["Ingress"]));
        assert_eq!(
            p["spec"]["ingress"][0],
            serde_json::json!({
                "from": [
                    {"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["demo", "knative-eventing", "knative-serving"]}]},
                     "podSelector": {"matchLabels": {"security.istio.io/tlsMode": "istio"}}},
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}},
                     "podSelector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "knative-gateway"}}}
                ],
                "ports": [{"port": 80, "protocol": "TCP"}]
            })
        );
        assert_eq!(
            p["spec"]["ingress"][1],
            serde_json::json!({"ports": [{"port": 15020, "protocol": "TCP"}, {"port": 15021, "protocol": "TCP"}, {"port": 15090, "protocol": "TCP"}]})
        );
        assert!(policy(&render_yaml("    mtls: {mode: PERMISSIVE}\n")).is_none());
        assert!(policy(&render_yaml("    gateways: {local: {meshOnly: false}}\n")).is_none());
    }

    /// Rule: the eventing senders' rule (their subscriber is any URI) and the own-namespace rule admit
    /// any port but queue-proxy's admin port 8022; a plain subscriber on 9090 (a port Knative reserves
    /// only in revision pods, serving knative-v1.23.0 `pkg/apis/serving/k8s_validation.go:61-67`) stays
    /// reachable, since the policy has no selector.
    #[test]
    fn eventing_senders_and_the_own_namespace_never_reach_queue_proxys_reserved_ports() {
        let spec = app_policy_of(&render_yaml(""));
        assert_eq!(spec.rules[0].to.len(), 1);
        assert_eq!(spec.rules[0].to[0].operation, Operation { not_ports: vec!["8022".into()], ..Default::default() });
        assert_eq!(spec.rules[3].to.len(), 1);
        assert_eq!(spec.rules[3].to[0].operation, Operation { not_ports: vec!["8022".into()], ..Default::default() });
        use crate::check::flows::eval::rule_admits_port;
        assert!(rule_admits_port(&spec.rules[3], 8012) && rule_admits_port(&spec.rules[3], 8080));
        assert!(rule_admits_port(&spec.rules[3], 9090) && !rule_admits_port(&spec.rules[3], 8022));
        assert!(rule_admits_port(&spec.rules[0], 9090));
    }

    /// Rule: `allow-mesh-and-knative` admits by namespace only the app namespace itself; Knative is
    /// admitted by the principals that call revisions, on their ports: the two Knative gateways and
    /// the activator on 8012/8013, the autoscaler (SA `controller`) on 9090, eventing's three
    /// senders on any port (a subscriber is any URI). From the root namespace only the Knative gateways.
    #[test]
    fn app_policy_admits_knative_by_the_principals_that_call_revisions_on_their_ports() {
        let spec = app_policy_of(&render_yaml("    gateways: {external: {name: public}, local: {name: internal}}\n"));
        let rule = |i: usize| {
            let r = &spec.rules[i];
            assert_eq!(r.from.len(), 1);
            let ports: Vec<&str> = r.to.iter().flat_map(|t| t.operation.ports.iter().map(String::as_str)).collect();
            (r.from[0].source.namespaces.clone(), r.from[0].source.principals.clone(), ports.join(","))
        };
        assert_eq!(rule(0), (vec!["demo".to_string()], vec![], String::new()));
        let sa = |ns: &str, sa: &str| format!("cluster.local/ns/{ns}/sa/{sa}");
        assert_eq!(
            rule(1),
            (
                vec![],
                vec![sa("istio-system", "public-istio"), sa("istio-system", "internal-istio"), sa("knative-serving", "activator")],
                "8012,8013".into()
            )
        );
        assert_eq!(rule(2), (vec![], vec![sa("knative-serving", "controller")], "9090".into()));
        assert_eq!(
            rule(3),
            (
                vec![],
                vec![
                    sa("knative-eventing", "mt-broker-filter"),
                    sa("knative-eventing", "imc-dispatcher"),
                    sa("knative-eventing", "pingsource-mt-adapter")
                ],
                String::new()
            )
        );
        assert!(spec.rules.iter().all(|r| r.from.iter().all(|f| f.source.namespaces.iter().all(|n| n == "demo"))));
    }

    /// Rule (issue 21 review, finding 1): with `components.knative.eventing.kafka`, the eventing
    /// senders' rule of `allow-mesh-and-knative` also admits the dispatchers of the Knative Kafka data
    /// planes the config names, by their ServiceAccounts (eventing-kafka-broker knative-v1.22.2
    /// `data-plane/config/{broker,channel,source}/500-dispatcher.yaml:60`), and no other: not a data
    /// plane left out, not the KafkaSink's receiver, not the eventing namespace as a whole.
    #[test]
    fn app_policy_admits_the_dispatchers_of_the_configured_kafka_data_planes_only() {
        let sa = |name: &str| format!("cluster.local/ns/knative-eventing/sa/{name}");
        let base = [sa("mt-broker-filter"), sa("imc-dispatcher"), sa("pingsource-mt-adapter")];
        for (kafka, extra) in [
            ("", vec![]),
            ("{broker: true}", vec![sa("knative-kafka-broker-data-plane")]),
            ("{channel: true, source: true}", vec![sa("knative-kafka-channel-data-plane"), sa("knative-kafka-source-data-plane")]),
            (
                "{broker: true, channel: true, source: true}",
                vec![sa("knative-kafka-broker-data-plane"), sa("knative-kafka-channel-data-plane"), sa("knative-kafka-source-data-plane")],
            ),
            ("{broker: false}", vec![]),
        ] {
            let eventing = if kafka.is_empty() { "{}".to_string() } else { format!("{{kafka: {kafka}}}") };
            let text = format!(
                "components:\n  knative: {{enabled: true, eventing: {eventing}}}\n  istio:\n    enabled: true\n    namespaces: {{apps: [demo]}}\n"
            );
            let loaded = crate::load(&text, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
            let spec = app_policy_of(&render(loaded.selected(), &MeshFacts::of(loaded.selected())));
            assert_eq!(spec.rules.len(), 4, "{kafka}");
            let senders = &spec.rules[3];
            let expected: Vec<String> = base.iter().cloned().chain(extra).collect();
            assert_eq!(senders.from[0].source.principals, expected, "{kafka}");
            assert!(senders.from[0].source.namespaces.is_empty());
            assert!(!senders.from[0].source.principals.contains(&sa("knative-kafka-sink-data-plane")));
        }
        // Checked strictly: a misspelt data plane is an error, not a dispatcher silently refused.
        let typo = "components:\n  knative: {enabled: true, eventing: {kafka: {brokers: true}}}\n  istio: {enabled: true}\n";
        let err = crate::load(typo, None, Limits::DEFAULT).expect_err("unknown key");
        assert!(err.diagnostics.iter().any(|d| d.code == "MR004"), "{:?}", err.diagnostics);
    }

    /// Rule: `activator-callers` selects the activator and admits only the two Knative gateways on
    /// 8012/8013 and the autoscaler on 8012/8013 `//healthz` (its KPA scaler's activator probe).
    #[test]
    fn activator_policy_admits_only_the_gateways_and_the_autoscalers_probe() {
        let manifests = render_yaml("");
        let spec = manifests
            .iter()
            .find_map(|m| match &m.object {
                Object::AuthorizationPolicy(p) if p.metadata.name.as_deref() == Some(ACTIVATOR_POLICY) => {
                    assert_eq!(p.metadata.namespace.as_deref(), Some("knative-serving"));
                    Some(p.spec.clone())
                }
                _ => None,
            })
            .expect("activator policy");
        assert_eq!(spec.selector.as_ref().map(|s| s.match_labels.clone()), Some(BTreeMap::from([("app".into(), "activator".into())])));
        assert_eq!(spec.rules.len(), 2);
        assert_eq!(
            spec.rules[0].from[0].source.principals,
            ["cluster.local/ns/istio-system/sa/knative-gateway-istio", "cluster.local/ns/istio-system/sa/knative-local-gateway-istio"]
        );
        assert_eq!(spec.rules[0].to[0].operation.ports, ["8012", "8013"]);
        assert_eq!(spec.rules[1].from[0].source.principals, ["cluster.local/ns/knative-serving/sa/controller"]);
        assert_eq!(spec.rules[1].to[0].operation.ports, ["8012", "8013"]);
        // The scaler requests `//healthz` (`scaler.go:131`); `/healthz` covers a slash-merging mesh.
        assert_eq!(spec.rules[1].to[0].operation.paths, ["//healthz", "/healthz"]);
        assert!(spec.rules.iter().all(|r| r.from.iter().all(|f| f.source.namespaces.is_empty())));
    }

    /// Rule: the opt-in Prometheus rule names the scraper's principals and only the configured ports.
    #[test]
    fn prometheus_rule_is_scoped_to_its_principals_and_ports() {
        let spec = app_policy_of(&render_yaml(
            "    security:\n      prometheus: {principals: [cluster.local/ns/monitoring/sa/prometheus], ports: [9091, 8080, 9091]}\n",
        ));
        assert_eq!(spec.rules.len(), 5);
        let scrape = &spec.rules[4];
        assert_eq!(scrape.from[0].source.principals, ["cluster.local/ns/monitoring/sa/prometheus"]);
        assert!(scrape.from[0].source.namespaces.is_empty());
        assert_eq!(scrape.to[0].operation.ports, ["8080", "9091"]);
        assert!(scrape.to[0].operation.paths.is_empty());
    }
}
