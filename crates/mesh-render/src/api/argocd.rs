//! Typed Argo CD `Application` (`argoproj.io/v1alpha1`): the fields mesh-render emits, and the names
//! shared by the Applications, the config management plugin and the CLI.
//!
//! Hand-written like [`crate::api::istio`]: the generated type of the full CRD is thousands of lines
//! for the few fields used here. Names and shapes follow `application-crd.yaml` of Argo CD v3.5.1 in
//! the vendored reference data (`reference/`); the schema tests validate every rendered Application against it.

use kube::CustomResource;
use serde::{Deserialize, Serialize};

// The contract between the Applications, the config management plugin and the CLI.

/// The plugin's name (`metadata.name` in `argocd/plugin.yaml`; it has no `spec.version`).
pub const PLUGIN_NAME: &str = "mesh-render";
/// The plugin parameter that selects the environment.
pub const ENV_PARAMETER: &str = "env";
/// The plugin parameter that asks for the PreDelete gate of one istiod revision instead of the mesh
/// objects (`render::revision_gate`).
pub const GATE_PARAMETER: &str = "revisionGate";
/// Next to [`GATE_PARAMETER`]: the root namespace, Argo CD's namespace and the hook image of the
/// config the revision's Application was rendered from. The gate renders from them alone, so that
/// it matches the live objects (its ServiceAccount and Roles) even when today's config has changed
/// them or dropped `argocd`.
pub const GATE_NAMESPACE_PARAMETER: &str = "gateNamespace";
pub const GATE_ARGOCD_NAMESPACE_PARAMETER: &str = "gateArgocdNamespace";
pub const GATE_HOOK_IMAGE_PARAMETER: &str = "gateHookImage";
/// The environment rendered when no parameter is given: the announced default (the base settings).
pub const ENV_DEFAULT: &str = "";
/// Application env variable (`spec.source.plugin.env`) that selects the environment too.
pub const ENV_VARIABLE: &str = "ARGOCD_ENV_MESH_ENV";
/// The plugin parameter that selects a cluster of a multi-cluster mesh (`--cluster`).
pub const CLUSTER_PARAMETER: &str = "cluster";
/// Application env variable that selects the cluster too.
pub const CLUSTER_VARIABLE: &str = "ARGOCD_ENV_MESH_CLUSTER";
/// The plugin parameter that selects a part of a cluster's render (`render --part`): `trust`, `mesh`,
/// `applications` or `eastwest-gate`; every object of the stream when absent.
pub const PART_PARAMETER: &str = "part";

pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
pub const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// Deleting an Application deletes its objects (cascade).
pub const FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";
/// The field manager of Argo CD's server-side apply syncs (argo-cd v3.5.1 `common/common.go:128`
/// `ArgoCDSSAManager`, passed by `controller/sync.go:327`): the owner of the fields the mesh
/// Application applied, which the PreDelete hook's restore must apply as.
pub const ARGOCD_SSA_MANAGER: &str = "argocd-controller";
/// The finalizers Argo CD's controller adds to an Application with PreDelete hooks (argo-cd v3.5.1
/// `pkg/apis/application/v1alpha1/application_defaults.go:13`, `types.go:3615-3623`, set by
/// `controller/appcontroller.go:1988-1996`). Rendered with the hooks, so that a self-healing parent
/// Application does not strip them (argoproj/argo-cd#27533): without them a deletion skips the
/// PreDelete hooks (`appcontroller.go:1323`).
pub const PRE_DELETE_FINALIZERS: [&str; 2] = ["pre-delete-finalizer.argocd.argoproj.io", "pre-delete-finalizer.argocd.argoproj.io/cleanup"];
/// The finalizers Argo CD's controller adds to an Application with PostDelete hooks (argo-cd v3.5.1
/// `pkg/apis/application/v1alpha1/application_defaults.go:16`, set by
/// `controller/appcontroller.go:2003-2011`), rendered for the same reason as the PreDelete ones.
pub const POST_DELETE_FINALIZERS: [&str; 2] =
    ["post-delete-finalizer.argocd.argoproj.io", "post-delete-finalizer.argocd.argoproj.io/cleanup"];

/// Application names.
pub const BASE_APP: &str = "istio-base";
pub const ISTIOD_APP: &str = "istiod";
pub const MESH_APP: &str = "istio-mesh";
/// A multi-cluster mesh's trust and east-west gateway Applications (each name gets `-<cluster>`,
/// as every child Application of a cluster does).
pub const TRUST_APP: &str = "istio-trust";
pub const EAST_WEST_APP: &str = "istio-eastwest";
/// The label that names a generated Application's cluster (the ApplicationSet's RollingSync steps
/// select on it).
pub const CLUSTER_LABEL: &str = "mesh-render/cluster";

/// Application: a set of objects from one source, kept in sync with one destination.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "Application",
    namespaced,
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationSpec {
    pub project: String,
    /// One source; `None` when `sources` holds several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Several sources, rendered and applied together (a revision's istiod chart and its PreDelete
    /// gate from the plugin).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    pub destination: ApplicationDestination,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
}

/// Where the objects come from: a Helm chart, a plugin, or a directory of a Git repository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationSource {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    pub target_revision: String,
    /// Chart name, for a Helm repository source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// Folder in a Git repository source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectorySource>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmSource {
    pub release_name: String,
    /// The chart's values as an object (typed values, serialized).
    pub values_object: serde_json::Value,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PluginSource {
    /// The ConfigManagementPlugin's name (`metadata.name`, plus `-<version>` when it has one).
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<PluginParameter>,
}

/// A plugin parameter with a string value (what `ARGOCD_APP_PARAMETERS` and `PARAM_<NAME>` carry).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PluginParameter {
    pub name: String,
    pub string: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DirectorySource {
    pub recurse: bool,
    /// A glob of the files to read (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// A glob of the files to leave out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApplicationDestination {
    pub server: String,
    pub namespace: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<Automated>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Automated {
    pub prune: bool,
    pub self_heal: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    pub limit: i64,
    pub backoff: Backoff,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Backoff {
    /// A duration such as `10s`.
    pub duration: String,
    pub factor: i64,
    pub max_duration: String,
}

/// Fields of live objects that differ from the desired state on purpose and are not drift.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceIgnoreDifferences {
    pub group: String,
    pub kind: String,
    pub jq_path_expressions: Vec<String>,
}

/// ApplicationSet (`argoproj.io/v1alpha1`): Applications generated from a template, one per element
/// of its generators (argo-cd v3.5.1 `manifests/crds/applicationset-crd.yaml`).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "ApplicationSet",
    namespaced,
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationSetSpec {
    /// Go templates (`{{.cluster}}`) instead of the older `{{cluster}}` syntax.
    pub go_template: bool,
    /// `missingkey=error`: a template naming a parameter no element has fails instead of printing
    /// `<no value>` (argo-cd v3.5.1 `applicationset/utils/utils.go:404-411`).
    pub go_template_options: Vec<String>,
    pub generators: Vec<Generator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    pub template: ApplicationTemplate,
}

/// One generator: a list of elements, each an object of string parameters.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Generator {
    pub list: ListGenerator,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListGenerator {
    pub elements: Vec<std::collections::BTreeMap<String, String>>,
}

/// `RollingSync`: the generated Applications are synced step by step, each step once the one before
/// is healthy (argo-cd v3.5.1 `applicationset/progressivesync/progressive_sync.go`; it
/// needs the controller's progressive syncs switched on, and is ignored otherwise).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Strategy {
    #[serde(rename = "type")]
    pub type_: String,
    pub rolling_sync: RollingSync,
    /// `Reverse`: deleting the ApplicationSet deletes its Applications step by step, last step first
    /// (argo-cd v3.5.1 `applicationset/controllers/applicationset_controller.go:155-190`, with
    /// progressive syncs on); `AllAtOnce` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_order: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RollingSync {
    pub steps: Vec<RollingSyncStep>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollingSyncStep {
    pub match_expressions: Vec<LabelMatch>,
}

/// `In` or `NotIn` on a generated Application's label (the only operators RollingSync takes,
/// `progressive_sync.go:297-343`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LabelMatch {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

/// The template of the generated Applications.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApplicationTemplate {
    pub metadata: TemplateMetadata,
    pub spec: ApplicationSpec,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TemplateMetadata {
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}
