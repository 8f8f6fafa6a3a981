//! mTLS and authorization: the mesh-wide PeerAuthentication, the webhook exceptions Knative needs,
//! and a least-privilege AuthorizationPolicy per app namespace.

use std::collections::BTreeMap;

use crate::config::{Config, MtlsMode};
use crate::istio_api::*;
use crate::manifest::{owned_meta, Concern, Manifest, Object};

/// Name of the per-namespace ALLOW policy.
pub const APP_POLICY: &str = "allow-mesh-and-knative";
/// Paths system components call without a mesh identity: kubelet probes and the autoscaler's scrape.
pub const SYSTEM_PATHS: [&str; 2] = ["/healthz", "/metrics"];
/// queue-proxy's drain port, which kubelet's preStop hook calls and Istio does not rewrite.
pub const DRAIN_PORT: u16 = 8022;

pub fn render(config: &Config) -> Vec<Manifest> {
    let mut out = Vec::new();
    let mesh_wide = PeerAuthentication::new(
        "default",
        PeerAuthenticationSpec { mtls: Some(PeerAuthenticationMtls { mode: config.mtls.as_str().into() }), ..Default::default() },
    );
    out.push(peer_authentication(mesh_wide, &config.namespace));

    // kube-apiserver has no mesh identity: under STRICT it cannot reach Knative's webhooks.
    if config.mtls == MtlsMode::Strict {
        for hook in config.knative.iter().flat_map(|k| &k.webhooks) {
            let spec = PeerAuthenticationSpec {
                selector: Some(WorkloadSelector { match_labels: hook.selector.clone() }),
                mtls: None,
                port_level_mtls: BTreeMap::from([(hook.port.to_string(), PeerAuthenticationMtls { mode: "PERMISSIVE".into() })]),
            };
            out.push(peer_authentication(PeerAuthentication::new(&hook.name, spec), &hook.namespace));
        }
    }

    for app in &config.apps {
        let mut policy = AuthorizationPolicy::new(APP_POLICY, app_policy(config, app));
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

/// Namespaces allowed to call into an app namespace: itself, Knative's system namespaces, and the
/// gateways' namespace.
pub fn allowed_sources(config: &Config, app: &str) -> Vec<String> {
    let mut sources = vec![app.to_string()];
    if let Some(k) = &config.knative {
        sources.push(k.serving_namespace.clone());
        sources.extend(k.eventing_namespace.clone());
    }
    sources.push(config.namespace.clone());
    sources
}

/// An ALLOW policy denies everything it does not match: that is what makes it least privilege.
fn app_policy(config: &Config, app: &str) -> AuthorizationPolicySpec {
    let from_namespaces = AuthorizationRule {
        from: vec![RuleFrom { source: Source { namespaces: allowed_sources(config, app), ..Default::default() } }],
        to: Vec::new(),
    };
    let system_paths = AuthorizationRule {
        from: Vec::new(),
        to: vec![RuleTo { operation: Operation { paths: SYSTEM_PATHS.map(String::from).to_vec(), ..Default::default() } }],
    };
    let drain = AuthorizationRule {
        from: Vec::new(),
        to: vec![RuleTo { operation: Operation { ports: vec![DRAIN_PORT.to_string()], ..Default::default() } }],
    };
    let mut rules = vec![from_namespaces];
    if config.knative.is_some() {
        rules.push(system_paths);
        rules.push(drain);
    }
    AuthorizationPolicySpec { selector: None, action: Some("ALLOW".into()), rules }
}
