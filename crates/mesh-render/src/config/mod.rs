//! The playground's `config.yaml`: what mesh-render reads of it, checked and typed.
//!
//! mesh-render owns `components.istio` and is strict there (unknown keys are errors). It reads a few
//! keys of `components.knative` and `components.envoyGateway` and ignores the rest of the file,
//! which belongs to the playground's other components.

pub mod ai_serving;
pub mod canary;
pub mod decode;
pub mod flows;
pub mod gitops;
pub mod security;

use std::collections::BTreeMap;

use crate::control_plane::{ChartRepository, CHART_REPOSITORY, OCI_CHART_REPOSITORY, RETIRED_HOSTS};
use crate::diagnostics::{self, Diagnostic, Pos, Severity};
use crate::syntax::{self, Limits, Node, Value};
use crate::versions::{self, Release, Version};
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
    /// Every string of the config file that names one of Istio's retired hosts, with its key path
    /// (MR115 refuses them).
    pub retired_references: Vec<(String, String)>,
    /// `components.istio.flows.expect`: flows the user expects allowed or denied.
    pub flow_expectations: Vec<flows::FlowExpectation>,
    /// Opt-in additions to the app namespaces' authorization (`components.istio.security`).
    pub security: security::Security,
}

/// `components.istio.metadata`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtraMetadata {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// istiod's deployment settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlPlane {
    pub autoscaling: Option<Autoscaling>,
    /// Used only when autoscaling is off (the chart ignores it otherwise).
    pub replicas: u32,
    pub resources: Resources,
    pub log_level: Option<String>,
    pub gateway_api: bool,
    pub inference_extension: bool,
    /// Extra istiod environment variables, sorted by name.
    pub env: BTreeMap<String, String>,
    /// `base.validationFailurePolicy`: `Some("Fail")` renders it (1.29.2 and later); `None` leaves
    /// the chart's Ignore-then-flip behaviour.
    pub validation_failure_policy: Option<&'static str>,
    /// Whether the config set `validationFailurePolicy` itself (then a release without it is an error).
    pub validation_failure_policy_pos: Option<Pos>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Autoscaling {
    pub min: u32,
    pub max: u32,
    pub target_cpu_percent: u32,
}

/// CPU and memory requests and limits, as Kubernetes quantities.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
}

/// Mesh-wide mutual TLS mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MtlsMode {
    Strict,
    Permissive,
    Disable,
}

impl MtlsMode {
    /// A PeerAuthentication's mode; `None` for `UNSET` (inherit) and unknown spellings.
    pub fn parse(mode: &str) -> Option<Self> {
        match mode {
            "STRICT" => Some(MtlsMode::Strict),
            "PERMISSIVE" => Some(MtlsMode::Permissive),
            "DISABLE" => Some(MtlsMode::Disable),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MtlsMode::Strict => "STRICT",
            MtlsMode::Permissive => "PERMISSIVE",
            MtlsMode::Disable => "DISABLE",
        }
    }
}

/// What mesh-render needs to know of the Knative install.
#[derive(Clone, Debug, PartialEq)]
pub struct Knative {
    pub serving_namespace: String,
    pub eventing_namespace: Option<String>,
    /// `config-network` `mesh-compatibility-mode`.
    pub mesh_compatibility_mode: &'static str,
    /// Webhooks that kube-apiserver calls in plaintext, each given a port-level PERMISSIVE exception.
    pub webhooks: Vec<Webhook>,
}

/// A workload that kube-apiserver must reach without mesh mTLS.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Webhook {
    pub namespace: String,
    pub name: String,
    pub selector: BTreeMap<String, String>,
    pub port: u16,
}

/// The two Knative Gateways.
#[derive(Clone, Debug, PartialEq)]
pub struct Gateways {
    pub external: String,
    /// Service type of the external Gateway's Service (istiod creates it).
    pub external_service_type: &'static str,
    pub local: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tracing {
    /// Name of the `meshConfig.extensionProviders` entry.
    pub provider: String,
    /// The OpenTelemetry collector's Service host.
    pub service: String,
    pub port: u16,
    pub sampling_percent: f64,
}

/// Envoy Gateway as Knative's previous Gateway API controller (upstream net-gateway-api layout).
#[derive(Clone, Debug, PartialEq)]
pub struct EnvoyGateway {
    /// Still installed: its removal is the last step of the swap.
    pub installed: bool,
    /// Where `enabled` is set, for the reminder to remove it.
    pub pos: Pos,
    /// Knative's `config-gateway` entries under Envoy Gateway (what the destroy plan restores).
    pub external: gitops::PreviousGateway,
    pub local: gitops::PreviousGateway,
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
    "security",
    "flows",
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
    let loaded = read(&root, environment, &mut dec);
    let mut diags = dedup(dec.diags);
    diagnostics::sort(&mut diags);
    match loaded {
        Some(mut loaded) if !diags.iter().any(|d| d.severity == Severity::Error) => {
            loaded.warnings = diags;
            Ok(loaded)
        }
        _ => Err(LoadError { unreadable: false, diagnostics: diags.into_iter().filter(|d| d.severity == Severity::Error).collect() }),
    }
}

/// Environments re-read shared nodes, so the same problem can be found more than once.
fn dedup(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = std::collections::BTreeSet::new();
    diags.into_iter().filter(|d| seen.insert((d.pos, d.path.clone(), d.message.clone()))).collect()
}

fn read(root: &Node, environment: Option<&str>, dec: &mut Decoder) -> Option<Loaded> {
    let top = dec.map(root, "", None)?;
    let Some(components) = top.get("components") else {
        let hint = match root_keys(root).iter().find_map(|k| decode::suggest(k, &["components"])) {
            Some(_) => "did you mean `components`?".to_string(),
            None => "add a `components:` mapping with an `istio:` section (see `mesh-render example`)".to_string(),
        };
        dec.error(root.pos, "components", "the config has no `components` section", hint);
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
        dec.error(components.node.pos, "components.istio", "the config has no `components.istio` section", hint);
        return None;
    };
    let knative = components.get("knative").and_then(|n| read_knative(n, dec));
    let envoy_gateway = components.get("envoyGateway").and_then(|n| read_envoy_gateway(n, dec));

    let fields = dec.map(istio, "components.istio", Some(ISTIO_KEYS))?;
    match fields.get("enabled").map(|n| (n, dec.bool(n, &fields.path("enabled")))) {
        Some((_, Some(true))) => {}
        Some((node, Some(false))) => dec.error(
            node.pos,
            &fields.path("enabled"),
            "Istio is disabled, so there is nothing to render",
            "set `enabled: true`; mesh-render refuses to print an empty render, which Argo CD would prune everything on",
        ),
        Some((_, None)) => {}
        None => {
            dec.error(istio.pos, &fields.path("enabled"), "`enabled` is missing", "add `enabled: true` to switch the Istio component on")
        }
    }

    let base = read_istio(istio, None, knative.clone(), envoy_gateway.clone(), dec);
    let mut environments = BTreeMap::new();
    let mut env_names = Vec::new();
    if let Some(envs) = fields.get("environments") {
        if let Some(envs_fields) = dec.map(envs, &fields.path("environments"), None) {
            if let Value::Map(entries) = &envs_fields.node.value {
                for (key, overlay) in entries {
                    let name = key.as_scalar().unwrap_or_default().to_string();
                    let path = envs_fields.path(&name);
                    env_names.push(name.clone());
                    if let Some(problem) = decode::dns_label_problem(&name) {
                        dec.error(
                            key.pos,
                            &path,
                            format!("`{name}` is not a valid environment name: {problem}"),
                            "use lowercase letters, digits and `-`",
                        );
                        continue;
                    }
                    if dec.map(overlay, &path, None).is_none() {
                        continue;
                    }
                    if let Some(nested) = overlay.get("environments") {
                        dec.error(
                            nested.pos,
                            &decode::join(&path, "environments"),
                            "environments cannot be nested",
                            "move this environment up to `components.istio.environments`",
                        );
                        continue;
                    }
                    let merged = merge(istio, overlay);
                    // Every environment's errors count; only the selected one's warnings are shown.
                    let mut env_dec = Decoder::default();
                    let config = read_istio(&merged, Some(&name), knative.clone(), envoy_gateway.clone(), &mut env_dec);
                    let selected = environment == Some(name.as_str());
                    dec.diags.extend(env_dec.diags.into_iter().filter(|d| selected || d.severity == Severity::Error));
                    if let Some(config) = config {
                        environments.insert(name, config);
                    }
                }
            }
        }
    }
    if let Some(wanted) = environment {
        if !env_names.iter().any(|n| n == wanted) {
            let known: Vec<&str> = env_names.iter().map(String::as_str).collect();
            let hint = match decode::suggest(wanted, &known) {
                Some(s) => format!("did you mean `{s}`? Declared: {}", known.join(", ")),
                None if known.is_empty() => "declare it under `components.istio.environments`".to_string(),
                None => format!("declared: {}", known.join(", ")),
            };
            dec.error(istio.pos, &fields.path("environments"), format!("environment `{wanted}` is not declared"), hint);
        }
    }
    let mut base = base?;
    let retired = retired_references(root, "");
    base.retired_references.clone_from(&retired);
    for env in environments.values_mut() {
        env.retired_references.clone_from(&retired);
    }
    Some(Loaded { base, environments, warnings: Vec::new(), selected: environment.map(str::to_string), root: root.clone() })
}

/// Scalars anywhere in the document that name a retired Istio host, with their dotted key paths.
fn retired_references(node: &Node, path: &str) -> Vec<(String, String)> {
    match &node.value {
        Value::Scalar { text, .. } if RETIRED_HOSTS.iter().any(|h| text.contains(h)) => vec![(path.to_string(), text.clone())],
        Value::Seq(items) => items.iter().enumerate().flat_map(|(i, n)| retired_references(n, &format!("{path}[{i}]"))).collect(),
        Value::Map(entries) => entries
            .iter()
            .flat_map(|(k, v)| {
                let key = k.as_scalar().unwrap_or_default();
                let mut out = retired_references(k, path);
                out.extend(retired_references(v, &decode::join(path, key)));
                out
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn root_keys(root: &Node) -> Vec<String> {
    match &root.value {
        Value::Map(entries) => entries.iter().filter_map(|(k, _)| k.as_scalar().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

/// Deep merge of an environment onto the base section: mappings merge key by key, everything else
/// (scalars, lists, null) replaces. Positions stay those of the file, so problems point at the line
/// that set the value, in the base or in the environment.
pub fn merge(base: &Node, overlay: &Node) -> Node {
    match (&base.value, &overlay.value) {
        (Value::Map(base_entries), Value::Map(over_entries)) => {
            // Keys are unique per mapping (the reader refuses duplicates): index them, so that merging
            // stays linear in the number of keys.
            let over: std::collections::HashMap<&str, &Node> = over_entries.iter().filter_map(|(k, v)| Some((k.as_scalar()?, v))).collect();
            let in_base: std::collections::HashSet<&str> = base_entries.iter().filter_map(|(k, _)| k.as_scalar()).collect();
            let mut entries: Vec<(Node, Node)> = base_entries
                .iter()
                .filter(|(k, _)| k.as_scalar() != Some("environments"))
                .map(|(k, v)| match k.as_scalar().and_then(|name| over.get(name)) {
                    Some(ov) => (k.clone(), merge(v, ov)),
                    None => (k.clone(), v.clone()),
                })
                .collect();
            for (ok, ov) in over_entries {
                if !ok.as_scalar().is_some_and(|name| in_base.contains(name)) {
                    entries.push((ok.clone(), ov.clone()));
                }
            }
            Node { pos: base.pos, value: Value::Map(entries) }
        }
        _ => overlay.clone(),
    }
}

fn read_istio(
    node: &Node,
    environment: Option<&str>,
    knative: Option<Knative>,
    envoy_gateway: Option<EnvoyGateway>,
    dec: &mut Decoder,
) -> Option<Config> {
    let f = dec.map(node, "components.istio", Some(ISTIO_KEYS))?;
    let errors_before = dec.diags.iter().filter(|d| d.severity == Severity::Error).count();
    let diags_before = dec.diags.len();

    let release = match f.get("version") {
        None => versions::release(versions::DEFAULT_VERSION),
        Some(n) => {
            let path = f.path("version");
            let text = dec.string(n, &path);
            match text.as_deref().map(|t| (t, Version::parse(t))) {
                Some((_, Some(v))) => {
                    let found = versions::release(v);
                    if found.is_none() {
                        dec.error(
                            n.pos,
                            &path,
                            format!("Istio {v} is not in mesh-render's version table"),
                            format!("supported: {}", versions::supported_summary()),
                        );
                    }
                    found
                }
                Some((t, None)) => {
                    dec.error(
                        n.pos,
                        &path,
                        format!("`{t}` is not an Istio version"),
                        format!("write MAJOR.MINOR.PATCH in quotes, e.g. \"1.29.6\"; supported: {}", versions::supported_summary()),
                    );
                    None
                }
                None => None,
            }
        }
    };
    let namespace = f.get("namespace").and_then(|n| dec.dns_label(n, &f.path("namespace"))).unwrap_or_else(|| "istio-system".into());
    if let Some(n) = f.get("mode") {
        if dec.one_of(n, &f.path("mode"), &["sidecar", "ambient"]) == Some("ambient") {
            dec.error(
                n.pos,
                &f.path("mode"),
                "ambient mode is not supported: Knative is not yet compatible with Istio's ambient data plane",
                "use `mode: sidecar` (the default)",
            );
        }
    }
    let revision = f.get("revision").and_then(|n| dec.dns_label(n, &f.path("revision")));
    let control_plane = read_control_plane(f.get("controlPlane"), &f.path("controlPlane"), dec);
    let revisions = canary::read(f.get("controlPlane"), &f.path("controlPlane"), dec);
    let release = match &revisions {
        None => release,
        Some(rs) => {
            let newest = rs.newest();
            if let (Some(n), Some(rel)) = (f.get("version"), release) {
                if rel.version != newest.version {
                    dec.error(
                        n.pos,
                        &f.path("version"),
                        format!("`version` is {} but the newest revision is {}", rel.version, newest.version),
                        format!(
                            "with `controlPlane.revisions`, `version` is the base chart's (the CRDs), which must come from the newest revision: set it to \"{}\" or remove it",
                            newest.version
                        ),
                    );
                }
            }
            if let Some(n) = f.get("revision") {
                dec.error(
                    n.pos,
                    &f.path("revision"),
                    "`revision` and `controlPlane.revisions` cannot both be set",
                    "remove `revision`: list it under `controlPlane.revisions` and label namespaces with a tag",
                );
            }
            Some(newest)
        }
    };
    let proxy_resources = match f.get("proxy") {
        None => default_proxy_resources(),
        Some(n) => {
            let path = f.path("proxy");
            let pf = dec.map(n, &path, Some(&["resources"]));
            pf.and_then(|pf| pf.get("resources").map(|r| read_resources(r, &pf.path("resources"), default_proxy_resources(), dec)))
                .unwrap_or_else(default_proxy_resources)
        }
    };
    let mtls = match f.get("mtls") {
        None => MtlsMode::Strict,
        Some(n) => {
            let path = f.path("mtls");
            let mode = dec
                .map(n, &path, Some(&["mode"]))
                .and_then(|mf| mf.get("mode").map(|m| (m, dec.one_of(m, &mf.path("mode"), &["STRICT", "PERMISSIVE", "DISABLE"]))));
            match mode {
                Some((m, Some(value))) => {
                    let mode = MtlsMode::parse(value).unwrap_or(MtlsMode::Strict);
                    if mode != MtlsMode::Strict {
                        dec.warning(
                            m.pos,
                            &decode::join(&path, "mode"),
                            format!(
                                "mTLS is {value}: workloads accept plaintext traffic that no AuthorizationPolicy can attribute to a caller"
                            ),
                            "use STRICT (the default) once every workload that calls into the mesh has a sidecar",
                        );
                    }
                    mode
                }
                _ => MtlsMode::Strict,
            }
        }
    };
    let apps = read_namespaces(f.get("namespaces"), &f.path("namespaces"), &namespace, knative.as_ref(), dec);
    let gateways = read_gateways(f.get("gateways"), &f.path("gateways"), dec);
    let knative = match (knative, f.get("knative")) {
        (Some(mut k), Some(n)) => {
            read_knative_settings(n, &f.path("knative"), &mut k, dec);
            Some(k)
        }
        (None, Some(n)) => {
            // Still checked, so that a typo does not wait until Knative is switched on.
            let mut unused = Knative {
                serving_namespace: String::new(),
                eventing_namespace: None,
                mesh_compatibility_mode: "auto",
                webhooks: Vec::new(),
            };
            read_knative_settings(n, &f.path("knative"), &mut unused, dec);
            dec.warning(
                n.pos,
                &f.path("knative"),
                "these settings are ignored: `components.knative` is off or missing",
                "remove them, or switch Knative on",
            );
            None
        }
        (k, None) => k,
    };
    let knative = knative.map(|k| permissive_mesh_compatibility(k, mtls, f.get("knative"), &f.path("knative"), dec));
    let tracing = read_tracing(f.get("tracing"), &f.path("tracing"), dec);
    let charts = f.get("chartRepository").and_then(|n| read_chart_repository(n, &f.path("chartRepository"), dec)).unwrap_or_default();
    let metadata = read_metadata(f.get("metadata"), &f.path("metadata"), dec);
    let ai_serving = f.get("aiServing").and_then(|n| ai_serving::read(n, &f.path("aiServing"), &namespace, dec));
    let argocd = f.get("argocd").and_then(|n| gitops::read_argocd(n, &f.path("argocd"), dec));
    let flow_expectations = f.get("flows").map(|n| flows::read(n, &f.path("flows"), dec)).unwrap_or_default();
    let security = security::read(f.get("security"), &f.path("security"), dec);
    let access_logging = read_access_logging(f.get("accessLogging"), &f.path("accessLogging"), dec);
    let prometheus = match f.get("metrics") {
        None => true,
        Some(n) => {
            let path = f.path("metrics");
            dec.map(n, &path, Some(&["prometheus"]))
                .and_then(|mf| mf.get("prometheus").and_then(|p| dec.bool(p, &mf.path("prometheus"))))
                .unwrap_or(true)
        }
    };
    if let (Some(eg), None) = (&envoy_gateway, environment) {
        if eg.installed && knative.is_some() {
            dec.warning(
                eg.pos,
                "components.envoyGateway.enabled",
                "Envoy Gateway is still installed next to Istio",
                "remove it once the Istio-backed Knative Gateways report Programmed, then set `components.envoyGateway.enabled: false`",
            );
        }
    }

    // A feature the release lacks is an error when asked for, and silently off when defaulted.
    let mut control_plane = control_plane;
    if let (Some(cp), Some(ai)) = (&mut control_plane, &ai_serving) {
        let explicit = f.get("controlPlane").and_then(|c| c.get("inferenceExtension"));
        match explicit {
            Some(n) if !cp.inference_extension => dec.error(
                n.pos,
                "components.istio.controlPlane.inferenceExtension",
                format!("{} inference pool(s) are declared, but istiod's Inference Extension support is switched off", ai.pools.len()),
                "remove `inferenceExtension: false` (pools switch it on), or remove `aiServing`",
            ),
            _ => cp.inference_extension = true,
        }
    }
    if let (Some(cp), Some(rel)) = (&mut control_plane, release) {
        if !rel.validation_failure_policy && cp.validation_failure_policy.is_some() {
            if let Some(pos) = cp.validation_failure_policy_pos {
                dec.error(
                    pos,
                    "components.istio.controlPlane.validationFailurePolicy",
                    format!("Istio {} has no `base.validationFailurePolicy` (it arrived in 1.29.2)", rel.version),
                    "use Istio 1.29.2 or later, or remove the key (GitOps tools then need ignoreDifferences on the webhook's failurePolicy)",
                );
            }
            cp.validation_failure_policy = None;
        }
    }
    if let (Some(cp), Some(_)) = (&control_plane, &knative) {
        if !cp.gateway_api {
            let n = f.get("controlPlane").and_then(|c| c.get("gatewayAPI")).unwrap_or(f.node);
            dec.error(
                n.pos,
                "components.istio.controlPlane.gatewayAPI",
                "Knative's net-gateway-api needs Istio's Gateway API support, which is switched off",
                "set `gatewayAPI: true`, or switch Knative off",
            );
        }
    }
    if let (MtlsMode::Disable, Some(apps_list)) = (mtls, &apps) {
        if !apps_list.is_empty() {
            let n = f.get("mtls").unwrap_or(f.node);
            dec.error(
                n.pos,
                "components.istio.mtls.mode",
                "with mTLS DISABLE, the app namespaces' ALLOW policies cannot see which namespace a caller is in, so they would deny every call",
                "use PERMISSIVE while migrating, or STRICT",
            );
        }
    }

    if let Some(env) = environment {
        for d in dec.diags.iter_mut().skip(diags_before).filter(|d| d.severity == Severity::Warning) {
            d.message.push_str(&format!(" (in environment `{env}`)"));
        }
    }
    let errors_after = dec.diags.iter().filter(|d| d.severity == Severity::Error).count();
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
        retired_references: Vec::new(),
        flow_expectations,
        security,
    })
}

/// `chartRepository`: an `https://` chart repository or an `oci://` registry path (a private
/// mirror, or Istio's own: [`CHART_REPOSITORY`], [`OCI_CHART_REPOSITORY`]).
fn read_chart_repository(node: &Node, path: &str, dec: &mut Decoder) -> Option<ChartRepository> {
    let text = dec.string(node, path)?;
    let url = text.trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("oci://")).or_else(|| url.strip_prefix("http://"));
    match rest {
        // Plans put the URL in shell commands unquoted: only characters that need no quoting.
        Some(r) if !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || "-._~:/@%+".contains(c)) => {
            Some(ChartRepository { url: url.to_string() })
        }
        _ => {
            dec.error(
                node.pos,
                path,
                format!("`{text}` is not a chart repository URL"),
                format!("write an `https://` chart repository or an `oci://` registry path, e.g. `{CHART_REPOSITORY}` (the default) or `{OCI_CHART_REPOSITORY}`"),
            );
            None
        }
    }
}

/// Keys mesh-render sets itself; a config may not override them.
const RESERVED_LABELS: &[&str] = &["app.kubernetes.io/managed-by", "app.kubernetes.io/part-of", "app.kubernetes.io/component"];

fn read_metadata(node: Option<&Node>, path: &str, dec: &mut Decoder) -> ExtraMetadata {
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
                dec.error(k.pos, &vpath, format!("`{name}` is set by mesh-render"), "choose another key");
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

/// Upstream `global.proxy.resources`.
fn default_proxy_resources() -> Resources {
    Resources {
        requests: [("cpu", "100m"), ("memory", "128Mi")].map(|(k, v)| (k.to_string(), v.to_string())).into(),
        limits: [("cpu", "2000m"), ("memory", "1024Mi")].map(|(k, v)| (k.to_string(), v.to_string())).into(),
    }
}

/// Upstream pilot `resources` (no limits).
fn default_pilot_resources() -> Resources {
    Resources {
        requests: [("cpu", "500m"), ("memory", "2048Mi")].map(|(k, v)| (k.to_string(), v.to_string())).into(),
        limits: BTreeMap::new(),
    }
}

/// Resources given in the config, over `defaults`: each quantity not given keeps its default, so
/// `requests: {cpu: 10m}` leaves the memory request and the limits as they were.
fn read_resources(node: &Node, path: &str, defaults: Resources, dec: &mut Decoder) -> Resources {
    let mut out = defaults;
    let Some(f) = dec.map(node, path, Some(&["requests", "limits"])) else { return out };
    for (key, target) in [("requests", &mut out.requests), ("limits", &mut out.limits)] {
        let Some(n) = f.get(key) else { continue };
        let kpath = f.path(key);
        let Some(rf) = dec.map(n, &kpath, Some(&["cpu", "memory"])) else { continue };
        for res in ["cpu", "memory"] {
            if let Some(q) = rf.get(res).and_then(|q| dec.quantity(q, &rf.path(res))) {
                target.insert(res.to_string(), q);
            }
        }
    }
    out
}

const CONTROL_PLANE_KEYS: &[&str] = &[
    "replicas",
    "autoscaling",
    "resources",
    "logLevel",
    "gatewayAPI",
    "inferenceExtension",
    "validationFailurePolicy",
    "env",
    "revisions",
    "tags",
    "stableTag",
];

fn read_control_plane(node: Option<&Node>, path: &str, dec: &mut Decoder) -> Option<ControlPlane> {
    let mut cp = ControlPlane {
        autoscaling: Some(Autoscaling { min: 1, max: 5, target_cpu_percent: 80 }),
        replicas: 1,
        resources: default_pilot_resources(),
        log_level: None,
        gateway_api: true,
        inference_extension: false,
        env: BTreeMap::new(),
        validation_failure_policy: Some("Fail"),
        validation_failure_policy_pos: None,
    };
    let Some(node) = node else { return Some(cp) };
    let f = dec.map(node, path, Some(CONTROL_PLANE_KEYS))?;
    if let Some(n) = f.get("replicas") {
        cp.replicas = dec.int(n, &f.path("replicas"), 1, 100).map_or(cp.replicas, |r| r as u32);
    }
    if let Some(n) = f.get("autoscaling") {
        let apath = f.path("autoscaling");
        let af = dec.map(n, &apath, Some(&["enabled", "min", "max", "targetCPUUtilization"]))?;
        let enabled = af.get("enabled").and_then(|e| dec.bool(e, &af.path("enabled"))).unwrap_or(true);
        let min = af.get("min").and_then(|e| dec.int(e, &af.path("min"), 1, 100)).unwrap_or(1) as u32;
        let max = af.get("max").and_then(|e| dec.int(e, &af.path("max"), 1, 100)).unwrap_or(5) as u32;
        let cpu = af.get("targetCPUUtilization").and_then(|e| dec.int(e, &af.path("targetCPUUtilization"), 1, 100)).unwrap_or(80) as u32;
        if min > max {
            dec.error(
                af.get("min").map_or(n.pos, |m| m.pos),
                &af.path("min"),
                format!("min ({min}) is greater than max ({max})"),
                "make `min` at most `max`",
            );
        }
        cp.autoscaling = enabled.then_some(Autoscaling { min, max, target_cpu_percent: cpu });
        if enabled && f.get("replicas").is_some() {
            dec.warning(
                f.get("replicas").map_or(n.pos, |r| r.pos),
                &f.path("replicas"),
                "`replicas` has no effect while autoscaling is enabled",
                "set `autoscaling.enabled: false` to use a fixed replica count, or remove `replicas`",
            );
        }
    }
    if let Some(n) = f.get("resources") {
        cp.resources = read_resources(n, &f.path("resources"), default_pilot_resources(), dec);
    }
    if let Some(n) = f.get("logLevel") {
        let lpath = f.path("logLevel");
        let level = dec.string(n, &lpath);
        let levels = ["none", "error", "warn", "info", "debug"];
        let bad = level.as_deref().unwrap_or("default:info").split(',').find(|part| {
            let lvl = part.rsplit(':').next().unwrap_or_default();
            !part.contains(':') || !levels.contains(&lvl)
        });
        if let Some(bad) = bad {
            dec.error(
                n.pos,
                &lpath,
                format!("`{bad}` is not a `scope:level` pair"),
                format!("write e.g. `default:info` or `default:info,ads:debug`; levels: {}", levels.join(", ")),
            );
        } else {
            cp.log_level = level;
        }
    }
    if let Some(n) = f.get("validationFailurePolicy") {
        if let Some(policy) = dec.one_of(n, &f.path("validationFailurePolicy"), &["Fail", "Ignore"]) {
            cp.validation_failure_policy = (policy == "Fail").then_some("Fail");
            cp.validation_failure_policy_pos = Some(n.pos);
        }
    }
    if let Some(n) = f.get("gatewayAPI") {
        cp.gateway_api = dec.bool(n, &f.path("gatewayAPI")).unwrap_or(cp.gateway_api);
    }
    if let Some(n) = f.get("inferenceExtension") {
        cp.inference_extension = dec.bool(n, &f.path("inferenceExtension")).unwrap_or(cp.inference_extension);
    }
    if let Some(n) = f.get("env") {
        let epath = f.path("env");
        let ef = dec.map(n, &epath, None)?;
        if let Value::Map(entries) = &ef.node.value {
            for (k, v) in entries {
                let name = k.as_scalar().unwrap_or_default();
                let vpath = ef.path(name);
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') || name.as_bytes()[0].is_ascii_digit() {
                    dec.error(
                        k.pos,
                        &vpath,
                        format!("`{name}` is not an environment variable name"),
                        "use letters, digits and `_`, not starting with a digit",
                    );
                    continue;
                }
                if managed_env(name) {
                    dec.error(
                        k.pos,
                        &vpath,
                        format!("`{name}` is set by mesh-render from another key"),
                        "use `controlPlane.gatewayAPI` or `controlPlane.inferenceExtension` instead",
                    );
                    continue;
                }
                let value = match &v.value {
                    Value::Scalar { text, .. } => text.clone(),
                    Value::Null => String::new(),
                    _ => {
                        dec.error(
                            v.pos,
                            &vpath,
                            format!("expected a string, found {}", v.kind_name()),
                            "environment variable values are strings",
                        );
                        continue;
                    }
                };
                cp.env.insert(name.to_string(), value);
            }
        }
    }
    Some(cp)
}

/// Env vars that mesh-render derives from typed switches; setting them twice would be ambiguous.
pub fn managed_env(name: &str) -> bool {
    matches!(name, "PILOT_ENABLE_GATEWAY_API" | "ENABLE_GATEWAY_API_INFERENCE_EXTENSION")
}

fn read_namespaces(node: Option<&Node>, path: &str, root_ns: &str, knative: Option<&Knative>, dec: &mut Decoder) -> Option<Vec<String>> {
    let Some(node) = node else { return Some(Vec::new()) };
    let f = dec.map(node, path, Some(&["apps"]))?;
    let Some(apps) = f.get("apps") else { return Some(Vec::new()) };
    let apath = f.path("apps");
    let items = dec.seq(apps, &apath)?;
    let mut seen: BTreeMap<String, Pos> = BTreeMap::new();
    let mut reserved = vec![root_ns.to_string(), "kube-system".into(), "kube-public".into(), "kube-node-lease".into()];
    if let Some(k) = knative {
        reserved.push(k.serving_namespace.clone());
        reserved.extend(k.eventing_namespace.clone());
    }
    for (i, item) in items.iter().enumerate() {
        let ipath = format!("{apath}[{i}]");
        let Some(name) = dec.dns_label(item, &ipath) else { continue };
        if reserved.contains(&name) {
            dec.error(
                item.pos,
                &ipath,
                format!("`{name}` is a system namespace, not an app namespace"),
                "list only the namespaces where your Knative Services and event consumers run",
            );
        } else if let Some(first) = seen.get(&name) {
            dec.error(
                item.pos,
                &ipath,
                format!("`{name}` is listed twice (first at line {}, column {})", first.line, first.column),
                "remove the duplicate",
            );
        } else {
            seen.insert(name, item.pos);
        }
    }
    Some(seen.into_keys().collect())
}

fn read_gateways(node: Option<&Node>, path: &str, dec: &mut Decoder) -> Option<Gateways> {
    let mut gw =
        Gateways { external: "knative-gateway".into(), external_service_type: "LoadBalancer", local: "knative-local-gateway".into() };
    let Some(node) = node else { return Some(gw) };
    let f = dec.map(node, path, Some(&["external", "local"]))?;
    if let Some(n) = f.get("external") {
        let ef = dec.map(n, &f.path("external"), Some(&["name", "serviceType"]))?;
        if let Some(name) = ef.get("name") {
            gw.external = dec.dns_label(name, &ef.path("name")).unwrap_or(gw.external);
        }
        if let Some(t) = ef.get("serviceType") {
            gw.external_service_type =
                dec.one_of(t, &ef.path("serviceType"), &["LoadBalancer", "NodePort", "ClusterIP"]).unwrap_or(gw.external_service_type);
        }
    }
    if let Some(n) = f.get("local") {
        let lf = dec.map(n, &f.path("local"), Some(&["name"]))?;
        if let Some(name) = lf.get("name") {
            gw.local = dec.dns_label(name, &lf.path("name")).unwrap_or(gw.local);
        }
    }
    if gw.external == gw.local {
        dec.error(node.pos, path, format!("the external and local Gateways are both named `{}`", gw.local), "give them different names");
        return None;
    }
    Some(gw)
}

/// `None` on error; `Some(None)` when tracing is off.
fn read_tracing(node: Option<&Node>, path: &str, dec: &mut Decoder) -> Option<Option<Tracing>> {
    let Some(node) = node else { return Some(None) };
    let f = dec.map(node, path, Some(&["enabled", "provider", "service", "port", "samplingPercent"]))?;
    let enabled = match f.get("enabled") {
        Some(n) => dec.bool(n, &f.path("enabled")).unwrap_or(true),
        None => true,
    };
    // A bad field is reported and replaced by its default so that the rest is still checked.
    let provider = f.get("provider").and_then(|n| dec.dns_label(n, &f.path("provider"))).unwrap_or_else(|| "otel-tracing".into());
    let port = f.get("port").and_then(|n| dec.int(n, &f.path("port"), 1, 65535)).map_or(4317, |p| p as u16);
    let sampling_percent = f.get("samplingPercent").and_then(|n| dec.number(n, &f.path("samplingPercent"), 0.0, 100.0)).unwrap_or(1.0);
    let service = match f.get("service") {
        Some(n) => {
            let s = dec.string(n, &f.path("service"))?;
            if s.is_empty() || s.contains(['/', ':', ' ']) {
                dec.error(
                    n.pos,
                    &f.path("service"),
                    format!("`{s}` is not a Service host name"),
                    "write the collector's host, e.g. `opentelemetry-collector.observability.svc.cluster.local`, and the port under `port`",
                );
                return None;
            }
            s
        }
        None if enabled => {
            dec.error(
                node.pos,
                &f.path("service"),
                "tracing is enabled but no collector `service` is given",
                "set `service` to the OpenTelemetry collector's host, or `enabled: false`",
            );
            return None;
        }
        None => String::new(),
    };
    Some(enabled.then_some(Tracing { provider, service, port, sampling_percent }))
}

fn read_access_logging(node: Option<&Node>, path: &str, dec: &mut Decoder) -> Option<Option<String>> {
    let Some(node) = node else { return Some(Some("envoy".into())) };
    let f = dec.map(node, path, Some(&["enabled", "provider"]))?;
    let enabled = match f.get("enabled") {
        Some(n) => dec.bool(n, &f.path("enabled")).unwrap_or(true),
        None => true,
    };
    let provider = f.get("provider").and_then(|n| dec.dns_label(n, &f.path("provider"))).unwrap_or_else(|| "envoy".into());
    Some(enabled.then_some(provider))
}

/// Reads `components.knative`, which belongs to the Knative component: only the keys used are checked.
fn read_knative(node: &Node, dec: &mut Decoder) -> Option<Knative> {
    let f = dec.map(node, "components.knative", None)?;
    let enabled = match f.get("enabled") {
        Some(n) => dec.bool(n, &f.path("enabled"))?,
        None => true,
    };
    if !enabled {
        return None;
    }
    let mut serving_namespace = "knative-serving".to_string();
    if let Some(s) = f.get("serving") {
        let sf = dec.map(s, &f.path("serving"), None)?;
        if let Some(ns) = sf.get("namespace") {
            serving_namespace = dec.dns_label(ns, &sf.path("namespace"))?;
        }
    }
    let mut eventing_namespace = None;
    if let Some(e) = f.get("eventing") {
        let ef = dec.map(e, &f.path("eventing"), None)?;
        let on = match ef.get("enabled") {
            Some(n) => dec.bool(n, &ef.path("enabled"))?,
            None => true,
        };
        if on {
            eventing_namespace = Some(match ef.get("namespace") {
                Some(ns) => dec.dns_label(ns, &ef.path("namespace"))?,
                None => "knative-eventing".to_string(),
            });
        }
    }
    let webhooks = default_webhooks(&serving_namespace, eventing_namespace.as_deref());
    Some(Knative { serving_namespace, eventing_namespace, mesh_compatibility_mode: "auto", webhooks })
}

/// Knative's webhooks, which kube-apiserver calls on 8443 without a client certificate.
/// Serving's labels are upstream's; Eventing's follow its deployment names (derived, overridable).
pub fn default_webhooks(serving: &str, eventing: Option<&str>) -> Vec<Webhook> {
    let hook = |ns: &str, name: &str, key: &str, value: &str| Webhook {
        namespace: ns.to_string(),
        name: name.to_string(),
        selector: [(key.to_string(), value.to_string())].into(),
        port: 8443,
    };
    let mut hooks =
        vec![hook(serving, "webhook", "app", "webhook"), hook(serving, "net-gateway-api-webhook", "app", "net-gateway-api-webhook")];
    if let Some(ev) = eventing {
        hooks.push(hook(ev, "eventing-webhook", "app", "eventing-webhook"));
        hooks.push(hook(ev, "imc-controller", "app.kubernetes.io/component", "imc-controller"));
        hooks.push(hook(ev, "kafka-webhook-eventing", "app", "kafka-webhook-eventing"));
    }
    hooks.sort();
    hooks
}

/// Under PERMISSIVE, the activator's plaintext probe of a revision pod's IP is accepted by the pod's
/// sidecar and then denied by the app namespace's ALLOW policy (403: plaintext has no source
/// namespace). With `mesh-compatibility-mode: auto` the activator takes only 502 and 503 for "mesh
/// on" (knative-v1.23.0 `vendor/knative.dev/networking/pkg/http/error.go`,
/// `IsPotentialMeshErrorResponse`), so a 403 makes it keep probing pod IPs and never fall back to the
/// revision's ClusterIP (`pkg/activator/net/revision_backends.go`, `probePodIPs`): requests through the
/// activator fail. Under STRICT the probe's connection is reset, which counts as "mesh on". So under
/// PERMISSIVE the default becomes `enabled`, and an explicit `auto` or `disabled` gets a warning.
fn permissive_mesh_compatibility(mut k: Knative, mtls: MtlsMode, node: Option<&Node>, path: &str, dec: &mut Decoder) -> Knative {
    if mtls != MtlsMode::Permissive {
        return k;
    }
    match node.and_then(|n| n.get("meshCompatibilityMode")) {
        None => k.mesh_compatibility_mode = "enabled",
        Some(n) if k.mesh_compatibility_mode != "enabled" => dec.warning(
            n.pos,
            &decode::join(path, "meshCompatibilityMode"),
            format!(
                "with mTLS PERMISSIVE and `{}`, the activator's plaintext probes of revision pods get 403 from their policies and it never falls back to the ClusterIP: requests through the activator fail",
                k.mesh_compatibility_mode
            ),
            "remove the key (mesh-render then sets `enabled` under PERMISSIVE) or set `enabled`",
        ),
        Some(_) => {}
    }
    k
}

/// `components.istio.knative`: how the mesh meets Knative.
fn read_knative_settings(node: &Node, path: &str, k: &mut Knative, dec: &mut Decoder) {
    let Some(f) = dec.map(node, path, Some(&["meshCompatibilityMode", "webhooks"])) else { return };
    if let Some(n) = f.get("meshCompatibilityMode") {
        if let Some(mode) = dec.one_of(n, &f.path("meshCompatibilityMode"), &["auto", "enabled", "disabled"]) {
            k.mesh_compatibility_mode = mode;
        }
    }
    if let Some(n) = f.get("webhooks") {
        let wpath = f.path("webhooks");
        let Some(items) = dec.seq(n, &wpath) else { return };
        let mut hooks = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ipath = format!("{wpath}[{i}]");
            let Some(wf) = dec.map(item, &ipath, Some(&["namespace", "name", "selector", "port"])) else { continue };
            let (Some(ns), Some(name), Some(sel)) = (wf.get("namespace"), wf.get("name"), wf.get("selector")) else {
                dec.error(
                    item.pos,
                    &ipath,
                    "a webhook needs `namespace`, `name` and `selector`",
                    "e.g. `{namespace: knative-serving, name: webhook, selector: {app: webhook}}`",
                );
                continue;
            };
            let namespace = dec.dns_label(ns, &wf.path("namespace"));
            let name = dec.dns_label(name, &wf.path("name"));
            let mut selector = BTreeMap::new();
            if let Some(sf) = dec.map(sel, &wf.path("selector"), None) {
                if let Value::Map(entries) = &sf.node.value {
                    for (sk, sv) in entries {
                        let key = sk.as_scalar().unwrap_or_default().to_string();
                        if let Some(v) = dec.string(sv, &sf.path(&key)) {
                            selector.insert(key, v);
                        }
                    }
                }
            }
            if selector.is_empty() {
                dec.error(
                    sel.pos,
                    &wf.path("selector"),
                    "the selector is empty",
                    "a port-level exception needs a pod selector (Istio refuses portLevelMtls without one)",
                );
                continue;
            }
            let port = wf.get("port").map_or(Some(8443), |p| dec.int(p, &wf.path("port"), 1, 65535));
            if let (Some(namespace), Some(name), Some(port)) = (namespace, name, port) {
                hooks.push(Webhook { namespace, name, selector, port: port as u16 });
            }
        }
        hooks.sort();
        k.webhooks = hooks;
    }
}

fn read_envoy_gateway(node: &Node, dec: &mut Decoder) -> Option<EnvoyGateway> {
    gitops::read_envoy_gateway(node, dec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_base_order_overrides_deeply_and_appends_new_keys() {
        let base = syntax::parse("a: {x: 1, y: 2}\nl: [1, 2]\nenvironments: {e: {}}\nb: 3\n", Limits::DEFAULT).unwrap();
        let over = syntax::parse("b: 4\na: {y: 5, z: 6}\nl: [9]\nc: 7\n", Limits::DEFAULT).unwrap();
        let merged = merge(&base, &over);
        assert_eq!(merged.to_json(), serde_json::json!({"a": {"x": 1, "y": 5, "z": 6}, "l": [9], "b": 4, "c": 7}));
        let keys: Vec<&str> = match &merged.value {
            Value::Map(entries) => entries.iter().filter_map(|(k, _)| k.as_scalar()).collect(),
            _ => Vec::new(),
        };
        assert_eq!(keys, ["a", "l", "b", "c"]);
    }
}
