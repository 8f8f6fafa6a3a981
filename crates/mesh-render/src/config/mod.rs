//! The playground's `config.yaml`: what mesh-render reads of it, checked and typed.
//!
//! mesh-render owns `components.istio` and is strict there (unknown keys are errors). It reads a few
//! keys of `components.knative` and `components.envoyGateway` and ignores the rest of the file,
//! which belongs to the playground's other components.

pub mod ai_serving;
pub mod canary;
mod charts;
mod checks;
pub(crate) mod codes;
mod control_plane;
pub(crate) mod decode;
mod environments;
mod envoy_gateway;
pub mod flows;
mod gateways;
pub mod gitops;
mod knative;
mod mesh;
mod metadata;
pub mod multi_cluster;
mod namespaces;
mod rules;
pub mod security;
pub mod syntax;
mod telemetry;
mod version;

use std::collections::BTreeMap;

pub use control_plane::{managed_env, Autoscaling, ControlPlane, Resources};
pub use environments::merge;
pub use envoy_gateway::EnvoyGateway;
pub use gateways::Gateways;
pub use knative::{default_webhooks, Knative, Webhook};
pub use mesh::MtlsMode;
pub use metadata::ExtraMetadata;
pub use telemetry::Tracing;

use crate::api::helm::{ChartRepository, DEFAULT_HUB};
use crate::diagnostics::{self, Diagnostic, Pos};
use crate::versions::Release;
use syntax::{Limits, Node, Value};
// For `ai_serving`, whose picker resources are read like istiod's.
use control_plane::read_resources;
use decode::Decoder;

/// The mesh as the config describes it, for one environment.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The environment these settings are for (`None`: the base settings).
    pub environment: Option<String>,
    pub release: &'static Release,
    /// Istio's root namespace, where istiod and the mesh-wide objects live.
    pub namespace: String,
    pub revision: Option<String>,
    /// A revision-based control plane with tags (`controlPlane.revisions`); `None`: one istiod.
    pub revisions: Option<canary::Revisions>,
    pub control_plane: ControlPlane,
    pub proxy_resources: Resources,
    pub mtls: MtlsMode,
    /// Application namespaces, sorted and unique.
    pub apps: Vec<String>,
    pub knative: Option<Knative>,
    pub gateways: Gateways,
    pub tracing: Option<Tracing>,
    /// Provider named in the mesh-wide Telemetry's access logging (`envoy` logs to stdout).
    pub access_logging: Option<String>,
    /// Keep the chart's Prometheus L7 metrics on (written explicitly, see telemetry).
    pub prometheus: bool,
    /// The Gateway API controller Knative used before Istio, if the config still declares it.
    pub envoy_gateway: Option<EnvoyGateway>,
    /// Extra labels and annotations on every object mesh-render owns (not on partial objects).
    pub metadata: ExtraMetadata,
    /// LLM routing through the Gateway API Inference Extension (off when absent).
    pub ai_serving: Option<ai_serving::AiServing>,
    /// Argo CD Applications for the charts and the mesh resources (off when absent).
    pub argocd: Option<gitops::ArgoCd>,
    /// Where the Istio charts come from (`chartRepository`).
    pub charts: ChartRepository,
    /// The image registry of istiod, the sidecars and the gateways (`hub`, istiod's `global.hub`).
    pub hub: String,
    /// Every string of the config file that names one of Istio's retired hosts, with its key path
    /// (MR115 refuses them).
    pub retired_references: Vec<(String, String)>,
    /// `components.istio.flows.expect`: flows the user expects allowed or denied.
    pub flow_expectations: Vec<flows::FlowExpectation>,
    /// Check codes to leave out of every analyzer run (`components.istio.analyzers.ignore`).
    pub ignored_checks: Vec<&'static str>,
    /// Opt-in additions to the app namespaces' authorization (`components.istio.security`).
    pub security: security::Security,
    /// One mesh across clusters (`components.istio.multiCluster`); `None` for one cluster.
    pub multi_cluster: Option<multi_cluster::MultiCluster>,
    /// The cluster these settings are for, in a multi-cluster mesh (`None`: the section's settings
    /// before any cluster's overrides, or a single-cluster config).
    pub cluster: Option<multi_cluster::ClusterIdentity>,
    /// Every cluster's settings (this section with the cluster's `version` and `overrides` merged
    /// on top), in the order of `multiCluster.clusters`; empty for one cluster and in a per-cluster config.
    pub clusters: Vec<Config>,
}

impl Config {
    /// The settings of cluster `name` of a multi-cluster mesh.
    pub fn cluster_config(&self, name: &str) -> Option<&Config> {
        self.clusters.iter().find(|c| c.cluster.as_ref().is_some_and(|id| id.name == name))
    }
}

/// A config read and checked: the base settings, every environment, and the one selected.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub base: Config,
    /// Every environment declared under `components.istio.environments`, by name.
    pub environments: BTreeMap<String, Config>,
    /// Non-fatal problems (weakened security, a controller still installed, …).
    pub warnings: Vec<Diagnostic>,
    selected: Option<String>,
    /// The selected cluster of a multi-cluster mesh (`--cluster`).
    selected_cluster: Option<String>,
    /// The document as read, for pointing analyzer findings at the line that set a value.
    root: Node,
}

impl Loaded {
    /// The name of the selected environment, if any.
    pub fn environment(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    /// Where a dotted key path (`components.istio.mtls.mode`) is set: in the selected environment's
    /// overrides when it sets it, else in the base section; the nearest enclosing key that exists
    /// when the path itself is not in the file (a default).
    pub fn position(&self, path: &str) -> Pos {
        let parts: Vec<&str> = path.split('.').collect();
        if let (Some(cluster), Some(rest)) = (&self.selected_cluster, path.strip_prefix("components.istio.")) {
            if let Some(pos) = self.cluster_position(cluster, rest) {
                return pos;
            }
        }
        if let (Some(env), Some(rest)) = (&self.selected, path.strip_prefix("components.istio.")) {
            let env_path: Vec<&str> = ["components", "istio", "environments", env.as_str()].into_iter().chain(rest.split('.')).collect();
            if let Some(node) = lookup(&self.root, &env_path) {
                return node.pos;
            }
        }
        let mut best = self.root.pos;
        let mut node = &self.root;
        for part in parts {
            match node.get(part) {
                Some(next) => {
                    node = next;
                    best = next.pos;
                }
                None => break,
            }
        }
        best
    }
}

impl Loaded {
    /// Where the selected cluster's entry sets `rest` (a key below `components.istio`): in its
    /// `overrides`, or `version` beside them; the selected environment's list of clusters first.
    fn cluster_position(&self, cluster: &str, rest: &str) -> Option<Pos> {
        let istio = lookup(&self.root, &["components", "istio"])?;
        let sections = self.selected.iter().filter_map(|env| lookup(istio, &["environments", env.as_str()])).chain([istio]);
        let entry = sections.filter_map(|s| lookup(s, &["multiCluster", "clusters"])).find_map(|list| match &list.value {
            Value::Seq(items) => items.iter().find(|c| c.get("name").and_then(Node::as_scalar) == Some(cluster)),
            _ => None,
        })?;
        let keys: Vec<&str> = rest.split('.').collect();
        if rest == "version" {
            if let Some(v) = entry.get("version") {
                return Some(v.pos);
            }
        }
        lookup(entry, &["overrides"]).and_then(|o| lookup(o, &keys)).map(|n| n.pos)
    }
}

fn lookup<'n>(root: &'n Node, path: &[&str]) -> Option<&'n Node> {
    path.iter().try_fold(root, |node, key| node.get(key))
}

impl Loaded {
    /// The settings to render: the selected cluster of the selected environment (or of the base),
    /// else the selected environment, or the base.
    pub fn selected(&self) -> &Config {
        let section = self.selected_section();
        self.selected_cluster.as_deref().and_then(|c| section.cluster_config(c)).unwrap_or(section)
    }

    /// The selected environment's settings, or the base's, before any cluster's overrides.
    pub fn selected_section(&self) -> &Config {
        self.selected.as_ref().and_then(|name| self.environments.get(name)).unwrap_or(&self.base)
    }

    /// The clusters of the selected section's multi-cluster mesh, in the config's order (empty for
    /// one cluster).
    pub fn clusters(&self) -> Vec<String> {
        self.selected_section().clusters.iter().filter_map(|c| c.cluster.as_ref().map(|id| id.name.clone())).collect()
    }

    /// MR011 when the selected section is a multi-cluster mesh and no cluster is selected: `what`
    /// (e.g. `render` to stdout) works on one cluster.
    pub fn cluster_required(&self, what: &str) -> Option<Diagnostic> {
        let mc = self.selected_section().multi_cluster.as_ref()?;
        if self.selected_cluster.is_some() {
            return None;
        }
        let names = self.clusters().join(", ");
        Some(Diagnostic::in_config(
            &codes::UNKNOWN_CLUSTER,
            mc.pos,
            "components.istio.multiCluster.clusters",
            format!("the mesh spans {} clusters ({names}); {what} works on one of them", mc.clusters.len()),
            format!("pass --cluster NAME (one of {names}); `render --out DIR` without it writes every cluster's tree"),
        ))
    }

    /// The name of the selected cluster, if any.
    pub fn cluster(&self) -> Option<&str> {
        self.selected_cluster.as_deref()
    }

    /// The base settings of what is rendered: the base section, or the selected cluster's settings
    /// in it (the wrapper chart's `values.yaml`).
    pub fn base_of_selection(&self) -> &Config {
        self.selected_cluster.as_deref().and_then(|c| self.base.cluster_config(c)).unwrap_or(&self.base)
    }

    /// Every environment's settings for what is rendered (the selected cluster's, in a
    /// multi-cluster mesh; an environment without that cluster is left out), for `values-<env>.yaml`.
    pub fn environments_of_selection(&self) -> impl Iterator<Item = (&String, &Config)> {
        self.environments.iter().filter_map(move |(name, env)| match self.selected_cluster.as_deref() {
            Some(c) => env.cluster_config(c).map(|cfg| (name, cfg)),
            None => Some((name, env)),
        })
    }

    /// The same config with cluster `name` selected (`None`: no cluster); `Err` lists the clusters
    /// the selected section declares when it has no cluster of that name.
    pub fn with_cluster(mut self, name: Option<&str>) -> Result<Loaded, Vec<String>> {
        if let Some(name) = name {
            let section = self.selected_section();
            if section.cluster_config(name).is_none() {
                return Err(section.clusters.iter().filter_map(|c| c.cluster.as_ref().map(|id| id.name.clone())).collect());
            }
        }
        self.selected_cluster = name.map(str::to_string);
        Ok(self)
    }
}

const ISTIO_KEYS: &[&str] = &[
    "enabled",
    "version",
    "namespace",
    "mode",
    "revision",
    "controlPlane",
    "proxy",
    "mtls",
    "namespaces",
    "gateways",
    "knative",
    "tracing",
    "accessLogging",
    "metrics",
    "metadata",
    "aiServing",
    "argocd",
    "chartRepository",
    "hub",
    "security",
    "multiCluster",
    "flows",
    "analyzers",
    "environments",
];

/// Why a config could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The text is not a YAML document at all (as opposed to a document with wrong settings).
    pub unreadable: bool,
    /// Every error found, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads and checks a config. `environment` selects one of `components.istio.environments`.
///
/// Every problem is reported at once, sorted by position; warnings come back inside [`Loaded`].
pub fn load(text: &str, environment: Option<&str>, limits: Limits) -> Result<Loaded, LoadError> {
    load_cluster(text, environment, None, limits)
}

/// Like [`load`], with cluster `cluster` of a multi-cluster mesh selected (`--cluster`): an error
/// (MR011) when the selected environment lists no such cluster.
pub fn load_cluster(text: &str, environment: Option<&str>, cluster: Option<&str>, limits: Limits) -> Result<Loaded, LoadError> {
    let root = syntax::parse(text, limits).map_err(|diagnostics| LoadError { unreadable: true, diagnostics })?;
    let mut dec = Decoder::default();
    // Where the clusters are listed, for an error about the selected one (before `root` moves).
    let clusters_pos = root
        .get("components")
        .and_then(|c| c.get("istio"))
        .and_then(|i| i.get("multiCluster"))
        .map(|m| m.get("clusters").unwrap_or(m))
        .map_or(root.pos, |n| n.pos);
    let mut loaded = read(&root, environment, &mut dec).map(|(base, environments)| Loaded {
        base,
        environments,
        warnings: Vec::new(),
        selected: environment.map(str::to_string),
        selected_cluster: None,
        root,
    });
    // `take` only with a cluster selected (and a config read): without one the config stays.
    if let Some((name, l)) = cluster.filter(|_| loaded.is_some()).and_then(|name| Some((name, loaded.take()?))) {
        loaded = match l.with_cluster(Some(name)) {
            Ok(l) => Some(l),
            Err(known) => {
                let hint = match decode::suggest(name, &known.iter().map(String::as_str).collect::<Vec<_>>()) {
                    Some(s) => format!("did you mean `{s}`? Listed: {}", known.join(", ")),
                    None if known.is_empty() => {
                        "the config describes one cluster: leave `--cluster` out, or add `components.istio.multiCluster`".to_string()
                    }
                    None => format!("listed: {}", known.join(", ")),
                };
                dec.report(
                    &codes::UNKNOWN_CLUSTER,
                    clusters_pos,
                    "components.istio.multiCluster.clusters",
                    format!("cluster `{name}` is not in the mesh's clusters"),
                    hint,
                );
                None
            }
        };
    }
    let mut diags = dedup(dec.diags);
    diagnostics::sort(&mut diags);
    match loaded {
        Some(mut loaded) if !diags.iter().any(Diagnostic::is_error) => {
            // A cluster's warnings are the section's, marked with the cluster: keep the selected
            // cluster's, or (no cluster selected) the section's and what only a cluster has.
            let section: Vec<String> = diags.iter().filter(|d| cluster_of(d).is_none()).map(|d| d.message.clone()).collect();
            diags.retain(|d| match (cluster_of(d), loaded.cluster()) {
                (Some((c, _)), Some(selected)) => c == selected,
                (None, Some(_)) => loaded.selected_section().multi_cluster.is_none(),
                (Some((_, plain)), None) => !section.iter().any(|m| m == plain),
                (None, None) => true,
            });
            // `analyzers.ignore` silences config warnings too (MR020–MR024), as `--ignore` does.
            let ignored = &loaded.selected().ignored_checks;
            loaded.warnings = diags.into_iter().filter(|d| !ignored.contains(&d.code)).collect();
            Ok(loaded)
        }
        _ => Err(LoadError { unreadable: false, diagnostics: diags.into_iter().filter(Diagnostic::is_error).collect() }),
    }
}

/// The cluster a problem was found in (` (in cluster `x`)`), and the message without it.
fn cluster_of(d: &Diagnostic) -> Option<(&str, &str)> {
    let (plain, rest) = d.message.rsplit_once(" (in cluster `")?;
    Some((rest.strip_suffix("`)")?, plain))
}

/// Environments re-read shared nodes, so the same problem can be found more than once.
fn dedup(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = std::collections::BTreeSet::new();
    diags.into_iter().filter(|d| seen.insert((d.pos, d.config_path.clone(), d.message.clone()))).collect()
}

/// The whole document: the sections mesh-render reads, the base settings and every environment.
fn read(root: &Node, environment: Option<&str>, dec: &mut Decoder) -> Option<(Config, BTreeMap<String, Config>)> {
    let top = dec.map(root, "", None)?;
    let Some(components) = top.get("components") else {
        let hint = match root_keys(root).iter().find_map(|k| decode::suggest(k, &["components"])) {
            Some(_) => "did you mean `components`?".to_string(),
            None => "add a `components:` mapping with an `istio:` section (see `mesh-render example`)".to_string(),
        };
        dec.report(&codes::MISSING_SETTING, root.pos, "components", "the config has no `components` section", hint);
        return None;
    };
    let components = dec.map(components, "components", None)?;
    let Some(istio) = components.get("istio") else {
        let near = match &components.node.value {
            Value::Map(entries) => entries.iter().filter_map(|(k, _)| k.as_scalar()).find(|k| decode::suggest(k, &["istio"]).is_some()),
            _ => None,
        };
        let hint = match near {
            Some(k) => format!("`components.{k}` is not read; did you mean `components.istio`?"),
            None => "add `components.istio` (see `mesh-render example`)".to_string(),
        };
        dec.report(&codes::MISSING_SETTING, components.node.pos, "components.istio", "the config has no `components.istio` section", hint);
        return None;
    };
    let knative = components.get("knative").and_then(|n| knative::read_knative(n, dec));
    let envoy_gateway = components.get("envoyGateway").and_then(|n| envoy_gateway::read_envoy_gateway(n, dec));

    let fields = dec.map(istio, "components.istio", Some(ISTIO_KEYS))?;
    match fields.get("enabled").map(|n| (n, dec.bool(n, &fields.path("enabled")))) {
        Some((_, Some(true))) => {}
        Some((node, Some(false))) => dec.report(
            &codes::INVALID_VALUE,
            node.pos,
            &fields.path("enabled"),
            "Istio is disabled, so there is nothing to render",
            "set `enabled: true`; mesh-render refuses to print an empty render, which Argo CD would prune everything on",
        ),
        Some((_, None)) => {}
        None => dec.report(
            &codes::MISSING_SETTING,
            istio.pos,
            &fields.path("enabled"),
            "`enabled` is missing",
            "add `enabled: true` to switch the Istio component on",
        ),
    }

    let base = read_istio(istio, None, knative.clone(), envoy_gateway.clone(), dec);
    let mut environments = environments::read_environments(istio, &fields, environment, &knative, &envoy_gateway, dec);
    let mut base = base?;
    let retired = charts::retired_references(root, "");
    for config in std::iter::once(&mut base).chain(environments.values_mut()) {
        config.retired_references.clone_from(&retired);
        for c in &mut config.clusters {
            c.retired_references.clone_from(&retired);
        }
    }
    Some((base, environments))
}

fn root_keys(root: &Node) -> Vec<String> {
    match &root.value {
        Value::Map(entries) => entries.iter().filter_map(|(k, _)| k.as_scalar().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

/// One environment's settings (the base section when `environment` is `None`): each section's reader,
/// then the rules between sections. `None` when any error was found.
fn read_istio(
    node: &Node,
    environment: Option<&str>,
    knative: Option<Knative>,
    envoy_gateway: Option<EnvoyGateway>,
    dec: &mut Decoder,
) -> Option<Config> {
    read_section(node, environment, None, knative, envoy_gateway, dec)
}

/// One section's settings, or (with `cluster`) one cluster's: the section merged with the
/// cluster's overlay. A section's clusters are read here too, each like the section.
fn read_section(
    node: &Node,
    environment: Option<&str>,
    cluster: Option<multi_cluster::ClusterIdentity>,
    knative: Option<Knative>,
    envoy_gateway: Option<EnvoyGateway>,
    dec: &mut Decoder,
) -> Option<Config> {
    let f = dec.map(node, "components.istio", Some(ISTIO_KEYS))?;
    // Each cluster's settings are read from the same `components.knative` and `envoyGateway`.
    let (knative_in, envoy_gateway_in) = match &cluster {
        None => (knative.clone(), envoy_gateway.clone()),
        Some(_) => (None, None),
    };
    let errors_before = dec.diags.iter().filter(|d| d.is_error()).count();
    let diags_before = dec.diags.len();

    let release = version::read_version(f.get("version"), &f.path("version"), dec);
    let namespace = f.get("namespace").and_then(|n| dec.dns_label(n, &f.path("namespace"))).unwrap_or_else(|| "istio-system".into());
    mesh::check_mode(f.get("mode"), &f.path("mode"), dec);
    let revision = f.get("revision").and_then(|n| dec.dns_label(n, &f.path("revision")));
    let mut control_plane = control_plane::read_control_plane(f.get("controlPlane"), &f.path("controlPlane"), dec);
    let revisions = canary::read(f.get("controlPlane"), &f.path("controlPlane"), dec);
    let release = rules::revisions_release(&f, release, revisions.as_ref(), dec);
    let proxy_resources = control_plane::read_proxy(f.get("proxy"), &f.path("proxy"), dec);
    let mtls = mesh::read_mtls(f.get("mtls"), &f.path("mtls"), dec);
    let apps = namespaces::read_namespaces(f.get("namespaces"), &f.path("namespaces"), &namespace, knative.as_ref(), dec);
    let gateways = gateways::read_gateways(f.get("gateways"), &f.path("gateways"), dec);
    let knative = knative::read_settings(knative, f.get("knative"), &f.path("knative"), mtls, dec);
    let tracing = telemetry::read_tracing(f.get("tracing"), &f.path("tracing"), dec);
    let charts =
        f.get("chartRepository").and_then(|n| charts::read_chart_repository(n, &f.path("chartRepository"), dec)).unwrap_or_default();
    let hub = f.get("hub").and_then(|n| charts::read_hub(n, &f.path("hub"), dec)).unwrap_or_else(|| DEFAULT_HUB.to_string());
    let metadata = metadata::read_metadata(f.get("metadata"), &f.path("metadata"), dec);
    let ai_serving = f.get("aiServing").and_then(|n| ai_serving::read(n, &f.path("aiServing"), &namespace, dec));
    let mut argocd = f.get("argocd").and_then(|n| gitops::read_argocd(n, &f.path("argocd"), dec));
    // A fleet's committed tree is `render --out deployment/rendered` of every cluster: the default
    // `path` of a directory source is that tree, whose `clusters/<name>/manifests` each cluster reads.
    if let Some(a) = argocd.as_mut().filter(|a| a.mesh_source == gitops::MeshSource::Directory) {
        if f.get("multiCluster").is_some() && f.get("argocd").and_then(|n| n.get("path")).is_none() {
            a.path = "deployment/rendered".into();
        }
    }
    let flow_expectations = f.get("flows").map(|n| flows::read(n, &f.path("flows"), dec)).unwrap_or_default();
    let ignored_checks = checks::read(f.get("analyzers"), &f.path("analyzers"), dec);
    let security = security::read(f.get("security"), &f.path("security"), dec);
    let access_logging = telemetry::read_access_logging(f.get("accessLogging"), &f.path("accessLogging"), dec);
    let prometheus = telemetry::read_metrics(f.get("metrics"), &f.path("metrics"), dec);
    // A cluster's settings keep the section's `multiCluster` (the overrides cannot change it), read
    // there once: its problems are the section's.
    let multi = match (&cluster, f.get("multiCluster")) {
        (None, Some(n)) => multi_cluster::read(n, &f.path("multiCluster"), dec),
        _ => None,
    };
    if let (Some((mc, _)), Some(a)) = (&multi, f.get("argocd")) {
        multi_cluster::check_argocd(mc, a, &f.path("argocd"), dec);
    }

    rules::envoy_gateway_still_installed(envoy_gateway.as_ref(), knative.as_ref(), environment, dec);
    rules::control_plane_features(&f, control_plane.as_mut(), release, ai_serving.as_ref(), knative.as_ref(), dec);
    rules::mtls_disable_with_apps(&f, mtls, apps.as_deref(), dec);
    rules::inference_gateway_identity(ai_serving.as_ref(), gateways.as_ref(), &namespace, dec);
    rules::local_gateway_open(gateways.as_ref(), knative.as_ref(), mtls, dec);

    environments::mark_warnings(&mut dec.diags[diags_before..], environment);
    let errors_after = dec.diags.iter().filter(|d| d.is_error()).count();
    if errors_after > errors_before {
        return None;
    }
    let (multi_cluster, overlays) = match multi {
        Some((m, o)) => (Some(m), o),
        None => (None, Vec::new()),
    };
    let mut config = Config {
        environment: environment.map(str::to_string),
        release: release?,
        namespace,
        revision,
        revisions,
        control_plane: control_plane?,
        proxy_resources,
        mtls,
        apps: apps?,
        knative,
        gateways: gateways?,
        tracing: tracing?,
        access_logging: access_logging?,
        prometheus,
        envoy_gateway,
        metadata,
        ai_serving,
        argocd,
        charts,
        hub,
        retired_references: Vec::new(),
        flow_expectations,
        ignored_checks,
        security,
        multi_cluster,
        cluster,
        clusters: Vec::new(),
    };
    if let Some(mc) = &config.multi_cluster {
        config.clusters = read_clusters(node, f.get("multiCluster"), mc, overlays, environment, &knative_in, &envoy_gateway_in, dec)?;
        if let Some(first) = config.clusters.first() {
            // The section's own settings are a template no cluster runs; what differs per cluster is in `clusters`.
            config.multi_cluster.clone_from(&first.multi_cluster);
        }
    }
    Some(config)
}

/// Every cluster of a section: the section `node` with each cluster's overlay merged on top, read
/// like a section. `None` when a cluster's settings have errors (reported).
#[allow(clippy::too_many_arguments)]
fn read_clusters(
    node: &Node,
    multi_node: Option<&Node>,
    mc: &multi_cluster::MultiCluster,
    overlays: Vec<multi_cluster::ClusterOverlay>,
    environment: Option<&str>,
    knative: &Option<Knative>,
    envoy_gateway: &Option<EnvoyGateway>,
    dec: &mut Decoder,
) -> Option<Vec<Config>> {
    let mesh_east_west = multi_node.and_then(|n| n.get("eastWest"));
    let multi_network = mc.networks().len() > 1;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, o) in overlays.into_iter().enumerate() {
        let path = format!("components.istio.multiCluster.clusters[{i}].eastWest");
        let east_west = match (mesh_east_west, o.east_west) {
            (Some(m), Some(c)) => Some(environments::merge(m, c)),
            (m, c) => m.or(c).cloned(),
        };
        let Some(east_west) = multi_cluster::read_east_west(east_west.as_ref(), &path, multi_network, dec) else {
            ok = false;
            continue;
        };
        let identity = multi_cluster::ClusterIdentity { name: o.spec.name.clone(), network: o.spec.network.clone(), east_west };
        let merged = environments::merge(node, &o.overlay);
        let diags_before = dec.diags.len();
        let config = read_section(&merged, environment, Some(identity), knative.clone(), envoy_gateway.clone(), dec);
        mark_cluster(&mut dec.diags[diags_before..], &o.spec.name);
        match config {
            Some(mut c) => {
                // The east-west gateway exposes the app namespaces' services (`render::multi_cluster`):
                // a cluster without one has nothing to expose, and no gateway that istiod would hand
                // the other networks for it.
                if c.apps.is_empty() {
                    if let Some(id) = c.cluster.as_mut() {
                        id.east_west.enabled = false;
                    }
                }
                out.push(c)
            }
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    // Every cluster sees the others as their settings are.
    let mut mc = mc.clone();
    for (spec, c) in mc.clusters.iter_mut().zip(&out) {
        spec.summary = multi_cluster::ClusterSummary {
            apps: c.apps.clone(),
            east_west: c.cluster.as_ref().is_some_and(|id| id.east_west.enabled),
            version: Some(c.release.version),
        };
    }
    for c in &mut out {
        c.multi_cluster = Some(mc.clone());
    }
    Some(out)
}

/// Names the cluster in the messages of its settings' problems.
fn mark_cluster(diags: &mut [Diagnostic], cluster: &str) {
    for d in diags {
        d.message.push_str(&format!(" (in cluster `{cluster}`)"));
    }
}
