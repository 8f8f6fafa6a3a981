//! `mesh-render upgrade --to VERSION`: the upgrade notes that apply to the config, and the diff of
//! the rendered tree between its release and the target. The library does the work; this prints.

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
pub fn run(global: &GlobalArgs, args: &UpgradeArgs) -> Result<u8, Error> {
    let loaded = crate::input::load(global)?;
    crate::input::print_warnings(&crate::input::display(&global.config), &loaded.warnings);
    match mesh_render::upgrade::report(&loaded, &args.to) {
        Ok(report) => {
            let text = match args.format {
                ReportFormat::Text => report.text(),
                ReportFormat::Json => report.json(),
            };
            crate::print(&text)?;
            Ok(0)
        }
        Err(e) => {
            note!("{}: upgrade --to {}: {e}", crate::input::display(&global.config), args.to);
            Ok(2)
        }
    }
}
