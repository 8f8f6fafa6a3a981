//! The Knative Gateways of class `istio`, and the options that make the local one cluster-internal.
//!
//! Without `spec.addresses`, istiod deploys each Gateway itself: Deployment, ServiceAccount and a
//! Service named `<gateway>-istio` in the Gateway's namespace. The Service type is set through
//! `spec.infrastructure.parametersRef` → a ConfigMap whose `service` key is an overlay.

use std::collections::BTreeMap;

use gateway_api::apis::standard::gateways::*;
use k8s_openapi::api::core::v1::ConfigMap;
use serde::Serialize;

use crate::config::Config;
use crate::emit;
use crate::render::manifest::{owned_meta, Concern, Manifest, Object};

/// The GatewayClass istiod creates in sidecar mode.
pub(crate) const GATEWAY_CLASS: &str = "istio";

/// Name of the Service istiod creates for a Gateway.
pub(crate) fn service_name(gateway: &str) -> String {
    format!("{gateway}-istio")
}

/// The `service` overlay of a Gateway options ConfigMap.
#[derive(Serialize)]
struct ServiceOverlay {
    spec: ServiceOverlaySpec,
}

#[derive(Serialize)]
struct ServiceOverlaySpec {
    #[serde(rename = "type")]
    type_: &'static str,
}

pub(crate) fn render(config: &Config) -> Vec<Manifest> {
    let gw = &config.gateways;
    let mut out = Vec::new();
    let external_options = (gw.external_service_type != "LoadBalancer").then(|| options_name(&gw.external));
    if external_options.is_some() {
        out.push(options(config, &gw.external, gw.external_service_type));
    }
    out.push(options(config, &gw.local, "ClusterIP"));

    let external_listeners = vec![
        listener("http", 80, "HTTP", None),
        listener("tls", 443, "TLS", Some(GatewayListenersTls { mode: Some(GatewayListenersTlsMode::Passthrough), ..Default::default() })),
    ];
    out.push(gateway(config, &gw.external, external_listeners, external_options));
    out.push(gateway(config, &gw.local, vec![listener("http", 80, "HTTP", None)], Some(options_name(&gw.local))));
    out
}

fn options_name(gateway: &str) -> String {
    format!("{gateway}-options")
}

fn options(config: &Config, gateway: &str, service_type: &'static str) -> Manifest {
    let overlay = ServiceOverlay { spec: ServiceOverlaySpec { type_: service_type } };
    let cm = ConfigMap {
        metadata: owned_meta(&options_name(gateway), Some(&config.namespace), Concern::Gateways),
        data: Some(BTreeMap::from([("service".to_string(), emit::yaml_value(&overlay))])),
        ..Default::default()
    };
    Manifest { concern: Concern::Gateways, object: Object::from(cm) }
}

/// A listener open to routes from every namespace (Knative and inference routes live in app namespaces).
pub(crate) fn listener(name: &str, port: i32, protocol: &str, tls: Option<GatewayListenersTls>) -> GatewayListeners {
    GatewayListeners {
        name: name.into(),
        port,
        protocol: protocol.into(),
        tls,
        allowed_routes: Some(GatewayListenersAllowedRoutes {
            kinds: None,
            namespaces: Some(GatewayListenersAllowedRoutesNamespaces {
                from: Some(GatewayListenersAllowedRoutesNamespacesFrom::All),
                selector: None,
            }),
        }),
        hostname: None,
    }
}

fn gateway(config: &Config, name: &str, listeners: Vec<GatewayListeners>, options: Option<String>) -> Manifest {
    let infrastructure = options.map(|cm| GatewayInfrastructure {
        parameters_ref: Some(GatewayInfrastructureParametersRef { group: String::new(), kind: "ConfigMap".into(), name: cm }),
        ..Default::default()
    });
    let spec = GatewaySpec { gateway_class_name: GATEWAY_CLASS.into(), listeners, infrastructure, ..Default::default() };
    let mut gateway = Gateway::new(name, spec);
    gateway.metadata = owned_meta(name, Some(&config.namespace), Concern::Gateways);
    if let Some(rs) = &config.revisions {
        // The Gateway follows the stable tag: the revision the tag points at deploys and programs it,
        // so moving the tag moves the gateway Deployments too.
        gateway.metadata.labels.get_or_insert_with(Default::default).insert("istio.io/rev".into(), rs.stable_tag.clone());
    }
    Manifest { concern: Concern::Gateways, object: Object::from(gateway) }
}
