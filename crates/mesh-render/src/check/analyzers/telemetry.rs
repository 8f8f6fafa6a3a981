//! Telemetry: metrics, tracing and access-log providers.

use super::{Diagnostic, Input, Rule};
use crate::diagnostics::Severity;

/// Providers Istio defines without an `extensionProviders` entry.
const BUILT_IN_PROVIDERS: &[&str] = &["prometheus", "envoy", "stackdriver"];

pub(super) const PROMETHEUS_LOST: Rule = Rule {
    code: "MR105",
    name: "prometheus-metrics-lost",
    severity: Severity::Warning,
    summary: "`meshConfig.defaultProviders` is set without `prometheus` in metrics: L7 metrics are off",
    explanation: "The istiod chart adds `defaultProviders.metrics: [prometheus]` only while \
        `meshConfig.defaultProviders` is unset. Once anything sets it (tracing or access-log defaults, \
        say), L7 Prometheus metrics silently disappear unless the list names `prometheus` itself. \
        mesh-render always writes the list; this fires when it is empty (metrics.prometheus: false) or when \
        other values replace it.",
};

pub(super) fn prometheus_lost(input: &Input) -> Vec<Diagnostic> {
    let Some(values) = input.values else { return Vec::new() };
    let providers = &super::istiod_values(values)["meshConfig"]["defaultProviders"];
    if providers.is_null() {
        return Vec::new();
    }
    let metrics: Vec<&str> = providers["metrics"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect();
    if metrics.contains(&"prometheus") {
        return Vec::new();
    }
    vec![Diagnostic::new(
        &PROMETHEUS_LOST,
        format!("defaultProviders.metrics is [{}]", metrics.join(", ")),
        "set components.istio.metrics.prometheus: true unless L7 metrics are meant to be off",
    )
    .key("components.istio.metrics.prometheus")]
}

pub(super) const UNDECLARED_PROVIDER: Rule = Rule {
    code: "MR106",
    name: "telemetry-provider-undeclared",
    severity: Severity::Error,
    summary: "A Telemetry names a provider that `meshConfig.extensionProviders` does not declare",
    explanation: "Telemetry `providers[].name` must be a built-in provider (prometheus, envoy, stackdriver) \
        or an entry of `meshConfig.extensionProviders`. Istio ignores an unknown name, so the traces or \
        logs never leave the proxies. Declare the provider (components.istio.tracing) or fix the name.",
};

pub(super) fn undeclared_provider(input: &Input) -> Vec<Diagnostic> {
    let Some(values) = input.values else { return Vec::new() };
    let declared: Vec<&str> = super::istiod_values(values)["meshConfig"]["extensionProviders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    let mut out = Vec::new();
    for t in input.of_kind("Telemetry") {
        for section in ["tracing", "accessLogging", "metrics"] {
            for entry in t.json()["spec"][section].as_array().into_iter().flatten() {
                for name in entry["providers"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()) {
                    if !declared.contains(&name) && !BUILT_IN_PROVIDERS.contains(&name) {
                        out.push(
                            Diagnostic::new(
                                &UNDECLARED_PROVIDER,
                                format!("{section} provider `{name}` is not declared"),
                                format!("declared: {}", if declared.is_empty() { "none".to_string() } else { declared.join(", ") }),
                            )
                            .on(t)
                            .key("components.istio.tracing.provider"),
                        );
                    }
                }
            }
        }
    }
    out
}

pub(super) const SEVERAL_MESH_TELEMETRIES: Rule = Rule {
    code: "MR107",
    name: "several-namespace-telemetries",
    severity: Severity::Error,
    summary: "More than one selector-less Telemetry in a namespace",
    explanation: "Istio applies one namespace-wide (or, in the root namespace, mesh-wide) Telemetry per \
        namespace; with several, which one wins is unspecified and changes between istiod restarts. Merge \
        them into one object.",
};

pub(super) fn several_telemetries(input: &Input) -> Vec<Diagnostic> {
    let mut by_ns: std::collections::BTreeMap<&str, Vec<&super::Subject>> = Default::default();
    for t in input.of_kind("Telemetry") {
        let spec = &t.json()["spec"];
        if spec.get("selector").is_none() && spec.get("targetRefs").is_none() && spec.get("targetRef").is_none() {
            by_ns.entry(t.namespace()).or_default().push(t);
        }
    }
    by_ns
        .into_iter()
        .filter(|(_, ts)| ts.len() > 1)
        .map(|(ns, ts)| {
            let names: Vec<&str> = ts.iter().map(|t| t.name()).collect();
            Diagnostic::new(
                &SEVERAL_MESH_TELEMETRIES,
                format!("namespace `{ns}` has {} selector-less Telemetries: {}", ts.len(), names.join(", ")),
                "merge them into one",
            )
            .on(ts[1])
        })
        .collect()
}
