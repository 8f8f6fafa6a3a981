//! mesh-render: the Istio mesh of the Knative playground, from one `config.yaml`.
//!
//! Pure: config text in, typed objects and bytes out. No files, processes or network; the
//! `mesh-render` CLI crate does the I/O.
//!
//! Layers: [`config`] reads and checks the config (every problem
//! a [`Diagnostic`] with a code); [`api`] holds the typed resources and Helm values; [`render()`]
//! derives the [`MeshFacts`] once and turns the config into a [`Rendered`] mesh; [`emit`] writes
//! bytes; [`check`] holds the registry of codes, the analyzers, the traffic flows and schema
//! validation; [`plans`], [`upgrade`], [`docs`] and [`expanded`] are the tools around a render.
//!
//! ```
//! let text = mesh_render::example_config();
//! let loaded = mesh_render::config::load(text, None, Default::default()).unwrap();
//! let rendered = mesh_render::render(&loaded);
//! assert!(rendered.stream_yaml().contains("kind: PeerAuthentication"));
//! ```

#![warn(clippy::unwrap_used)]
#![warn(unreachable_pub)]

pub mod api;
pub mod check;
pub mod config;
mod diagnostics;
pub mod docs;
pub mod emit;
pub mod expanded;
pub mod plans;
mod render;
pub mod upgrade;
pub mod versions;

pub use config::{load, Config, Loaded};
pub use diagnostics::{Diagnostic, Pos, Rule, Severity};
pub use render::facts::{Admission, GatewayEntry, MeshFacts};
pub use render::manifest::{Concern, Manifest, Object};
pub use render::{
    render, render_fleet, render_revision_gate, render_revision_gate_with, Fleet, GateSettings, Rendered, ARGOCD_EAST_WEST_GATE,
    ARGOCD_TRUST_CLEANUP, FLEET_APPLICATION_SET, FLEET_CLUSTERS,
};

/// A documented example config (`mesh-render example`).
pub fn example_config() -> &'static str {
    include_str!("example.yaml")
}
