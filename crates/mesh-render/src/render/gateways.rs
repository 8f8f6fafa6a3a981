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

/// The Service type istiod gives a Gateway of class `istio` that `manifests` render: the `type` of
/// the `service` overlay in the ConfigMap its `spec.infrastructure.parametersRef` names, else the
/// annotation `networking.istio.io/service-type`, else `LoadBalancer`, class `istio`'s default
/// (istio 1.29.6 `pilot/pkg/config/kube/gateway/deploymentcontroller.go:182` `defaultServiceType:
/// corev1.ServiceTypeLoadBalancer`, `:516-518` the annotation; 1.30.3 `gatewaycommon/classinfo.go:111`
/// and `gatewaycommon/deploymentcontroller.go:398-399`).
pub(crate) fn service_type(gateway: &Gateway, manifests: &[Manifest]) -> String {
    let namespace = gateway.metadata.namespace.as_deref();
    let overlay = gateway.spec.infrastructure.as_ref().and_then(|i| i.parameters_ref.as_ref()).and_then(|r| {
        manifests.iter().find_map(|m| match &m.object {
            Object::ConfigMap(cm)
                if cm.metadata.name.as_deref() == Some(r.name.as_str()) && cm.metadata.namespace.as_deref() == namespace =>
            {
                let text = cm.data.as_ref()?.get("service")?;
                let node = crate::config::syntax::parse(text, crate::config::syntax::Limits::DEFAULT).ok()?;
                node.to_json()["spec"]["type"].as_str().map(str::to_string)
            }
            _ => None,
        })
    });
    overlay
        .or_else(|| gateway.metadata.annotations.as_ref().and_then(|a| a.get("networking.istio.io/service-type").cloned()))
        .unwrap_or_else(|| "LoadBalancer".into())
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
