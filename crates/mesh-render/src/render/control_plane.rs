//! The control plane: the wrapper chart over Istio's `base` and `istiod`, and its values
//! ([`crate::api::helm`] holds their types).

use std::collections::BTreeMap;

use crate::api::helm::*;
use crate::config::Config;

/// The wrapper chart for the configured release: `base`, and `istiod` once, or once per revision
/// under an alias (each at its revision's version).
pub(crate) fn chart(config: &Config) -> Chart {
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
pub(crate) fn values(config: &Config) -> Values {
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
    // No `revisionTags`: the tags are objects of their own (`render::revision_tags`).
    let istiod = |revision: Option<String>| IstiodValues {
        revision,
        autoscale_enabled: cp.autoscaling.is_some(),
        autoscale_min: cp.autoscaling.map(|a| a.min),
        autoscale_max: cp.autoscaling.map(|a| a.max),
        cpu: cp.autoscaling.map(|a| CpuTarget { target_average_utilization: a.target_cpu_percent }),
        replica_count: cp.autoscaling.is_none().then_some(cp.replicas),
        resources: (&cp.resources).into(),
        env: env.clone(),
        global: IstiodGlobal {
            hub: config.hub.clone(),
            istio_namespace: config.namespace.clone(),
            logging: cp.log_level.clone().map(|level| Logging { level }),
            proxy: ProxyValues { resources: (&config.proxy_resources).into() },
            mesh_id: config.multi_cluster.as_ref().map(|m| m.mesh_id.clone()),
            multi_cluster: config.cluster.as_ref().map(|c| MultiClusterValues { cluster_name: c.name.clone() }),
            network: config.cluster.as_ref().map(|c| c.network.clone()),
        },
        mesh_config: MeshConfig {
            default_providers: DefaultProviders { metrics: if config.prometheus { vec!["prometheus".into()] } else { Vec::new() } },
            extension_providers: extension_providers.clone(),
            service_settings: crate::render::multi_cluster::cluster_local_settings(config),
        },
        base: webhook.clone(),
    };
    let (default_revision, istiod) = match &config.revisions {
        None => (config.revision.clone(), BTreeMap::from([("istiod".to_string(), istiod(config.revision.clone()))])),
        Some(rs) => {
            // The base chart's default validator calls the stable revision's istiod
            // (`templates/defaultrevision-validatingwebhookconfiguration.yaml:21-25`): one owner of
            // validation, which follows the stable tag.
            let stable = rs.stable().unwrap_or(&rs.revisions[0]);
            let per_revision = rs.revisions.iter().map(|r| (r.istiod_name(), istiod(r.chart_revision()))).collect();
            (Some(stable.name.clone()), per_revision)
        }
    };
    Values {
        base: BaseValues { default_revision, global: BaseGlobal { istio_namespace: config.namespace.clone() }, base: webhook },
        istiod,
    }
}

/// The Helm overlay that turns `base` values into `env` values: changed keys, and `null` for keys
/// the environment drops (Helm deletes a key set to null). A dropped map is nulled leaf by leaf:
/// a `null` on the map itself would delete the chart's own defaults under that key too (an
/// environment on 1.29.1 dropping `base.validationFailurePolicy` wrote `istiod.base: null`, and
/// istiod's `validatingwebhookconfiguration.yaml` then failed on `.Values.base.validationURL`, found
/// by the oracle rendering every environment). `None` when nothing differs.
pub(crate) fn overlay(base: &serde_json::Value, env: &serde_json::Value) -> Option<serde_json::Value> {
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
            for (k, bv) in b.iter().filter(|(k, _)| !e.contains_key(*k)) {
                match bv {
                    Value::Object(_) => {
                        if let Some(d) = overlay(bv, &Value::Object(serde_json::Map::new())) {
                            out.insert(k.clone(), d);
                        }
                    }
                    _ => {
                        out.insert(k.clone(), Value::Null);
                    }
                }
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

    /// A map the environment drops is nulled leaf by leaf, never as a whole: Helm's null on the map
    /// would delete the chart's defaults under it (istiod's `base.validationURL`).
    #[test]
    fn an_environment_dropping_a_map_keeps_the_charts_defaults_under_it() {
        let base = json!({"istiod": {"base": {"validationFailurePolicy": "Fail"}, "pilot": {"x": {"y": 1}}}});
        let env = json!({"istiod": {}});
        assert_eq!(overlay(&base, &env), Some(json!({"istiod": {"base": {"validationFailurePolicy": null}, "pilot": {"x": {"y": null}}}})));
    }
}
