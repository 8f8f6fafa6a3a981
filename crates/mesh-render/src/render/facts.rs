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
    /// Knative's system namespaces: admitted by namespace into every app namespace.
    pub knative_namespaces: Vec<String>,
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
        let gateway_principals =
            gateways.iter().map(|gw| format!("cluster.local/ns/{}/sa/{}", config.namespace, service_name(gw))).collect();
        let entry = |gw: &str| GatewayEntry {
            class: GATEWAY_CLASS.into(),
            gateway: format!("{}/{gw}", config.namespace),
            service: format!("{}/{}", config.namespace, service_name(gw)),
            supported_features: vec!["HTTPRouteRequestTimeout".into()],
        };
        let gateway_entries = config.knative.as_ref().map(|_| (entry(gateways[0]), entry(gateways[1])));
        MeshFacts { injected, injection_label, webhook_exceptions, knative_namespaces, gateway_principals, gateway_entries }
    }

    /// Namespaces admitted by namespace into an app namespace: itself and Knative's system namespaces.
    pub fn policy_sources(&self, app: &str) -> Vec<String> {
        std::iter::once(app.to_string()).chain(self.knative_namespaces.iter().cloned()).collect()
    }

    /// Whether pods of `namespace` get a sidecar.
    pub fn is_injected(&self, namespace: &str) -> bool {
        self.injected.iter().any(|n| n == namespace)
    }
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
        assert_eq!(f.policy_sources("demo"), ["demo", "knative-serving", "knative-eventing"]);
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
