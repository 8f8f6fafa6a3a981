//! mTLS and authorization: the mesh-wide PeerAuthentication, the webhook exceptions Knative needs,
//! and a least-privilege AuthorizationPolicy per app namespace.

use std::collections::BTreeMap;

use crate::api::istio::*;
use crate::config::Config;
use crate::render::facts::MeshFacts;
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

    for app in &config.apps {
        let mut policy = AuthorizationPolicy::new(APP_POLICY, app_policy(config, facts, app));
        policy.metadata = owned_meta(APP_POLICY, Some(app), Concern::Security);
        out.push(Manifest { concern: Concern::Security, object: Object::from(policy) });
    }
    out
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
/// namespace and match the `from` rule. Kubelet's probes and preStop/postStart hooks are rewritten
/// to pilot-agent (istio/istio 1.29.6 `pkg/kube/inject/app_probe.go`), which calls the app from
/// 127.0.0.6 and bypasses the policy. A `to`-only rule would open those paths on every port, and
/// queue-proxy's admin port 8022 (drain), to any caller, under PERMISSIVE to plaintext ones.
fn app_policy(config: &Config, facts: &MeshFacts, app: &str) -> AuthorizationPolicySpec {
    let from_namespaces = AuthorizationRule {
        from: vec![
            RuleFrom { source: Source { namespaces: facts.policy_sources(app), ..Default::default() } },
            RuleFrom { source: Source { principals: facts.gateway_principals.clone(), ..Default::default() } },
        ],
        to: Vec::new(),
    };
    let mut rules = vec![from_namespaces];
    if let Some(scrape) = &config.security.prometheus {
        rules.push(AuthorizationRule {
            from: vec![RuleFrom { source: Source { principals: scrape.principals.clone(), ..Default::default() } }],
            to: vec![RuleTo { operation: Operation { ports: scrape.ports.iter().map(u16::to_string).collect(), ..Default::default() } }],
        });
    }
    AuthorizationPolicySpec { selector: None, action: Some("ALLOW".into()), rules }
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
    /// probes and lifecycle hooks go through pilot-agent), and never a rule for queue-proxy's 8022.
    #[test]
    fn app_policy_has_no_to_only_rule_and_never_opens_the_queue_admin_port() {
        for mtls in ["STRICT", "PERMISSIVE"] {
            let spec = app_policy_of(&render_yaml(&format!("    mtls: {{mode: {mtls}}}\n")));
            assert_eq!(spec.rules.len(), 1, "{mtls}: {:?}", spec.rules);
            for rule in &spec.rules {
                assert!(!rule.from.is_empty(), "{mtls}: a rule without `from` admits any caller: {rule:?}");
                assert!(rule.to.iter().all(|t| t.operation.paths.is_empty() && !t.operation.ports.contains(&"8022".to_string())));
            }
        }
    }

    /// Rule: from the root namespace, only the two Knative gateways' identities are admitted.
    #[test]
    fn root_namespace_is_admitted_only_as_the_knative_gateways() {
        let spec = app_policy_of(&render_yaml("    gateways: {external: {name: public}, local: {name: internal}}\n"));
        let from = &spec.rules[0].from;
        assert_eq!(from[0].source.namespaces, ["demo", "knative-serving", "knative-eventing"]);
        assert!(from[0].source.principals.is_empty());
        assert_eq!(
            from[1].source.principals,
            ["cluster.local/ns/istio-system/sa/public-istio", "cluster.local/ns/istio-system/sa/internal-istio"]
        );
        assert!(from[1].source.namespaces.is_empty());
    }

    /// Rule: the opt-in Prometheus rule names the scraper's principals and only the configured ports.
    #[test]
    fn prometheus_rule_is_scoped_to_its_principals_and_ports() {
        let spec = app_policy_of(&render_yaml(
            "    security:\n      prometheus: {principals: [cluster.local/ns/monitoring/sa/prometheus], ports: [9091, 8080, 9091]}\n",
        ));
        assert_eq!(spec.rules.len(), 2);
        let scrape = &spec.rules[1];
        assert_eq!(scrape.from[0].source.principals, ["cluster.local/ns/monitoring/sa/prometheus"]);
        assert!(scrape.from[0].source.namespaces.is_empty());
        assert_eq!(scrape.to[0].operation.ports, ["8080", "9091"]);
        assert!(scrape.to[0].operation.paths.is_empty());
    }
}
