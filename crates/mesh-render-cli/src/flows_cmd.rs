//! `mesh-render flows`: which calls the rendered mesh allows, over mTLS or in plaintext, and why.
//! The library evaluates; this prints.

use crate::error::ExitStatus;
use clap::{Args, ValueEnum};

use crate::args::GlobalArgs;
use crate::error::Error;

#[derive(Args, Debug)]
pub struct FlowsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = FlowsFormat::Table)]
    pub format: FlowsFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FlowsFormat {
    /// One aligned row per flow, for people.
    #[default]
    Table,
    /// A JSON array (fields documented in docs/flows.md).
    Json,
    /// A Mermaid flowchart of the allowed flows.
    Mermaid,
}

/// Prints every catalogued and expected flow of the config's render (exit 0). Needed flows that are
/// denied or refused flows that are allowed are shown, not failed: `check` and `render` fail on them.
pub fn run(global: &GlobalArgs, args: &FlowsArgs) -> Result<ExitStatus, Error> {
    let loaded = crate::input::load(global)?;
    crate::input::require_cluster(global, &loaded, "`flows`")?;
    crate::input::print_warnings(&crate::input::display(&global.config), &loaded.warnings);
    let rendered = mesh_render::render(&loaded);
    let rows = mesh_render::check::flows::evaluate(loaded.selected(), rendered.manifests.iter().map(|m| &m.object));
    let text = match args.format {
        FlowsFormat::Table => mesh_render::check::flows::to_table(&rows),
        FlowsFormat::Json => mesh_render::check::flows::to_json(&rows),
        FlowsFormat::Mermaid => mesh_render::check::flows::to_mermaid(&rows),
    };
    crate::print(&text)?;
    Ok(ExitStatus::Success)
}
