//! Command-line flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Examples:
  mesh-render                                  print every object of ./config.yaml as YAML
  mesh-render render --out deployment/rendered write the rendered tree
  mesh-render render --out deployment/rendered --check
                                               exit 1 if the committed tree is stale
  mesh-render --env prod render -o json        the prod environment as a JSON List
  mesh-render --cluster east render            one cluster of a multi-cluster mesh
  mesh-render check --config config.yaml       report every config problem

Exit status: 0 success, 1 problems found by a check, 2 unreadable or invalid input, or an I/O error.";

/// Renders the Istio mesh of the Knative playground from config.yaml.
#[derive(Parser, Debug)]
#[command(name = "mesh-render", version, about, after_help = AFTER_HELP, args_conflicts_with_subcommands = false)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// The config file. There is no fallback: a missing file is an error.
    #[arg(long, global = true, value_name = "PATH", default_value = "config.yaml")]
    pub config: PathBuf,
    /// Environment from `components.istio.environments` to render.
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// Cluster from `components.istio.multiCluster.clusters` to render, check or plan.
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print a plan as a POSIX shell script: the ordered kubectl/helm steps to apply, verify or destroy the mesh (or join a multi-cluster mesh's clusters).
    #[command(after_help = "\
Examples:
  mesh-render plan apply | sh        install (after `mesh-render render --out deployment/rendered`)
  mesh-render plan verify | sh       check the live mesh
  mesh-render plan destroy > destroy.sh
  mesh-render plan join | sh         multi-cluster mesh installed by Argo CD: the remote secrets only")]
    Plan(crate::plan::PlanArgs),
    /// Render every object (the default command).
    #[command(after_help = "\
Examples:
  mesh-render render > rendered.yaml
  mesh-render render -o json | jq '.items[].kind'
  mesh-render render --out deployment/rendered
  mesh-render render --out deployment/rendered --check
  mesh-render render --out deployment/rendered --expand-charts --charts ../charts/istio-{version}")]
    Render(RenderArgs),
    /// Check the config, or a rendered tree or stream, and print every problem (exit 0 clean, 1 problems, 2 unreadable).
    #[command(after_help = "\
Examples:
  mesh-render check
  mesh-render check --config golden/minimal/config.yaml --env prod
  mesh-render check --rendered deployment/rendered
  kustomize build overlays/prod | mesh-render check --rendered - --istio-version 1.29.6")]
    Check(CheckArgs),
    /// Print a documented example config.
    #[command(after_help = "Example:\n  mesh-render example > config.yaml")]
    Example,
    /// List the upgrade notes that apply between the configured Istio release and VERSION, and diff the render.
    #[command(after_help = "\
Examples:
  mesh-render upgrade --to 1.30.4
  mesh-render upgrade --to 1.30.4 --format json
  mesh-render --env shared upgrade --to 1.29.8

Exit status: 0 report printed, 2 unreadable config or a target that is unknown, equal or older.")]
    Upgrade(crate::upgrade_cmd::UpgradeArgs),
    /// Write the generated docs (architecture, AI serving, upgrade notes) for the config.
    #[command(after_help = "\
Examples:
  mesh-render docs --out docs
  mesh-render docs --out docs --check   exit 1 if docs/ is stale")]
    Docs(crate::docs_cmd::DocsArgs),
    /// List the traffic flows the mesh needs or must refuse, with the verdict the rendered policies give.
    #[command(after_help = "\
Examples:
  mesh-render flows
  mesh-render flows --format json | jq '.[] | select(.verdict == \"deny\")'
  mesh-render flows --format mermaid > flows.mmd")]
    Flows(crate::flows_cmd::FlowsArgs),
    /// Explain a check code (`mesh-render explain MR104`), or list every check.
    #[command(after_help = "Examples:\n  mesh-render explain MR104\n  mesh-render explain --list")]
    Explain(ExplainArgs),
}

#[derive(Args, Debug, Default)]
pub struct RenderArgs {
    /// Write the rendered tree to DIR (replaced atomically) instead of printing a stream.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// With --out: write nothing, exit 1 if DIR differs from a fresh render.
    #[arg(long, requires = "out")]
    pub check: bool,
    /// With --out: also run `helm template` on the wrapper chart and write every control-plane object
    /// under `DIR/expanded/<chart>/` (needs Helm 3.17+ or 4).
    #[arg(long, requires = "out")]
    pub expand_charts: bool,
    /// With --expand-charts: a folder holding unpacked `base/` and `istiod/` charts (`{version}` is
    /// replaced by the Istio version). Without it, `helm dependency build` fetches them.
    #[arg(long, value_name = "DIR", requires = "expand_charts")]
    pub charts: Option<String>,
    /// With --expand-charts: the Helm binary [default: $MESH_RENDER_HELM, else `helm` on PATH].
    #[arg(long, value_name = "PATH", requires = "expand_charts")]
    pub helm: Option<std::path::PathBuf>,
    /// Format of the stream printed to stdout.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Yaml, conflicts_with = "out")]
    pub format: Format,
    /// Leave out the findings of this check or config warning (repeatable);
    /// `components.istio.analyzers.ignore` in the config does the same for every run.
    #[arg(long, value_name = "CODE", value_parser = check_code)]
    pub ignore: Vec<&'static str>,
    /// Print one part of a cluster's objects: `trust` (its intermediate CA, which istiod needs at
    /// start, and under Argo CD the PostDelete cleanup of its Secret), `mesh` (everything else),
    /// `applications` (its Argo CD Applications) or `eastwest-gate` (the east-west gateway
    /// Application's PreSync gate).
    #[arg(long, value_enum, conflicts_with = "out")]
    pub part: Option<Part>,
    /// Print only the Argo CD PreDelete gate of istiod revision REV (what a revision's Application
    /// asks the plugin for with its `revisionGate` parameter); REV need not be listed in the config.
    #[arg(long, value_name = "REV", conflicts_with = "out")]
    pub revision_gate: Option<String>,
}

/// A code of the registry, as it spells it (`mr113` gives `MR113`): an analyzer check or a config
/// warning. A config error cannot be ignored: the config is not read past it.
fn check_code(code: &str) -> Result<&'static str, String> {
    let rule =
        mesh_render::check::rule(code).ok_or_else(|| format!("`{code}` is not a check code; `mesh-render explain --list` lists them"))?;
    if mesh_render::check::is_config_error(rule) {
        return Err(format!("{} is a config error ({}); it stops the read and cannot be ignored", rule.code, rule.summary));
    }
    Ok(rule.code)
}

/// A part of a cluster's render (`render --part`, the plugin's `part` parameter).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The intermediate CA of a multi-cluster mesh (`manifests/01-trust.yaml`).
    Trust,
    /// Every object of the stream but the trust.
    Mesh,
    /// The Argo CD Applications (`argocd/applications.yaml`).
    Applications,
    /// Under Argo CD, the east-west gateway Application's PreSync gate (`argocd-hooks/eastwest-gate.yaml`).
    #[value(name = "eastwest-gate")]
    EastWestGate,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// A multi-document YAML stream.
    #[default]
    Yaml,
    /// A JSON `List`.
    Json,
}

#[derive(Args, Debug, Default)]
pub struct ExplainArgs {
    /// A check code such as MR104.
    #[arg(required_unless_present = "list")]
    pub code: Option<String>,
    /// List every check: code, severity, summary.
    #[arg(long, conflicts_with = "code")]
    pub list: bool,
}

/// How `check` prints its findings.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReportFormat {
    /// Lines with the config position, for people.
    #[default]
    Human,
    /// A JSON array, for machines.
    Json,
    /// SARIF 2.1.0, for code-scanning UIs.
    Sarif,
}

#[derive(Args, Debug, Default)]
pub struct CheckArgs {
    /// Output format of the findings.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub strict: bool,
    /// Leave out the findings of this check or config warning (repeatable);
    /// `components.istio.analyzers.ignore` in the config does the same for every run.
    #[arg(long, value_name = "CODE", value_parser = check_code)]
    pub ignore: Vec<&'static str>,
    /// Validate rendered objects instead of the config: a rendered tree (its manifests/), a YAML
    /// file, or `-` for stdin. Schemas (with CEL rules) are bundled in the binary.
    #[arg(long, value_name = "PATH")]
    pub rendered: Option<PathBuf>,
    /// Istio release whose CRDs to validate against (default: the tree's helm/Chart.yaml, else 1.29.0).
    #[arg(long, value_name = "VERSION", requires = "rendered")]
    pub istio_version: Option<String>,
    /// Gateway API Inference Extension release of the InferencePool schemas.
    #[arg(long, value_name = "VERSION", default_value = "v1.1.0", value_parser = ["v1.1.0", "v1.6.0"], requires = "rendered")]
    pub inference_version: String,
}
