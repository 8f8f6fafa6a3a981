//! The `mesh-render` command: flags, files and exit codes around the pure `mesh-render` library.

#![warn(clippy::unwrap_used)]

/// Like `eprintln!`, but a closed stderr (`mesh-render 2>&1 | head -1`) is not a panic: the message
/// is dropped, and the exit status still says what happened.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod argocd_env;
mod args;
mod docs_cmd;
mod error;
mod expand;
mod flows_cmd;
mod input;
mod plan;
mod rendered;
mod report;
mod tree;
mod upgrade_cmd;

use crate::error::ExitStatus;
use mesh_render::Diagnostic;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

pub use args::{CheckArgs, Cli, Command, Format, Part, RenderArgs};
pub use error::Error;

/// Runs the command line and returns the exit status; `main` does nothing else.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match execute(cli) {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            note!("{e}");
            ExitCode::from(e.code())
        }
    }
}

fn execute(mut cli: Cli) -> Result<ExitStatus, Error> {
    argocd_env::apply(&mut cli.global)?;
    match cli.command.unwrap_or(Command::Render(RenderArgs::default())) {
        Command::Plan(args) => plan::plan(&cli.global, &args),
        Command::Example => {
            print(mesh_render::example_config())?;
            Ok(ExitStatus::Success)
        }
        Command::Explain(args) => report::explain(args.code.as_deref(), args.list),
        Command::Check(args) if args.rendered.is_some() => rendered::check(&args),
        Command::Check(args) => check(&cli.global, &args),
        Command::Render(args) => render(&cli.global, &args),
        Command::Upgrade(args) => upgrade_cmd::run(&cli.global, &args),
        Command::Docs(args) => docs_cmd::run(&cli.global, &args),
        Command::Flows(args) => flows_cmd::run(&cli.global, &args),
    }
}

fn check(global: &args::GlobalArgs, args: &args::CheckArgs) -> Result<ExitStatus, Error> {
    let machine = args.format != args::ReportFormat::Human;
    match input::load(global) {
        Ok(mut loaded) => {
            let path = input::display(&global.config);
            loaded.warnings.retain(|w| !args.ignore.contains(&w.code));
            input::print_warnings(&path, &loaded.warnings);
            let mut findings = analyze_every_cluster(&loaded);
            findings.retain(|f| !args.ignore.contains(&f.code));
            // JSON and SARIF carry the config's own warnings too: one model, one list.
            let mut reported: Vec<Diagnostic> = if machine { loaded.warnings.clone() } else { Vec::new() };
            reported.extend(findings.iter().cloned());
            let failed = report::findings(&reported, &path, args.format, args.strict)?;
            let warned = !loaded.warnings.is_empty() || !findings.is_empty();
            if failed || (args.strict && !loaded.warnings.is_empty()) {
                note!("{path}: {}", report::summary(&findings));
                return Ok(ExitStatus::Failure);
            }
            note!("{path}: no problems found{}", if warned { " (warnings only)" } else { "" });
            Ok(ExitStatus::Success)
        }
        // A config that was read but has problems is what `check` is for: exit 1, not 2. JSON and
        // SARIF get its errors on stdout, with their codes, as they would get the analyzers' findings.
        Err(Error::ConfigInvalid { path, diagnostics, unreadable: false }) => {
            if machine {
                report::findings(&diagnostics, &path, args.format, args.strict)?;
            }
            note!("{}", Error::ConfigInvalid { path, diagnostics, unreadable: false });
            Ok(ExitStatus::Failure)
        }
        Err(e) => Err(e),
    }
}

/// The analyzers' findings on what the config renders: for a multi-cluster mesh without `--cluster`,
/// on every cluster's render (a finding about the whole mesh is reported once).
fn analyze_every_cluster(loaded: &mesh_render::Loaded) -> Vec<Diagnostic> {
    if loaded.cluster_required("check").is_none() {
        return mesh_render::check::analyzers::analyze(loaded, &mesh_render::render(loaded));
    }
    let mut findings: Vec<Diagnostic> = Vec::new();
    for name in loaded.clusters() {
        let Ok(one) = loaded.clone().with_cluster(Some(&name)) else { continue };
        for mut f in mesh_render::check::analyzers::analyze(&one, &mesh_render::render(&one)) {
            if !mesh_render::check::analyzers::fleet::is_fleet_wide(f.code) {
                f.message.push_str(&format!(" (in cluster `{name}`)"));
            }
            if !findings.contains(&f) {
                findings.push(f);
            }
        }
    }
    findings
}

fn render(global: &args::GlobalArgs, args: &RenderArgs) -> Result<ExitStatus, Error> {
    if let Some(revision) = args.revision_gate.clone().map_or_else(argocd_env::revision_gate, |r| Ok(Some(r)))? {
        return revision_gate(global, &revision);
    }
    // An environment the config does not declare is an error, under Argo CD too: falling back to the
    // base settings would deploy them on every sync of such an Application (a typo in `env` included),
    // and the note would not show (argo-cd v3.5.1 `cmpserver/plugin/plugin.go:135-144` logs a
    // successful plugin's stderr only). docs/argocd.md says how to drop an environment.
    let mut loaded = input::load(global)?;
    loaded.warnings.retain(|w| !args.ignore.contains(&w.code));
    input::print_warnings(&input::display(&global.config), &loaded.warnings);
    if loaded.cluster_required("render").is_some() {
        if let Some(out) = &args.out {
            return render_fleet(global, args, &loaded, out);
        }
        input::require_cluster(global, &loaded, "`render` to stdout")?;
    }
    let rendered = mesh_render::render(&loaded);
    // The analyzers run on every render: errors stop it before anything is printed or written.
    let mut findings = mesh_render::check::analyzers::analyze(&loaded, &rendered);
    findings.retain(|f| !args.ignore.contains(&f.code));
    let config_path = input::display(&global.config);
    if report::findings(&findings, &config_path, args::ReportFormat::Human, false)? {
        note!("{config_path}: {}; nothing was rendered", report::summary(&findings));
        return Ok(ExitStatus::Failure);
    }
    // Printing to stdout needs no tree: building it would write every object a second time.
    let Some(out) = &args.out else {
        let part = match args.part {
            Some(p) => Some(p),
            None => argocd_env::part()?,
        };
        let selected: Vec<&mesh_render::Manifest> = match part {
            None => rendered.manifests.iter().collect(),
            Some(Part::Trust) => rendered
                .manifests
                .iter()
                .filter(|m| m.concern == mesh_render::Concern::Trust)
                .chain(argocd_env::under_argocd().then_some(&rendered.trust_cleanup).into_iter().flatten())
                .collect(),
            Some(Part::EastWestGate) => rendered.east_west_gate.iter().collect(),
            Some(Part::Mesh) => rendered.manifests.iter().filter(|m| m.concern != mesh_render::Concern::Trust).collect(),
            Some(Part::Applications) => rendered.applications.iter().collect(),
        };
        match args.format {
            Format::Yaml => print_yaml(selected)?,
            Format::Json => print(&mesh_render::emit::json_list(selected))?,
        }
        // The process ends here: freeing 10,000s of objects one by one would only cost time.
        std::mem::forget(rendered);
        std::mem::forget(loaded);
        return Ok(ExitStatus::Success);
    };
    let mut files = rendered.tree();
    if args.expand_charts {
        let east_west = rendered.east_west_values.as_ref().map(|v| v.name.as_str());
        expand::expand(&mut files, loaded.selected(), global.env.as_deref(), &charts_source(args), east_west)?;
    }
    if args.check {
        let differences = tree::diff(out, &files);
        if !differences.is_empty() {
            let regenerate = format!("`make render` (or `mesh-render render --out {}`)", out.display());
            return Err(Error::Stale { out: out.clone(), differences, regenerate });
        }
        note!("{}: up to date", out.display());
        return Ok(ExitStatus::Success);
    }
    tree::write(out, &files)?;
    note!("{}: wrote {} files ({} objects)", out.display(), files.len(), rendered.manifests.len());
    Ok(ExitStatus::Success)
}

/// `render --out DIR` of a multi-cluster mesh without `--cluster`: every cluster's tree under
/// `DIR/clusters/<name>/` (each checked by the analyzers first), and the fleet's files under `DIR/fleet/`.
fn render_fleet(
    global: &args::GlobalArgs,
    args: &RenderArgs,
    loaded: &mesh_render::Loaded,
    out: &std::path::Path,
) -> Result<ExitStatus, Error> {
    let config_path = input::display(&global.config);
    let Some(fleet) = mesh_render::render_fleet(loaded) else { return Ok(ExitStatus::Success) };
    let mut failed = false;
    for (name, rendered) in &fleet.clusters {
        let one = loaded.clone().with_cluster(Some(name)).map_err(|_| Error::Expand { message: format!("cluster `{name}` vanished") })?;
        let mut findings = mesh_render::check::analyzers::analyze(&one, rendered);
        findings.retain(|f| !args.ignore.contains(&f.code));
        failed |= report::findings(&findings, &format!("{config_path} (cluster {name})"), args::ReportFormat::Human, false)?;
    }
    if failed {
        note!("{config_path}: errors found; nothing was rendered");
        return Ok(ExitStatus::Failure);
    }
    let mut files = mesh_render::Fleet { clusters: Vec::new(), ..fleet.clone() }.tree();
    for (name, rendered) in &fleet.clusters {
        let mut cluster_files = rendered.tree();
        if args.expand_charts {
            let one =
                loaded.clone().with_cluster(Some(name)).map_err(|_| Error::Expand { message: format!("cluster `{name}` vanished") })?;
            let east_west = rendered.east_west_values.as_ref().map(|v| v.name.as_str());
            expand::expand(&mut cluster_files, one.selected(), global.env.as_deref(), &charts_source(args), east_west)?;
        }
        files.extend(cluster_files.into_iter().map(|(p, t)| (format!("{}/{name}/{p}", mesh_render::FLEET_CLUSTERS), t)));
    }
    if args.check {
        let differences = tree::diff(out, &files);
        if !differences.is_empty() {
            let regenerate = format!("`mesh-render render --out {}`", out.display());
            return Err(Error::Stale { out: out.to_path_buf(), differences, regenerate });
        }
        note!("{}: up to date", out.display());
        return Ok(ExitStatus::Success);
    }
    tree::write(out, &files)?;
    let objects: usize = fleet.clusters.iter().map(|(_, r)| r.manifests.len()).sum();
    note!("{}: wrote {} files ({} objects in {} clusters)", out.display(), files.len(), objects, fleet.clusters.len());
    Ok(ExitStatus::Success)
}

/// Where `--expand-charts` takes Helm and the charts from.
fn charts_source(args: &RenderArgs) -> expand::ChartsSource {
    let helm = args
        .helm
        .clone()
        .or_else(|| std::env::var_os("MESH_RENDER_HELM").filter(|v| !v.is_empty()).map(Into::into))
        .unwrap_or_else(|| "helm".into());
    expand::ChartsSource { local: args.charts.clone(), helm }
}

/// `render --revision-gate REV`: the gate's objects, or an error (exit 2, nothing printed) when REV
/// is no revision name or the config cannot be read. An environment the config no longer has (the
/// commit that removed it prunes its Applications, whose gates still run) falls back to the base
/// settings, with a note. Under Argo CD, an Application that carries the gate's settings
/// (`gateNamespace`, `gateArgocdNamespace`, `gateHookImage`) gets its gate from them and the revision
/// alone: the config is not read.
fn revision_gate(global: &args::GlobalArgs, revision: &str) -> Result<ExitStatus, Error> {
    let invalid = |message| Error::ConfigUnreadable {
        path: "revisionGate".into(),
        message,
        hint: "pass the revision as pods carry it in their `istio.io/rev` annotation, e.g. `1-29-6` or `default`".into(),
    };
    // The settings the Application carries: the gate is rendered from them alone, whatever the
    // config says today (or whether it can be read at all).
    if let Some(settings) = argocd_env::gate_settings()? {
        let manifests = mesh_render::render_revision_gate_with(&settings, revision).map_err(invalid)?;
        print_yaml(&manifests)?;
        return Ok(ExitStatus::Success);
    }
    let loaded = match input::load(global) {
        Err(Error::ConfigInvalid { .. }) if global.env.is_some() => load_base(global, "the revision gate")?,
        other => other?,
    };
    let manifests = mesh_render::render_revision_gate(&loaded, revision).map_err(invalid)?;
    if loaded.selected().argocd.is_none() {
        note!("mesh-render: the config has no `components.istio.argocd`: the revision gate uses Argo CD's namespace `argocd` and the default hook image");
    }
    print_yaml(&manifests)?;
    Ok(ExitStatus::Success)
}

/// The config's base settings, once `global.env` failed to load because the config no longer
/// declares that environment (with a note that `what` uses them); any other problem is reported as it is.
fn load_base(global: &args::GlobalArgs, what: &str) -> Result<mesh_render::Loaded, Error> {
    let base = args::GlobalArgs { config: global.config.clone(), env: None, cluster: global.cluster.clone() };
    let loaded = input::load(&base)?;
    let env = global.env.as_deref().unwrap_or_default();
    if loaded.environments.contains_key(env) {
        // The environment exists, so the problem is elsewhere: report it as it is.
        input::load(global)?;
    }
    note!("mesh-render: environment `{env}` is not in the config any more: {what} uses the base settings");
    Ok(loaded)
}

/// Writes `text` to stdout. A closed pipe (`mesh-render | head -1`) is not an error.
fn print(text: &str) -> Result<(), Error> {
    print_all(std::iter::once(text))
}

/// Writes the pieces to stdout through one buffer, as they come; a closed pipe is not an error.
fn print_all<S: AsRef<str>>(pieces: impl IntoIterator<Item = S>) -> Result<(), Error> {
    to_stdout(|stdout| {
        let mut stdout = std::io::BufWriter::with_capacity(1 << 16, stdout);
        pieces.into_iter().try_for_each(|p| stdout.write_all(p.as_ref().as_bytes()))?;
        stdout.flush()
    })
}

/// Writes the manifests to stdout as one YAML stream: each document is written into one buffer,
/// which goes out whenever it holds 64 KiB.
fn print_yaml<'a>(manifests: impl IntoIterator<Item = &'a mesh_render::Manifest>) -> Result<(), Error> {
    const CHUNK: usize = 1 << 16;
    to_stdout(|stdout| {
        let mut buffer = String::with_capacity(2 * CHUNK);
        for m in manifests {
            mesh_render::emit::write_yaml_document(&mut buffer, m);
            if buffer.len() >= CHUNK {
                stdout.write_all(buffer.as_bytes())?;
                buffer.clear();
            }
        }
        stdout.write_all(buffer.as_bytes())?;
        stdout.flush()
    })
}

/// Runs `write` on the locked stdout; a closed pipe (`mesh-render | head -1`) is not an error.
fn to_stdout(write: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>) -> Result<(), Error> {
    match write(&mut std::io::stdout().lock()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Stdout(e)),
    }
}
