//! The upgrade data: [`NOTES`], every breaking change or action-required note with the condition
//! that decides whether it applies to a config, and [`CHANGED_ANNOTATIONS`].

use super::{Applicability, Note, Origin};
use crate::config::Config;
use crate::versions::Version;

pub(crate) const fn v(minor: u32, patch: u32) -> Version {
    Version::new(1, minor, patch)
}

fn env_is_set(config: &Config, name: &str) -> Option<String> {
    config.control_plane.env.get(name).map(|value| format!("`controlPlane.env.{name}` is already set to \"{value}\", which decides"))
}

pub(crate) fn ambient_only(_: &Config) -> Applicability {
    Applicability::NotApplicable("ambient / istio-cni only; mesh-render renders sidecar mode with no istio-cni".into())
}

/// Annotations a release removed (or deprecated): the annotation, that release, removed (not only
/// deprecated)?, and what replaces it. The `stats-compression` note and MR109 both read it.
pub const CHANGED_ANNOTATIONS: &[(&str, Version, bool, &str)] = &[
    (
        "sidecar.istio.io/statsCompression",
        Version::new(1, 29, 0),
        true,
        "the proxyConfig option `statsCompression` (per pod: `proxy.istio.io/config`)",
    ),
    (
        "networking.istio.io/service-type",
        Version::new(1, 25, 0),
        false,
        "a Gateway `spec.infrastructure.parametersRef` ConfigMap with a `service` overlay",
    ),
];

fn stats_compression(config: &Config) -> Applicability {
    const KEY: &str = CHANGED_ANNOTATIONS[0].0;
    match config.metadata.annotations.get(KEY) {
        Some(value) => {
            Applicability::Applies(format!("`metadata.annotations` sets `{KEY}: \"{value}\"`, an annotation Istio no longer reads"))
        }
        None => Applicability::NotApplicable(format!(
            "`metadata.annotations` does not set `{KEY}` (pod templates of your apps are outside this config: remove it there too)"
        )),
    }
}

fn debug_endpoint_auth(config: &Config) -> Applicability {
    match env_is_set(config, "ENABLE_DEBUG_ENDPOINT_AUTH") {
        Some(why) => Applicability::NotApplicable(why),
        None => Applicability::Check(format!(
            "every sidecar mesh gets it; it matters if Kiali or another tool outside `{}` reads istiod's debug endpoints on port 15014, which the config cannot tell",
            config.namespace
        )),
    }
}

fn xds_debug_auth(config: &Config) -> Applicability {
    match env_is_set(config, "ENABLE_DEBUG_ENDPOINT_AUTH") {
        Some(why) => Applicability::NotApplicable(why),
        None => Applicability::Check(
            "it matters if you run `istioctl` with `--plaintext` or custom tooling against istiod's plaintext xDS port 15010, which the config cannot tell"
                .into(),
        ),
    }
}

fn remaining_cb_metrics(config: &Config) -> Applicability {
    match env_is_set(config, "DISABLE_TRACK_REMAINING_CB_METRICS") {
        Some(why) => Applicability::NotApplicable(why),
        None => Applicability::Applies(
            "`controlPlane.env` does not set `DISABLE_TRACK_REMAINING_CB_METRICS`, so the sidecars stop tracking the circuit breakers' `remaining_*` metrics"
                .into(),
        ),
    }
}

fn pick_best_service_namespace(config: &Config) -> Applicability {
    match env_is_set(config, "PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE") {
        Some(why) => Applicability::NotApplicable(why),
        None => Applicability::Check(
            "it matters only where one hostname exists in several namespaces with both a Kubernetes Service and a ServiceEntry; mesh-render renders no ServiceEntry, your apps might"
                .into(),
        ),
    }
}

fn untaint_controller(config: &Config) -> Applicability {
    match env_is_set(config, "PILOT_ENABLE_NODE_UNTAINT_CONTROLLERS") {
        Some(_) => Applicability::Check(
            "`controlPlane.env` sets `PILOT_ENABLE_NODE_UNTAINT_CONTROLLERS`; the chart now sets it only together with `taint.enabled`, which mesh-render does not render, so keep it if you use the controller"
                .into(),
        ),
        None => Applicability::NotApplicable(
            "mesh-render does not render the untaint controller (`taint.enabled`, for istio-cni nodes)".into(),
        ),
    }
}

fn validation_failure_policy(config: &Config) -> Applicability {
    match (config.control_plane.validation_failure_policy_pos, config.control_plane.validation_failure_policy) {
        (Some(_), None) => Applicability::NotApplicable(
            "`controlPlane.validationFailurePolicy: Ignore` keeps the chart's Ignore-then-flip behaviour".into(),
        ),
        _ => Applicability::Applies(
            "`controlPlane.validationFailurePolicy` is not set to Ignore, so the values gain `base.validationFailurePolicy: Fail`".into(),
        ),
    }
}

fn gateway_api_pin(_: &Config) -> Applicability {
    Applicability::Applies("mesh-render always renders the Knative Gateways, so the mesh depends on the Gateway API CRDs".into())
}

fn kubernetes_range(_: &Config) -> Applicability {
    Applicability::Check("the config does not say which Kubernetes version the cluster runs".into())
}

fn unhealthy_endpoints(config: &Config) -> Applicability {
    match env_is_set(config, "PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS") {
        Some(why) => Applicability::NotApplicable(why),
        None => Applicability::Check(
            "it changes load balancing for Services whose pods fail readiness; mesh-render renders no DestinationRule with outlier detection, your apps might"
                .into(),
        ),
    }
}

fn workload_entries(_: &Config) -> Applicability {
    Applicability::Check("it matters only for VMs auto-registered as WorkloadEntries, which the config cannot tell".into())
}

fn spawn_upstream_span(config: &Config) -> Applicability {
    match config.control_plane.env.get("PILOT_SPAWN_UPSTREAM_SPAN_FOR_GATEWAY") {
        Some(value) => Applicability::Applies(format!(
            "`controlPlane.env.PILOT_SPAWN_UPSTREAM_SPAN_FOR_GATEWAY` is set to \"{value}\", which Istio 1.31 no longer reads"
        )),
        None if config.tracing.is_some() => Applicability::Check(
            "tracing is on and the flag is not set, so nothing changes unless an override outside this config set it".into(),
        ),
        None => Applicability::NotApplicable("tracing is off and the flag is not set".into()),
    }
}

fn xds_api_generator_auth(config: &Config) -> Applicability {
    match env_is_set(config, "ENABLE_XDS_API_GENERATOR_AUTH") {
        Some(why) => Applicability::NotApplicable(why),
        None => Applicability::Check("it matters only for custom MCP consumers of istiod's config, which the config cannot tell".into()),
    }
}

/// Every upgrade note, sorted by release. Upstream titles are word for word; `summary` and `change`
/// are mesh-render's words, in terms of its config keys.
pub static NOTES: &[Note] = &[
    Note {
        id: "stats-compression",
        origin: Origin::Upstream { file: "1.29/48051.yaml" },
        title: "HTTP compression of Envoy metrics (`prometheus_stats`) enabled by default.",
        release: v(29, 0),
        ambient_or_cni_only: false,
        summary: "Envoy's metrics endpoint compresses its answer (brotli, gzip or zstd, as the scraper's `Accept-Encoding` asks). The `sidecar.istio.io/statsCompression` annotation was removed; ProxyConfig `statsCompression` replaces it.",
        change: "Remove `sidecar.istio.io/statsCompression` from `metadata.annotations` (and from pod templates). To switch compression off for a pod, annotate it with `proxy.istio.io/config: \"statsCompression: false\"`.",
        condition: stats_compression,
    },
    Note {
        id: "ztunnel-dry-run-policies",
        origin: Origin::Upstream { file: "1.29/authz-dry-run-ambient.yaml" },
        title: "Upgrading in Ambient mode with dry-run AuthorizationPolicy",
        release: v(29, 0),
        ambient_or_cni_only: true,
        summary: "With `AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY=true`, istiod sends dry-run AuthorizationPolicies to ztunnel; ztunnels older than 1.29 enforce them fully.",
        change: "Nothing in sidecar mode. In ambient mode, upgrade every ztunnel before switching the feature on.",
        condition: ambient_only,
    },
    Note {
        id: "debug-endpoint-auth",
        origin: Origin::Upstream { file: "1.29/debug-endpoint-authorization.yaml" },
        title: "Debug endpoint authorization is now enabled by default.",
        release: v(29, 0),
        ambient_or_cni_only: false,
        summary: "istiod's debug endpoints on port 15014 now authorize by namespace: callers outside the system namespace only get `config_dump`, `ndsz` and `edsz`, and only for proxies of their own namespace. Kiali and custom monitoring are affected.",
        change: "If Kiali or another tool outside the root namespace needs istiod's debug endpoints, set `controlPlane.env.ENABLE_DEBUG_ENDPOINT_AUTH: \"false\"` (or move the tool into the root namespace).",
        condition: debug_endpoint_auth,
    },
    Note {
        id: "circuit-breaker-remaining-metrics",
        origin: Origin::Upstream { file: "1.29/disable-track-remaining-cb-metrics.yaml" },
        title: "Circuit breaker metrics tracking behavior change",
        release: v(29, 0),
        ambient_or_cni_only: false,
        summary: "Sidecars no longer track Envoy's circuit-breaker `remaining_*` metrics (`TrackRemaining`), to save proxy memory.",
        // The upstream release note reads as if `true` kept the old behaviour; the upgrade note and
        // the charts' compatibility profile for 1.28 (`DISABLE_TRACK_REMAINING_CB_METRICS: "false"`) agree
        // that `false` does.
        change: "If dashboards or alerts use the `remaining_cx`, `remaining_pending` or `remaining_rq` metrics, set `controlPlane.env.DISABLE_TRACK_REMAINING_CB_METRICS: \"false\"`.",
        condition: remaining_cb_metrics,
    },
    Note {
        id: "ambient-iptables-reconciliation",
        origin: Origin::Upstream { file: "1.29/reconcile-iptables-default-true.yaml" },
        title: "Ambient iptables reconciliation enabled by default",
        release: v(29, 0),
        ambient_or_cni_only: true,
        summary: "A new istio-cni pod rewrites the in-pod iptables/nftables rules of pods already in the ambient mesh.",
        change: "Nothing in sidecar mode. In ambient mode, `cni.ambient.reconcileIptablesOnStartup=false` switches it off.",
        condition: ambient_only,
    },
    Note {
        id: "validation-failure-policy",
        origin: Origin::MeshRender,
        title: "The validating webhook is rendered with `failurePolicy: Fail`",
        release: v(29, 2),
        ambient_or_cni_only: false,
        summary: "From 1.29.2 the charts accept `base.validationFailurePolicy`; mesh-render writes `Fail` into both charts' values, so the webhook no longer starts as `Ignore` and istiod's runtime flip no longer shows as GitOps drift.",
        change: "Nothing to set. Remove Argo CD `ignoreDifferences` on `.webhooks[]?.failurePolicy` (keep the one on `caBundle`). `controlPlane.validationFailurePolicy: Ignore` keeps the old behaviour.",
        condition: validation_failure_policy,
    },
    Note {
        id: "gateway-api-v1.4.1",
        origin: Origin::MeshRender,
        title: "Gateway API pin moves from v1.4.0 to v1.4.1",
        release: v(29, 3),
        ambient_or_cni_only: false,
        summary: "istiod is built against Gateway API v1.4.1 from Istio 1.29.3 on (go.mod of tag 1.29.3; its release notes: \"Added support to Gateway API v1.4.1\").",
        change: "Apply the Gateway API v1.4.1 standard-channel CRDs before upgrading istiod.",
        condition: gateway_api_pin,
    },
    Note {
        id: "kubernetes-1.32-to-1.36",
        origin: Origin::MeshRender,
        title: "Supported Kubernetes versions move to 1.32–1.36",
        release: v(30, 0),
        ambient_or_cni_only: false,
        summary: "Istio 1.30 supports Kubernetes 1.32 to 1.36 (1.29: 1.31 to 1.35).",
        change: "Make sure the cluster runs Kubernetes 1.32 to 1.36 before upgrading (Knative 1.23 needs 1.34 or later anyway).",
        condition: kubernetes_range,
    },
    Note {
        id: "gateway-api-v1.5.1",
        origin: Origin::MeshRender,
        title: "Gateway API pin moves from v1.4.1 to v1.5.1",
        release: v(30, 0),
        ambient_or_cni_only: false,
        summary: "istiod is built against Gateway API v1.5.1 from Istio 1.30.0 on (go.mod of tag 1.30.0), reads TLSRoute and ReferenceGrant only as v1, and ignores a TLSRoute CRD whose bundle-version is below 1.5.0 (`pkg/kube/kclient/crdwatcher.go` at 1.30.0). With an older bundle, TLS passthrough (the Knative external Gateway's `tls` listener) breaks silently (istio/istio.io#17394, istio/istio#60357).",
        change: "Apply the Gateway API v1.5.1 standard-channel CRDs before upgrading istiod; `plan apply` stops when the installed bundle is older.",
        condition: gateway_api_pin,
    },
    Note {
        id: "cni-config-permissions",
        origin: Origin::Upstream { file: "1.30/59075.yaml" },
        title: "CNI config file permissions changed to 0600",
        release: v(30, 0),
        ambient_or_cni_only: true,
        summary: "istio-cni writes its CNI config files with mode 0600 instead of 0644.",
        change: "Nothing without istio-cni. With it, `CNI_CONF_GROUP_READ=true` on the istio-cni-node DaemonSet gives 0640.",
        condition: ambient_only,
    },
    Note {
        id: "cni-agent-exclude-namespaces",
        origin: Origin::Upstream { file: "1.30/59295.yaml" },
        title: "CNI Agent respects excludeNamespaces configuration",
        release: v(30, 0),
        ambient_or_cni_only: true,
        summary: "The istio-cni agent skips excluded namespaces too: ambient pods there leave the mesh.",
        change: "Nothing in sidecar mode. In ambient mode, take namespaces that must stay enrolled out of `excludeNamespaces`.",
        condition: ambient_only,
    },
    Note {
        id: "untaint-controller-env",
        origin: Origin::Upstream { file: "1.30/helm-fix-untaint-controller.yaml" },
        title: "Untaint controller",
        release: v(30, 0),
        ambient_or_cni_only: false,
        summary: "With the istiod chart's `taint.enabled`, the chart now sets `PILOT_ENABLE_NODE_UNTAINT_CONTROLLERS` itself.",
        change: "Nothing: mesh-render does not render `taint.enabled`. A `controlPlane.env.PILOT_ENABLE_NODE_UNTAINT_CONTROLLERS` you set keeps working.",
        condition: untaint_controller,
    },
    Note {
        id: "sidecar-service-namespace",
        origin: Origin::Upstream { file: "1.30/sidecar-pick-best-service-namespace.yaml" },
        title: "Sidecar proxy service namespace selection changed",
        release: v(30, 0),
        ambient_or_cni_only: false,
        summary: "When a hostname exists in several namespaces, sidecars now prefer the Kubernetes Service and then the oldest ServiceEntry, instead of the alphabetically first namespace.",
        change: "To keep the old choice, set `controlPlane.env.PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE: \"false\"`.",
        condition: pick_best_service_namespace,
    },
    Note {
        id: "xds-debug-auth",
        origin: Origin::Upstream { file: "1.30/statusgen-xds-auth.yaml" },
        title: "XDS debug endpoints now require authentication",
        release: v(30, 0),
        ambient_or_cni_only: false,
        summary: "The xDS debug endpoints (`syncz`, `config_dump`) on istiod's plaintext port 15010 require authentication, which breaks `istioctl --plaintext` and custom plaintext xDS clients.",
        change: "Drop `--plaintext` from `istioctl` calls, or set `controlPlane.env.ENABLE_DEBUG_ENDPOINT_AUTH: \"false\"` (that also opens the 15014 debug endpoints again).",
        condition: xds_debug_auth,
    },
    Note {
        id: "gateway-api-v1.6.0",
        origin: Origin::MeshRender,
        title: "Gateway API pin moves from v1.5.1 to v1.6.0",
        release: v(31, 0),
        ambient_or_cni_only: false,
        summary: "istiod is built against Gateway API v1.6.0 from Istio 1.31 on (go.mod of tag 1.31.0-rc.0; the 1.31.0 tag was not read) and requires TCPRoute's bundle-version 1.6.0 or later (`pkg/config/schema/gatewayapi/minimumversions.go`). v1.6 installs a ValidatingAdmissionPolicy that refuses an older bundle over a newer one.",
        change: "Apply the Gateway API v1.6.x standard-channel CRDs (v1.6.1 changes no API) before upgrading istiod.",
        condition: gateway_api_pin,
    },
    Note {
        id: "unhealthy-endpoints",
        origin: Origin::Upstream { file: "1.31/60690.yaml" },
        title: "Default behavior for sending unhealthy endpoints",
        release: v(31, 0),
        ambient_or_cni_only: false,
        summary: "istiod now sends unhealthy endpoints to the proxies unless a DestinationRule's `outlierDetection.minHealthPercent` is set for the Service.",
        change: "To keep the old behaviour, set `controlPlane.env.PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS: \"false\"`.",
        condition: unhealthy_endpoints,
    },
    Note {
        id: "workloadentry-hbone-label",
        origin: Origin::Upstream { file: "1.31/60788.yaml" },
        title: "Existing auto-registered WorkloadEntries need re-registration or a manual label for HBONE",
        release: v(31, 0),
        ambient_or_cni_only: false,
        summary: "The HBONE tunnel label is set only when a WorkloadEntry is auto-created: VMs auto-registered before the upgrade stay on plaintext until they re-register or get `networking.istio.io/tunnel=http`.",
        change: "Nothing in this config (mesh-render renders no WorkloadEntry). For auto-registered VMs that use HBONE, restart them or add the label.",
        condition: workload_entries,
    },
    Note {
        id: "spawn-upstream-span-removed",
        origin: Origin::Upstream { file: "1.31/remove-spawn-upstream-span-for-gateway.yaml" },
        title: "PILOT_SPAWN_UPSTREAM_SPAN_FOR_GATEWAY feature flag removed",
        release: v(31, 0),
        ambient_or_cni_only: false,
        summary: "Gateways always spawn a separate upstream span per request under the Telemetry API; the opt-out `PILOT_SPAWN_UPSTREAM_SPAN_FOR_GATEWAY=false` is gone.",
        change: "Remove `controlPlane.env.PILOT_SPAWN_UPSTREAM_SPAN_FOR_GATEWAY`; expect one more span per gateway request in traces.",
        condition: spawn_upstream_span,
    },
    Note {
        id: "wds-reconnect-size",
        origin: Origin::Upstream { file: "1.31/wds-reconnect-version-skip.yaml" },
        title: "WDS reconnect requests are larger in big ambient meshes",
        release: v(31, 0),
        ambient_or_cni_only: true,
        summary: "ztunnel's reconnect request names every workload resource with its version and can exceed istiod's 4 MiB gRPC receive limit from about 40,000 workloads.",
        change: "Nothing in sidecar mode. In a large ambient mesh, raise `ISTIO_GPRC_MAXRECVMSGSIZE` on istiod.",
        condition: ambient_only,
    },
    Note {
        id: "xds-api-generator-auth",
        origin: Origin::Upstream { file: "1.31/xds-api-generator-auth.yaml" },
        title: "The XDS api generator now requires a control-plane identity",
        release: v(31, 0),
        ambient_or_cni_only: false,
        summary: "istiod's xDS `api` generator (MCP config serving) rejects clients without a control-plane identity: custom MCP consumers outside the system namespace stop receiving config. Sidecars, gateways and ztunnel are unaffected.",
        change: "If a custom MCP consumer reads istiod's config, move it into the root namespace, or set `controlPlane.env.ENABLE_XDS_API_GENERATOR_AUTH: \"false\"`.",
        condition: xds_api_generator_auth,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versions::{self, Release};

    #[test]
    fn notes_are_sorted_by_release_with_unique_ids() {
        assert!(NOTES.windows(2).all(|w| w[0].release <= w[1].release));
        let mut ids: Vec<_> = NOTES.iter().map(|n| n.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), NOTES.len());
    }

    /// mesh-render's own notes restate the version table; they must say what it says.
    #[test]
    fn mesh_render_notes_agree_with_the_version_table() {
        let first = |pred: &dyn Fn(&Release) -> bool| versions::RELEASES.iter().find(|r| pred(r)).map(|r| r.version);
        let at = |id: &str| NOTES.iter().find(|n| n.id == id).unwrap_or_else(|| panic!("{id}")).release;
        assert_eq!(Some(at("validation-failure-policy")), first(&|r| r.validation_failure_policy));
        assert_eq!(Some(at("gateway-api-v1.4.1")), first(&|r| r.gateway_api == "v1.4.1"));
        assert_eq!(Some(at("kubernetes-1.32-to-1.36")), first(&|r| r.kubernetes.0 == (1, 32)));
        // Every change of the Gateway API pin or the Kubernetes range has a note.
        for w in versions::RELEASES.windows(2) {
            if w[0].gateway_api != w[1].gateway_api || w[0].kubernetes != w[1].kubernetes {
                assert!(
                    NOTES.iter().any(|n| n.origin == Origin::MeshRender && n.release == w[1].version),
                    "no mesh-render note for {}",
                    w[1].version
                );
            }
        }
    }
}
