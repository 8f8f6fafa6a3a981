//! Rendered Kubernetes objects, their shared metadata, and the order they are applied in.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Serialize, Serializer};

use crate::istio_api::{AuthorizationPolicy, PeerAuthentication, Telemetry};

/// Label and annotation keys mesh-render writes.
pub mod keys {
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    pub const PART_OF: &str = "app.kubernetes.io/part-of";
    pub const COMPONENT: &str = "app.kubernetes.io/component";
    /// On objects that belong to another installer; mesh-render owns only the fields it renders.
    pub const PARTIAL: &str = "mesh-render/partial";
}

/// Field manager for server-side apply; the plans and the README use the same name.
pub const FIELD_MANAGER: &str = "mesh-render";
/// Value of `app.kubernetes.io/part-of` on every object mesh-render owns.
pub const PART_OF: &str = "knative-playground-mesh";

/// One rendered object of any kind mesh-render emits.
// A render holds tens of objects; boxing the larger kinds would buy nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    Namespace(Namespace),
    ConfigMap(ConfigMap),
    PeerAuthentication(PeerAuthentication),
    AuthorizationPolicy(AuthorizationPolicy),
    Telemetry(Telemetry),
    Gateway(gateway_api::apis::standard::gateways::Gateway),
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Object::Namespace(o) => o.serialize(s),
            Object::ConfigMap(o) => o.serialize(s),
            Object::PeerAuthentication(o) => o.serialize(s),
            Object::AuthorizationPolicy(o) => o.serialize(s),
            Object::Telemetry(o) => o.serialize(s),
            Object::Gateway(o) => o.serialize(s),
        }
    }
}

impl Object {
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::Namespace(o) => &o.metadata,
            Object::ConfigMap(o) => &o.metadata,
            Object::PeerAuthentication(o) => &o.metadata,
            Object::AuthorizationPolicy(o) => &o.metadata,
            Object::Telemetry(o) => &o.metadata,
            Object::Gateway(o) => &o.metadata,
        }
    }

    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Object::Namespace(o) => &mut o.metadata,
            Object::ConfigMap(o) => &mut o.metadata,
            Object::PeerAuthentication(o) => &mut o.metadata,
            Object::AuthorizationPolicy(o) => &mut o.metadata,
            Object::Telemetry(o) => &mut o.metadata,
            Object::Gateway(o) => &mut o.metadata,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Object::Namespace(_) => "Namespace",
            Object::ConfigMap(_) => "ConfigMap",
            Object::PeerAuthentication(_) => "PeerAuthentication",
            Object::AuthorizationPolicy(_) => "AuthorizationPolicy",
            Object::Telemetry(_) => "Telemetry",
            Object::Gateway(_) => "Gateway",
        }
    }

    pub fn api_version(&self) -> &'static str {
        match self {
            Object::Namespace(_) | Object::ConfigMap(_) => "v1",
            Object::PeerAuthentication(_) | Object::AuthorizationPolicy(_) => "security.istio.io/v1",
            Object::Telemetry(_) => "telemetry.istio.io/v1",
            Object::Gateway(_) => "gateway.networking.k8s.io/v1",
        }
    }

    /// Order of kinds inside one concern: what others refer to comes first.
    fn kind_rank(&self) -> u8 {
        match self {
            Object::Namespace(_) => 0,
            Object::ConfigMap(_) => 1,
            Object::PeerAuthentication(_) => 2,
            Object::AuthorizationPolicy(_) => 3,
            Object::Telemetry(_) => 4,
            Object::Gateway(_) => 5,
        }
    }

    /// Whether the object belongs to another installer (mesh-render owns only some of its fields).
    pub fn is_partial(&self) -> bool {
        self.metadata().annotations.as_ref().is_some_and(|a| a.contains_key(keys::PARTIAL))
    }
}

/// What an object is for. The order of the variants is the apply order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Concern {
    /// Namespaces and their injection labels: before anything namespaced.
    Namespaces,
    /// PeerAuthentications and AuthorizationPolicies.
    Security,
    /// The mesh-wide Telemetry.
    Telemetry,
    /// The Knative Gateways and their options.
    Gateways,
    /// Keys in Knative's ConfigMaps: last, once the Gateways they point at exist.
    Knative,
}

impl Concern {
    pub const ALL: [Concern; 5] = [Concern::Namespaces, Concern::Security, Concern::Telemetry, Concern::Gateways, Concern::Knative];

    /// The `app.kubernetes.io/component` value and file stem.
    pub fn name(self) -> &'static str {
        match self {
            Concern::Namespaces => "namespaces",
            Concern::Security => "security",
            Concern::Telemetry => "telemetry",
            Concern::Gateways => "gateways",
            Concern::Knative => "knative-patch",
        }
    }

    /// File name in the rendered tree; the number prefix keeps `kubectl apply -f DIR` in apply order.
    pub fn file_name(self) -> String {
        format!("{:02}-{}.yaml", (self as usize) * 10, self.name())
    }
}

/// A rendered object and the concern it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    pub concern: Concern,
    pub object: Object,
}

impl Manifest {
    fn sort_key(&self) -> (Concern, u8, &str, &str) {
        let meta = self.object.metadata();
        (self.concern, self.object.kind_rank(), meta.namespace.as_deref().unwrap_or(""), meta.name.as_deref().unwrap_or(""))
    }
}

/// Puts manifests in apply order: concern, then kind, namespace and name.
pub fn sort(manifests: &mut [Manifest]) {
    manifests.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

/// Metadata of an object mesh-render owns.
pub fn owned_meta(name: &str, namespace: Option<&str>, concern: Concern) -> ObjectMeta {
    let labels: BTreeMap<String, String> = [(keys::COMPONENT, concern.name()), (keys::MANAGED_BY, FIELD_MANAGER), (keys::PART_OF, PART_OF)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ObjectMeta { name: Some(name.to_string()), namespace: namespace.map(str::to_string), labels: Some(labels), ..Default::default() }
}

/// Metadata of an object that another installer owns, for server-side apply of a few fields.
///
/// It carries no `managed-by`/`part-of` labels: those would claim the whole object and fight the
/// owner's field manager.
pub fn partial_meta(name: &str, namespace: Option<&str>, labels: BTreeMap<String, String>) -> ObjectMeta {
    let annotations = [(
        keys::PARTIAL.to_string(),
        format!("server-side apply with field manager {FIELD_MANAGER}; the rest of this object belongs to its installer"),
    )]
    .into();
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: (!labels.is_empty()).then_some(labels),
        annotations: Some(annotations),
        ..Default::default()
    }
}
