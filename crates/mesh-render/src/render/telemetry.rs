//! Tracing and access logging: the mesh-wide Telemetry object.
//!
//! L7 metrics need no object (the chart's `defaultProviders.metrics` does it); see
//! [`crate::render::control_plane`] for how they are kept on.

use crate::api::istio::{ProviderRef, Telemetry, TelemetryAccessLogging, TelemetrySpec, TelemetryTracing};
use crate::config::Config;
use crate::render::manifest::{owned_meta, Concern, Manifest, Object};

/// Name of the mesh-wide Telemetry in the root namespace.
pub(crate) const MESH_TELEMETRY: &str = "mesh-default";

pub(crate) fn render(config: &Config) -> Vec<Manifest> {
    let tracing: Vec<TelemetryTracing> = config
        .tracing
        .iter()
        .map(|t| TelemetryTracing {
            providers: vec![ProviderRef { name: t.provider.clone() }],
            random_sampling_percentage: t.sampling_percent,
        })
        .collect();
    let access_logging: Vec<TelemetryAccessLogging> =
        config.access_logging.iter().map(|p| TelemetryAccessLogging { providers: vec![ProviderRef { name: p.clone() }] }).collect();
    if tracing.is_empty() && access_logging.is_empty() {
        return Vec::new();
    }
    let mut telemetry = Telemetry::new(MESH_TELEMETRY, TelemetrySpec { tracing, access_logging });
    telemetry.metadata = owned_meta(MESH_TELEMETRY, Some(&config.namespace), Concern::Telemetry);
    vec![Manifest { concern: Concern::Telemetry, object: Object::from(telemetry) }]
}
