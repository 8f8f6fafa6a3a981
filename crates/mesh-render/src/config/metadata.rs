//! `components.istio.metadata`: extra labels and annotations on every object mesh-render owns.

use super::codes;
use std::collections::BTreeMap;

use super::decode::Decoder;
use crate::config::syntax::{Node, Value};

/// `components.istio.metadata`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtraMetadata {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// Keys mesh-render sets itself; a config may not override them.
const RESERVED_LABELS: &[&str] = &["app.kubernetes.io/managed-by", "app.kubernetes.io/part-of", "app.kubernetes.io/component"];
/// Annotations that make istiod name a Gateway's ServiceAccount or Deployment and Service otherwise
/// than `<gateway>-istio` (istio 1.29.6 `pilot/pkg/config/kube/gateway/deploymentcontroller.go:546-547`,
/// `files/kube-gateway.yaml:4,85,338`). On the Gateways mesh-render renders they would move the
/// identity every policy admits them by and the Service Knative's `config-gateway` names.
const GATEWAY_NAMING_ANNOTATIONS: &[&str] = &["gateway.istio.io/service-account", "gateway.istio.io/name-override"];

pub(super) fn read_metadata(node: Option<&Node>, path: &str, dec: &mut Decoder) -> ExtraMetadata {
    let mut out = ExtraMetadata::default();
    let Some(node) = node else { return out };
    let Some(f) = dec.map(node, path, Some(&["labels", "annotations"])) else { return out };
    for (key, kind, target) in [("labels", "label", &mut out.labels), ("annotations", "annotation", &mut out.annotations)] {
        let Some(n) = f.get(key) else { continue };
        let Some(mf) = dec.map(n, &f.path(key), None) else { continue };
        let Value::Map(entries) = &mf.node.value else { continue };
        for (k, v) in entries {
            let vpath = mf.path(k.as_scalar().unwrap_or_default());
            let Some(name) = dec.label_key(k, &vpath, kind) else { continue };
            if RESERVED_LABELS.contains(&name.as_str()) || name.starts_with("mesh-render/") {
                dec.report(&codes::INVALID_VALUE, k.pos, &vpath, format!("`{name}` is set by mesh-render"), "choose another key");
                continue;
            }
            if key == "annotations" && GATEWAY_NAMING_ANNOTATIONS.contains(&name.as_str()) {
                dec.report(
                    &codes::INVALID_VALUE,
                    k.pos,
                    &vpath,
                    format!("`{name}` would rename the pods or Service istiod deploys for the rendered Gateways"),
                    "the policies admit those Gateways as `<gateway>-istio` and Knative's config-gateway names that Service: remove it",
                );
                continue;
            }
            // Annotation values are free text; label values have a grammar.
            let value = if key == "labels" { dec.label_value(v, &vpath) } else { dec.string(v, &vpath) };
            if let Some(value) = value {
                target.insert(name, value);
            }
        }
    }
    out
}
