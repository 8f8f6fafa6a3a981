//! Typed Gateway API Inference Extension resources (hand-written from the v1.1.0 and v1.6.0 CRDs
//! bundled under `schemas/`, which the tests validate every rendered object against).

use std::collections::BTreeMap;

use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// The Inference Extension CRDs of each bundled release, as JSON (from the vendored reference data (`reference/`);
/// the schema tests keep them in sync).
pub(crate) const CRDS: &[(&str, &str)] = &[
    ("v1.1.0", include_str!("../../crds/gie-v1.1.0/inferencepools.inference.networking.k8s.io.json")),
    ("v1.1.0", include_str!("../../crds/gie-v1.1.0/inferenceobjectives.inference.networking.x-k8s.io.json")),
    ("v1.6.0", include_str!("../../crds/gie-v1.6.0/inferencepools.inference.networking.k8s.io.json")),
];

/// The bundled CRD files, for the sync test: (release, file name, contents).
pub fn bundled_crds() -> impl Iterator<Item = (&'static str, &'static str)> {
    CRDS.iter().copied()
}

/// InferencePool: a set of model server pods behind an endpoint picker. Istio 1.29 watches only v1.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "inference.networking.k8s.io",
    version = "v1",
    kind = "InferencePool",
    namespaced,
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InferencePoolSpec {
    pub selector: LabelSelector,
    /// 1 to 8 unique ports of the model servers.
    pub target_ports: Vec<Port>,
    /// Required in v1.1.0, optional from v1.6.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_picker_ref: Option<EndpointPickerRef>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    pub match_labels: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Port {
    pub number: i32,
}

/// The endpoint picker (EPP) Service the gateway asks, over ext_proc, which pod gets a request.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointPickerRef {
    /// `""` (core) with kind `Service`.
    pub group: String,
    pub kind: String,
    pub name: String,
    pub port: Port,
    /// `FailClose` or `FailOpen`.
    pub failure_mode: String,
}

/// InferenceObjective (v1alpha2, Inference Extension v1.1.0): a priority for requests of a pool.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "inference.networking.x-k8s.io",
    version = "v1alpha2",
    kind = "InferenceObjective",
    namespaced,
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InferenceObjectiveSpec {
    pub priority: i64,
    pub pool_ref: PoolRef,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PoolRef {
    pub group: String,
    pub kind: String,
    pub name: String,
}
