//! Namespaces: Istio's root namespace, and injection labels on every namespace in the mesh.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;

use crate::config::Config;
use crate::render::manifest::{owned_meta, partial_meta, Concern, Manifest, Object};

/// Every namespace whose pods get a sidecar: Knative's system namespaces, the apps, and the
/// namespaces of inference pools.
pub(crate) fn mesh_namespaces(config: &Config) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(k) = &config.knative {
        out.push(k.serving_namespace.clone());
        out.extend(k.eventing_namespace.clone());
    }
    out.extend(config.apps.iter().cloned());
    for pool in config.ai_serving.iter().flat_map(|a| &a.pools) {
        if !out.contains(&pool.namespace) && pool.namespace != config.namespace {
            out.push(pool.namespace.clone());
        }
    }
    out
}

/// The injection label: `istio.io/rev=<stable tag>` with revisions (moving the tag moves the
/// namespace), `istio.io/rev=<revision>` with one named revision, else `istio-injection` (never both).
pub(crate) fn injection_label(config: &Config) -> (String, String) {
    match (&config.revisions, &config.revision) {
        (Some(rs), _) => ("istio.io/rev".into(), rs.stable_tag.clone()),
        (None, Some(rev)) => ("istio.io/rev".into(), rev.clone()),
        (None, None) => ("istio-injection".into(), "enabled".into()),
    }
}

pub(crate) fn render(config: &Config) -> Vec<Manifest> {
    let root = Namespace { metadata: owned_meta(&config.namespace, None, Concern::Namespaces), ..Default::default() };
    let mut out = vec![Manifest { concern: Concern::Namespaces, object: Object::from(root) }];
    let (key, value) = injection_label(config);
    for ns in mesh_namespaces(config) {
        let labels = BTreeMap::from([(key.clone(), value.clone())]);
        let object = Namespace { metadata: partial_meta(&ns, None, labels), ..Default::default() };
        out.push(Manifest { concern: Concern::Namespaces, object: Object::from(object) });
    }
    out
}
