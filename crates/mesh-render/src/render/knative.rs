//! The Knative config patch: the keys of Knative's ConfigMaps that point net-gateway-api at Istio.
//!
//! The ConfigMaps belong to the Knative install; these are partial objects for server-side apply.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use crate::config::Config;
use crate::emit;
use crate::render::facts::MeshFacts;
use crate::render::manifest::{partial_meta, Concern, Manifest, Object};

/// `config-network` `ingress-class` for net-gateway-api.
pub(crate) const INGRESS_CLASS: &str = "gateway-api.ingress.networking.knative.dev";

pub(crate) fn render(config: &Config, facts: &MeshFacts) -> Vec<Manifest> {
    // The facts hold gateway entries exactly when Knative is on.
    let (Some(knative), Some((external, local))) = (&config.knative, &facts.gateway_entries) else { return Vec::new() };
    let serving = knative.serving_namespace.as_str();
    let mut out = vec![
        patch(
            serving,
            "config-network",
            [
                ("ingress-class", INGRESS_CLASS.to_string()),
                ("mesh-compatibility-mode", knative.mesh_compatibility_mode.to_string()),
                // The mesh already encrypts; Knative's own internal TLS on top breaks under sidecars.
                ("system-internal-tls", "Disabled".to_string()),
            ],
        ),
        patch(
            serving,
            "config-gateway",
            [("external-gateways", emit::yaml_value(&[external])), ("local-gateways", emit::yaml_value(&[local]))],
        ),
    ];
    if let Some(eventing) = &knative.eventing_namespace {
        // Switches on eventing-istio, which channels' ExternalName services need under STRICT.
        out.push(patch(eventing, "config-features", [("istio", "enabled".to_string())]));
    }
    out
}

fn patch<const N: usize>(namespace: &str, name: &str, data: [(&str, String); N]) -> Manifest {
    let cm = ConfigMap {
        metadata: partial_meta(name, Some(namespace), BTreeMap::new()),
        data: Some(data.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
        ..Default::default()
    };
    Manifest { concern: Concern::Knative, object: Object::from(cm) }
}
