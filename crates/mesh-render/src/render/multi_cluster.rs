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
use crate::api::helm::{GatewayAutoscaling, GatewayService, GatewayValues};
use crate::api::istio::{IstioGateway, IstioGatewaySpec, Server, ServerPort, ServerTls};
use crate::config::multi_cluster::{CACERTS_SECRET, EAST_WEST_PORT};
use crate::config::Config;
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
/// (`AUTO_PASSTHROUGH` on 15443 for every `*.local` host), as Istio's
/// `samples/multicluster/expose-services.yaml` does (`reference/istio-1.29.6/multicluster/`).
pub(crate) fn east_west(config: &Config) -> Vec<Manifest> {
    let Some(ew) = config.cluster.as_ref().map(|c| &c.east_west).filter(|ew| ew.enabled) else { return Vec::new() };
    let gateway = IstioGateway {
        metadata: owned_meta(CROSS_NETWORK_GATEWAY, Some(&config.namespace), Concern::EastWest),
        spec: IstioGatewaySpec {
            selector: BTreeMap::from([("istio".to_string(), selector_label(&ew.name))]),
            servers: vec![Server {
                port: ServerPort { number: EAST_WEST_PORT.into(), name: "tls".into(), protocol: "TLS".into() },
                hosts: vec!["*.local".into()],
                tls: Some(ServerTls { mode: "AUTO_PASSTHROUGH".into() }),
            }],
        },
    };
    vec![Manifest { concern: Concern::EastWest, object: Object::from(gateway) }]
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
            annotations: ew.annotations.clone(),
        },
    })
}
