//! `components.istio.tracing`, `accessLogging` and `metrics`: what the mesh-wide Telemetry and
//! `meshConfig.extensionProviders` say.

use super::codes;
use super::decode::Decoder;
use crate::config::syntax::Node;

#[derive(Clone, Debug, PartialEq)]
pub struct Tracing {
    /// Name of the `meshConfig.extensionProviders` entry.
    pub provider: String,
    /// The OpenTelemetry collector's Service host.
    pub service: String,
    pub port: u16,
    pub sampling_percent: f64,
}

/// `None` on error; `Some(None)` when tracing is off.
pub(super) fn read_tracing(node: Option<&Node>, path: &str, dec: &mut Decoder) -> Option<Option<Tracing>> {
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
                dec.report(
                    &codes::INVALID_VALUE,
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
            dec.report(
                &codes::MISSING_SETTING,
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

/// `None` on error; `Some(None)` when access logging is off; else the provider.
pub(super) fn read_access_logging(node: Option<&Node>, path: &str, dec: &mut Decoder) -> Option<Option<String>> {
    let Some(node) = node else { return Some(Some("envoy".into())) };
    let f = dec.map(node, path, Some(&["enabled", "provider"]))?;
    let enabled = match f.get("enabled") {
        Some(n) => dec.bool(n, &f.path("enabled")).unwrap_or(true),
        None => true,
    };
    let provider = f.get("provider").and_then(|n| dec.dns_label(n, &f.path("provider"))).unwrap_or_else(|| "envoy".into());
    Some(enabled.then_some(provider))
}

/// `metrics.prometheus`: keep the chart's Prometheus L7 metrics on (the default).
pub(super) fn read_metrics(node: Option<&Node>, path: &str, dec: &mut Decoder) -> bool {
    let Some(n) = node else { return true };
    dec.map(n, path, Some(&["prometheus"]))
        .and_then(|mf| mf.get("prometheus").and_then(|p| dec.bool(p, &mf.path("prometheus"))))
        .unwrap_or(true)
}
