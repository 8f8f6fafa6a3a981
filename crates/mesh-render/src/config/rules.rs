//! Rules between sections: settings that are valid alone but not together.

use super::ai_serving::AiServing;
use super::canary::Revisions;
use super::codes;
use super::control_plane::ControlPlane;
use super::decode::{Decoder, Fields};
use super::envoy_gateway::EnvoyGateway;
use super::gateways::Gateways;
use super::knative::Knative;
use super::mesh::MtlsMode;
use crate::versions::Release;

/// With `controlPlane.revisions` the release is the newest revision's: `version`, when set, must
/// name it (it is the base chart's, the CRDs), and a single `revision` cannot be set too.
pub(super) fn revisions_release(
    f: &Fields,
    release: Option<&'static Release>,
    revisions: Option<&Revisions>,
    dec: &mut Decoder,
) -> Option<&'static Release> {
    let Some(rs) = revisions else { return release };
    let newest = rs.newest();
    if let (Some(n), Some(rel)) = (f.get("version"), release) {
        if rel.version != newest.version {
            dec.report(&codes::CONFLICTING_SETTINGS,
                n.pos,
                &f.path("version"),
                format!("`version` is {} but the newest revision is {}", rel.version, newest.version),
                format!(
                    "with `controlPlane.revisions`, `version` is the base chart's (the CRDs), which must come from the newest revision: set it to \"{}\" or remove it",
                    newest.version
                ),
            );
        }
    }
    if let Some(n) = f.get("revision") {
        dec.report(
            &codes::CONFLICTING_SETTINGS,
            n.pos,
            &f.path("revision"),
            "`revision` and `controlPlane.revisions` cannot both be set",
            "remove `revision`: list it under `controlPlane.revisions` and label namespaces with a tag",
        );
    }
    Some(newest)
}

/// Envoy Gateway still installed next to the Istio-backed Knative Gateways: a reminder to remove it,
/// given once (for the base settings, not again per environment).
pub(super) fn envoy_gateway_still_installed(
    envoy_gateway: Option<&EnvoyGateway>,
    knative: Option<&Knative>,
    environment: Option<&str>,
    dec: &mut Decoder,
) {
    if let (Some(eg), None) = (envoy_gateway, environment) {
        if eg.installed && knative.is_some() {
            dec.report(
                &codes::MIGRATION_PENDING,
                eg.pos,
                "components.envoyGateway.enabled",
                "Envoy Gateway is still installed next to Istio",
                "remove it once the Istio-backed Knative Gateways report Programmed, then set `components.envoyGateway.enabled: false`",
            );
        }
    }
}

/// istiod's feature switches against what needs them: inference pools switch the Inference Extension
/// on (an explicit `false` is an error), Knative needs Gateway API support, and a feature the release
/// lacks is an error when asked for and silently off when defaulted.
pub(super) fn control_plane_features(
    f: &Fields,
    control_plane: Option<&mut ControlPlane>,
    release: Option<&Release>,
    ai_serving: Option<&AiServing>,
    knative: Option<&Knative>,
    dec: &mut Decoder,
) {
    let Some(cp) = control_plane else { return };
    let explicit = |key: &str| f.get("controlPlane").and_then(|c| c.get(key));
    if let Some(ai) = ai_serving {
        match explicit("inferenceExtension") {
            Some(n) if !cp.inference_extension => dec.report(
                &codes::CONFLICTING_SETTINGS,
                n.pos,
                "components.istio.controlPlane.inferenceExtension",
                format!("{} inference pool(s) are declared, but istiod's Inference Extension support is switched off", ai.pools.len()),
                "remove `inferenceExtension: false` (pools switch it on), or remove `aiServing`",
            ),
            _ => cp.inference_extension = true,
        }
    }
    if let Some(rel) = release {
        if !rel.validation_failure_policy && cp.validation_failure_policy.is_some() {
            if let Some(pos) = cp.validation_failure_policy_pos {
                dec.report(&codes::CONFLICTING_SETTINGS,
                    pos,
                    "components.istio.controlPlane.validationFailurePolicy",
                    format!("Istio {} has no `base.validationFailurePolicy` (it arrived in 1.29.2)", rel.version),
                    "use Istio 1.29.2 or later, or remove the key (GitOps tools then need ignoreDifferences on the webhook's failurePolicy)",
                );
            }
            cp.validation_failure_policy = None;
        }
    }
    if knative.is_some() && !cp.gateway_api {
        let n = explicit("gatewayAPI").unwrap_or(f.node);
        dec.report(
            &codes::CONFLICTING_SETTINGS,
            n.pos,
            "components.istio.controlPlane.gatewayAPI",
            "Knative's net-gateway-api needs Istio's Gateway API support, which is switched off",
            "set `gatewayAPI: true`, or switch Knative off",
        );
    }
}

/// Under mTLS DISABLE the app namespaces' ALLOW policies cannot tell a caller's namespace.
pub(super) fn mtls_disable_with_apps(f: &Fields, mtls: MtlsMode, apps: Option<&[String]>, dec: &mut Decoder) {
    if mtls == MtlsMode::Disable && apps.is_some_and(|a| !a.is_empty()) {
        let n = f.get("mtls").unwrap_or(f.node);
        dec.report(&codes::CONFLICTING_SETTINGS,
            n.pos,
            "components.istio.mtls.mode",
            "with mTLS DISABLE, the app namespaces' ALLOW policies cannot see which namespace a caller is in, so they would deny every call",
            "use PERMISSIVE while migrating, or STRICT",
        );
    }
}

/// The identity of the inference Gateway's pods, which the pool policies admit by principal. A
/// Gateway that mesh-render renders (the one it creates, or a Knative Gateway reused) carries no
/// `gateway.istio.io/service-account` annotation (and `metadata.annotations` may not add one), so
/// its pods run as `<name>-istio` (istio 1.29.6 `pilot/pkg/config/kube/gateway/deploymentcontroller.go:547`:
/// `ServiceAccount: model.GetOrDefault(gw.Annotations[annotation.GatewayServiceAccount.Name], defaultName)`;
/// 1.30.3 `gatewaycommon/deploymentcontroller.go:429`): `serviceAccount` is refused there. Any other
/// reused Gateway may carry the annotation or another class, which mesh-render cannot see: without
/// `serviceAccount` it assumes `<name>-istio` and warns (MR025), since a wrong guess refuses the
/// gateway's calls rather than opening anything to another workload it does not already name.
pub(super) fn inference_gateway_identity(ai: Option<&AiServing>, gateways: Option<&Gateways>, root: &str, dec: &mut Decoder) {
    let (Some(ai), Some(gateways)) = (ai, gateways) else { return };
    let gw = &ai.gateway;
    let knative_gateway = gw.namespace == root && (gw.name == gateways.external || gw.name == gateways.local);
    let path = "components.istio.aiServing.gateway.serviceAccount";
    match gw.service_account_pos {
        Some(pos) if gw.create || knative_gateway => {
            let why = if gw.create { "mesh-render creates this Gateway" } else { "this is a Knative Gateway that mesh-render renders" };
            dec.report(
                &codes::CONFLICTING_SETTINGS,
                pos,
                path,
                format!("{why} without `gateway.istio.io/service-account`, so istiod runs its pods as `{}-istio`", gw.name),
                "remove `serviceAccount`: it is only for a reused Gateway that mesh-render does not render",
            );
        }
        None if !gw.create && !knative_gateway => dec.report(
            &codes::ASSUMED_GATEWAY_IDENTITY,
            gw.pos,
            "components.istio.aiServing.gateway",
            format!(
                "the reused Gateway `{}/{}` is not rendered by mesh-render: the pool policies assume its pods run as `{}-istio`",
                gw.namespace, gw.name, gw.name
            ),
            "set `serviceAccount` to the ServiceAccount of its pods (its `gateway.istio.io/service-account` annotation, else `<name>-<class>`)",
        ),
        _ => {}
    }
}

/// `gateways.local.meshOnly: false` under STRICT with Knative leaves the local gateway open to pods
/// outside the mesh (MR028).
pub(super) fn local_gateway_open(gateways: Option<&Gateways>, knative: Option<&Knative>, mtls: MtlsMode, dec: &mut Decoder) {
    let (Some(gw), Some(_)) = (gateways, knative) else { return };
    if let (false, Some(pos), MtlsMode::Strict) = (gw.local_mesh_only, gw.local_mesh_only_pos, mtls) {
        dec.report(
            &codes::OPEN_LOCAL_GATEWAY,
            pos,
            "components.istio.gateways.local.meshOnly",
            format!(
                "without the NetworkPolicy `{}-mesh-only`, any pod reaches every Knative Service through the local gateway in plaintext",
                gw.local
            ),
            "remove `meshOnly: false` unless callers outside the mesh's namespaces need cluster-local Knative URLs",
        );
    }
}
