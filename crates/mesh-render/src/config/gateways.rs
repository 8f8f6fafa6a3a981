//! `components.istio.gateways`: the names of Knative's two Gateways and the external one's Service type.

use super::codes;
use super::decode::Decoder;
use crate::config::syntax::Node;

/// The two Knative Gateways.
#[derive(Clone, Debug, PartialEq)]
pub struct Gateways {
    pub external: String,
    /// Service type of the external Gateway's Service (istiod creates it).
    pub external_service_type: &'static str,
    pub local: String,
}

pub(super) fn read_gateways(node: Option<&Node>, path: &str, dec: &mut Decoder) -> Option<Gateways> {
    let mut gw =
        Gateways { external: "knative-gateway".into(), external_service_type: "LoadBalancer", local: "knative-local-gateway".into() };
    let Some(node) = node else { return Some(gw) };
    let f = dec.map(node, path, Some(&["external", "local"]))?;
    if let Some(n) = f.get("external") {
        let ef = dec.map(n, &f.path("external"), Some(&["name", "serviceType"]))?;
        if let Some(name) = ef.get("name") {
            gw.external = dec.dns_label(name, &ef.path("name")).unwrap_or(gw.external);
        }
        if let Some(t) = ef.get("serviceType") {
            gw.external_service_type =
                dec.one_of(t, &ef.path("serviceType"), &["LoadBalancer", "NodePort", "ClusterIP"]).unwrap_or(gw.external_service_type);
        }
    }
    if let Some(n) = f.get("local") {
        let lf = dec.map(n, &f.path("local"), Some(&["name"]))?;
        if let Some(name) = lf.get("name") {
            gw.local = dec.dns_label(name, &lf.path("name")).unwrap_or(gw.local);
        }
    }
    if gw.external == gw.local {
        dec.report(
            &codes::CONFLICTING_SETTINGS,
            node.pos,
            path,
            format!("the external and local Gateways are both named `{}`", gw.local),
            "give them different names",
        );
        return None;
    }
    Some(gw)
}
