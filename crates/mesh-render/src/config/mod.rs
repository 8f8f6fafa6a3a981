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

fn lookup<'n>(root: &'n Node, path: &[&str]) -> Option<&'n Node> {
    path.iter().try_fold(root, |node, key| node.get(key))
}

impl Loaded {
    /// The settings to render: the selected environment, or the base.
    pub fn selected(&self) -> &Config {
        self.selected.as_ref().and_then(|name| self.environments.get(name)).unwrap_or(&self.base)
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
    let root = syntax::parse(text, limits).map_err(|diagnostics| LoadError { unreadable: true, diagnostics })?;
    let mut dec = Decoder::default();
    let loaded = read(&root, environment, &mut dec).map(|(base, environments)| Loaded {
        base,
        environments,
        warnings: Vec::new(),
        selected: environment.map(str::to_string),
        root,
    });
    let mut diags = dedup(dec.diags);
    diagnostics::sort(&mut diags);
    match loaded {
        Some(mut loaded) if !diags.iter().any(Diagnostic::is_error) => {
            // `analyzers.ignore` silences config warnings too (MR020–MR024), as `--ignore` does.
            let ignored = &loaded.selected().ignored_checks;
            loaded.warnings = diags.into_iter().filter(|d| !ignored.contains(&d.code)).collect();
            Ok(loaded)
        }
        _ => Err(LoadError { unreadable: false, diagnostics: diags.into_iter().filter(Diagnostic::is_error).collect() }),
    }
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
    base.retired_references.clone_from(&retired);
    for env in environments.values_mut() {
        env.retired_references.clone_from(&retired);
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
    let f = dec.map(node, "components.istio", Some(ISTIO_KEYS))?;
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
    let argocd = f.get("argocd").and_then(|n| gitops::read_argocd(n, &f.path("argocd"), dec));
    let flow_expectations = f.get("flows").map(|n| flows::read(n, &f.path("flows"), dec)).unwrap_or_default();
    let ignored_checks = checks::read(f.get("analyzers"), &f.path("analyzers"), dec);
    let security = security::read(f.get("security"), &f.path("security"), dec);
    let access_logging = telemetry::read_access_logging(f.get("accessLogging"), &f.path("accessLogging"), dec);
    let prometheus = telemetry::read_metrics(f.get("metrics"), &f.path("metrics"), dec);

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
    Some(Config {
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
    })
}
