//! Typed cert-manager resources (`cert-manager.io/v1`): the fields of cert-manager v1.19.1's CRDs
//! (`reference/cert-manager-v1.19.1/crds/`) that mesh-render emits, for the intermediate CA each
//! cluster of a multi-cluster mesh gets from the shared root. The schema tests validate every
//! rendered object against those CRDs.
//!
//! mesh-render never writes key material: the Certificate asks cert-manager for a key and a
//! certificate in the cluster, and the ClusterIssuer names the root's Secret, which the user puts
//! into every cluster.

use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// Certificate: cert-manager keeps a key pair and a certificate signed by `issuerRef` in `secretName`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "cert-manager.io",
    version = "v1",
    kind = "Certificate",
    namespaced,
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateSpec {
    pub secret_name: String,
    pub common_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
    /// With `true`, cert-manager adds the `cert sign` usage
    /// (`deploy/crds/cert-manager.io_certificates.yaml:143-152` at v1.19.1).
    #[serde(rename = "isCA")]
    pub is_ca: bool,
    pub duration: String,
    pub renew_before: String,
    pub private_key: PrivateKey,
    pub usages: Vec<String>,
    pub issuer_ref: IssuerReference,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subject {
    pub organizations: Vec<String>,
    pub organizational_units: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivateKey {
    /// `RSA`, `ECDSA` or `Ed25519`.
    pub algorithm: String,
    pub size: u32,
    /// `Always` (a new key at every renewal) or `Never`.
    pub rotation_policy: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IssuerReference {
    pub name: String,
    pub kind: String,
    pub group: String,
}

/// ClusterIssuer: an issuer every namespace can use. mesh-render renders the `ca` kind, which signs
/// with the key pair of a Secret in cert-manager's cluster resource namespace.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(group = "cert-manager.io", version = "v1", kind = "ClusterIssuer", schema = "disabled", derive = "PartialEq", derive = "Default")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterIssuerSpec {
    pub ca: CaIssuer,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaIssuer {
    /// The root's Secret (`tls.crt`, `tls.key`), never rendered.
    pub secret_name: String,
}
