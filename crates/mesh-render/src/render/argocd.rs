//! Argo CD: the Applications of an app-of-apps layout, and what the config management plugin shares
//! with the CLI.
//!
//! Three Applications in Argo CD's namespace, synced in waves: `istio-base` (wave 0: CRDs and the
//! default validating webhook), `istiod` (wave 1), and `istio-mesh` (wave 2: the objects of
//! `manifests/`, through the `mesh-render` plugin or a directory of the committed tree). Once
//! istiod's validating webhook serves, it rejects Istio resources sent before it, hence the order;
//! the retries cover the time the CRDs and the webhook need to come up.

use std::collections::BTreeMap;

use crate::api::argocd::*;
use crate::config::gitops::{ArgoCd, MeshSource};
use crate::config::Config;
use crate::render::control_plane;
use crate::render::manifest::{owned_meta, Concern, Manifest, Object};

/// What istiod changes at runtime in the validating webhooks of releases without
/// `base.validationFailurePolicy`: not drift.
pub(crate) const WEBHOOK_DRIFT_PATHS: [&str; 2] = [".webhooks[]?.clientConfig.caBundle", ".webhooks[]?.failurePolicy"];

/// The Applications for a config with `components.istio.argocd` on; none otherwise.
pub(crate) fn render(config: &Config) -> Vec<Manifest> {
    let Some(a) = &config.argocd else { return Vec::new() };
    let values = control_plane::values(config);
    let chart_app = |name: &str, chart: &str, version: String, wave: i32, values: serde_json::Value, create_namespace: bool| {
        let mut options = Vec::new();
        if create_namespace {
            options.push("CreateNamespace=true".to_string());
        }
        // The base chart's CRDs are too large for client-side apply's last-applied annotation.
        options.push("ServerSideApply=true".to_string());
        let drift = webhook_drift(config);
        if !drift.is_empty() {
            options.push("RespectIgnoreDifferences=true".to_string());
        }
        let (repo_url, chart, path) = config.charts.argocd_source(chart);
        let source = ApplicationSource {
            repo_url,
            target_revision: version,
            chart,
            path,
            helm: Some(HelmSource { release_name: name.into(), values_object: values }),
            ..Default::default()
        };
        application(config, a, name, wave, vec![source], options, drift)
    };
    let plugin_source = |parameters: Vec<PluginParameter>| ApplicationSource {
        repo_url: a.repo_url.clone(),
        target_revision: a.target_revision.clone(),
        path: Some(a.path.clone()),
        plugin: Some(PluginSource { name: PLUGIN_NAME.into(), parameters }),
        ..Default::default()
    };
    let env_parameter = || config.environment.iter().map(|env| PluginParameter { name: ENV_PARAMETER.into(), string: env.clone() });
    let mesh_source = match a.mesh_source {
        MeshSource::Plugin => plugin_source(env_parameter().collect()),
        MeshSource::Directory => ApplicationSource {
            repo_url: a.repo_url.clone(),
            target_revision: a.target_revision.clone(),
            path: Some(a.path.clone()),
            directory: Some(DirectorySource { recurse: true }),
            ..Default::default()
        },
    };
    let mut base = chart_app(BASE_APP, "base", config.release.version.to_string(), 0, json(&values.base), true);
    // A prune reverses the waves (gitops-engine `pkg/sync/sync_context.go:1097-1125`, in argo-cd
    // v3.5.1's tree), so base (wave 0) would go after istiod (wave 1); but a `PruneLast` child is
    // moved past every wave (`:1127-1144`), and the revisions carry it: base would then go first,
    // its CRDs and validator deleted while istiod runs. With `PruneLast` too, base is pruned in that
    // same last wave, never before the revisions.
    if let Object::Application(app) = &mut base.object {
        prune_last(app);
    }
    let mut apps = vec![base];
    let mesh_wave = 2;
    match &config.revisions {
        None => apps.push(chart_app(ISTIOD_APP, "istiod", config.release.version.to_string(), 1, json(values.istiod()), false)),
        Some(rs) => {
            // Every revision in wave 1, the mesh objects in wave 2. The tags are mesh objects
            // (`render::revision_tags`), not a release's: a tag move changes the mesh Application,
            // which updates the webhook in place and then runs its restart hook. Argo CD would not
            // refuse an object that two Applications render (argo-cd v3.5.1
            // `docs/user-guide/sync-options.md:402`: `FailOnSharedResource` is opt-in), so one owner
            // is what keeps a tag from being deleted and recreated between two syncs.
            //
            // With the plugin, each revision's Application has a second source: its PreDelete gate
            // (`render::revision_gate`), rendered from the `revisionGate` parameter alone, so that it
            // still exists when the config has stopped listing the revision and the parent prunes
            // the Application. A directory source would lose it in that very commit.
            for r in &rs.revisions {
                let name = r.istiod_name();
                let v = values.istiod.get(&name).map(json).unwrap_or_default();
                let mut app = chart_app(&name, "istiod", r.release.version.to_string(), 1, v, false);
                if a.mesh_source == MeshSource::Plugin {
                    if let Object::Application(app) = &mut app.object {
                        // The gate's settings travel with it: at deletion the plugin renders the gate
                        // from them, not from that day's config (`render::GateSettings`).
                        let parameter = |name: &str, string: &str| PluginParameter { name: name.into(), string: string.into() };
                        let gate = [
                            parameter(GATE_PARAMETER, &r.name),
                            parameter(GATE_NAMESPACE_PARAMETER, &config.namespace),
                            parameter(GATE_ARGOCD_NAMESPACE_PARAMETER, &a.namespace),
                            parameter(GATE_HOOK_IMAGE_PARAMETER, &a.hook_image),
                        ];
                        let chart = app.spec.source.take().into_iter();
                        app.spec.sources = chart.chain([plugin_source(gate.into_iter().chain(env_parameter()).collect())]).collect();
                        app.metadata.finalizers.get_or_insert_with(Vec::new).extend(PRE_DELETE_FINALIZERS.map(String::from));
                        // While its gate refuses, a pruned child holds the parent's sync open
                        // (gitops-engine `pkg/sync/sync_context.go:599-608`); `PruneLast` moves the
                        // prune after every other wave of the parent (`:1127-1144`, read from the
                        // live child), so the tag move and the rest still sync first.
                        prune_last(app);
                    }
                }
                apps.push(app);
            }
        }
    }
    // Partial objects must be applied server-side, or Argo CD would replace the whole object.
    let (options, drift) = match &config.revisions {
        // istiod writes the caBundle of the tags' webhooks (`pkg/webhooks/webhookpatch.go:144-150`).
        Some(_) => (
            vec!["ServerSideApply=true".to_string(), "RespectIgnoreDifferences=true".to_string()],
            vec![ResourceIgnoreDifferences {
                group: "admissionregistration.k8s.io".into(),
                kind: "MutatingWebhookConfiguration".into(),
                jq_path_expressions: vec![WEBHOOK_DRIFT_PATHS[0].to_string()],
            }],
        ),
        None => (vec!["ServerSideApply=true".to_string()], Vec::new()),
    };
    apps.push(application(config, a, MESH_APP, mesh_wave, vec![mesh_source], options, drift));
    apps
}

/// The ApplicationSet of a multi-cluster mesh (with `components.istio.argocd`): one parent
/// Application per cluster, whose plugin source prints that cluster's Applications.
pub(crate) fn application_set(section: &Config) -> Vec<Manifest> {
    let _ = section;
    Vec::new()
}

/// `argocd.argoproj.io/sync-options: PruneLast=true`: when the parent prunes this child, it does
/// so after every other wave of its sync (gitops-engine `pkg/sync/sync_context.go:1127-1144`, read
/// from the live child).
fn prune_last(app: &mut Application) {
    app.metadata.annotations.get_or_insert_with(Default::default).insert(SYNC_OPTIONS.to_string(), "PruneLast=true".to_string());
}

/// `ignoreDifferences` for the validating webhooks, on releases whose charts cannot start them as
/// `Fail` (before 1.29.2, or with `validationFailurePolicy: Ignore`). The group must be
/// `admissionregistration.k8s.io`: a wrong group matches nothing and silently does nothing.
pub(crate) fn webhook_drift(config: &Config) -> Vec<ResourceIgnoreDifferences> {
    if config.control_plane.validation_failure_policy.is_some() {
        return Vec::new();
    }
    vec![ResourceIgnoreDifferences {
        group: "admissionregistration.k8s.io".into(),
        kind: "ValidatingWebhookConfiguration".into(),
        jq_path_expressions: WEBHOOK_DRIFT_PATHS.map(String::from).to_vec(),
    }]
}

fn application(
    config: &Config,
    a: &ArgoCd,
    name: &str,
    wave: i32,
    mut sources: Vec<ApplicationSource>,
    sync_options: Vec<String>,
    ignore_differences: Vec<ResourceIgnoreDifferences>,
) -> Manifest {
    let mut meta = owned_meta(name, Some(&a.namespace), Concern::Argocd);
    meta.annotations = Some(BTreeMap::from([(SYNC_WAVE.to_string(), wave.to_string())]));
    let mut finalizers = vec![FINALIZER.to_string()];
    // The mesh Application carries the hooks (`render::argocd_hooks`) whenever Argo CD is on.
    if name == MESH_APP {
        finalizers.extend(PRE_DELETE_FINALIZERS.map(String::from));
    }
    meta.finalizers = Some(finalizers);
    // One source as `source`, several as `sources` (a revision's gate is added later).
    let source = (sources.len() == 1).then(|| sources.remove(0));
    let spec = ApplicationSpec {
        project: a.project.clone(),
        source,
        sources,
        destination: ApplicationDestination { server: a.destination_server.clone(), namespace: config.namespace.clone() },
        sync_policy: Some(SyncPolicy {
            automated: a.automated.then_some(Automated { prune: true, self_heal: true }),
            sync_options,
            retry: Some(Retry { limit: 5, backoff: Backoff { duration: "10s".into(), factor: 2, max_duration: "3m".into() } }),
        }),
        ignore_differences,
    };
    let mut app = Application::new(name, spec);
    app.metadata = meta;
    Manifest { concern: Concern::Argocd, object: Object::from(app) }
}

/// With Argo CD on, objects the mesh Application must never delete or prune carry
/// `Prune=false,Delete=false`: the partial objects (Knative's namespaces and ConfigMaps belong to
/// the Knative install) and the root Namespace (istiod, managed by another Application, runs there).
pub(crate) fn protect(config: &Config, manifests: &mut [Manifest]) {
    if config.argocd.is_none() {
        return;
    }
    for m in manifests.iter_mut().filter(|m| m.object.is_partial() || m.object.kind() == "Namespace") {
        m.object
            .metadata_mut()
            .annotations
            .get_or_insert_with(Default::default)
            .insert(SYNC_OPTIONS.into(), "Prune=false,Delete=false".into());
    }
}

/// Typed values as the JSON of `helm.valuesObject`.
fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_else(|e| unreachable!("JSON of plain data: {e}"))
}
