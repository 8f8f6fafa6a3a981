//! AI serving: InferencePools with their endpoint pickers, routes, TLS and access, for LLM routing
//! through the Gateway API Inference Extension on Istio.
//!
//! Istio 1.29 watches InferencePool `inference.networking.k8s.io/v1` only. Per pool: the pool, an
//! HTTPRoute to it, the endpoint picker (EPP: Deployment, Service, ServiceAccount, Role and
//! RoleBinding), TLS towards the picker (its own self-signed certificate through a DestinationRule,
//! or plaintext inside mesh mTLS, never a mix), and an AuthorizationPolicy for the gateway.

use std::collections::BTreeMap;

use gateway_api::apis::standard::gateways::*;
use gateway_api::apis::standard::httproutes::*;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, GRPCAction, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, Service, ServiceAccount, ServicePort,
    ServiceSpec,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::api::inference::*;
use crate::api::istio::*;
use crate::config::ai_serving::{AiServing, PickerTls, Pool};
use crate::config::security::PrometheusScrape;
use crate::config::{Config, Resources};
use crate::render::facts::{principal, MeshFacts};
use crate::render::gateways::GATEWAY_CLASS;
use crate::render::manifest::{owned_meta, Concern, Manifest, Object};

/// ext_proc (gRPC) port of the endpoint picker.
pub(crate) const EXT_PROC_PORT: i32 = 9002;
/// gRPC health port of the endpoint picker.
pub(crate) const HEALTH_PORT: i32 = 9003;
/// Prometheus metrics port of the endpoint picker.
pub(crate) const METRICS_PORT: i32 = 9090;
/// API group of InferencePool v1.
pub(crate) const POOL_GROUP: &str = "inference.networking.k8s.io";

/// The endpoint picker that goes with an Inference Extension release: where its image is, and
/// what its upstream Helm chart passes. Each value is from the named upstream tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PickerRelease {
    pub image: &'static str,
    pub tag: &'static str,
    /// Where the values come from (repository, tag, path).
    pub source: &'static str,
    /// Read rules (API group, resources) beyond InferencePools and Pods, as the chart's Role has them.
    pub extra_reads: &'static [(&'static str, &'static [&'static str])],
}

/// GIE v1.1.0 builds and publishes the picker itself (`config/charts/inferencepool/values.yaml`:
/// hub `registry.k8s.io/gateway-api-inference-extension`, name `epp`, tag `v1.1.0`). From v1.6.0
/// the repository builds only `lwepp`, a conformance-test picker (`cmd/lwepp`; README: "EPP and
/// associated APIs: llm-d/llm-d-router"), and no `epp:v1.6.0` image exists. llm-d-router v0.10.0
/// (the newest release, after GIE v1.6.0; its go.mod still pins GIE v1.5.0, same InferencePool v1
/// API) publishes `ghcr.io/llm-d/llm-d-router-endpoint-picker:<git tag>` (`.github/workflows/
/// ci-release.yaml`, `Makefile` `EPP_IMAGE_NAME`); its chart is `config/charts/routerlib`.
pub(crate) fn picker_release(release: &str) -> PickerRelease {
    match release {
        "v1.6.0" => PickerRelease {
            image: "ghcr.io/llm-d/llm-d-router-endpoint-picker",
            tag: "v0.10.0",
            source: "llm-d/llm-d-router v0.10.0 config/charts/routerlib/templates/_deployment.yaml",
            // config/charts/llm-d-router-gateway/templates/rbac.yaml
            extra_reads: &[
                ("inference.networking.x-k8s.io", &["inferenceobjectives", "inferencemodelrewrites"]),
                ("llm-d.ai", &["inferenceobjectives", "inferencemodelrewrites"]),
            ],
        },
        _ => PickerRelease {
            image: "registry.k8s.io/gateway-api-inference-extension/epp",
            tag: "v1.1.0",
            source: "kubernetes-sigs/gateway-api-inference-extension v1.1.0 config/charts/inferencepool/templates/epp-deployment.yaml",
            // config/charts/inferencepool/templates/rbac.yaml
            extra_reads: &[("inference.networking.x-k8s.io", &["inferenceobjectives"])],
        },
    }
}

/// Name of a pool's endpoint picker (Deployment, Service, ServiceAccount, Role).
pub(crate) fn picker_name(pool: &Pool) -> String {
    format!("{}-epp", pool.name)
}

pub(crate) fn render(config: &Config, facts: &MeshFacts) -> Vec<Manifest> {
    let Some(ai) = &config.ai_serving else { return Vec::new() };
    let mut out = Vec::new();
    if ai.install_crds {
        for (release, json) in crate::api::inference::CRDS.iter().filter(|(r, _)| *r == ai.release) {
            let crd: CustomResourceDefinition =
                serde_json::from_str(json).unwrap_or_else(|e| unreachable!("bundled CRD of {release} is a CustomResourceDefinition: {e}"));
            out.push(Manifest { concern: Concern::InferenceCrds, object: Object::from(crd) });
        }
    }
    if ai.gateway.create {
        out.push(gateway(ai));
    }
    for pool in &ai.pools {
        let in_mesh = facts.is_injected(&pool.namespace);
        out.extend(render_pool(ai, pool, in_mesh, config.security.prometheus.as_ref()));
        if config.apps.contains(&pool.namespace) {
            out.extend(deny_policies(ai, pool, config.security.prometheus.as_ref()).into_iter().map(|p| manifest(Object::from(p))));
        }
    }
    out
}

fn manifest(object: Object) -> Manifest {
    Manifest { concern: Concern::AiServing, object }
}

fn meta(name: &str, namespace: &str) -> ObjectMeta {
    owned_meta(name, Some(namespace), Concern::AiServing)
}

fn gateway(ai: &AiServing) -> Manifest {
    let listener = crate::render::gateways::listener("http", 80, "HTTP", None);
    let spec = GatewaySpec { gateway_class_name: GATEWAY_CLASS.into(), listeners: vec![listener], ..Default::default() };
    let mut gw = Gateway::new(&ai.gateway.name, spec);
    gw.metadata = meta(&ai.gateway.name, &ai.gateway.namespace);
    manifest(Object::from(gw))
}

fn render_pool(ai: &AiServing, pool: &Pool, in_mesh: bool, scraper: Option<&PrometheusScrape>) -> Vec<Manifest> {
    let ns = pool.namespace.as_str();
    let epp = picker_name(pool);
    let mut out = Vec::new();

    let mut ip = InferencePool::new(
        &pool.name,
        InferencePoolSpec {
            selector: crate::api::inference::LabelSelector { match_labels: pool.selector.clone() },
            target_ports: pool.target_ports.iter().map(|p| Port { number: i32::from(*p) }).collect(),
            endpoint_picker_ref: Some(EndpointPickerRef {
                group: String::new(),
                kind: "Service".into(),
                name: epp.clone(),
                port: Port { number: EXT_PROC_PORT },
                failure_mode: pool.picker.failure_mode.into(),
            }),
        },
    );
    ip.metadata = meta(&pool.name, ns);
    out.push(manifest(Object::from(ip)));

    for objective in &pool.objectives {
        let mut o = InferenceObjective::new(
            &objective.name,
            InferenceObjectiveSpec {
                priority: objective.priority,
                pool_ref: PoolRef { group: POOL_GROUP.into(), kind: "InferencePool".into(), name: pool.name.clone() },
            },
        );
        o.metadata = meta(&objective.name, ns);
        out.push(manifest(Object::from(o)));
    }

    out.push(manifest(Object::from(route(ai, pool))));
    out.extend(picker(pool, ai, in_mesh));

    // TLS towards the picker: the picker's self-signed certificate, or the mesh's mTLS. Never both.
    if pool.picker.tls == PickerTls::SelfSigned {
        let mut dr = DestinationRule::new(
            &epp,
            DestinationRuleSpec {
                host: format!("{epp}.{ns}.svc.cluster.local"),
                // On the ext_proc port only: a host-level `tls` would apply to every port of the
                // picker's Service (istio 1.29.6 `pilot/pkg/networking/util/util.go:808-835`), and a
                // sidecar calling 9003 or 9090 would then originate one-way TLS that the picker's
                // sidecar, which requires Istio mTLS there, refuses (Istio's config generator in the
                // oracle, issue 22). Port 9002 is the one the picker's own TLS serves.
                traffic_policy: Some(TrafficPolicy {
                    tls: None,
                    port_level_settings: vec![PortTrafficPolicy {
                        port: PortSelector { number: EXT_PROC_PORT as u32 },
                        tls: Some(ClientTls { mode: "SIMPLE".into(), insecure_skip_verify: Some(true) }),
                    }],
                }),
            },
        );
        dr.metadata = meta(&epp, ns);
        out.push(manifest(Object::from(dr)));
    }

    out.extend(access_policies(ai, pool, scraper).into_iter().map(|p| manifest(Object::from(p))));
    if in_mesh {
        out.push(manifest(Object::from(metrics_service(pool))));
    }
    out
}

/// Name of the headless Service that lets the picker's scrape carry mTLS.
pub(crate) fn metrics_service_name(pool: &Pool) -> String {
    format!("{}-model-server-metrics", pool.name)
}

/// A headless Service over the model servers' target ports, served as **TCP**, so that the
/// picker's scrape of `http://<pod IP>:<port>/metrics` (GIE v1.1.0 `pkg/epp/datastore/datastore.go:246`
/// builds the address from the pod IP) travels over mTLS. A call to a pod IP that no listener knows
/// leaves the picker's sidecar through PassthroughCluster in plaintext, which the model servers'
/// STRICT sidecars refuse (istio/istio#36725, #34679, #37431).
///
/// Why TCP: Istio builds one outbound listener per endpoint IP only for a headless Service's TCP
/// or unsupported ports (istio 1.29.6 `pilot/pkg/networking/core/listener.go:489-494`, 1.30.3
/// `:499-504`); an HTTP port is served on `0.0.0.0:<port>` whose virtual hosts match the Service's
/// hostname and `*.<hostname>` (`httproute.go:570-574`), not the `Host: <podIP>:<port>` the picker
/// sends, so it would fall through to PassthroughCluster. The per-IP listener's ORIGINAL_DST cluster
/// keeps its ISTIO_MUTUAL transport socket (`cluster_tls.go:93-95`).
///
/// Inbound: Istio's shadow Service for the InferencePool is headless too and names its ports
/// `http-<i>` with placeholder numbers (54321, …) and the target ports as `targetPort`
/// (1.29.6 `pilot/pkg/config/kube/gateway/inferencepool_collection.go:514-521`), so the model
/// server's sidecar sees two Services on each target port with different protocols. It keeps the
/// oldest Service's protocol and reports a `pilot_conflict_inbound_listener` metric
/// (`listener_inbound.go:420-423,719-723`). Either way the scrape works: an HTTP inbound chain under
/// STRICT matches any TLS connection (`filterchain_options.go:142-148`, no ALPN) and under
/// PERMISSIVE accepts the TCP ALPN `istio` (`allIstioMtlsALPNs`, `listener.go:97`), and a TCP one
/// proxies the bytes; only HTTP-level telemetry of that port may be TCP-level instead.
fn metrics_service(pool: &Pool) -> Service {
    let ports = pool
        .target_ports
        .iter()
        .enumerate()
        .map(|(i, port)| ServicePort {
            name: Some(format!("tcp-metrics-{i}")),
            port: i32::from(*port),
            target_port: Some(IntOrString::Int(i32::from(*port))),
            protocol: Some("TCP".into()),
            app_protocol: Some("tcp".into()),
            ..Default::default()
        })
        .collect();
    Service {
        metadata: meta(&metrics_service_name(pool), &pool.namespace),
        spec: Some(ServiceSpec {
            selector: Some(pool.selector.clone()),
            type_: Some("ClusterIP".into()),
            cluster_ip: Some("None".into()),
            ports: Some(ports),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An HTTPRoute from the inference Gateway to the pool. Group, kind and weight are written out so
/// that Gateway API defaulting does not show as drift; a port does not apply to an InferencePool
/// (its `targetPorts` say where the model servers listen).
fn route(ai: &AiServing, pool: &Pool) -> HttpRoute {
    let parent = HttpRouteParentRefs {
        group: Some("gateway.networking.k8s.io".into()),
        kind: Some("Gateway".into()),
        name: ai.gateway.name.clone(),
        namespace: Some(ai.gateway.namespace.clone()),
        port: None,
        section_name: None,
    };
    let rule = HttpRouteRules {
        matches: Some(vec![HttpRouteRulesMatches {
            path: Some(HttpRouteRulesMatchesPath {
                r#type: Some(HttpRouteRulesMatchesPathType::PathPrefix),
                value: Some(pool.path_prefix.clone()),
            }),
            ..Default::default()
        }]),
        backend_refs: Some(vec![HttpRouteRulesBackendRefs {
            group: Some(POOL_GROUP.into()),
            kind: Some("InferencePool".into()),
            name: pool.name.clone(),
            weight: Some(1),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let spec = HttpRouteSpec {
        hostnames: (!pool.hostnames.is_empty()).then(|| pool.hostnames.clone()),
        parent_refs: Some(vec![parent]),
        rules: Some(vec![rule]),
    };
    let mut r = HttpRoute::new(&pool.name, spec);
    r.metadata = meta(&pool.name, &pool.namespace);
    r
}

fn resources(r: &Resources) -> ResourceRequirements {
    let q = |m: &BTreeMap<String, String>| (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), Quantity(v.clone()))).collect());
    ResourceRequirements { requests: q(&r.requests), limits: q(&r.limits), ..Default::default() }
}

fn picker(pool: &Pool, ai: &AiServing, in_mesh: bool) -> Vec<Manifest> {
    let ns = pool.namespace.as_str();
    let epp = picker_name(pool);
    let labels = BTreeMap::from([("app".to_string(), epp.clone())]);
    let secure = pool.picker.tls == PickerTls::SelfSigned;
    let mut args: Vec<String> = [
        "--pool-name",
        &pool.name,
        "--pool-namespace",
        ns,
        "--pool-group",
        POOL_GROUP,
        "--grpc-port",
        &EXT_PROC_PORT.to_string(),
        "--grpc-health-port",
        &HEALTH_PORT.to_string(),
        "--zap-encoder",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(picker_flags(pool));

    // With leader election, liveness and readiness are separate gRPC services (readiness passes
    // on the leader only): v1.1.0 cmd/epp/runner/health.go, and both charts' probes.
    let ha = pool.picker.replicas > 1;
    let grpc_probe = |initial, check: &str| Probe {
        grpc: Some(GRPCAction { port: HEALTH_PORT, service: Some(if ha { check.into() } else { "inference-extension".into() }) }),
        initial_delay_seconds: Some(initial),
        period_seconds: Some(10),
        ..Default::default()
    };
    let port = |name: &str, number| ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    let container = Container {
        name: "epp".into(),
        image: Some(format!("{}:{}", pool.picker.image, pool.picker.version)),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(args),
        ports: Some(vec![port("grpc", EXT_PROC_PORT), port("grpc-health", HEALTH_PORT), port("metrics", METRICS_PORT)]),
        liveness_probe: Some(grpc_probe(5, "liveness")),
        readiness_probe: Some(grpc_probe(2, "readiness")),
        resources: Some(resources(&pool.picker.resources)),
        ..Default::default()
    };
    // With its own TLS in an injected namespace, the sidecar must not capture the ext_proc port.
    let annotations = (secure && in_mesh)
        .then(|| BTreeMap::from([("traffic.sidecar.istio.io/excludeInboundPorts".to_string(), EXT_PROC_PORT.to_string())]));
    let deployment = Deployment {
        metadata: meta(&epp, ns),
        spec: Some(DeploymentSpec {
            replicas: Some(pool.picker.replicas as i32),
            selector: LabelSelector { match_labels: Some(labels.clone()), ..Default::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels.clone()), annotations, ..Default::default() }),
                spec: Some(PodSpec {
                    service_account_name: Some(epp.clone()),
                    containers: vec![container],
                    termination_grace_period_seconds: Some(130),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let svc_port = |name: &str, number, app: Option<&str>| ServicePort {
        name: Some(name.into()),
        port: number,
        target_port: Some(IntOrString::Int(number)),
        protocol: Some("TCP".into()),
        app_protocol: app.map(str::to_string),
        ..Default::default()
    };
    let service = Service {
        metadata: meta(&epp, ns),
        spec: Some(ServiceSpec {
            selector: Some(labels),
            type_: Some("ClusterIP".into()),
            ports: Some(vec![
                svc_port("grpc-ext-proc", EXT_PROC_PORT, Some("http2")),
                svc_port("grpc-health", HEALTH_PORT, None),
                svc_port("http-metrics", METRICS_PORT, None),
            ]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let account = ServiceAccount { metadata: meta(&epp, ns), ..Default::default() };
    let read = |group: &str, resource: &str| PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(vec![resource.into()]),
        verbs: vec!["get".into(), "list".into(), "watch".into()],
        ..Default::default()
    };
    let mut rules = vec![read(POOL_GROUP, "inferencepools"), read("", "pods")];
    for (group, resources) in picker_release(ai.release).extra_reads {
        for resource in *resources {
            rules.push(read(group, resource));
        }
    }
    let subject = Subject { kind: "ServiceAccount".into(), name: epp.clone(), namespace: Some(ns.into()), ..Default::default() };
    let role_ref = |kind: &str, name: &str| RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: kind.into(), name: name.into() };
    let role = Role { metadata: meta(&epp, ns), rules: Some(rules) };
    let binding = RoleBinding { metadata: meta(&epp, ns), role_ref: role_ref("Role", &epp), subjects: Some(vec![subject.clone()]) };
    let mut out = vec![
        manifest(Object::from(account)),
        manifest(Object::from(role)),
        manifest(Object::from(binding)),
        manifest(Object::from(service)),
        manifest(Object::from(deployment)),
    ];

    // The picker's /metrics checks the caller's token (`--metrics-endpoint-auth` defaults to true),
    // which needs TokenReviews and SubjectAccessReviews: the GIE v1.1.0 chart's ClusterRole
    // (config/charts/inferencepool/templates/rbac.yaml). Cluster-scoped, so the name carries the namespace.
    let auth = metrics_auth_name(pool);
    let create = |group: &str, resource: &str| PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(vec![resource.into()]),
        verbs: vec!["create".into()],
        ..Default::default()
    };
    let cluster_role = ClusterRole {
        metadata: owned_meta(&auth, None, Concern::AiServing),
        rules: Some(vec![create("authentication.k8s.io", "tokenreviews"), create("authorization.k8s.io", "subjectaccessreviews")]),
        ..Default::default()
    };
    let cluster_binding = ClusterRoleBinding {
        metadata: owned_meta(&auth, None, Concern::AiServing),
        role_ref: role_ref("ClusterRole", &auth),
        subjects: Some(vec![subject.clone()]),
    };
    out.push(manifest(Object::from(cluster_role)));
    out.push(manifest(Object::from(cluster_binding)));

    // Leader election for more than one replica: both charts' leader-election-rbac.yaml.
    if ha {
        let name = format!("{epp}-leader-election");
        let rule = |group: &str, resource: &str, verbs: &[&str]| PolicyRule {
            api_groups: Some(vec![group.into()]),
            resources: Some(vec![resource.into()]),
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
            ..Default::default()
        };
        let role = Role {
            metadata: meta(&name, ns),
            rules: Some(vec![
                rule("coordination.k8s.io", "leases", &["get", "list", "watch", "create", "update", "patch", "delete"]),
                rule("", "events", &["create", "patch"]),
            ]),
        };
        let binding = RoleBinding { metadata: meta(&name, ns), role_ref: role_ref("Role", &name), subjects: Some(vec![subject]) };
        out.push(manifest(Object::from(role)));
        out.push(manifest(Object::from(binding)));
    }
    out
}

/// Name of the ClusterRole and ClusterRoleBinding that let a picker check metrics tokens.
pub(crate) fn metrics_auth_name(pool: &Pool) -> String {
    format!("{}-{}-metrics-auth", pool.namespace, picker_name(pool))
}

/// The picker's flags beyond pool and ports, as the upstream chart of the release passes them
/// (see [`picker_release`]): leader election with more than one replica (`--ha-enable-leader-election`,
/// both charts when `replicas > 1`), tracing off (`--tracing` defaults to true in the binary; both
/// charts pass false unless tracing is configured), and the TLS mode. Metrics authentication stays on
/// (the binary's default).
pub(crate) fn picker_flags(pool: &Pool) -> Vec<String> {
    let mut flags = vec![format!("--secure-serving={}", pool.picker.tls == PickerTls::SelfSigned), "--tracing=false".to_string()];
    if pool.picker.replicas > 1 {
        flags.push("--ha-enable-leader-election".into());
    }
    flags
}

/// Who may call the pool's workloads, by principal and port: the inference gateway's pods
/// (`cluster.local/ns/<ns>/sa/<gateway>-istio`: istiod names a Gateway's ServiceAccount
/// `<name>-<class>`, istio 1.29.6 `pilot/pkg/config/kube/gateway/deploymentcontroller.go:547`)
/// reach the model servers' target ports and, with `tls: mesh`, the picker's ext_proc port; the
/// picker (`sa/<pool>-epp`) scrapes the model servers' target ports; the configured scraper
/// (`security.prometheus.principals`) reads the picker's 9090. Nothing else: not istiod or another
/// gateway of the gateway's namespace, not the rest of the pool's namespace. The picker's gRPC
/// probes on 9003 need no rule: the injector rewrites them to pilot-agent (istio 1.29.6
/// `pkg/kube/inject/app_probe.go:67-79`, `convertAppProberGRPC`). Two policies, because a selector
/// names one set of pods; a selector-free ALLOW policy would close the whole namespace.
fn access_policies(ai: &AiServing, pool: &Pool, scraper: Option<&PrometheusScrape>) -> Vec<AuthorizationPolicy> {
    let from = |principals: Vec<String>, ports: Vec<String>| AuthorizationRule {
        from: vec![RuleFrom { source: Source { principals, ..Default::default() } }],
        to: vec![RuleTo { operation: Operation { ports, ..Default::default() } }],
    };
    let policy = |name: String, selector, rules| pool_policy(pool, name, selector, "ALLOW", rules);
    let model_ports: Vec<String> = pool.target_ports.iter().map(u16::to_string).collect();
    let epp = picker_name(pool);
    let gateway = vec![gateway_principal(ai)];
    // With `tls: selfSigned` the picker's sidecar does not intercept 9002
    // (`excludeInboundPorts`), so no AuthorizationPolicy rule on 9002 would ever be enforced: none
    // is rendered, and the docs say that any pod can reach the picker's ext_proc port then.
    let mut picker_rules = Vec::new();
    if pool.picker.tls == PickerTls::Mesh {
        picker_rules.push(from(gateway.clone(), vec![EXT_PROC_PORT.to_string()]));
    }
    if let Some(scrape) = scraper {
        picker_rules.push(from(scrape.principals.clone(), vec![METRICS_PORT.to_string()]));
    }
    vec![
        policy(
            format!("{}-model-servers", pool.name),
            pool.selector.clone(),
            vec![from(gateway, model_ports.clone()), from(vec![principal(&pool.namespace, &epp)], model_ports)],
        ),
        policy(epp.clone(), BTreeMap::from([("app".to_string(), epp)]), picker_rules),
    ]
}

/// Name suffix of the DENY policies of a pool in an app namespace.
pub(crate) const DENY_OTHERS: &str = "deny-others";

/// In a namespace that is both an app namespace and a pool's namespace, the app policy
/// (`allow-mesh-and-knative`, no selector) applies to the model servers and the picker too, and
/// ALLOW policies are ORed: every pod of the namespace, and eventing's senders (any port), would
/// reach the model servers' target ports and the picker's 9002, 9003 and 9090. A DENY policy is
/// evaluated before any ALLOW (istio.io "Authorization policy precedence"), so these two keep the
/// pool's ports to the callers of [`access_policies`], whatever else the namespace allows:
/// `notPrincipals` also matches a caller without a principal (plaintext). The rules on 9003, and
/// on 9090 without a configured scraper, have no `from` on purpose: they deny every caller of a
/// port that needs none (the picker's gRPC probes go through pilot-agent, which the sidecar does
/// not see, `app_probe.go:67-79`). The model servers' other ports stay the namespace's business.
fn deny_policies(ai: &AiServing, pool: &Pool, scraper: Option<&PrometheusScrape>) -> Vec<AuthorizationPolicy> {
    let deny = |not_principals: Vec<String>, ports: Vec<String>| AuthorizationRule {
        from: if not_principals.is_empty() {
            Vec::new()
        } else {
            vec![RuleFrom { source: Source { not_principals, ..Default::default() } }]
        },
        to: vec![RuleTo { operation: Operation { ports, ..Default::default() } }],
    };
    let policy = |name: String, selector, rules| pool_policy(pool, name, selector, "DENY", rules);
    let epp = picker_name(pool);
    let gateway = gateway_principal(ai);
    let model_ports = pool.target_ports.iter().map(u16::to_string).collect();
    let mut picker_rules = Vec::new();
    if pool.picker.tls == PickerTls::Mesh {
        picker_rules.push(deny(vec![gateway.clone()], vec![EXT_PROC_PORT.to_string()]));
    }
    picker_rules.push(deny(Vec::new(), vec![HEALTH_PORT.to_string()]));
    picker_rules.push(deny(scraper.map(|s| s.principals.clone()).unwrap_or_default(), vec![METRICS_PORT.to_string()]));
    vec![
        policy(
            format!("{}-model-servers-{DENY_OTHERS}", pool.name),
            pool.selector.clone(),
            vec![deny(vec![gateway, principal(&pool.namespace, &epp)], model_ports)],
        ),
        policy(format!("{epp}-{DENY_OTHERS}"), BTreeMap::from([("app".to_string(), epp)]), picker_rules),
    ]
}

/// A policy of `action` on the pods of the pool's namespace that `selector` names.
fn pool_policy(
    pool: &Pool,
    name: String,
    selector: BTreeMap<String, String>,
    action: &str,
    rules: Vec<AuthorizationRule>,
) -> AuthorizationPolicy {
    let spec = AuthorizationPolicySpec { selector: Some(WorkloadSelector { match_labels: selector }), action: Some(action.into()), rules };
    let mut p = AuthorizationPolicy::new(&name, spec);
    p.metadata = meta(&name, &pool.namespace);
    p
}

/// The inference gateway's principal: its pods run as `<gateway>-istio` (see [`access_policies`]),
/// or as `aiServing.gateway.serviceAccount` for a reused Gateway that mesh-render does not render
/// and that carries `gateway.istio.io/service-account` (istio 1.29.6 `deploymentcontroller.go:547`).
pub(crate) fn gateway_principal(ai: &AiServing) -> String {
    principal(&ai.gateway.namespace, &gateway_service_account(ai))
}

/// The ServiceAccount of the inference gateway's pods (see [`gateway_principal`]).
pub(crate) fn gateway_service_account(ai: &AiServing) -> String {
    ai.gateway.service_account.clone().unwrap_or_else(|| crate::render::gateways::service_name(&ai.gateway.name))
}
