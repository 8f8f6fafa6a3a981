//! mesh-render: the Istio mesh of the Knative playground, from one `config.yaml`.
//!
//! Pure: config text in, typed objects and bytes out. No files, processes or network; the
//! `mesh-render` CLI crate does the I/O.
//!
//! ```
//! let text = mesh_render::example_config();
//! let loaded = mesh_render::config::load(text, None, Default::default()).unwrap();
//! let rendered = mesh_render::render(&loaded);
//! assert!(rendered.stream_yaml().contains("kind: PeerAuthentication"));
//! ```

#![warn(clippy::unwrap_used)]

pub mod ai_serving;
pub mod analyzers;
pub mod argocd;
pub mod argocd_api;
pub mod argocd_hooks;
pub mod canary;
pub mod config;
pub mod control_plane;
pub mod diagnostics;
pub mod docs;
pub mod expanded;
pub mod flows;
pub mod gateways;
pub mod inference_api;
pub mod istio_api;
pub mod knative;
pub mod manifest;
pub mod namespaces;
pub mod output;
pub mod plans;
pub mod security;
pub mod syntax;
pub mod telemetry;
pub mod upgrade;
pub mod validate;
pub mod versions;
pub mod yaml;

use std::collections::BTreeMap;

pub use config::{load, Config, Loaded};
pub use diagnostics::{Diagnostic, Severity};
pub use manifest::{Concern, Manifest, Object};

/// A documented example config (`mesh-render example`).
pub fn example_config() -> &'static str {
    include_str!("example.yaml")
}

/// Everything rendered for one config and environment.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// Kubernetes objects, in apply order.
    pub manifests: Vec<Manifest>,
    pub chart: control_plane::Chart,
    /// Values of the base settings (`helm/values.yaml`).
    pub values: control_plane::Values,
    /// Per environment, the Helm overlay onto `values` (`helm/values-<env>.yaml`); `None` when the
    /// environment changes no value.
    pub environment_values: BTreeMap<String, Option<serde_json::Value>>,
    /// Argo CD Applications (with `components.istio.argocd`): written to `argocd/applications.yaml`,
    /// never part of the stream, so that the plugin's output cannot contain its own Application.
    pub applications: Vec<Manifest>,
    /// Values of the selected environment, per chart (`lifecycle/{base,istiod}-values.yaml`), for
    /// installing the official charts directly (`mesh-render plan apply`).
    pub selected_values: control_plane::Values,
    /// Knative's ConfigMaps as before Istio (`lifecycle/knative-restore.yaml`, `plan destroy`).
    pub knative_restore: Vec<Manifest>,
}

/// Renders the selected environment of a loaded config.
pub fn render(loaded: &Loaded) -> Rendered {
    let config = loaded.selected();
    let mut manifests = Vec::new();
    manifests.extend(namespaces::render(config));
    manifests.extend(security::render(config));
    manifests.extend(telemetry::render(config));
    manifests.extend(gateways::render(config));
    manifests.extend(ai_serving::render(config));
    manifests.extend(knative::render(config));
    argocd::protect(config, &mut manifests);
    let hooks = argocd_hooks::render(config, &mut manifests);
    manifests.extend(hooks);
    let mut applications = argocd::render(config);
    for m in manifests.iter_mut().chain(applications.iter_mut()).filter(|m| !m.object.is_partial()) {
        let meta = m.object.metadata_mut();
        if !config.metadata.labels.is_empty() {
            meta.labels.get_or_insert_with(Default::default).extend(config.metadata.labels.clone());
        }
        if !config.metadata.annotations.is_empty() {
            meta.annotations.get_or_insert_with(Default::default).extend(config.metadata.annotations.clone());
        }
    }
    manifest::sort(&mut manifests);

    let values = control_plane::values(&loaded.base);
    let base_json = json(&values);
    let environment_values = loaded
        .environments
        .iter()
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
    }
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_else(|e| unreachable!("JSON of plain data: {e}"))
}

impl Rendered {
    /// Every object as one YAML stream (`mesh-render render`).
    pub fn stream_yaml(&self) -> String {
        output::yaml_stream(&self.manifests)
    }

    /// The documents of [`Rendered::stream_yaml`] one at a time, for writing a large stream without
    /// holding all of it.
    pub fn stream_yaml_documents(&self) -> impl Iterator<Item = String> + '_ {
        self.manifests.iter().map(output::yaml_document)
    }

    /// Every object as a JSON `List` (`mesh-render render -o json`).
    pub fn json_list(&self) -> String {
        output::json_list(&self.manifests)
    }

    /// The rendered tree: path relative to the output folder → file contents, sorted by path.
    pub fn tree(&self) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        for concern in Concern::ALL {
            let docs: Vec<&Manifest> = self.manifests.iter().filter(|m| m.concern == concern).collect();
            if !docs.is_empty() {
                files.insert(format!("manifests/{}", concern.file_name()), output::yaml_stream(docs));
            }
        }
        files.insert("helm/Chart.yaml".into(), output::yaml_value(&self.chart));
        files.insert("helm/values.yaml".into(), output::yaml_value(&self.values));
        for (env, overlay) in &self.environment_values {
            let body = match overlay {
                Some(v) => output::yaml_value(v),
                None => "{}\n".to_string(),
            };
            files.insert(format!("helm/values-{env}.yaml"), body);
        }
        files.insert(plans::BASE_VALUES.into(), output::yaml_value(&self.selected_values.base));
        for (release, values) in &self.selected_values.istiod {
            files.insert(plans::istiod_values_file(release), output::yaml_value(values));
        }
        if !self.knative_restore.is_empty() {
            files.insert(plans::KNATIVE_RESTORE.into(), output::yaml_stream(&self.knative_restore));
        }
        if !self.applications.is_empty() {
            files.insert("argocd/applications.yaml".into(), output::yaml_stream(&self.applications));
        }
        files
    }
}
