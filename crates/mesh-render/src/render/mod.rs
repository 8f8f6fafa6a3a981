//! Rendering: one module per concern, each turning the config into typed objects.

pub(crate) mod ai_serving;
pub(crate) mod argocd;
pub(crate) mod argocd_hooks;
pub(crate) mod control_plane;
pub(crate) mod facts;
pub(crate) mod gateways;
pub(crate) mod knative;
pub(crate) mod manifest;
pub(crate) mod multi_cluster;
pub(crate) mod namespaces;
pub(crate) mod revision_gate;
pub(crate) mod revision_tags;
pub(crate) mod security;
pub(crate) mod telemetry;

use std::collections::BTreeMap;

use crate::{emit, plans, Concern, Loaded, Manifest, MeshFacts};

/// Everything rendered for one config and environment.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// Kubernetes objects, in apply order.
    pub manifests: Vec<Manifest>,
    pub chart: crate::api::helm::Chart,
    /// Values of the base settings (`helm/values.yaml`).
    pub values: crate::api::helm::Values,
    /// Per environment, the Helm overlay onto `values` (`helm/values-<env>.yaml`); `None` when the
    /// environment changes no value.
    pub environment_values: BTreeMap<String, Option<serde_json::Value>>,
    /// Argo CD Applications (with `components.istio.argocd`): written to `argocd/applications.yaml`,
    /// never part of the stream, so that the plugin's output cannot contain its own Application.
    pub applications: Vec<Manifest>,
    /// Values of the selected environment, per chart (`lifecycle/{base,istiod}-values.yaml`), for
    /// installing the official charts directly (`mesh-render plan apply`).
    pub selected_values: crate::api::helm::Values,
    /// Knative's ConfigMaps as before Istio (`lifecycle/knative-restore.yaml`, `plan destroy`).
    pub knative_restore: Vec<Manifest>,
    /// A multi-cluster mesh's east-west gateway: the `gateway` chart's values
    /// (`lifecycle/<name>-values.yaml`), when the cluster has one.
    pub east_west_values: Option<crate::api::helm::GatewayValues>,
    /// Under Argo CD, the east-west gateway Application's PreSync gate (it waits for istiod):
    /// `argocd-hooks/eastwest-gate.yaml`, the plugin's `part: eastwest-gate`.
    pub east_west_gate: Vec<Manifest>,
    /// Under Argo CD, the PostDelete cleanup of the intermediate CA's Secret, with the trust:
    /// `argocd-hooks/trust-cleanup.yaml`, and the plugin's `part: trust`.
    pub trust_cleanup: Vec<Manifest>,
    /// The mesh facts the objects were rendered from; the docs and the analyzers read them too.
    pub facts: MeshFacts,
}

/// The PreDelete gate of istiod revision `revision` (as pods carry it, `default` for the
/// unrevisioned istiod): what the `mesh-render` plugin prints for the `revisionGate` parameter of a
/// revision's Argo CD Application (`render/revision_gate.rs`). It does not need the config to list the
/// revision: the gate runs when the config has stopped listing it, and it does not need
/// `argocd` either (Argo CD's defaults then: the commit that switched Argo CD off prunes every child
/// Application, whose gates still run). `Err` names what is wrong with `revision`.
pub fn render_revision_gate(loaded: &Loaded, revision: &str) -> Result<Vec<Manifest>, String> {
    let config = loaded.selected();
    let mut manifests = render_revision_gate_with(&GateSettings::of(config), revision)?;
    manifests.iter_mut().for_each(|m| extra_metadata(config, m));
    Ok(manifests)
}

/// What a revision's PreDelete gate is rendered from besides the revision: the plugin parameters
/// `gateNamespace`, `gateArgocdNamespace` and `gateHookImage` of the revision's Application
/// ([`crate::api::argocd::GATE_NAMESPACE_PARAMETER`]), which carry the values of the config it was
/// rendered from, so that the gate matches the live ServiceAccount and Roles at deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateSettings {
    /// The root namespace (the Job's and its ServiceAccount's, istiod's).
    pub namespace: String,
    /// Argo CD's namespace (the Applications', the Role's).
    pub argocd_namespace: String,
    pub hook_image: String,
    /// The cluster of a multi-cluster mesh (the Application's `cluster` parameter): the gate then
    /// runs in a cluster where Argo CD's namespace and Applications are not, and its Application is
    /// `istiod[-<revision>]-<cluster>`.
    pub cluster: Option<String>,
}

impl GateSettings {
    /// The config's: its root namespace, and its `argocd` or Argo CD's defaults without it.
    pub fn of(config: &crate::Config) -> GateSettings {
        let defaults = crate::config::gitops::ArgoCd::gate_defaults();
        let argocd = config.argocd.as_ref().unwrap_or(&defaults);
        GateSettings {
            namespace: config.namespace.clone(),
            argocd_namespace: argocd.namespace.clone(),
            hook_image: argocd.hook_image.clone(),
            cluster: config.cluster.as_ref().map(|c| c.name.clone()),
        }
    }
}

/// The PreDelete gate of istiod revision `revision` from `settings` alone (no config): what the
/// plugin prints for a revision's Application that carries the gate parameters. `Err` names what is
/// wrong with the revision or a setting.
pub fn render_revision_gate_with(settings: &GateSettings, revision: &str) -> Result<Vec<Manifest>, String> {
    let dns_label = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    };
    for (what, value) in [("gateNamespace", &settings.namespace), ("gateArgocdNamespace", &settings.argocd_namespace)] {
        if !dns_label(value) {
            return Err(format!("`{value}` ({what}) is not a namespace name"));
        }
    }
    if settings.hook_image.is_empty() || settings.hook_image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`{}` (gateHookImage) is not an image reference", settings.hook_image));
    }
    let name = revision_gate::name(revision, &settings.namespace);
    if !dns_label(revision) || name.len() > 63 {
        return Err(format!(
            "`{revision}` is not a revision name: lowercase letters, digits and `-`, at most {} characters",
            63 - revision_gate::name("", &settings.namespace).len()
        ));
    }
    let mut application = match revision {
        crate::config::canary::DEFAULT_REVISION => "istiod".to_string(),
        r => format!("istiod-{r}"),
    };
    if let Some(cluster) = &settings.cluster {
        application = format!("{application}-{cluster}");
    }
    Ok(revision_gate::render(settings, revision, &application))
}

/// `metadata.labels` and `metadata.annotations` of the config, on an object mesh-render owns.
fn extra_metadata(config: &crate::Config, m: &mut Manifest) {
    let meta = m.object.metadata_mut();
    if !config.metadata.labels.is_empty() {
        meta.labels.get_or_insert_with(Default::default).extend(config.metadata.labels.clone());
    }
    if !config.metadata.annotations.is_empty() {
        meta.annotations.get_or_insert_with(Default::default).extend(config.metadata.annotations.clone());
    }
}

/// Every cluster of a multi-cluster mesh, each rendered on its own, and what the fleet shares.
#[derive(Clone, Debug, PartialEq)]
pub struct Fleet {
    pub mesh_id: String,
    /// In the order of `multiCluster.clusters`.
    pub clusters: Vec<(String, Rendered)>,
    /// The Argo CD ApplicationSet that rolls the mesh out to every cluster (with
    /// `components.istio.argocd`): `fleet/applicationset.yaml`.
    pub application_set: Vec<Manifest>,
}

impl Fleet {
    /// The fleet's tree: each cluster's tree under `clusters/<name>/`, and `fleet/`.
    pub fn tree(&self) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        for (name, rendered) in &self.clusters {
            files.extend(rendered.tree().into_iter().map(|(path, text)| (format!("{FLEET_CLUSTERS}/{name}/{path}"), text)));
        }
        if !self.application_set.is_empty() {
            files.insert(FLEET_APPLICATION_SET.into(), emit::yaml_stream(&self.application_set));
        }
        files
    }
}

/// A fleet cluster's Argo CD hooks that are not mesh objects, in its tree (directory sources read
/// them from there).
pub const ARGOCD_EAST_WEST_GATE: &str = "argocd-hooks/eastwest-gate.yaml";
pub const ARGOCD_TRUST_CLEANUP: &str = "argocd-hooks/trust-cleanup.yaml";

/// Where a fleet's tree keeps each cluster's tree (`clusters/<name>/`).
pub const FLEET_CLUSTERS: &str = "clusters";
/// The fleet's ApplicationSet in its tree.
pub const FLEET_APPLICATION_SET: &str = "fleet/applicationset.yaml";

/// Renders every cluster of the selected section's multi-cluster mesh; `None` for one cluster.
pub fn render_fleet(loaded: &Loaded) -> Option<Fleet> {
    let section = loaded.selected_section();
    let mc = section.multi_cluster.as_ref()?;
    let clusters = loaded
        .clusters()
        .into_iter()
        .filter_map(|name| {
            let one = loaded.clone().with_cluster(Some(&name)).ok()?;
            Some((name, render(&one)))
        })
        .collect();
    Some(Fleet { mesh_id: mc.mesh_id.clone(), clusters, application_set: argocd::application_set(section) })
}

/// Renders the selected environment of a loaded config.
pub fn render(loaded: &Loaded) -> Rendered {
    let config = loaded.selected();
    let facts = MeshFacts::of(config);
    let mut manifests = Vec::new();
    manifests.extend(namespaces::render(config, &facts));
    manifests.extend(multi_cluster::trust(config));
    manifests.extend(revision_tags::render(config));
    manifests.extend(security::render(config, &facts));
    manifests.extend(telemetry::render(config));
    manifests.extend(gateways::render(config));
    manifests.extend(multi_cluster::east_west(config));
    manifests.extend(ai_serving::render(config, &facts));
    manifests.extend(knative::render(config, &facts));
    argocd::protect(config, &mut manifests);
    let hooks = argocd_hooks::render(config, &facts, &mut manifests);
    manifests.extend(hooks);
    let mut applications = argocd::render(config);
    for m in manifests.iter_mut().chain(applications.iter_mut()).filter(|m| !m.object.is_partial()) {
        extra_metadata(config, m);
    }
    manifest::sort(&mut manifests);

    let values = control_plane::values(loaded.base_of_selection());
    let base_json = json(&values);
    let environment_values = loaded
        .environments_of_selection()
        .map(|(name, env)| (name.clone(), control_plane::overlay(&base_json, &json(&control_plane::values(env)))))
        .collect();
    Rendered {
        manifests,
        chart: control_plane::chart(config),
        values,
        environment_values,
        applications,
        selected_values: control_plane::values(config),
        knative_restore: plans::knative_restore(config),
        east_west_values: multi_cluster::gateway_values(config),
        east_west_gate: with_metadata(config, multi_cluster::east_west_gate(config)),
        trust_cleanup: with_metadata(config, multi_cluster::trust_cleanup(config)),
        facts,
    }
}

/// `manifests` with the config's extra labels and annotations.
fn with_metadata(config: &crate::Config, mut manifests: Vec<Manifest>) -> Vec<Manifest> {
    manifests.iter_mut().for_each(|m| extra_metadata(config, m));
    manifests
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_else(|e| unreachable!("JSON of plain data: {e}"))
}

impl Rendered {
    /// Every object as one YAML stream (`mesh-render render`).
    pub fn stream_yaml(&self) -> String {
        emit::yaml_stream(&self.manifests)
    }

    /// The documents of [`Rendered::stream_yaml`] one at a time, for writing a large stream without
    /// holding all of it.
    pub fn stream_yaml_documents(&self) -> impl Iterator<Item = String> + '_ {
        self.manifests.iter().map(emit::yaml_document)
    }

    /// Every object as a JSON `List` (`mesh-render render -o json`).
    pub fn json_list(&self) -> String {
        emit::json_list(&self.manifests)
    }

    /// The rendered tree: path relative to the output folder → file contents, sorted by path.
    pub fn tree(&self) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        for concern in Concern::ALL {
            let docs: Vec<&Manifest> = self.manifests.iter().filter(|m| m.concern == concern).collect();
            if !docs.is_empty() {
                files.insert(format!("manifests/{}", concern.file_name()), emit::yaml_stream(docs));
            }
        }
        files.insert("helm/Chart.yaml".into(), emit::yaml_value(&self.chart));
        files.insert("helm/values.yaml".into(), emit::yaml_value(&self.values));
        for (env, overlay) in &self.environment_values {
            let body = match overlay {
                Some(v) => emit::yaml_value(v),
                None => "{}\n".to_string(),
            };
            files.insert(format!("helm/values-{env}.yaml"), body);
        }
        files.insert(plans::BASE_VALUES.into(), emit::yaml_value(&self.selected_values.base));
        for (release, values) in &self.selected_values.istiod {
            files.insert(plans::istiod_values_file(release), emit::yaml_value(values));
        }
        if let Some(values) = &self.east_west_values {
            files.insert(plans::istiod_values_file(&values.name), emit::yaml_value(values));
        }
        if !self.knative_restore.is_empty() {
            files.insert(plans::KNATIVE_RESTORE.into(), emit::yaml_stream(&self.knative_restore));
        }
        if !self.applications.is_empty() {
            files.insert("argocd/applications.yaml".into(), emit::yaml_stream(&self.applications));
        }
        for (file, hooks) in [(ARGOCD_EAST_WEST_GATE, &self.east_west_gate), (ARGOCD_TRUST_CLEANUP, &self.trust_cleanup)] {
            if !hooks.is_empty() {
                files.insert(file.into(), emit::yaml_stream(hooks));
            }
        }
        files
    }
}
