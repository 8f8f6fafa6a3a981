//! `mesh-render plan apply|verify|destroy`: print a plan rendered by the library.

use crate::error::ExitStatus;
use clap::{Args, ValueEnum};
use mesh_render::plans::{self, Kind};

use crate::args::GlobalArgs;
use crate::error::Error;

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Which plan to print.
    #[arg(value_enum)]
    pub plan: PlanKind,
    /// Path of the rendered tree, as the script should name it (relative to where it runs).
    /// At run time, MESH_RENDER_RENDERED overrides it.
    #[arg(long, value_name = "DIR", default_value = plans::DEFAULT_RENDERED)]
    pub rendered: String,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanKind {
    /// Install the charts, apply the mesh resources, swap Knative to Istio.
    Apply,
    /// Check a live cluster: istiod, the GatewayClass, the Gateways, mTLS, a Knative Service.
    Verify,
    /// Undo everything `apply` did, in reverse order.
    Destroy,
}

pub fn plan(global: &GlobalArgs, args: &PlanArgs) -> Result<ExitStatus, Error> {
    let loaded = crate::input::load(global)?;
    crate::input::print_warnings(&crate::input::display(&global.config), &loaded.warnings);
    let kind = match args.plan {
        PlanKind::Apply => Kind::Apply,
        PlanKind::Verify => Kind::Verify,
        PlanKind::Destroy => Kind::Destroy,
    };
    let text = plans::render(kind, &loaded, &args.rendered).map_err(|e| Error::ConfigUnreadable {
        path: args.rendered.clone(),
        message: e.to_string(),
        hint: "pass --rendered with a plain relative path, e.g. deployment/rendered".into(),
    })?;
    crate::print(&text)?;
    Ok(ExitStatus::Success)
}
