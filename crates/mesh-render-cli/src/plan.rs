//! `mesh-render plan apply|verify|destroy|join`: print a plan rendered by the library.

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
    /// With --cluster: the kube context every kubectl and helm call of the plan goes to, instead of
    /// the cluster's `context` from the config (its name by default).
    #[arg(long, value_name = "CTX")]
    pub context: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanKind {
    /// Install the charts, apply the mesh resources, swap Knative to Istio (in a multi-cluster mesh
    /// without --cluster: every cluster in turn, then the remote secrets).
    Apply,
    /// Check a live cluster: istiod, the GatewayClass, the Gateways, mTLS, a Knative Service (in a
    /// multi-cluster mesh without --cluster: every cluster, then a call across clusters).
    Verify,
    /// Undo everything `apply` did, in reverse order.
    Destroy,
    /// Multi-cluster mesh only, without --cluster: join clusters installed by other means (Argo CD),
    /// the last steps of the fleet's `apply` alone: check that every cluster's root is the same, then
    /// write the remote secrets. It installs, upgrades and restarts nothing.
    Join,
}

pub fn plan(global: &GlobalArgs, args: &PlanArgs) -> Result<ExitStatus, Error> {
    let loaded = crate::input::load(global)?;
    crate::input::print_warnings(&crate::input::display(&global.config), &loaded.warnings);
    if args.context.is_some() && loaded.cluster().is_none() {
        return Err(Error::ConfigInvalid {
            path: crate::input::display(&global.config),
            diagnostics: vec![context_without_cluster(&loaded)],
            unreadable: false,
        });
    }
    if args.plan == PlanKind::Join {
        if let Some(d) = join_without_fleet(&loaded) {
            return Err(Error::ConfigInvalid { path: crate::input::display(&global.config), diagnostics: vec![d], unreadable: false });
        }
    }
    let kind = match args.plan {
        PlanKind::Apply => Kind::Apply,
        PlanKind::Verify => Kind::Verify,
        PlanKind::Destroy => Kind::Destroy,
        PlanKind::Join => Kind::Join,
    };
    let text = plans::render_in_context(kind, &loaded, &args.rendered, args.context.as_deref()).map_err(|e| match e {
        plans::PlanError::InvalidContext(_) => Error::ConfigUnreadable {
            path: "--context".into(),
            message: e.to_string(),
            hint: "pass the name `kubectl config get-contexts` lists".into(),
        },
        _ => Error::ConfigUnreadable {
            path: args.rendered.clone(),
            message: e.to_string(),
            hint: "pass --rendered with a plain relative path, e.g. deployment/rendered".into(),
        },
    })?;
    crate::print(&text)?;
    Ok(ExitStatus::Success)
}

/// MR011 for `plan join` with `--cluster`, or for a config of one cluster: the join plan is between
/// every cluster of a multi-cluster mesh, each on its kube context from the config.
fn join_without_fleet(loaded: &mesh_render::Loaded) -> Option<mesh_render::Diagnostic> {
    let rule = mesh_render::check::rule("MR011").unwrap_or_else(|| unreachable!("MR011 is a registered code"));
    if let Some(cluster) = loaded.cluster() {
        return Some(
            mesh_render::Diagnostic::new(
                rule,
                format!("`plan join` joins every cluster of the mesh ({}), not one: --cluster {cluster} selects one", loaded.clusters().join(", ")),
                "leave --cluster out: the join plan writes the remote secrets of every ordered pair of clusters, each on its kube context from the config",
            )
            .key("components.istio.multiCluster.clusters"),
        );
    }
    loaded.clusters().is_empty().then(|| {
        mesh_render::Diagnostic::new(
            rule,
            "`plan join` joins the clusters of a multi-cluster mesh, and this config describes one cluster",
            "use `plan apply`; the join plan is for `components.istio.multiCluster`",
        )
    })
}

/// MR011 for `--context` without `--cluster`: a kube context is one cluster's, and the fleet plan
/// takes every cluster's from the config.
fn context_without_cluster(loaded: &mesh_render::Loaded) -> mesh_render::Diagnostic {
    match loaded.cluster_required("`plan --context`") {
        Some(mut d) => {
            d.hint = format!(
                "pass --cluster NAME with --context (one of {}); the plan of the whole mesh, without --cluster, takes every cluster's kube context from `context` in the config",
                loaded.clusters().join(", ")
            );
            d
        }
        None => {
            let rule = mesh_render::check::rule("MR011").unwrap_or_else(|| unreachable!("MR011 is a registered code"));
            mesh_render::Diagnostic::new(
                rule,
                "`plan --context` names the kube context of one cluster of a multi-cluster mesh, and this config describes one cluster",
                "leave --context out: the plan's kubectl and helm use the current context (`kubectl config use-context`)",
            )
        }
    }
}
