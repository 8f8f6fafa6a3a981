//! Rendered Kubernetes objects, their shared metadata, and the order they are applied in.

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Serialize, Serializer};

use crate::api::inference::{InferenceObjective, InferencePool};
use crate::api::istio::{AuthorizationPolicy, DestinationRule, PeerAuthentication, Telemetry};

/// Label and annotation keys mesh-render writes.
pub(crate) mod keys {
    pub(crate) const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    pub(crate) const PART_OF: &str = "app.kubernetes.io/part-of";
    pub(crate) const COMPONENT: &str = "app.kubernetes.io/component";
    /// On objects that belong to another installer; mesh-render owns only the fields it renders.
    pub(crate) const PARTIAL: &str = "mesh-render/partial";
}

/// Field manager for server-side apply; the plans and the docs use the same name.
pub(crate) const FIELD_MANAGER: &str = "mesh-render";
/// Value of `app.kubernetes.io/part-of` on every object mesh-render owns.
pub(crate) const PART_OF: &str = "knative-playground-mesh";

/// A kind's name: the variant's, unless it gives one (`IstioGateway` is a `Gateway`).
macro_rules! kind_name {
    ($kind:ident) => {
        stringify!($kind)
    };
    ($kind:ident, $name:literal) => {
        $name
    };
}

macro_rules! objects {
    ($($(#[$doc:meta])* $kind:ident($ty:ty) = $api:literal $(as $name:literal)?;)*) => {
        /// One rendered object of any kind mesh-render emits. The order of the variants is the
        /// apply order of kinds inside one concern: what others refer to comes first.
        ///
        /// Boxed: unboxed, every object took the size of the largest kind (2.4 kB), and a render with
        /// 10,000 app namespaces spent an eighth of its time moving them around.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Object {
            $($(#[$doc])* $kind(Box<$ty>),)*
        }

        $(
            impl From<$ty> for Object {
                fn from(object: $ty) -> Self {
                    Object::$kind(Box::new(object))
                }
            }
        )*

        impl Serialize for Object {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Object::$kind(o) => o.serialize(s),)*
                }
            }
        }

        impl Object {
            pub fn metadata(&self) -> &ObjectMeta {
                match self {
                    $(Object::$kind(o) => &o.metadata,)*
                }
            }

            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self {
                    $(Object::$kind(o) => &mut o.metadata,)*
                }
            }

            /// The Kubernetes kind.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Object::$kind(_) => kind_name!($kind $(, $name)?),)*
                }
            }

            pub fn api_version(&self) -> &'static str {
                match self {
                    $(Object::$kind(_) => $api,)*
                }
            }

            fn kind_rank(&self) -> usize {
                match self {
                    $(Object::$kind(_) => KindRank::$kind as usize,)*
                }
            }
        }

        /// The variants of [`Object`] in their order, for [`Object::kind_rank`].
        enum KindRank {
            $($kind,)*
        }
    };
}

objects! {
    CustomResourceDefinition(CustomResourceDefinition) = "apiextensions.k8s.io/v1";
    Namespace(Namespace) = "v1";
    ClusterIssuer(crate::api::cert_manager::ClusterIssuer) = "cert-manager.io/v1";
    Certificate(crate::api::cert_manager::Certificate) = "cert-manager.io/v1";
    MutatingWebhookConfiguration(MutatingWebhookConfiguration) = "admissionregistration.k8s.io/v1";
    ServiceAccount(ServiceAccount) = "v1";
    ClusterRole(ClusterRole) = "rbac.authorization.k8s.io/v1";
    ClusterRoleBinding(ClusterRoleBinding) = "rbac.authorization.k8s.io/v1";
    Role(Role) = "rbac.authorization.k8s.io/v1";
    RoleBinding(RoleBinding) = "rbac.authorization.k8s.io/v1";
    ConfigMap(ConfigMap) = "v1";
    Service(Service) = "v1";
    Deployment(Deployment) = "apps/v1";
    PeerAuthentication(PeerAuthentication) = "security.istio.io/v1";
    AuthorizationPolicy(AuthorizationPolicy) = "security.istio.io/v1";
    NetworkPolicy(NetworkPolicy) = "networking.k8s.io/v1";
    DestinationRule(DestinationRule) = "networking.istio.io/v1";
    Telemetry(Telemetry) = "telemetry.istio.io/v1";
    Gateway(gateway_api::apis::standard::gateways::Gateway) = "gateway.networking.k8s.io/v1";
    InferencePool(InferencePool) = "inference.networking.k8s.io/v1";
    InferenceObjective(InferenceObjective) = "inference.networking.x-k8s.io/v1alpha2";
    HTTPRoute(gateway_api::apis::standard::httproutes::HttpRoute) = "gateway.networking.k8s.io/v1";
    /// Istio's own Gateway kind (the cross-network Gateway of an east-west gateway).
    IstioGateway(crate::api::istio::IstioGateway) = "networking.istio.io/v1" as "Gateway";
    Application(crate::api::argocd::Application) = "argoproj.io/v1alpha1";
    ApplicationSet(crate::api::argocd::ApplicationSet) = "argoproj.io/v1alpha1";
    Job(Job) = "batch/v1";
}

impl Object {
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
    /// A multi-cluster mesh's shared root of trust: the cluster's intermediate CA (cert-manager),
    /// which istiod reads at start (`cacerts`): before istiod is installed.
    Trust,
    /// Revision tags' webhooks and Services (with `controlPlane.revisions`): owned here, not by an
    /// istiod release, so that moving a tag updates them in place. Before the restarts that read them.
    RevisionTags,
    /// Inference Extension CRDs (when asked for): established before any InferencePool.
    InferenceCrds,
    /// PeerAuthentications and AuthorizationPolicies.
    Security,
    /// The mesh-wide Telemetry.
    Telemetry,
    /// The Knative Gateways and their options.
    Gateways,
    /// A multi-cluster mesh's cross-network Gateway on the east-west gateway.
    EastWest,
    /// InferencePools, their endpoint pickers, routes and access.
    AiServing,
    /// Keys in Knative's ConfigMaps: last, once the Gateways they point at exist.
    Knative,
    /// The mesh Application's lifecycle hooks (with `components.istio.argocd`): the restart Job that
    /// gives pods their sidecars before STRICT, the teardown Job, and their RBAC. Argo CD runs them;
    /// the plans do the same steps themselves and skip this file.
    ArgocdHooks,
    /// Argo CD Applications (`argocd/applications.yaml`, never in `manifests/` or the stream).
    Argocd,
}

impl Concern {
    pub const ALL: [Concern; 12] = [
        Concern::Namespaces,
        Concern::Trust,
        Concern::RevisionTags,
        Concern::InferenceCrds,
        Concern::Security,
        Concern::Telemetry,
        Concern::Gateways,
        Concern::EastWest,
        Concern::AiServing,
        Concern::Knative,
        Concern::ArgocdHooks,
        Concern::Argocd,
    ];

    /// The `app.kubernetes.io/component` value and file stem.
    pub fn name(self) -> &'static str {
        match self {
            Concern::Namespaces => "namespaces",
            Concern::Trust => "trust",
            Concern::RevisionTags => "revision-tags",
            Concern::InferenceCrds => "inference-crds",
            Concern::Security => "security",
            Concern::Telemetry => "telemetry",
            Concern::Gateways => "gateways",
            Concern::EastWest => "east-west",
            Concern::AiServing => "ai-serving",
            Concern::Knative => "knative-patch",
            Concern::ArgocdHooks => "argocd-hooks",
            Concern::Argocd => "argocd",
        }
    }

    /// File name in the rendered tree; the number prefix keeps `kubectl apply -f DIR` in apply order.
    pub fn file_name(self) -> String {
        let number = match self {
            Concern::Namespaces => 0,
            Concern::Trust => 1,
            Concern::RevisionTags => 2,
            Concern::InferenceCrds => 5,
            Concern::Security => 10,
            Concern::Telemetry => 20,
            Concern::Gateways => 30,
            Concern::EastWest => 32,
            Concern::AiServing => 35,
            Concern::Knative => 40,
            Concern::ArgocdHooks => 45,
            Concern::Argocd => 50,
        };
        format!("{number:02}-{}.yaml", self.name())
    }
}

/// A rendered object and the concern it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    pub concern: Concern,
    pub object: Object,
}

impl Manifest {
    fn sort_key(&self) -> (Concern, usize, u8, &str, &str) {
        let meta = self.object.metadata();
        (
            self.concern,
            self.object.kind_rank(),
            self.object.scope_rank(),
            meta.namespace.as_deref().unwrap_or(""),
            meta.name.as_deref().unwrap_or(""),
        )
    }
}

impl Object {
    /// Exceptions before the rule they except: a PeerAuthentication with a workload selector (a
    /// webhook's PERMISSIVE port) is applied before a namespace- or mesh-wide one (STRICT). The other
    /// way round, kube-apiserver's plaintext calls to Knative's webhooks (failurePolicy Fail) are
    /// refused for as long as the STRICT policy is alone.
    fn scope_rank(&self) -> u8 {
        match self {
            Object::PeerAuthentication(pa) if pa.spec.selector.is_none() => 1,
            _ => 0,
        }
    }
}

/// Puts manifests in apply order: concern, then kind, workload-scoped exceptions before
/// namespace- and mesh-wide PeerAuthentications, then namespace and name.
pub(crate) fn sort(manifests: &mut [Manifest]) {
    manifests.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

/// Metadata of an object mesh-render owns.
pub(crate) fn owned_meta(name: &str, namespace: Option<&str>, concern: Concern) -> ObjectMeta {
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
pub(crate) fn partial_meta(name: &str, namespace: Option<&str>, labels: BTreeMap<String, String>) -> ObjectMeta {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::syntax::Limits;

    /// Rule: in the security concern, every webhook's PERMISSIVE exception is applied before the
    /// mesh-wide STRICT PeerAuthentication (stream, `-o json` and `manifests/10-security.yaml`).
    #[test]
    fn webhook_exceptions_are_applied_before_mesh_wide_strict() {
        let text = "components:\n  knative:\n    enabled: true\n    eventing: {enabled: true}\n  istio:\n    enabled: true\n";
        let loaded = crate::load(text, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
        let rendered = crate::render(&loaded);
        let pas: Vec<(&str, bool)> = rendered
            .manifests
            .iter()
            .filter_map(|m| match &m.object {
                Object::PeerAuthentication(pa) => Some((pa.metadata.name.as_deref().unwrap_or(""), pa.spec.selector.is_some())),
                _ => None,
            })
            .collect();
        assert!(pas.len() > 2, "{pas:?}");
        assert_eq!(pas.last(), Some(&("default", false)), "mesh-wide STRICT must come last: {pas:?}");
        assert!(pas[..pas.len() - 1].iter().all(|(_, scoped)| *scoped), "{pas:?}");
        let file = &rendered.tree()["manifests/10-security.yaml"];
        let strict = file.find("mode: STRICT").expect("STRICT");
        let permissive = file.rfind("PERMISSIVE").expect("PERMISSIVE");
        assert!(permissive < strict, "the file applies STRICT before an exception");
    }
}
