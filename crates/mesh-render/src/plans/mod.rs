//! Plans: the ordered steps of installing, verifying and tearing down the mesh, as POSIX shell
//! scripts for a kubectl/helm user (`mesh-render plan apply|verify|destroy`, and `plan join` for a
//! multi-cluster mesh).
//!
//! Rendered from the minijinja templates beside this file over the same typed data as the manifests.
//! The scripts do not inline YAML: they name files of the rendered tree (`deployment/rendered` by
//! default, or `$MESH_RENDER_RENDERED` at run time), which `mesh-render render --out` writes.
//!
//! A multi-cluster mesh (`components.istio.multiCluster`) has a plan per cluster (`--cluster NAME`,
//! every call to the cluster's kube context) and the fleet plan, which runs every cluster's plan in
//! the config's order and then joins the clusters (`fleet.rs`); the join plan joins them alone.

mod fleet;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::config::Config;
use crate::render::gateways::service_name;
use crate::render::knative;
use crate::render::manifest::{partial_meta, Concern, Manifest, Object, FIELD_MANAGER};
use crate::GatewayEntry;
use crate::{Loaded, MeshFacts};

/// Where the plans expect the rendered tree unless told otherwise.
pub const DEFAULT_RENDERED: &str = "deployment/rendered";

/// Helm release names (the names Istio's own Helm instructions use).
pub const BASE_RELEASE: &str = "istio-base";
pub const ISTIOD_RELEASE: &str = "istiod";

/// Files of the rendered tree that the plans read, beside `manifests/`.
pub const BASE_VALUES: &str = "lifecycle/base-values.yaml";
pub const ISTIOD_VALUES: &str = "lifecycle/istiod-values.yaml";
pub const KNATIVE_RESTORE: &str = "lifecycle/knative-restore.yaml";

/// The values file of the istiod Helm release `release` (`istiod` → [`ISTIOD_VALUES`],
/// `istiod-1-30-3` → `lifecycle/istiod-1-30-3-values.yaml`).
pub fn istiod_values_file(release: &str) -> String {
    format!("lifecycle/{release}-values.yaml")
}

/// The 14 CRDs of Istio 1.29's base chart. They carry `helm.sh/resource-policy: keep`, so
/// `helm uninstall` leaves them; the destroy plan deletes them. A test keeps [`istio_crds`] equal to
/// `charts/base/files/crd-all.gen.yaml` of every reference release.
pub const ISTIO_CRDS: [&str; 14] = [
    "authorizationpolicies.security.istio.io",
    "destinationrules.networking.istio.io",
    "envoyfilters.networking.istio.io",
    "gateways.networking.istio.io",
    "peerauthentications.security.istio.io",
    "proxyconfigs.networking.istio.io",
    "requestauthentications.security.istio.io",
    "serviceentries.networking.istio.io",
    "sidecars.networking.istio.io",
    "telemetries.telemetry.istio.io",
    "virtualservices.networking.istio.io",
    "wasmplugins.extensions.istio.io",
    "workloadentries.networking.istio.io",
    "workloadgroups.networking.istio.io",
];

/// CRDs a release line adds to [`ISTIO_CRDS`]: 1.30 adds TrafficExtension.
const ISTIO_CRDS_SINCE: [((u32, u32), &str); 1] = [((1, 30), "trafficextensions.extensions.istio.io")];

/// The CRDs the base chart of `version` installs, sorted.
pub fn istio_crds(version: crate::versions::Version) -> Vec<&'static str> {
    let mut crds = ISTIO_CRDS.to_vec();
    crds.extend(ISTIO_CRDS_SINCE.iter().filter(|(since, _)| (version.major, version.minor) >= *since).map(|(_, crd)| *crd));
    crds.sort_unstable();
    crds
}

/// Gateway API CRDs (standard channel) istiod and the Knative Gateways need before install.
pub const GATEWAY_API_CRDS: [&str; 3] =
    ["gatewayclasses.gateway.networking.k8s.io", "gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io"];

/// Which plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Apply,
    Verify,
    Destroy,
    /// A multi-cluster mesh's joins alone: the same-root check and the remote secrets of the fleet's
    /// `Apply`, for clusters installed by other means (Argo CD). The fleet's only: no cluster has one.
    Join,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Apply => "apply",
            Kind::Verify => "verify",
            Kind::Destroy => "destroy",
            Kind::Join => "join",
        }
    }

    /// One cluster's template (`Join` has none: [`render_in_context`] refuses it before).
    fn template(self) -> &'static str {
        match self {
            Kind::Apply => include_str!("apply.sh.j2"),
            Kind::Verify => include_str!("verify.sh.j2"),
            Kind::Destroy => include_str!("destroy.sh.j2"),
            Kind::Join => unreachable!("the join plan is the fleet's only"),
        }
    }
}

/// Why a plan cannot be rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// The rendered-tree path would need shell quoting; plans accept only plain paths.
    UnsafePath(String),
    /// A kube context was given for a plan that is not one cluster's of a multi-cluster mesh.
    ContextWithoutCluster,
    /// The kube context is empty or holds whitespace, quotes or control characters.
    InvalidContext(String),
    /// `plan join` for one cluster, or for a config that is not a multi-cluster mesh: joining is
    /// between every cluster of the mesh.
    JoinNeedsFleet,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::UnsafePath(p) => {
                write!(f, "`{p}` cannot be used as the rendered tree's path: use letters, digits, `.`, `_`, `-` and `/` only")
            }
            PlanError::ContextWithoutCluster => write!(f, "a kube context is one cluster's: it needs a cluster of a multi-cluster mesh"),
            PlanError::InvalidContext(c) => {
                write!(f, "`{c}` is not a kube context name: it must not be empty or hold whitespace, quotes or control characters")
            }
            PlanError::JoinNeedsFleet => {
                write!(f, "the join plan joins every cluster of a multi-cluster mesh: it needs one, and no selected cluster")
            }
        }
    }
}

/// Renders a plan for the selected environment. `rendered` is the tree's path as the script
/// should name it (relative to where the script runs).
///
/// With a cluster of a multi-cluster mesh selected, the plan is that cluster's: every kubectl and
/// helm call goes to its kube context (`multiCluster.clusters[].context`). A multi-cluster mesh
/// without a selected cluster gives the fleet plan: every cluster's plan in the config's order,
/// each on its own context and its tree under `clusters/<name>/`, then what joins the clusters.
pub fn render(kind: Kind, loaded: &Loaded, rendered: &str) -> Result<String, PlanError> {
    render_in_context(kind, loaded, rendered, None)
}

/// [`render`] with the kube context of the selected cluster given (`plan --context`), instead of the
/// cluster's `context` from the config. Only a selected cluster of a multi-cluster mesh has one.
pub fn render_in_context(kind: Kind, loaded: &Loaded, rendered: &str, context: Option<&str>) -> Result<String, PlanError> {
    if rendered.is_empty() || !rendered.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b)) {
        return Err(PlanError::UnsafePath(rendered.to_string()));
    }
    if let Some(c) = context {
        if loaded.cluster().is_none() {
            return Err(PlanError::ContextWithoutCluster);
        }
        if !fleet::is_context_name(c) {
            return Err(PlanError::InvalidContext(c.to_string()));
        }
    }
    if loaded.cluster().is_none() {
        if let Some(plan) = fleet::render_fleet(kind, loaded, rendered) {
            return Ok(plan);
        }
    }
    if kind == Kind::Join {
        return Err(PlanError::JoinNeedsFleet);
    }
    let cluster = fleet::ClusterPlan::of(loaded.selected(), context);
    let context = Context::new(kind, loaded, rendered, cluster, false);
    Ok(render_template(kind.name(), kind.template(), &context))
}

/// Renders one of the embedded shell templates; they can `{% include "functions" %}`.
fn render_template<C: Serialize>(name: &str, template: &str, context: &C) -> String {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.add_template("functions", include_str!("functions.sh.j2"))
        .unwrap_or_else(|e| unreachable!("the embedded functions template parses: {e:#}"));
    env.add_template("cluster", include_str!("cluster.sh.j2"))
        .unwrap_or_else(|e| unreachable!("the embedded cluster template parses: {e:#}"));
    env.add_template("fleet-functions", include_str!("fleet-functions.sh.j2"))
        .unwrap_or_else(|e| unreachable!("the embedded fleet functions template parses: {e:#}"));
    env.add_template("fleet-joins", include_str!("fleet-joins.sh.j2"))
        .unwrap_or_else(|e| unreachable!("the embedded fleet joins template parses: {e:#}"));
    env.render_str(template, context).unwrap_or_else(|e| unreachable!("the embedded {name} template renders typed data: {e:#}"))
}

/// The scripts of the mesh Application's Argo CD hooks (`argocd_hooks`): the same steps as the
/// plans, from the same shell functions.
#[derive(Serialize)]
pub(crate) struct HookContext {
    pub gateway_checks: bool,
    pub restarts: bool,
    /// `pods_on_revision` (the apply plan's removal guard; the hooks of a revision's Application).
    pub revision_guard: bool,
    /// The root namespace (istiod's).
    pub namespace: String,
    pub field_manager: &'static str,
    /// Namespaces labelled for injection.
    pub mesh_namespaces: Vec<String>,
    pub injection_key: String,
    /// `(namespace, kind.group/name)` of every mTLS and authorization policy, for the teardown.
    pub policies: Vec<(String, String)>,
    pub argocd_namespace: String,
    pub mesh_application: String,
    /// In a multi-cluster mesh the hooks run in the cluster, away from Argo CD's namespace: the
    /// PreDelete hook's guard reads its own Job's tracking (`PRE_DELETE_JOB`) instead of the mesh
    /// Application.
    pub remote_guard: Option<String>,
    /// The revision the labelled namespaces' pods must run (the injector labels each pod
    /// `istio.io/rev: <revision>`, `default` without one): pods of another revision are restarted too,
    /// so that moving a tag reaches the pods on an Argo CD sync as it does with `plan apply`.
    pub expected_revision: String,
    /// The Deployment of that revision's istiod: Available before anything restarts.
    pub expected_istiod: String,
    /// With revisions: the stable tag's webhook, which must point at `expected_revision` first.
    pub stable_webhook: Option<String>,
    /// `lifecycle/knative-restore.yaml`, one ConfigMap at a time (the PreDelete hook applies it as
    /// `plan destroy` does).
    pub knative_restore: Vec<RestoreStep>,
    /// mTLS STRICT: pods without their sidecar that no restart replaces stop the sync (`stop_on_held`)
    /// only then, since only STRICT refuses their plaintext.
    pub strict: bool,
}

/// One of Knative's ConfigMaps as before Istio, for the PreDelete hook.
#[derive(Serialize)]
pub(crate) struct RestoreStep {
    pub namespace: String,
    pub name: String,
    /// The object as a YAML document.
    pub yaml: String,
}

/// The sync hook's script: restart the workloads of a labelled namespace while any running pod
/// there has no sidecar (the steady state restarts nothing).
pub(crate) fn sync_hook_script(context: &HookContext) -> String {
    render_template("argocd-sync", include_str!("argocd-sync.sh.j2"), context)
}

/// The PreDelete hook's script: policies, labels, restarts, as `plan destroy` does before it
/// uninstalls anything.
pub(crate) fn pre_delete_hook_script(context: &HookContext) -> String {
    render_template("argocd-pre-delete", include_str!("argocd-pre-delete.sh.j2"), context)
}

/// The PreDelete gate of one istiod revision's Argo CD Application (`render::revision_gate`).
#[derive(Serialize)]
pub(crate) struct GateContext {
    pub gateway_checks: bool,
    pub restarts: bool,
    pub revision_guard: bool,
    /// The revision as pods carry it in their `istio.io/rev` annotation (`default` for none).
    pub revision: String,
    pub namespace: String,
    pub argocd_namespace: String,
    pub application: String,
    /// The mesh Application: gone or being deleted means a whole teardown.
    pub mesh_application: String,
    /// In a multi-cluster mesh the gate runs in the cluster, which cannot read the mesh Application
    /// in Argo CD's cluster: it waits for the pods and tags alone.
    pub remote: bool,
}

/// The gate's script: exit 1 while a tag points at the revision or a pod runs its proxy.
pub(crate) fn revision_gate_script(context: &GateContext) -> String {
    render_template("argocd-revision-gate", include_str!("argocd-revision-gate.sh.j2"), context)
}

/// Knative's ConfigMaps as they were before Istio: what the destroy plan server-side applies as
/// field manager `mesh-render`. Keys mesh-render set and omits here are removed by that apply
/// (server-side apply drops fields a manager no longer applies), which gives Knative its defaults
/// back; with Envoy Gateway still installed, `config-gateway` points at its Gateways again.
pub fn knative_restore(config: &Config) -> Vec<Manifest> {
    let Some(k) = &config.knative else { return Vec::new() };
    let cm = |ns: &str, name: &str, data: BTreeMap<String, String>| {
        let object = ConfigMap {
            metadata: partial_meta(name, Some(ns), BTreeMap::new()),
            data: (!data.is_empty()).then_some(data),
            ..Default::default()
        };
        Manifest { concern: Concern::Knative, object: Object::from(object) }
    };
    let mut network = BTreeMap::new();
    let mut gateway = BTreeMap::new();
    if let Some(eg) = config.envoy_gateway.as_ref().filter(|eg| eg.installed) {
        // Envoy Gateway's Knative setup uses net-gateway-api too.
        network.insert("ingress-class".to_string(), knative::INGRESS_CLASS.to_string());
        let entry = |p: &crate::config::gitops::PreviousGateway| GatewayEntry {
            class: p.class.clone(),
            gateway: p.gateway.clone(),
            service: p.service.clone(),
            supported_features: vec!["HTTPRouteRequestTimeout".into()],
        };
        gateway.insert("external-gateways".to_string(), crate::emit::yaml_value(&[entry(&eg.external)]));
        gateway.insert("local-gateways".to_string(), crate::emit::yaml_value(&[entry(&eg.local)]));
    }
    let mut out = vec![cm(&k.serving_namespace, "config-network", network), cm(&k.serving_namespace, "config-gateway", gateway)];
    if let Some(ev) = &k.eventing_namespace {
        out.push(cm(ev, "config-features", BTreeMap::new()));
    }
    out
}

/// The istiod Helm releases, in install order (the list of `controlPlane.revisions`): (release,
/// Deployment, chart version). With revisions both are `istiod-<revision>` (`istiod` for
/// `default`); a single `revision` keeps the release `istiod` and names the Deployment after it.
pub fn istiod_releases(config: &Config) -> Vec<(String, String, crate::versions::Version)> {
    match (&config.revisions, &config.revision) {
        // In the config's order: no release owns a tag (`render::revision_tags`), so none has to give
        // one up before another takes it.
        (Some(rs), _) => rs.revisions.iter().map(|r| (r.istiod_name(), r.istiod_name(), r.release.version)).collect(),
        (None, Some(rev)) => vec![(ISTIOD_RELEASE.to_string(), format!("istiod-{rev}"), config.release.version)],
        (None, None) => vec![(ISTIOD_RELEASE.to_string(), ISTIOD_RELEASE.to_string(), config.release.version)],
    }
}

/// The istiod Deployment that serves the stable label: the stable revision's, `istiod-<revision>`
/// with a single `revision`, or `istiod`.
pub(crate) fn stable_istiod(config: &Config) -> String {
    match (&config.revisions, &config.revision) {
        (Some(rs), _) => rs.stable().unwrap_or(&rs.revisions[0]).istiod_name(),
        (None, Some(rev)) => format!("istiod-{rev}"),
        (None, None) => ISTIOD_RELEASE.into(),
    }
}

#[derive(Serialize)]
struct Release {
    name: String,
    chart: &'static str,
    /// The chart version: the config's release for `base`, each revision's for its istiod.
    version: String,
    /// `base --repo URL` or `oci://…/base`; the URL's characters need no shell quoting (the config
    /// reader allows only `[A-Za-z0-9._~:/@%+-]`).
    source: String,
    values: String,
}

/// A revision tag as `plan verify` checks it.
#[derive(Serialize)]
struct TagCheck {
    tag: String,
    /// The tag's MutatingWebhookConfiguration (`render::revision_tags`).
    webhook: String,
    /// The `istio.io/rev` annotation injection puts on a pod: the revision name, `default` for the
    /// unrevisioned one (`files/injection-template.yaml:40-41`; an annotation, never a label).
    revision: String,
    /// Namespaces already labelled with the tag (the stable tag's); empty for a tag no namespace
    /// carries yet (`canary`): verify labels a temporary namespace with it.
    namespace: Option<String>,
}

#[derive(Serialize)]
struct Step {
    /// Path below the rendered tree.
    file: String,
    /// The labelled namespaces' workloads are restarted after this file: the last of the injection
    /// labels and the revision tags, so that new pods meet both.
    restart_after: bool,
    /// CRDs in the file, waited for until Established.
    crds: Vec<String>,
    /// Applied with `--force-conflicts`: the revision tags, which an istiod release of an earlier
    /// render may still hold.
    take_over: bool,
}

/// A tag's objects, which an istiod release of an earlier render may hold (`revisionTags`).
#[derive(Serialize)]
struct AdoptedTag {
    webhook: String,
    service: String,
}

#[derive(Serialize)]
struct PreviousGateways {
    external: String,
    local: String,
    classes: Vec<String>,
}

#[derive(Serialize)]
struct Context {
    plan: &'static str,
    /// The shell functions the plan needs (`functions.sh.j2`).
    gateway_checks: bool,
    restarts: bool,
    revision_guard: bool,
    version: String,
    environment: Option<String>,
    /// ` --env NAME` or empty, for the regenerate hints.
    env_flag: String,
    /// The global flags that print this plan again: `env_flag`, with ` --cluster NAME` (and
    /// ` --context CTX` when given) for one cluster of a multi-cluster mesh.
    flags: String,
    /// The command that writes the tree the plan reads, without the folder.
    render_command: String,
    /// The folder as the missing-file hint names it (`$RENDERED`; the fleet's root in a fleet plan).
    hint_folder: &'static str,
    /// One cluster of a multi-cluster mesh: its kube context, trust and east-west gateway.
    cluster: Option<fleet::ClusterPlan>,
    /// A cluster's part of the fleet plan: no header, the tree under `$FLEET/clusters/<name>`.
    fleet_part: bool,
    rendered: String,
    repository: String,
    namespace: String,
    field_manager: &'static str,
    releases: Vec<Release>,
    /// The istiod that serves the stable label (verify checks it).
    istiod_deployment: String,
    /// Every istiod Deployment (one per revision).
    istiod_deployments: Vec<String>,
    /// With revisions: the tags to check (webhook, injection by a dry-run pod).
    tags: Vec<TagCheck>,
    /// `plan apply` with revisions: every rendered tag's objects, kept through the istiod upgrades.
    adopted_tags: Vec<AdoptedTag>,
    /// The tags' file, applied again after the uninstalls.
    tags_file: String,
    /// The revision the labelled namespaces' pods run (`istio.io/rev` annotation): after the tags
    /// are applied again, pods without its sidecar are restarted.
    expected_revision: String,
    /// With revisions: the istiod releases to keep; `plan apply` uninstalls other `istiod*` releases
    /// once no pod is left on them.
    kept_releases: Option<Vec<String>>,
    required_crds: Vec<String>,
    /// The Inference Extension release whose InferencePool CRD the cluster must already have
    /// (`aiServing.installCRDs: false`).
    inference_crds: Option<&'static str>,
    /// Every tree file the plan reads.
    required_files: Vec<String>,
    /// Owned objects, in apply order (not the Knative patch, nor the security policies).
    apply: Vec<Step>,
    /// Files whose objects are all owned, in delete order (not the security policies).
    delete: Vec<String>,
    /// mTLS and authorization policies: applied after the Knative swap and deleted before its undo,
    /// because the previous controller's proxies have no sidecar and STRICT would refuse them.
    security: Option<String>,
    knative_patch: Option<String>,
    knative_restore: Option<String>,
    /// Take over keys another field manager (the Envoy Gateway setup) holds in Knative's ConfigMaps.
    force_conflicts: bool,
    gateways: Vec<String>,
    /// The Deployments istiod creates for the Gateways (`<gateway>-istio`).
    gateway_deployments: Vec<String>,
    /// The Gateway API bundle the release is built against: the installed CRDs must be as new.
    gateway_api: &'static str,
    external_gateway: String,
    local_gateway: String,
    external_service_type: &'static str,
    external_service: String,
    envoy_gateway: Option<PreviousGateways>,
    mesh_namespaces: Vec<String>,
    injection_key: String,
    injection_value: String,
    mtls_mode: &'static str,
    /// The first app namespace, where the verify plan deploys its probes.
    probe_namespace: Option<String>,
    istio_crds: Vec<&'static str>,
    argocd: bool,
}

impl Context {
    fn new(kind: Kind, loaded: &Loaded, rendered: &str, cluster: Option<fleet::ClusterPlan>, fleet_part: bool) -> Context {
        let config = loaded.selected();
        let result = crate::render(loaded);
        let tree = result.tree();
        let file_of = |c: Concern| format!("manifests/{}", c.file_name());
        let in_tree = |f: &str| tree.contains_key(f);
        let mut apply = Vec::new();
        let mut delete = Vec::new();
        // The trust is applied before istiod and deleted after it (`fleet::ClusterPlan`).
        for concern in Concern::ALL
            .into_iter()
            .filter(|c| !matches!(c, Concern::Knative | Concern::Argocd | Concern::ArgocdHooks | Concern::Security | Concern::Trust))
        {
            let file = file_of(concern);
            if !in_tree(&file) {
                continue;
            }
            let objects: Vec<&Manifest> = result.manifests.iter().filter(|m| m.concern == concern).collect();
            let crds = objects
                .iter()
                .filter(|m| m.object.kind() == "CustomResourceDefinition")
                .filter_map(|m| m.object.metadata().name.clone())
                .collect();
            // A file with partial objects (the namespaces) is undone object by object, never deleted.
            if objects.iter().all(|m| !m.object.is_partial()) {
                delete.push(file.clone());
            }
            apply.push(Step { file, crds, restart_after: false, take_over: concern == Concern::RevisionTags });
        }
        if let Some(last) = apply.iter().rposition(|s| s.file == file_of(Concern::Namespaces) || s.file == file_of(Concern::RevisionTags)) {
            apply[last].restart_after = true;
        }
        delete.reverse();
        // Custom resources go before the CRDs that define them.
        delete.sort_by_key(|f| f.contains(Concern::InferenceCrds.name()));
        let security = Some(file_of(Concern::Security)).filter(|f| in_tree(f));
        let knative_patch = Some(file_of(Concern::Knative)).filter(|f| in_tree(f));
        let knative_restore = Some(KNATIVE_RESTORE.to_string()).filter(|f| in_tree(f));
        let trust_file = cluster.as_ref().and_then(|c| c.trust.as_ref()).map(|t| t.file.clone());
        let east_west_values = cluster.as_ref().and_then(|c| c.east_west.as_ref()).map(|e| e.values.clone());
        let mut required_files: Vec<String> = match kind {
            Kind::Apply => {
                let mut f = vec![BASE_VALUES.to_string()];
                f.extend(result.selected_values.istiod.keys().map(|r| istiod_values_file(r)));
                f.extend(apply.iter().map(|s| s.file.clone()));
                f.extend(knative_patch.clone());
                f.extend(security.clone());
                f.extend(trust_file);
                f.extend(east_west_values);
                f
            }
            Kind::Verify | Kind::Join => Vec::new(),
            Kind::Destroy => {
                let mut f = delete.clone();
                f.extend(knative_restore.clone());
                f.extend(security.clone());
                f.extend(trust_file);
                f
            }
        };
        required_files.sort();
        let mut required_crds: Vec<String> = GATEWAY_API_CRDS.map(String::from).to_vec();
        let inference_crds = config.ai_serving.as_ref().filter(|a| !a.install_crds).map(|a| a.release);
        if inference_crds.is_some() {
            required_crds.push("inferencepools.inference.networking.k8s.io".into());
        }
        let eg = config.envoy_gateway.as_ref().filter(|eg| eg.installed && config.knative.is_some());
        let facts = MeshFacts::of(config);
        let (injection_key, injection_value) = facts.injection_label.clone();
        let env_flag = config.environment.as_ref().map(|e| format!(" --env {e}")).unwrap_or_default();
        let cluster_flag = match (&cluster, fleet_part) {
            (Some(c), false) => c.flags(),
            _ => String::new(),
        };
        Context {
            plan: kind.name(),
            gateway_checks: kind != Kind::Destroy,
            restarts: kind != Kind::Verify,
            revision_guard: kind == Kind::Apply && config.revisions.is_some(),
            version: config.release.version.to_string(),
            environment: config.environment.clone(),
            flags: format!("{env_flag}{cluster_flag}"),
            render_command: match (&cluster, fleet_part) {
                (Some(c), false) => format!("mesh-render{env_flag} --cluster {} render --out", c.name),
                _ => format!("mesh-render{env_flag} render --out"),
            },
            hint_folder: if fleet_part { "$FLEET" } else { "$RENDERED" },
            env_flag,
            cluster,
            fleet_part,
            rendered: rendered.to_string(),
            repository: config.charts.url.clone(),
            namespace: config.namespace.clone(),
            field_manager: FIELD_MANAGER,
            releases: std::iter::once(Release {
                name: BASE_RELEASE.into(),
                chart: "base",
                version: config.release.version.to_string(),
                source: config.charts.helm_chart_args("base"),
                values: BASE_VALUES.into(),
            })
            .chain(istiod_releases(config).into_iter().map(|(name, _, version)| Release {
                values: istiod_values_file(&name),
                name,
                chart: "istiod",
                version: version.to_string(),
                source: config.charts.helm_chart_args("istiod"),
            }))
            .collect(),
            istiod_deployment: stable_istiod(config),
            istiod_deployments: istiod_releases(config).into_iter().map(|(_, deployment, _)| deployment).collect(),
            tags: config
                .revisions
                .iter()
                .flat_map(|rs| {
                    rs.tags.iter().filter_map(|(tag, rev)| {
                        let revision = rs.get(rev)?;
                        let webhook = crate::render::revision_tags::webhook_name(config, tag);
                        let namespace = (*tag == rs.stable_tag).then(|| facts.injected.first().cloned()).flatten();
                        Some(TagCheck { tag: tag.clone(), webhook, revision: revision.name.clone(), namespace })
                    })
                })
                .collect(),
            adopted_tags: match (&config.revisions, kind) {
                (Some(rs), Kind::Apply) => rs
                    .tags
                    .iter()
                    .filter(|(_, rev)| rs.get(rev).is_some())
                    .map(|(tag, _)| AdoptedTag {
                        webhook: crate::render::revision_tags::webhook_name(config, tag),
                        service: crate::render::revision_tags::service_name(tag),
                    })
                    .collect(),
                _ => Vec::new(),
            },
            tags_file: file_of(Concern::RevisionTags),
            expected_revision: crate::render::argocd_hooks::expected_revision(config),
            kept_releases: config.revisions.as_ref().map(|_| istiod_releases(config).into_iter().map(|(r, _, _)| r).collect()),
            required_crds,
            inference_crds,
            required_files,
            apply,
            delete,
            security,
            knative_patch,
            knative_restore,
            force_conflicts: eg.is_some(),
            gateways: vec![config.gateways.external.clone(), config.gateways.local.clone()],
            gateway_deployments: vec![service_name(&config.gateways.external), service_name(&config.gateways.local)],
            gateway_api: config.release.gateway_api,
            external_gateway: config.gateways.external.clone(),
            local_gateway: config.gateways.local.clone(),
            external_service_type: config.gateways.external_service_type,
            external_service: service_name(&config.gateways.external),
            envoy_gateway: eg.map(|eg| PreviousGateways {
                external: eg.external.gateway.clone(),
                local: eg.local.gateway.clone(),
                classes: vec![eg.external.class.clone(), eg.local.class.clone()],
            }),
            mesh_namespaces: facts.injected.clone(),
            injection_key,
            injection_value,
            mtls_mode: config.mtls.as_str(),
            probe_namespace: config.apps.first().cloned(),
            istio_crds: istio_crds(config.release.version),
            argocd: config.argocd.is_some(),
        }
    }
}
