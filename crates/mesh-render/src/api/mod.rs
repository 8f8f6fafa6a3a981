//! Hand-written types of what mesh-render writes for others to read: the custom resources (Istio, the Gateway API
//! Inference Extension, Argo CD, cert-manager) and the Istio charts' Helm values. Only the fields mesh-render sets; `make schemas` and
//! `tests/schemas.rs` check every rendered object against the upstream CRD schemas in `reference/`.

pub mod argocd;
pub mod cert_manager;
pub mod helm;
pub mod inference;
pub mod istio;
