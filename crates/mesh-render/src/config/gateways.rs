//! `components.istio.gateways`: the names of Knative's two Gateways and the external one's Service type.

use super::codes;
use super::decode::Decoder;
use crate::config::syntax::Node;
use crate::diagnostics::Pos;

/// The two Knative Gateways.
#[derive(Clone, Debug, PartialEq)]
pub struct Gateways {
    pub external: String,
    /// Service type of the external Gateway's Service (istiod creates it).
    pub external_service_type: &'static str,
    pub local: String,
    /// `local.meshOnly` (default true): under STRICT with Knative, a NetworkPolicy admits to the
    /// local gateway's listener only pods of the mesh's namespaces (`render/security.rs`).
    pub local_mesh_only: bool,
    /// Where `local.meshOnly` was set, for the warning when it is `false`.
    pub local_mesh_only_pos: Option<Pos>,
}

pub(super) fn read_gateways(node: Option<&Node>, path: &str, dec: &mut Decoder) -> Option<Gateways> {
    let mut gw = Gateways {
        external: "knative-gateway".into(),
        external_service_type: "LoadBalancer",
        local: "knative-local-gateway".into(),
        local_mesh_only: true,
        local_mesh_only_pos: None,
    };
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
        let lf = dec.map(n, &f.path("local"), Some(&["name", "meshOnly"]))?;
        if let Some(name) = lf.get("name") {
            gw.local = dec.dns_label(name, &lf.path("name")).unwrap_or(gw.local);
        }
        if let Some(v) = lf.get("meshOnly") {
            gw.local_mesh_only_pos = Some(v.pos);
            gw.local_mesh_only = dec.bool(v, &lf.path("meshOnly")).unwrap_or(true);
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
