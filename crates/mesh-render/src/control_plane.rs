//! The control plane: the wrapper chart over Istio's `base` and `istiod`, and its typed values.
//!
//! The charts have no `values.schema.json`, so Helm ignores a misspelt key. Every key here is a
//! field of a Rust type whose serde name is a path of the real chart's values (a test checks each
//! against the reference charts). In a wrapper chart, base's values nest under `base:` and istiod's
//! under `istiod:`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Config, Resources};

/// Where `helm` finds the official charts.
pub const CHART_REPOSITORY: &str = "https://blob.istio.io/istio-release/charts";
/// The same charts as OCI artifacts (`oci://ghcr.io/istio/release/charts/base`, …).
pub const OCI_CHART_REPOSITORY: &str = "oci://ghcr.io/istio/release/charts";
/// Istio's retired homes: charts and images there are removed in December 2026 for every version,
/// and 1.31 was never published there (istio.io blog "An update on our move to AWS", 2026-08-21,
/// istio/istio.io `content/en/blog/2026/retirement-of-gcp/index.md`). MR115 refuses them.
pub const RETIRED_HOSTS: [&str; 2] = ["istio-release.storage.googleapis.com", "gcr.io/istio-release"];

/// Where the `base` and `istiod` charts come from: an HTTPS chart repository (an `index.yaml`) or
/// an OCI registry path holding one artifact per chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartRepository {
    /// The URL as configured, without a trailing `/`.
    pub url: String,
}

impl Default for ChartRepository {
    fn default() -> Self {
        ChartRepository { url: CHART_REPOSITORY.into() }
    }
}

impl ChartRepository {
    pub fn is_oci(&self) -> bool {
        self.url.starts_with("oci://")
    }

    /// The chart argument of `helm install`: `base --repo URL` for a chart repository,
    /// `oci://…/base` for a registry.
    pub fn helm_chart_args(&self, chart: &str) -> String {
        if self.is_oci() {
            format!("{}/{chart}", self.url)
        } else {
            format!("{chart} --repo {}", self.url)
        }
    }

    /// An Argo CD Application source for `chart`: `repoURL` + `chart` for a chart repository;
    /// Argo CD's native OCI form for a registry (`repoURL: oci://…/<chart>`, `path: .`, Argo CD
    /// 3.1 and later; Argo CD's "OCI" user guide).
    pub fn argocd_source(&self, chart: &str) -> (String, Option<String>, Option<String>) {
        if self.is_oci() {
            (format!("{}/{chart}", self.url), None, Some(".".into()))
        } else {
            (self.url.clone(), Some(chart.into()), None)
        }
    }
}
/// The wrapper chart's name; also the Helm release name the plans use.
pub const CHART_NAME: &str = "istio-mesh";

/// `Chart.yaml` of the wrapper chart.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Chart {
    pub api_version: &'static str,
    pub name: &'static str,
    pub description: String,
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub version: String,
    pub app_version: String,
    pub dependencies: Vec<ChartDependency>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ChartDependency {
    pub name: &'static str,
    pub version: String,
    pub repository: String,
    /// `istiod-<revision>`: one istiod dependency per revision, each under its own values key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// `values.yaml` of the wrapper chart.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Values {
    pub base: BaseValues,
    /// istiod's values by chart alias: `istiod` for one control plane; with revisions, one entry
    /// per revision named like its Helm release (`istiod-1-30-3`, or `istiod` for `default`).
    #[serde(flatten)]
    pub istiod: BTreeMap<String, IstiodValues>,
}

impl Values {
    /// The values of the first istiod (the only one without revisions).
    pub fn istiod(&self) -> &IstiodValues {
        self.istiod.values().next().unwrap_or_else(|| unreachable!("a control plane has at least one istiod"))
    }
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct BaseValues {
    /// With a revisioned control plane, the default validating webhook must call `istiod-<revision>`:
    /// with `failurePolicy: Fail` and the default `default`, it would call a Service that does not
    /// exist and every Istio resource would be rejected.
    #[serde(rename = "defaultRevision", skip_serializing_if = "Option::is_none")]
    pub default_revision: Option<String>,
    pub global: BaseGlobal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<WebhookValues>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BaseGlobal {
    pub istio_namespace: String,
}

/// `base.validationFailurePolicy` (1.29.2 and later): the validating webhook starts as `Fail` instead
/// of `Ignore`, so istiod's runtime flip no longer shows as drift under GitOps.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookValues {
    pub validation_failure_policy: &'static str,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IstiodValues {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The tags pointing at this revision: the chart renders one `istio-revision-tag-<tag>`
    /// MutatingWebhookConfiguration each (`templates/revision-tags-mwc.yaml:39-46`; `revisionTags: []`
    /// at `values.yaml:212` in 1.29.6, `:215` in 1.30.3 and 1.31.0-rc.0).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revision_tags: Vec<String>,
    pub autoscale_enabled: bool,
    /// Written only with autoscaling on (the chart ignores them otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscale_min: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscale_max: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuTarget>,
    /// Written only with autoscaling off (the chart ignores it otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_count: Option<u32>,
    pub resources: ResourceValues,
    /// istiod's environment; the chart quotes every value.
    pub env: BTreeMap<String, String>,
    pub global: IstiodGlobal,
    pub mesh_config: MeshConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<WebhookValues>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CpuTarget {
    pub target_average_utilization: u32,
}

/// Kubernetes requests and limits (cpu, memory).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ResourceValues {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, String>,
}

impl From<&Resources> for ResourceValues {
    fn from(r: &Resources) -> Self {
        ResourceValues { requests: r.requests.clone(), limits: r.limits.clone() }
    }
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IstiodGlobal {
    pub istio_namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    pub proxy: ProxyValues,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Logging {
    pub level: String,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ProxyValues {
    pub resources: ResourceValues,
}

/// The part of Istio's MeshConfig mesh-render sets.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MeshConfig {
    pub default_providers: DefaultProviders,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension_providers: Vec<ExtensionProvider>,
}

/// Always written: once `defaultProviders` is set at all, the chart stops adding
/// `metrics: [prometheus]`, so the list must say `prometheus` itself.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct DefaultProviders {
    pub metrics: Vec<String>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ExtensionProvider {
    pub name: String,
    pub opentelemetry: OpenTelemetryProvider,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct OpenTelemetryProvider {
    pub service: String,
    pub port: u16,
}

/// The wrapper chart for the configured release: `base`, and `istiod` once, or once per revision
/// under an alias (each at its revision's version).
pub fn chart(config: &Config) -> Chart {
    let version = config.release.version.to_string();
    let dep = |name, version: String, alias| ChartDependency { name, version, repository: config.charts.url.clone(), alias };
    let mut dependencies = vec![dep("base", version.clone(), None)];
    match &config.revisions {
        None => dependencies.push(dep("istiod", version.clone(), None)),
        Some(rs) => {
            dependencies.extend(rs.revisions.iter().map(|r| dep("istiod", r.release.version.to_string(), Some(r.istiod_name()))));
        }
    }
    Chart {
        api_version: "v2",
        name: CHART_NAME,
        description: format!("Istio {version} control plane (base + istiod) for the Knative playground, rendered by mesh-render"),
        type_: "application",
        version: version.clone(),
        app_version: version.clone(),
        dependencies,
    }
}

/// The wrapper chart's values for one environment's settings.
pub fn values(config: &Config) -> Values {
    let cp = &config.control_plane;
    let webhook = cp.validation_failure_policy.map(|p| WebhookValues { validation_failure_policy: p });
    let mut env = cp.env.clone();
    env.insert("PILOT_ENABLE_GATEWAY_API".into(), cp.gateway_api.to_string());
    if cp.inference_extension {
        env.insert("ENABLE_GATEWAY_API_INFERENCE_EXTENSION".into(), "true".into());
    }
    let extension_providers: Vec<ExtensionProvider> = config
        .tracing
        .iter()
        .map(|t| ExtensionProvider {
            name: t.provider.clone(),
            opentelemetry: OpenTelemetryProvider { service: t.service.clone(), port: t.port },
        })
        .collect();
    let istiod = |revision: Option<String>, revision_tags: Vec<String>| IstiodValues {
        revision,
        revision_tags,
        autoscale_enabled: cp.autoscaling.is_some(),
        autoscale_min: cp.autoscaling.map(|a| a.min),
        autoscale_max: cp.autoscaling.map(|a| a.max),
        cpu: cp.autoscaling.map(|a| CpuTarget { target_average_utilization: a.target_cpu_percent }),
        replica_count: cp.autoscaling.is_none().then_some(cp.replicas),
        resources: (&cp.resources).into(),
        env: env.clone(),
        global: IstiodGlobal {
            istio_namespace: config.namespace.clone(),
            logging: cp.log_level.clone().map(|level| Logging { level }),
            proxy: ProxyValues { resources: (&config.proxy_resources).into() },
        },
        mesh_config: MeshConfig {
            default_providers: DefaultProviders { metrics: if config.prometheus { vec!["prometheus".into()] } else { Vec::new() } },
            extension_providers: extension_providers.clone(),
        },
        base: webhook.clone(),
    };
    let (default_revision, istiod) = match &config.revisions {
        None => (config.revision.clone(), BTreeMap::from([("istiod".to_string(), istiod(config.revision.clone(), Vec::new()))])),
        Some(rs) => {
            // The base chart's default validator calls the stable revision's istiod
            // (`templates/defaultrevision-validatingwebhookconfiguration.yaml:21-25`): one owner of
            // validation, which follows the stable tag.
            let stable = rs.stable().unwrap_or(&rs.revisions[0]);
            let per_revision = rs.revisions.iter().map(|r| (r.istiod_name(), istiod(r.chart_revision(), rs.tags_of(&r.name)))).collect();
            (Some(stable.name.clone()), per_revision)
        }
    };
    Values {
        base: BaseValues { default_revision, global: BaseGlobal { istio_namespace: config.namespace.clone() }, base: webhook },
        istiod,
    }
}

/// The Helm overlay that turns `base` values into `env` values: changed keys, and `null` for keys
/// the environment drops (Helm deletes a key set to null). `None` when nothing differs.
pub fn overlay(base: &serde_json::Value, env: &serde_json::Value) -> Option<serde_json::Value> {
    use serde_json::Value;
    match (base, env) {
        (Value::Object(b), Value::Object(e)) => {
            let mut out = serde_json::Map::new();
            for (k, ev) in e {
                match b.get(k) {
                    Some(bv) => {
                        if let Some(d) = overlay(bv, ev) {
                            out.insert(k.clone(), d);
                        }
                    }
                    None => {
                        out.insert(k.clone(), ev.clone());
                    }
                }
            }
            for k in b.keys().filter(|k| !e.contains_key(*k)) {
                out.insert(k.clone(), Value::Null);
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        _ => (base != env).then(|| env.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overlay_holds_only_what_changed() {
        let base = json!({"a": {"x": 1, "y": [1, 2]}, "b": true, "gone": 1});
        let env = json!({"a": {"x": 1, "y": [3]}, "b": true, "new": "n"});
        assert_eq!(overlay(&base, &env), Some(json!({"a": {"y": [3]}, "gone": null, "new": "n"})));
        assert_eq!(overlay(&base, &base), None);
    }
}
