//! What the templates read: facts of the config and of its render, as serializable rows.

use std::collections::BTreeMap;

use serde::Serialize;

use super::diagram::diagram;
use super::upgrade_notes::{note_groups, NoteGroup};
use crate::config::ai_serving::PickerTls;
use crate::config::{Loaded, MtlsMode};
use crate::render::{ai_serving, gateways, knative, security, telemetry};
use crate::upgrade;
use crate::versions::{self, Release};

#[derive(Serialize)]
pub(crate) struct Context {
    config_file: &'static str,
    environment: Option<String>,
    environments: Vec<String>,
    istio: IstioFacts,
    releases: Vec<ReleaseRow>,
    namespaces: Vec<NamespaceRow>,
    root_namespace: String,
    injection_label: String,
    control_plane: ControlPlaneFacts,
    mtls: String,
    strict: bool,
    webhooks: Vec<WebhookRow>,
    app_policy: String,
    apps: Vec<AppPolicy>,
    /// The activator's ALLOW policy: its name and callers (empty without Knative).
    activator_policy: &'static str,
    activator_callers: Vec<String>,
    /// The opt-in scrape rule: principals and ports (`components.istio.security.prometheus`).
    prometheus_scrape: Option<(Vec<String>, Vec<u16>)>,
    knative: Option<KnativeFacts>,
    gateways: GatewayFacts,
    telemetry: TelemetryFacts,
    ai: AiFacts,
    objects: Vec<ObjectRow>,
    diagram: String,
    /// `mesh-render flows` as a Markdown table, and its Mermaid picture.
    flows_table: String,
    flows_diagram: String,
    notes: Vec<NoteGroup>,
    upgrade_targets: Vec<String>,
    upgrade_example: Option<String>,
    /// The canary path to the newest release (`upgrade --to NEWEST --canary`), as Mermaid.
    canary_diagram: Option<String>,
}

#[derive(Serialize)]
struct IstioFacts {
    version: String,
    line: String,
    gateway_api: &'static str,
    kubernetes: String,
    validation_failure_policy: bool,
    end_of_life: bool,
    newest_patch: String,
    newest_release: String,
    chart_repository: String,
    chart_name: &'static str,
    inference_extension: bool,
    inference_release: Option<&'static str>,
}

#[derive(Serialize)]
struct ReleaseRow {
    version: String,
    date: &'static str,
    signing_key: &'static str,
    gateway_api: &'static str,
    kubernetes: String,
    validation_failure_policy: bool,
    end_of_life: bool,
    current: bool,
}

#[derive(Serialize)]
struct NamespaceRow {
    name: String,
    role: String,
    injected: bool,
    owner: &'static str,
}

#[derive(Serialize)]
struct ControlPlaneFacts {
    autoscaling: Option<String>,
    replicas: u32,
    requests: String,
    limits: String,
    proxy_requests: String,
    proxy_limits: String,
    log_level: Option<String>,
    env: Vec<(String, String)>,
    validation_failure_policy: Option<&'static str>,
    revision: Option<String>,
    default_metrics: Vec<String>,
}

#[derive(Serialize)]
struct WebhookRow {
    namespace: String,
    name: String,
    selector: String,
    port: u16,
}

/// Each admission as "`p1`, `p2` on 8012, 8013 (paths)" for the docs.
fn admissions(list: &[crate::Admission]) -> Vec<String> {
    list.iter()
        .map(|a| {
            let who: Vec<String> = a.principals.iter().map(|p| format!("`{p}`")).collect();
            let ports: Vec<String> = a.ports.iter().map(u16::to_string).collect();
            let not: Vec<String> = a.not_ports.iter().map(u16::to_string).collect();
            let on = match (ports.is_empty(), not.is_empty()) {
                (true, true) => "on any port".to_string(),
                (true, false) => format!("on any port but {}", not.join(", ")),
                (false, _) => format!("on {}", ports.join(", ")),
            };
            let paths = if a.paths.is_empty() { String::new() } else { format!(" `{}`", a.paths.join("`, `")) };
            format!("{} {on}{paths} ({})", who.join(", "), a.purpose)
        })
        .collect()
}

#[derive(Serialize)]
struct AppPolicy {
    namespace: String,
    sources: Vec<String>,
    /// The other callers, as "`principal`, … on ports" (Markdown).
    callers: Vec<String>,
}

#[derive(Serialize)]
struct KnativeFacts {
    serving: String,
    eventing: Option<String>,
    /// The ServiceAccounts of the Knative Kafka dispatchers the config names (`eventing.kafka`).
    kafka_senders: Vec<&'static str>,
    ingress_class: &'static str,
    mesh_compatibility_mode: &'static str,
    external_entry: String,
    local_entry: String,
}

#[derive(Serialize)]
struct GatewayFacts {
    class: &'static str,
    external: String,
    external_service: String,
    external_service_type: &'static str,
    local: String,
    local_service: String,
    /// The NetworkPolicy that keeps pods outside the mesh off the local gateway, when rendered.
    mesh_only_policy: Option<String>,
}

#[derive(Serialize)]
struct TelemetryFacts {
    name: &'static str,
    tracing: Option<TracingFacts>,
    access_logging: Option<String>,
    prometheus: bool,
}

#[derive(Serialize)]
struct TracingFacts {
    provider: String,
    service: String,
    port: u16,
    sampling_percent: String,
}

#[derive(Serialize)]
struct AiFacts {
    enabled: bool,
    release: Option<&'static str>,
    install_crds: bool,
    gateway: Option<String>,
    gateway_created: bool,
    pools: Vec<PoolRow>,
    ext_proc_port: i32,
    health_port: i32,
    metrics_port: i32,
    pool_group: &'static str,
    releases: Vec<&'static str>,
}

#[derive(Serialize)]
struct PoolRow {
    name: String,
    namespace: String,
    selector: String,
    target_ports: String,
    hostnames: String,
    path_prefix: String,
    picker: String,
    image: String,
    replicas: u32,
    failure_mode: &'static str,
    tls: &'static str,
    objectives: String,
    in_mesh: bool,
}

#[derive(Serialize)]
struct ObjectRow {
    file: String,
    kind: &'static str,
    namespace: String,
    name: String,
    partial: bool,
}

fn pairs(map: &BTreeMap<String, String>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    map.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
}

fn labels(map: &BTreeMap<String, String>) -> String {
    map.iter().map(|(k, v)| format!("`{k}: {v}`")).collect::<Vec<_>>().join(", ")
}

fn release_row(release: &Release, current: &Release) -> ReleaseRow {
    ReleaseRow {
        version: release.version.to_string(),
        date: release.date.unwrap_or("?"),
        signing_key: release.signing_key.rsplit('/').next().unwrap_or(release.signing_key),
        gateway_api: release.gateway_api,
        kubernetes: upgrade::kubernetes_range_text(release),
        validation_failure_policy: release.validation_failure_policy,
        end_of_life: release.end_of_life,
        current: release.version == current.version,
    }
}

impl Context {
    pub(crate) fn new(loaded: &Loaded) -> Context {
        let config = loaded.selected();
        let rendered = crate::render(loaded);
        let flow_rows = crate::check::flows::evaluate(config, rendered.manifests.iter().map(|m| &m.object));
        let release = config.release;
        let newest = versions::RELEASES[versions::RELEASES.len() - 1].version;
        let cp = &config.control_plane;
        let values = &rendered.selected_values;
        let facts = &rendered.facts;
        let (label_key, label_value) = &facts.injection_label;

        let mut namespaces = vec![NamespaceRow {
            name: config.namespace.clone(),
            role: "Istio's root namespace: istiod, the mesh-wide PeerAuthentication and Telemetry, the Gateways".into(),
            injected: false,
            owner: "mesh-render",
        }];
        for ns in &facts.injected {
            let role = match &config.knative {
                Some(k) if *ns == k.serving_namespace => "Knative Serving: activator, autoscaler, controllers, webhooks".to_string(),
                Some(k) if Some(ns) == k.eventing_namespace.as_ref() => {
                    "Knative Eventing: brokers, channels and their dispatchers, webhooks".to_string()
                }
                _ if config.apps.contains(ns) => "app namespace: Knative Services (queue-proxy + app container)".to_string(),
                _ => "inference pool namespace: model servers and endpoint picker".to_string(),
            };
            namespaces.push(NamespaceRow { name: ns.clone(), role, injected: true, owner: "its installer (mesh-render adds the label)" });
        }

        let webhooks = facts
            .webhook_exceptions
            .iter()
            .map(|w| WebhookRow { namespace: w.namespace.clone(), name: w.name.clone(), selector: labels(&w.selector), port: w.port })
            .collect();
        let apps = config
            .apps
            .iter()
            .map(|a| AppPolicy { namespace: a.clone(), sources: facts.policy_sources(a), callers: admissions(&facts.app_callers) })
            .collect();
        let activator_callers = admissions(&facts.activator_callers);

        let knative_facts = config.knative.as_ref().zip(facts.gateway_entries.as_ref()).map(|(k, (external, local))| {
            let entry = |e: &crate::GatewayEntry| format!("class `{}`, gateway `{}`, service `{}`", e.class, e.gateway, e.service);
            KnativeFacts {
                serving: k.serving_namespace.clone(),
                eventing: k.eventing_namespace.clone(),
                kafka_senders: [
                    (k.kafka.broker, "knative-kafka-broker-data-plane"),
                    (k.kafka.channel, "knative-kafka-channel-data-plane"),
                    (k.kafka.source, "knative-kafka-source-data-plane"),
                ]
                .into_iter()
                .filter_map(|(on, sa)| on.then_some(sa))
                .collect(),
                ingress_class: knative::INGRESS_CLASS,
                mesh_compatibility_mode: k.mesh_compatibility_mode,
                external_entry: entry(external),
                local_entry: entry(local),
            }
        });
        let gw = &config.gateways;
        let gateways = GatewayFacts {
            class: gateways::GATEWAY_CLASS,
            external: gw.external.clone(),
            external_service: gateways::service_name(&gw.external),
            external_service_type: gw.external_service_type,
            local: gw.local.clone(),
            local_service: gateways::service_name(&gw.local),
            mesh_only_policy: (config.knative.is_some() && config.mtls == MtlsMode::Strict && gw.local_mesh_only)
                .then(|| security::mesh_only_policy_name(&gw.local)),
        };
        let telemetry_facts = TelemetryFacts {
            name: telemetry::MESH_TELEMETRY,
            tracing: config.tracing.as_ref().map(|t| TracingFacts {
                provider: t.provider.clone(),
                service: t.service.clone(),
                port: t.port,
                sampling_percent: format!("{}", t.sampling_percent),
            }),
            access_logging: config.access_logging.clone(),
            prometheus: config.prometheus,
        };

        let ai = config.ai_serving.as_ref();
        let ai_facts = AiFacts {
            enabled: ai.is_some(),
            release: ai.map(|a| a.release),
            install_crds: ai.is_some_and(|a| a.install_crds),
            gateway: ai.map(|a| format!("{}/{}", a.gateway.namespace, a.gateway.name)),
            gateway_created: ai.is_some_and(|a| a.gateway.create),
            pools: ai
                .iter()
                .flat_map(|a| &a.pools)
                .map(|p| PoolRow {
                    name: p.name.clone(),
                    namespace: p.namespace.clone(),
                    selector: labels(&p.selector),
                    target_ports: p.target_ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", "),
                    hostnames: if p.hostnames.is_empty() { "any".into() } else { p.hostnames.join(", ") },
                    path_prefix: p.path_prefix.clone(),
                    picker: ai_serving::picker_name(p),
                    image: format!("{}:{}", p.picker.image, p.picker.version),
                    replicas: p.picker.replicas,
                    failure_mode: p.picker.failure_mode,
                    tls: match p.picker.tls {
                        PickerTls::SelfSigned => "selfSigned",
                        PickerTls::Mesh => "mesh",
                    },
                    objectives: if p.objectives.is_empty() {
                        "none".into()
                    } else {
                        p.objectives.iter().map(|o| format!("`{}` (priority {})", o.name, o.priority)).collect::<Vec<_>>().join(", ")
                    },
                    in_mesh: facts.is_injected(&p.namespace),
                })
                .collect(),
            ext_proc_port: ai_serving::EXT_PROC_PORT,
            health_port: ai_serving::HEALTH_PORT,
            metrics_port: ai_serving::METRICS_PORT,
            pool_group: ai_serving::POOL_GROUP,
            releases: crate::config::ai_serving::RELEASES.to_vec(),
        };

        let objects = rendered
            .manifests
            .iter()
            .map(|m| {
                let meta = m.object.metadata();
                ObjectRow {
                    file: format!("manifests/{}", m.concern.file_name()),
                    kind: m.object.kind(),
                    namespace: meta.namespace.clone().unwrap_or_default(),
                    name: meta.name.clone().unwrap_or_default(),
                    partial: m.object.is_partial(),
                }
            })
            .collect();

        let notes = note_groups(config);
        let upgrade_targets: Vec<String> =
            versions::RELEASES.iter().filter(|r| r.version > release.version).map(|r| r.version.to_string()).collect();
        let upgrade_example = upgrade_targets.last().cloned();

        Context {
            config_file: "config.yaml",
            environment: config.environment.clone(),
            environments: loaded.environments.keys().cloned().collect(),
            istio: IstioFacts {
                version: release.version.to_string(),
                line: release.version.minor_line(),
                gateway_api: release.gateway_api,
                kubernetes: upgrade::kubernetes_range_text(release),
                validation_failure_policy: cp.validation_failure_policy.is_some(),
                end_of_life: release.end_of_life,
                newest_patch: versions::newest_patch(release.version).version.to_string(),
                newest_release: newest.to_string(),
                chart_repository: config.charts.url.clone(),
                chart_name: crate::api::helm::CHART_NAME,
                inference_extension: cp.inference_extension,
                inference_release: ai.map(|a| a.release),
            },
            releases: versions::RELEASES.iter().map(|r| release_row(r, release)).collect(),
            namespaces,
            root_namespace: config.namespace.clone(),
            injection_label: format!("{label_key}={label_value}"),
            control_plane: ControlPlaneFacts {
                autoscaling: cp.autoscaling.map(|a| format!("{} to {} replicas at {}% CPU", a.min, a.max, a.target_cpu_percent)),
                replicas: cp.replicas,
                requests: pairs(&cp.resources.requests),
                limits: pairs(&cp.resources.limits),
                proxy_requests: pairs(&config.proxy_resources.requests),
                proxy_limits: pairs(&config.proxy_resources.limits),
                log_level: cp.log_level.clone(),
                env: values.istiod().env.clone().into_iter().collect(),
                validation_failure_policy: cp.validation_failure_policy,
                revision: config.revision.clone(),
                default_metrics: values.istiod().mesh_config.default_providers.metrics.clone(),
            },
            mtls: config.mtls.as_str().to_string(),
            strict: config.mtls == MtlsMode::Strict,
            webhooks,
            app_policy: security::APP_POLICY.to_string(),
            apps,
            activator_policy: crate::render::facts::ACTIVATOR_POLICY,
            activator_callers,
            prometheus_scrape: config.security.prometheus.as_ref().map(|p| (p.principals.clone(), p.ports.clone())),
            knative: knative_facts,
            gateways,
            telemetry: telemetry_facts,
            ai: ai_facts,
            objects,
            diagram: diagram(config),
            notes,
            canary_diagram: upgrade_example.as_deref().and_then(|to| crate::upgrade::canary::diagram(loaded, to).ok()),
            upgrade_targets,
            upgrade_example,
            flows_table: crate::check::flows::to_markdown(&flow_rows),
            flows_diagram: crate::check::flows::to_mermaid(&flow_rows),
        }
    }
}
