//! `components.istio.controlPlane` (istiod's deployment) and `components.istio.proxy` (the sidecars'
//! resources), with the upstream chart defaults they start from.

use super::codes;
use std::collections::BTreeMap;

use super::decode::Decoder;
use crate::config::syntax::{Node, Value};
use crate::diagnostics::Pos;

/// istiod's deployment settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlPlane {
    pub autoscaling: Option<Autoscaling>,
    /// Used only when autoscaling is off (the chart ignores it otherwise).
    pub replicas: u32,
    pub resources: Resources,
    pub log_level: Option<String>,
    pub gateway_api: bool,
    pub inference_extension: bool,
    /// Extra istiod environment variables, sorted by name.
    pub env: BTreeMap<String, String>,
    /// `base.validationFailurePolicy`: `Some("Fail")` renders it (1.29.2 and later); `None` leaves
    /// the chart's Ignore-then-flip behaviour.
    pub validation_failure_policy: Option<&'static str>,
    /// Whether the config set `validationFailurePolicy` itself (then a release without it is an error).
    pub validation_failure_policy_pos: Option<Pos>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Autoscaling {
    pub min: u32,
    pub max: u32,
    pub target_cpu_percent: u32,
}

/// istiod's autoscaling when the config does not change it (on, 1 to 5 replicas at 80% CPU).
const DEFAULT_AUTOSCALING: Autoscaling = Autoscaling { min: 1, max: 5, target_cpu_percent: 80 };

/// CPU and memory requests and limits, as Kubernetes quantities.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
}

const CONTROL_PLANE_KEYS: &[&str] = &[
    "replicas",
    "autoscaling",
    "resources",
    "logLevel",
    "gatewayAPI",
    "inferenceExtension",
    "validationFailurePolicy",
    "env",
    "revisions",
    "tags",
    "stableTag",
];

/// Upstream `global.proxy.resources`.
fn default_proxy_resources() -> Resources {
    Resources {
        requests: [("cpu", "100m"), ("memory", "128Mi")].map(|(k, v)| (k.to_string(), v.to_string())).into(),
        limits: [("cpu", "2000m"), ("memory", "1024Mi")].map(|(k, v)| (k.to_string(), v.to_string())).into(),
    }
}

/// Upstream pilot `resources` (no limits).
fn default_pilot_resources() -> Resources {
    Resources {
        requests: [("cpu", "500m"), ("memory", "2048Mi")].map(|(k, v)| (k.to_string(), v.to_string())).into(),
        limits: BTreeMap::new(),
    }
}

/// Resources given in the config, over `defaults`: each quantity not given keeps its default, so
/// `requests: {cpu: 10m}` leaves the memory request and the limits as they were.
pub(super) fn read_resources(node: &Node, path: &str, defaults: Resources, dec: &mut Decoder) -> Resources {
    let mut out = defaults;
    let Some(f) = dec.map(node, path, Some(&["requests", "limits"])) else { return out };
    for (key, target) in [("requests", &mut out.requests), ("limits", &mut out.limits)] {
        let Some(n) = f.get(key) else { continue };
        let kpath = f.path(key);
        let Some(rf) = dec.map(n, &kpath, Some(&["cpu", "memory"])) else { continue };
        for res in ["cpu", "memory"] {
            if let Some(q) = rf.get(res).and_then(|q| dec.quantity(q, &rf.path(res))) {
                target.insert(res.to_string(), q);
            }
        }
    }
    out
}

/// `components.istio.proxy`: the sidecars' resources over upstream's.
pub(super) fn read_proxy(node: Option<&Node>, path: &str, dec: &mut Decoder) -> Resources {
    let Some(n) = node else { return default_proxy_resources() };
    let pf = dec.map(n, path, Some(&["resources"]));
    pf.and_then(|pf| pf.get("resources").map(|r| read_resources(r, &pf.path("resources"), default_proxy_resources(), dec)))
        .unwrap_or_else(default_proxy_resources)
}

pub(super) fn read_control_plane(node: Option<&Node>, path: &str, dec: &mut Decoder) -> Option<ControlPlane> {
    let mut cp = ControlPlane {
        autoscaling: Some(DEFAULT_AUTOSCALING),
        replicas: 1,
        resources: default_pilot_resources(),
        log_level: None,
        gateway_api: true,
        inference_extension: false,
        env: BTreeMap::new(),
        validation_failure_policy: Some("Fail"),
        validation_failure_policy_pos: None,
    };
    let Some(node) = node else { return Some(cp) };
    let f = dec.map(node, path, Some(CONTROL_PLANE_KEYS))?;
    if let Some(n) = f.get("replicas") {
        cp.replicas = dec.int(n, &f.path("replicas"), 1, 100).map_or(cp.replicas, |r| r as u32);
    }
    if let Some(n) = f.get("autoscaling") {
        let af = dec.map(n, &f.path("autoscaling"), Some(&["enabled", "min", "max", "targetCPUUtilization"]))?;
        let enabled = af.get("enabled").and_then(|e| dec.bool(e, &af.path("enabled"))).unwrap_or(true);
        let mut int_or =
            |key: &str, default: u32| af.get(key).and_then(|e| dec.int(e, &af.path(key), 1, 100)).map_or(default, |v| v as u32);
        let min = int_or("min", DEFAULT_AUTOSCALING.min);
        let max = int_or("max", DEFAULT_AUTOSCALING.max);
        let target_cpu_percent = int_or("targetCPUUtilization", DEFAULT_AUTOSCALING.target_cpu_percent);
        if min > max {
            dec.report(
                &codes::CONFLICTING_SETTINGS,
                af.get("min").map_or(n.pos, |m| m.pos),
                &af.path("min"),
                format!("min ({min}) is greater than max ({max})"),
                "make `min` at most `max`",
            );
        }
        cp.autoscaling = enabled.then_some(Autoscaling { min, max, target_cpu_percent });
        if enabled && f.get("replicas").is_some() {
            dec.report(
                &codes::INEFFECTIVE_SETTING,
                f.get("replicas").map_or(n.pos, |r| r.pos),
                &f.path("replicas"),
                "`replicas` has no effect while autoscaling is enabled",
                "set `autoscaling.enabled: false` to use a fixed replica count, or remove `replicas`",
            );
        }
    }
    if let Some(n) = f.get("resources") {
        cp.resources = read_resources(n, &f.path("resources"), default_pilot_resources(), dec);
    }
    if let Some(n) = f.get("logLevel") {
        cp.log_level = read_log_level(n, &f.path("logLevel"), dec);
    }
    if let Some(n) = f.get("validationFailurePolicy") {
        if let Some(policy) = dec.one_of(n, &f.path("validationFailurePolicy"), &["Fail", "Ignore"]) {
            cp.validation_failure_policy = (policy == "Fail").then_some("Fail");
            cp.validation_failure_policy_pos = Some(n.pos);
        }
    }
    if let Some(n) = f.get("gatewayAPI") {
        cp.gateway_api = dec.bool(n, &f.path("gatewayAPI")).unwrap_or(cp.gateway_api);
    }
    if let Some(n) = f.get("inferenceExtension") {
        cp.inference_extension = dec.bool(n, &f.path("inferenceExtension")).unwrap_or(cp.inference_extension);
    }
    if let Some(n) = f.get("env") {
        cp.env = read_env(n, &f.path("env"), dec)?;
    }
    Some(cp)
}

/// `logLevel`: comma-separated `scope:level` pairs, as istiod's `--log_output_level` takes them.
fn read_log_level(node: &Node, path: &str, dec: &mut Decoder) -> Option<String> {
    let level = dec.string(node, path);
    let levels = ["none", "error", "warn", "info", "debug"];
    let bad = level.as_deref().unwrap_or("default:info").split(',').find(|part| {
        let lvl = part.rsplit(':').next().unwrap_or_default();
        !part.contains(':') || !levels.contains(&lvl)
    });
    if let Some(bad) = bad {
        dec.report(
            &codes::INVALID_VALUE,
            node.pos,
            path,
            format!("`{bad}` is not a `scope:level` pair"),
            format!("write e.g. `default:info` or `default:info,ads:debug`; levels: {}", levels.join(", ")),
        );
        return None;
    }
    level
}

/// `env`: extra istiod environment variables, except those mesh-render derives itself.
fn read_env(node: &Node, path: &str, dec: &mut Decoder) -> Option<BTreeMap<String, String>> {
    let ef = dec.map(node, path, None)?;
    let mut env = BTreeMap::new();
    let Value::Map(entries) = &ef.node.value else { return Some(env) };
    for (k, v) in entries {
        let name = k.as_scalar().unwrap_or_default();
        let vpath = ef.path(name);
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') || name.as_bytes()[0].is_ascii_digit() {
            dec.report(
                &codes::INVALID_VALUE,
                k.pos,
                &vpath,
                format!("`{name}` is not an environment variable name"),
                "use letters, digits and `_`, not starting with a digit",
            );
            continue;
        }
        if managed_env(name) {
            dec.report(
                &codes::INVALID_VALUE,
                k.pos,
                &vpath,
                format!("`{name}` is set by mesh-render from another key"),
                "use `controlPlane.gatewayAPI` or `controlPlane.inferenceExtension` instead",
            );
            continue;
        }
        let value = match &v.value {
            Value::Scalar { text, .. } => text.clone(),
            Value::Null => String::new(),
            _ => {
                dec.report(
                    &codes::WRONG_TYPE,
                    v.pos,
                    &vpath,
                    format!("expected a string, found {}", v.kind_name()),
                    "environment variable values are strings",
                );
                continue;
            }
        };
        env.insert(name.to_string(), value);
    }
    Some(env)
}

/// Env vars that mesh-render derives from typed switches; setting them twice would be ambiguous.
pub fn managed_env(name: &str) -> bool {
    matches!(name, "PILOT_ENABLE_GATEWAY_API" | "ENABLE_GATEWAY_API_INFERENCE_EXTENSION")
}
