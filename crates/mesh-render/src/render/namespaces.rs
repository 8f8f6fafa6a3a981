//! Namespaces: Istio's root namespace, and injection labels on every namespace in the mesh.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::config::multi_cluster::NETWORK_LABEL;
use crate::config::Config;
use crate::render::facts::MeshFacts;
use crate::render::manifest::{owned_meta, partial_meta, Concern, Manifest, Object};

pub(crate) fn render(config: &Config, facts: &MeshFacts) -> Vec<Manifest> {
    let mut root = Namespace { metadata: owned_meta(&config.namespace, None, Concern::Namespaces), ..Default::default() };
    // In a multi-cluster mesh, the cluster's network: istiod reads it from the root namespace as
    // the network of the cluster's pods (istio 1.29.6 `pilot/pkg/serviceregistry/kube/controller/network.go:94-101`);
    // Istio's multi-network install labels `istio-system` before installing istiod.
    if let Some(cluster) = &config.cluster {
        root.metadata.labels.get_or_insert_with(Default::default).insert(NETWORK_LABEL.into(), cluster.network.clone());
    }
    let mut out = vec![Manifest { concern: Concern::Namespaces, object: Object::from(root) }];
    let (key, value) = &facts.injection_label;
    // The same labels and annotations on every injected namespace, built once.
    let shared = partial_meta("", None, BTreeMap::from([(key.clone(), value.clone())]));
    out.reserve(facts.injected.len());
    for ns in &facts.injected {
        let object = Namespace { metadata: ObjectMeta { name: Some(ns.clone()), ..shared.clone() }, ..Default::default() };
        out.push(Manifest { concern: Concern::Namespaces, object: Object::from(object) });
    }
    out
}
