//! `mesh-render upgrade --to VERSION`: the upgrade notes that apply to the config, and the diff of
//! the rendered tree between its release and the target. The library does the work; this prints.

use crate::error::ExitStatus;
use clap::{Args, ValueEnum};

use crate::args::GlobalArgs;
use crate::error::Error;

#[derive(Args, Debug)]
pub struct UpgradeArgs {
    /// Target Istio release, from the version table and newer than the configured one.
    #[arg(long, value_name = "VERSION")]
    pub to: String,
    /// Format of the report.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Print the revision-based canary path instead: the configs to commit one after the other
    /// (as diffs), each with what applying it does, its check and its rollback.
    #[arg(long)]
    pub canary: bool,
    /// With --canary: also write each step's config to DIR/step-<n>-<name>.yaml.
    #[arg(long, value_name = "DIR", requires = "canary")]
    pub write_steps: Option<std::path::PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReportFormat {
    /// Notes, steps and a unified diff, for people.
    #[default]
    Text,
    /// The same as one JSON object.
    Json,
}

/// Prints the report on stdout (exit 0). An unknown, equal or older target is exit 2, with nothing
/// on stdout.
pub fn run(global: &GlobalArgs, args: &UpgradeArgs) -> Result<ExitStatus, Error> {
    if args.canary {
        return canary(global, args);
    }
    let loaded = crate::input::load(global)?;
    crate::input::require_cluster(global, &loaded, "`upgrade`")?;
    crate::input::print_warnings(&crate::input::display(&global.config), &loaded.warnings);
    match mesh_render::upgrade::report(&loaded, &args.to) {
        Ok(report) => {
            let text = match args.format {
                ReportFormat::Text => report.text(),
                ReportFormat::Json => report.json(),
            };
            crate::print(&text)?;
            Ok(ExitStatus::Success)
        }
        Err(e) => {
            note!("{}: upgrade --to {}: {e}", crate::input::display(&global.config), args.to);
            Ok(ExitStatus::Error)
        }
    }
}

/// `upgrade --to VERSION --canary`: the steps on stdout; `--write-steps DIR` writes their configs.
fn canary(global: &GlobalArgs, args: &UpgradeArgs) -> Result<ExitStatus, Error> {
    let (text, loaded) = crate::input::load_with_text(global)?;
    if loaded.selected_section().multi_cluster.is_some() {
        // The canary steps edit the config's `controlPlane.revisions`, one cluster's at a time in a
        // fleet would need that cluster's `overrides`: not written yet.
        return Err(Error::ConfigUnreadable {
            path: crate::input::display(&global.config),
            message: "`upgrade --canary` does not write the steps of a multi-cluster mesh".into(),
            hint: "upgrade one cluster at a time: `mesh-render --cluster NAME upgrade --to VERSION` reports it; set that cluster's `version` (or its `overrides.controlPlane.revisions`) by hand".into(),
        });
    }
    crate::input::print_warnings(&crate::input::display(&global.config), &loaded.warnings);
    let plan = match mesh_render::upgrade::canary::plan(&text, &loaded, &args.to) {
        Ok(plan) => plan,
        Err(e) => {
            note!("{}: upgrade --to {} --canary: {e}", crate::input::display(&global.config), args.to);
            return Ok(ExitStatus::Error);
        }
    };
    if let Some(dir) = &args.write_steps {
        std::fs::create_dir_all(dir).map_err(|e| Error::Output { path: dir.clone(), message: format!("cannot create the folder: {e}") })?;
        for (name, config) in plan.files() {
            crate::docs_cmd::write_atomically(&dir.join(name), &config)?;
        }
    }
    crate::print(&plan.text())?;
    Ok(ExitStatus::Success)
}
