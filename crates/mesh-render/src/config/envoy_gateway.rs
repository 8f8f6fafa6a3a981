//! `components.envoyGateway`: the controller Knative used before Istio (upstream net-gateway-api's
//! layout), for the swap and its undo. It belongs to the Envoy Gateway component: `enabled` and the
//! `knativeGateways` section are read (that section strictly); other keys are ignored.

use super::codes;
use super::decode::{self, Decoder};
use super::gitops::plain;
use crate::config::syntax::Node;
use crate::diagnostics::Pos;

/// Envoy Gateway as Knative's previous Gateway API controller (upstream net-gateway-api layout).
#[derive(Clone, Debug, PartialEq)]
pub struct EnvoyGateway {
    /// Still installed: its removal is the last step of the swap.
    pub installed: bool,
    /// Where `enabled` is set, for the reminder to remove it.
    pub pos: Pos,
    /// Knative's `config-gateway` entries under Envoy Gateway (what the destroy plan restores).
    pub external: PreviousGateway,
    pub local: PreviousGateway,
}

/// One `config-gateway` entry of the Envoy Gateway setup Knative used before Istio.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviousGateway {
    pub class: String,
    /// `namespace/name` of the Gateway.
    pub gateway: String,
    /// `namespace/name` of the Service net-gateway-api probes.
    pub service: String,
}

/// Upstream net-gateway-api's Envoy Gateway layout (DOMAIN §4).
pub fn default_previous() -> (PreviousGateway, PreviousGateway) {
    let entry = |class: &str, ns: &str, svc: &str| PreviousGateway {
        class: class.into(),
        gateway: format!("{ns}/{ns}"),
        service: format!("{ns}/{svc}"),
    };
    (entry("eg-external", "eg-external", "knative-external"), entry("eg-internal", "eg-internal", "knative-internal"))
}

/// Reads `components.envoyGateway`, which belongs to the Envoy Gateway component: `enabled` and the
/// `knativeGateways` section are read (that section strictly); other keys are ignored.
pub(super) fn read_envoy_gateway(node: &Node, dec: &mut Decoder) -> Option<EnvoyGateway> {
    let f = dec.map(node, "components.envoyGateway", None)?;
    let (installed, pos) = match f.get("enabled") {
        Some(n) => (dec.bool(n, &f.path("enabled"))?, n.pos),
        None => (false, node.pos),
    };
    let (mut external, mut local) = default_previous();
    if let Some(n) = f.get("knativeGateways") {
        let kf = dec.map(n, &f.path("knativeGateways"), Some(&["external", "local"]))?;
        for (key, entry) in [("external", &mut external), ("local", &mut local)] {
            if let Some(e) = kf.get(key) {
                read_previous(e, &kf.path(key), entry, dec)?;
            }
        }
    }
    Some(EnvoyGateway { installed, pos, external, local })
}

fn read_previous(node: &Node, path: &str, entry: &mut PreviousGateway, dec: &mut Decoder) -> Option<()> {
    let f = dec.map(node, path, Some(&["class", "gateway", "service"]))?;
    if let Some(n) = f.get("class") {
        entry.class = plain(n, &f.path("class"), dec)?;
    }
    for (key, target) in [("gateway", &mut entry.gateway), ("service", &mut entry.service)] {
        if let Some(n) = f.get(key) {
            *target = namespaced_name(n, &f.path(key), dec)?;
        }
    }
    Some(())
}

/// `namespace/name`, both DNS labels.
fn namespaced_name(node: &Node, path: &str, dec: &mut Decoder) -> Option<String> {
    let text = dec.string(node, path)?;
    let ok =
        text.split_once('/').is_some_and(|(ns, name)| decode::dns_label_problem(ns).is_none() && decode::dns_label_problem(name).is_none());
    if !ok {
        dec.report(
            &codes::INVALID_VALUE,
            node.pos,
            path,
            format!("`{text}` is not `namespace/name`"),
            "write e.g. `eg-external/eg-external`",
        );
        return None;
    }
    Some(text)
}
