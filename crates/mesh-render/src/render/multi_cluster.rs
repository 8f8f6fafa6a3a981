//! One cluster of a multi-cluster mesh (`components.istio.multiCluster`): its intermediate CA of
//! the shared root, its east-west gateway's values, and the cross-network Gateway on it. Nothing for
//! a single-cluster config, nor for the section's settings before a cluster is chosen.
//!
//! istiod's `global.meshID`, `global.multiCluster.clusterName` and `global.network` are in
//! `control_plane::values`, the root namespace's network label in `namespaces`.

use std::collections::BTreeMap;

use crate::api::cert_manager::{
    CaIssuer, Certificate, CertificateSpec, ClusterIssuer, ClusterIssuerSpec, IssuerReference, PrivateKey, Subject,
};
use crate::api::helm::{GatewayAutoscaling, GatewayService, GatewayValues, ServiceSettings, ServiceSettingsValues};
use crate::api::istio::{IstioGateway, IstioGatewaySpec, Server, ServerPort, ServerTls};
use crate::config::multi_cluster::{CACERTS_SECRET, EAST_WEST_PORT, NODE_SELECTOR_ANNOTATION};
use crate::config::Config;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject as RbacSubject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::api::argocd::SYNC_WAVE;
use crate::render::argocd_hooks::{hook_object, job, rule, HOOK, HOOK_DELETE_POLICY};
use crate::render::manifest::{owned_meta, Concern, Manifest, Object};

/// The cross-network Gateway's name, as in Istio's `samples/multicluster/expose-services.yaml`.
pub(crate) const CROSS_NETWORK_GATEWAY: &str = "cross-network-gateway";

/// The cluster's intermediate CA: a cert-manager Certificate whose Secret is `cacerts` in the root
/// namespace, signed by the shared root's issuer, and that issuer when mesh-render renders it (a
/// `ca` ClusterIssuer reading the root's Secret, which is never rendered).
///
/// cert-manager writes a `kubernetes.io/tls` Secret: `tls.crt` (the intermediate), `tls.key`, and
/// `ca.crt`, the root when the issuer's own certificate is self-signed (cert-manager v1.19.1
/// `pkg/controller/certificaterequests/ca/ca.go:75-133`, `pkg/util/pki/parse_certificate_chain.go:50-63`,
/// `pkg/controller/certificates/issuing/internal/secret.go:149-153`). istiod reads that form as its
/// plugged-in CA: it signs with `tls.crt`/`tls.key` and trusts `ca.crt` (istio 1.29.6
/// `pilot/pkg/bootstrap/istio_ca.go:223-242`). It decides once, at start: with no complete
/// `cacerts` it signs with a root of its own (`:519-537`), so this must be Ready before istiod starts.
pub(crate) fn trust(config: &Config) -> Vec<Manifest> {
    let (Some(mc), Some(cluster)) = (&config.multi_cluster, &config.cluster) else { return Vec::new() };
    let Some(trust) = &mc.trust else { return Vec::new() };
    let mut out = Vec::new();
    if let Some(secret) = &trust.root_ca_secret {
        let issuer = ClusterIssuer {
            metadata: owned_meta(&trust.issuer.name, None, Concern::Trust),
            spec: ClusterIssuerSpec { ca: CaIssuer { secret_name: secret.clone() } },
        };
        out.push(Manifest { concern: Concern::Trust, object: Object::from(issuer) });
    }
    let certificate = Certificate {
        metadata: owned_meta(CACERTS_SECRET, Some(&config.namespace), Concern::Trust),
        spec: CertificateSpec {
            secret_name: CACERTS_SECRET.into(),
            // A DNS label, so within X.509's 64 characters; the mesh is the organizational unit.
            common_name: cluster.name.clone(),
            subject: Some(Subject { organizations: vec!["Istio".into()], organizational_units: vec![mc.mesh_id.clone()] }),
            is_ca: true,
            duration: trust.duration.clone(),
            renew_before: trust.renew_before.clone(),
            // Istio's own intermediate CAs (`tools/certs/common.mk`) are RSA; 4096 as its docs use.
            private_key: PrivateKey { algorithm: "RSA".into(), size: 4096, rotation_policy: "Always".into() },
            usages: vec!["digital signature".into(), "key encipherment".into(), "cert sign".into(), "crl sign".into()],
            issuer_ref: IssuerReference {
                name: trust.issuer.name.clone(),
                kind: trust.issuer.kind.into(),
                group: trust.issuer.group.clone(),
            },
        },
    };
    out.push(Manifest { concern: Concern::Trust, object: Object::from(certificate) });
    out
}

/// The cross-network Gateway: the east-west gateway passes mTLS through to the service its SNI names
/// (`AUTO_PASSTHROUGH` on 15443), as Istio's `samples/multicluster/expose-services.yaml` does
/// (`reference/istio-1.29.6/multicluster/`), but for the app namespaces' services only, which are
/// what other clusters call (`check::flows::fleet`): the sample's `*.local` would also open istiod,
/// the Knative system services and the gateways' own Services to every caller on the other networks.
/// Without app namespaces there is nothing to expose, and no Gateway.
pub(crate) fn east_west(config: &Config) -> Vec<Manifest> {
    let Some(ew) = config.cluster.as_ref().map(|c| &c.east_west).filter(|ew| ew.enabled) else { return Vec::new() };
    if config.apps.is_empty() {
        return Vec::new();
    }
    let gateway = IstioGateway {
        metadata: owned_meta(CROSS_NETWORK_GATEWAY, Some(&config.namespace), Concern::EastWest),
        spec: IstioGatewaySpec {
            selector: BTreeMap::from([("istio".to_string(), selector_label(&ew.name))]),
            servers: vec![Server {
                port: ServerPort { number: EAST_WEST_PORT.into(), name: "tls".into(), protocol: "TLS".into() },
                hosts: config.apps.iter().map(|ns| format!("*.{ns}.svc.cluster.local")).collect(),
                tls: Some(ServerTls { mode: "AUTO_PASSTHROUGH".into() }),
            }],
        },
    };
    vec![Manifest { concern: Concern::EastWest, object: Object::from(gateway) }]
}

/// The services whose callers must stay in their own cluster, as `meshConfig.serviceSettings`
/// (`clusterLocal`). Istio merges Services of one name and namespace across the clusters of a mesh
/// and keeps only `kube-system`, `kubernetes.default` and istiod local (istio 1.29.6
/// `pilot/pkg/model/cluster_local.go:25-26,85-100`). Each cluster runs its own Knative and its own
/// gateways, which must not mix: another cluster's activator would send its request statistics to
/// this cluster's autoscaler (serving knative-v1.23.0 `cmd/activator/main.go:218-220`, a WebSocket to
/// `autoscaler.<serving namespace>`), a call to a Knative Service would reach another cluster's local
/// gateway, whose NetworkPolicy admits only its own cluster's pods, and a remote gateway's pods offer
/// no mTLS (the east-west gateway would refuse the call). So the root namespace (the gateways, the
/// east-west gateway, istiod) and Knative's namespaces are cluster-local. The app namespaces are not:
/// their Services are the point of one mesh. Nothing for a single cluster.
pub(crate) fn cluster_local_settings(config: &Config) -> Vec<ServiceSettings> {
    if config.cluster.is_none() {
        return Vec::new();
    }
    let mut namespaces = vec![config.namespace.clone()];
    if let Some(k) = &config.knative {
        namespaces.push(k.serving_namespace.clone());
        namespaces.extend(k.eventing_namespace.clone());
    }
    vec![ServiceSettings {
        settings: ServiceSettingsValues { cluster_local: true },
        hosts: namespaces.iter().map(|ns| format!("*.{ns}.svc.cluster.local")).collect(),
    }]
}

/// The `istio` label the gateway chart gives the pods of release `name`: the name without `istio-`
/// (`charts/gateway/templates/_helpers.tpl:20`).
pub(crate) fn selector_label(name: &str) -> String {
    name.strip_prefix("istio-").unwrap_or(name).to_string()
}

/// The east-west gateway's values for the `gateway` chart; `None` without one.
pub(crate) fn gateway_values(config: &Config) -> Option<GatewayValues> {
    let cluster = config.cluster.as_ref().filter(|c| c.east_west.enabled)?;
    let ew = &cluster.east_west;
    Some(GatewayValues {
        name: ew.name.clone(),
        revision: config.revisions.as_ref().map(|rs| rs.stable_tag.clone()).or_else(|| config.revision.clone()),
        network_gateway: cluster.network.clone(),
        replica_count: ew.replicas,
        autoscaling: ew.replicas.map(|_| GatewayAutoscaling { enabled: false }),
        service: GatewayService {
            type_: ew.service_type.into(),
            external_ips: ew.external_ips.clone(),
            annotations: {
                let mut a = ew.annotations.clone();
                if ew.service_type == "NodePort" {
                    a.entry(NODE_SELECTOR_ANNOTATION.into()).or_insert_with(|| "{}".into());
                }
                a
            },
        },
    })
}

/// Name of the east-west gateway's PreSync gate (ServiceAccount, Role, RoleBinding, Job).
pub(crate) const EAST_WEST_GATE: &str = "mesh-render-eastwest-gate";
/// Name of the trust's PostDelete cleanup (ServiceAccount, Role, RoleBinding, Job).
pub(crate) const TRUST_CLEANUP: &str = "mesh-render-trust-cleanup";

/// Under Argo CD, the east-west gateway's Application waits for istiod: a PreSync hook Job that
/// waits until the istiod Deployment serving the gateway's pods is Available, before the `gateway`
/// chart's objects are applied. A gateway pod created before the injector serves keeps the chart's
/// `image: auto` for good (`charts/gateway/templates/deployment.yaml:78-80`; the injector sees a pod
/// only when it is created). The parent's waves would order the two Applications only with an
/// Application health check in argocd-cm, and putting the gateway in istiod's own Application behind
/// a sync wave would make istiod's HPA a gate: Argo CD calls an HPA without metrics Degraded
/// (gitops-engine `pkg/health/health_hpa.go:107-123` in argo-cd v3.5.1's tree) and fails the sync at
/// its wave (`pkg/sync/sync_context.go:565-566`). The gate's RBAC are PreSync hooks one wave before it
/// (ordinary objects are applied only after PreSync). Nothing without Argo CD or an east-west gateway.
pub(crate) fn east_west_gate(config: &Config) -> Vec<Manifest> {
    let (Some(a), Some(_)) = (&config.argocd, gateway_values(config)) else { return Vec::new() };
    let root = config.namespace.as_str();
    let istiod = crate::plans::stable_istiod(config);
    // `kubectl wait` fails at once on a Deployment that does not exist yet (istiod's Application may
    // sync after this one): wait for it to appear first.
    let script = format!(
        "set -eu\n# mesh-render's Argo CD PreSync gate of the east-west gateway: its pods get their proxy from\n# istiod's injector, so the chart waits until istiod {istiod} is Available.\n\
for attempt in $(seq 1 60); do\n  if [ -n \"$(kubectl --namespace {root} get deployment {istiod} --ignore-not-found --output=name)\" ]; then\n    break\n  fi\n  echo \"mesh-render: attempt $attempt: no deployment/{istiod} in {root} yet\" >&2\n  sleep 10\ndone\n\
kubectl --namespace {root} wait --for=condition=Available deployment/{istiod} --timeout=600s\n"
    );
    let rules = vec![rule(&["apps"], &["deployments"], &["get", "list", "watch"], vec![istiod])];
    hooked(root, &a.hook_image, EAST_WEST_GATE, "PreSync", rules, script)
}

/// Under Argo CD, the intermediate CA's key does not outlive the cluster's istiod: a PostDelete hook
/// Job of the Application that holds the trust deletes the Secret `cacerts`, which cert-manager keeps
/// when its Certificate is deleted (cert-manager v1.19.1 `internal/apis/config/controller/v1alpha1/defaults.go:74`,
/// `defaultEnableCertificateOwnerRef = false`) and which the root namespace (`Prune=false,Delete=false`)
/// would keep too: a key that chains to the shared root, which the other clusters trust. Argo CD runs
/// PostDelete hooks once the Application's objects are gone (argo-cd v3.5.1
/// `controller/appcontroller.go:1410-1455`), istiod with them. It creates the hooks together, the Job
/// perhaps before its RBAC (`controller/hook.go:131-170`), so the script retries; applied by hand
/// (`kubectl apply`), the Job finds no Argo CD tracking on itself and does nothing.
pub(crate) fn trust_cleanup(config: &Config) -> Vec<Manifest> {
    let (Some(a), Some(_)) = (&config.argocd, trust(config).first()) else { return Vec::new() };
    let root = config.namespace.as_str();
    let script = format!(
        "set -eu\n# mesh-render's Argo CD PostDelete cleanup of the intermediate CA: the Secret {root}/{CACERTS_SECRET}\n# holds a key that chains to the mesh's root, which the other clusters trust.\n\
tracking=\"$(kubectl get job {TRUST_CLEANUP} --namespace {root} --output=jsonpath='{{.metadata.annotations.argocd\\.argoproj\\.io/tracking-id}}{{.metadata.labels.app\\.kubernetes\\.io/instance}}')\"\n\
if [ -z \"$tracking\" ]; then\n  echo \"mesh-render: job/{TRUST_CLEANUP} carries no Argo CD tracking: it was not created by a deletion; nothing to do\" >&2\n  exit 0\nfi\n\
for attempt in 1 2 3 4 5 6; do\n  if kubectl delete secret {CACERTS_SECRET} --namespace {root} --ignore-not-found; then\n    exit 0\n  fi\n  echo \"mesh-render: attempt $attempt: cannot delete {root}/{CACERTS_SECRET} yet (its Role may not be bound yet)\" >&2\n  sleep 10\ndone\nexit 1\n"
    );
    let rules = vec![
        rule(&[""], &["secrets"], &["delete"], vec![CACERTS_SECRET.to_string()]),
        rule(&["batch"], &["jobs"], &["get"], vec![TRUST_CLEANUP.to_string()]),
    ];
    hooked(root, &a.hook_image, TRUST_CLEANUP, "PostDelete", rules, script)
}

/// A hook Job `name` of phase `hook` with its ServiceAccount, Role (`rules`) and RoleBinding, the
/// RBAC as hooks of the same phase one sync wave earlier, kept between runs.
fn hooked(root: &str, image: &str, name: &str, hook: &str, rules: Vec<PolicyRule>, script: String) -> Vec<Manifest> {
    let hook_meta = |mut meta: ObjectMeta| {
        let annotations = meta.annotations.get_or_insert_with(Default::default);
        annotations.insert(HOOK.into(), hook.into());
        annotations.insert(HOOK_DELETE_POLICY.into(), "BeforeHookCreation".into());
        annotations.insert(SYNC_WAVE.into(), "-1".into());
        meta
    };
    let meta = || hook_meta(owned_meta(name, Some(root), Concern::ArgocdHooks));
    let subject = RbacSubject { kind: "ServiceAccount".into(), name: name.into(), namespace: Some(root.into()), api_group: None };
    vec![
        hook_object(ServiceAccount { metadata: meta(), ..Default::default() }),
        hook_object(Role { metadata: meta(), rules: Some(rules) }),
        hook_object(RoleBinding {
            metadata: meta(),
            role_ref: RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: "Role".into(), name: name.into() },
            subjects: Some(vec![subject]),
        }),
        job(root, image, name, name, hook, Some(0), script),
    ]
}

#[cfg(test)]
mod tests {
    use crate::config::syntax::Limits;
    use crate::render::manifest::Object;

    /// Rule: the cross-network Gateway passes through to the app namespaces' services only, never
    /// `*.local` (istiod, Knative's system services and the gateways would be open to every other
    /// network); with no app namespace there is no Gateway.
    #[test]
    fn the_cross_network_gateway_exposes_the_app_namespaces_only() {
        let config = |apps: &str| {
            format!("components:\n  istio:\n    enabled: true\n    namespaces: {{apps: [{apps}]}}\n    multiCluster:\n      meshID: m\n      clusters: [{{name: a, network: n1}}, {{name: b, network: n2}}]\n")
        };
        let hosts = |apps: &str| -> Option<Vec<String>> {
            let loaded = crate::config::load_cluster(&config(apps), None, Some("a"), Limits::DEFAULT)
                .unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
            crate::render(&loaded).manifests.iter().find_map(|m| match &m.object {
                Object::IstioGateway(g) => Some(g.spec.servers.iter().flat_map(|s| s.hosts.clone()).collect()),
                _ => None,
            })
        };
        assert_eq!(hosts("shop, demo"), Some(vec!["*.demo.svc.cluster.local".to_string(), "*.shop.svc.cluster.local".to_string()]));
        assert_eq!(hosts(""), None);
    }

    fn cluster(text_istio: &str, cluster: &str) -> crate::Rendered {
        let text = format!("components:\n  knative: {{enabled: true}}\n  istio:\n    enabled: true\n{text_istio}");
        let loaded =
            crate::config::load_cluster(&text, None, Some(cluster), Limits::DEFAULT).unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
        crate::render(&loaded)
    }

    const TWO_NETWORKS: &str = "    namespaces: {apps: [demo]}\n    multiCluster:\n      meshID: m\n      clusters: [{name: a, network: n1}, {name: b, network: n2}]\n";

    /// Rule: in a multi-cluster mesh the root namespace (the gateways) and Knative's namespaces are
    /// cluster-local (`meshConfig.serviceSettings`), the app namespaces are not; one cluster has none.
    #[test]
    fn knative_and_the_gateways_stay_in_their_cluster() {
        let values = cluster(TWO_NETWORKS, "a").selected_values;
        let settings = serde_json::to_value(&values.istiod().mesh_config.service_settings).unwrap();
        assert_eq!(
            settings,
            serde_json::json!([{"settings": {"clusterLocal": true}, "hosts": ["*.istio-system.svc.cluster.local", "*.knative-serving.svc.cluster.local"]}])
        );
        let single = crate::load("components:\n  istio: {enabled: true}\n", None, Limits::DEFAULT).unwrap();
        assert!(crate::render(&single).selected_values.istiod().mesh_config.service_settings.is_empty());
    }

    /// Rule: a NodePort east-west gateway carries `traffic.istio.io/nodeSelector` (istiod takes a
    /// NodePort gateway's address only with it); a configured value is kept.
    #[test]
    fn a_node_port_east_west_gateway_gets_the_node_selector() {
        let ew = |extra: &str| {
            let text = TWO_NETWORKS
                .replace("      clusters:", &format!("      eastWest: {{service: {{type: NodePort{extra}}}}}\n      clusters:"));
            cluster(&text, "a").east_west_values.expect("an east-west gateway").service.annotations
        };
        assert_eq!(ew("").get("traffic.istio.io/nodeSelector").map(String::as_str), Some("{}"));
        assert_eq!(
            ew(", annotations: {traffic.istio.io/nodeSelector: '{\"edge\": \"true\"}'}")
                .get("traffic.istio.io/nodeSelector")
                .map(String::as_str),
            Some("{\"edge\": \"true\"}")
        );
    }

    /// Rule: a cluster without app namespaces has nothing for the other networks to call, and no
    /// east-west gateway (which istiod would otherwise hand them as its network's gateway).
    #[test]
    fn a_cluster_without_apps_gets_no_east_west_gateway() {
        let text = "    multiCluster:\n      meshID: m\n      clusters: [{name: a, network: n1, overrides: {namespaces: {apps: [demo]}}}, {name: b, network: n2}]\n";
        assert!(cluster(text, "a").east_west_values.is_some());
        assert!(cluster(text, "b").east_west_values.is_none());
    }
}
