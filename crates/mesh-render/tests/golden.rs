//! Golden snapshots: the exact bytes of every rendered file for each config under `golden/`
//! and for the playground's `config.yaml`, one snapshot per environment.

mod common;

use std::collections::BTreeSet;

use common::{fleet_cases, golden_cases, repo_root, snapshot_text};

#[test]
fn golden_configs_render_to_their_snapshots() {
    for case in golden_cases() {
        insta::with_settings!({
            snapshot_path => case.snapshot_dir(),
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("mesh-render --config {} {}", case.config_display(), case.env_flag()),
        }, {
            insta::assert_snapshot!(case.snapshot_name(), snapshot_text(&case));
        });
    }
}

/// A multi-cluster mesh's shared files (`fleet/`, outside the clusters' trees): `<case>-fleet.snap`.
#[test]
fn golden_fleets_render_to_their_snapshots() {
    for case in fleet_cases() {
        let fleet = mesh_render::render_fleet(&case.loaded()).expect("a multi-cluster mesh");
        let shared = mesh_render::Fleet { clusters: Vec::new(), ..fleet };
        let text: String = shared.tree().into_iter().map(|(path, contents)| format!("# ==> {path} <==\n{contents}")).collect();
        insta::with_settings!({
            snapshot_path => case.snapshot_dir(),
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("mesh-render --config {} {} render --out DIR (DIR/fleet/)", case.config_display(), case.env_flag()),
        }, {
            insta::assert_snapshot!(format!("{}-fleet", case.snapshot_name()), text);
        });
    }
}

/// Golden snapshots of `mesh-render flows --format json` for every golden config and environment
/// (`<case>-flows.snap` beside the render snapshot).
#[test]
fn golden_flows_match_their_snapshots() {
    for case in golden_cases() {
        let loaded = case.loaded();
        let rendered = mesh_render::render(&loaded);
        let rows = mesh_render::check::flows::evaluate(loaded.selected(), rendered.manifests.iter().map(|m| &m.object));
        insta::with_settings!({
            snapshot_path => case.snapshot_dir(),
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("mesh-render --config {} {} flows --format json", case.config_display(), case.env_flag()),
        }, {
            insta::assert_snapshot!(format!("{}-flows", case.snapshot_name()), mesh_render::check::flows::to_json(&rows));
        });
    }
}

/// `cargo insta test --unreferenced reject` without needing cargo-insta: a snapshot whose config or
/// environment is gone fails here.
#[test]
fn no_snapshot_is_unreferenced() {
    let mut expected: BTreeSet<_> = golden_cases()
        .iter()
        .flat_map(|c| {
            [format!("{}.snap", c.snapshot_name()), format!("{}-flows.snap", c.snapshot_name())].map(|name| c.snapshot_dir().join(name))
        })
        .collect();
    expected.extend(fleet_cases().iter().map(|c| c.snapshot_dir().join(format!("{}-fleet.snap", c.snapshot_name()))));
    let mut found = BTreeSet::new();
    for dir in
        [repo_root().join("golden")].into_iter().chain(std::fs::read_dir(repo_root().join("golden")).unwrap().flatten().map(|e| e.path()))
    {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "snap" || e == "new") || path.to_string_lossy().ends_with(".snap.new") {
                found.insert(path);
            }
        }
    }
    let unreferenced: Vec<_> = found.difference(&expected).collect();
    assert!(unreferenced.is_empty(), "snapshots without a golden config (delete them): {unreferenced:?}");
}

#[test]
fn there_are_at_least_five_golden_configs_and_an_environment() {
    let cases = golden_cases();
    let configs: BTreeSet<_> = cases.iter().map(|c| c.name.clone()).collect();
    assert!(configs.len() >= 6, "{configs:?}");
    assert!(cases.iter().any(|c| c.env.is_some()), "no golden config exercises --env");
}

/// The objects of a config, as JSON.
fn objects_of(text: &str) -> Vec<serde_json::Value> {
    let loaded =
        mesh_render::load(text, None, mesh_render::config::syntax::Limits::DEFAULT).unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
    mesh_render::render(&loaded).manifests.iter().map(|m| serde_json::to_value(&m.object).unwrap()).collect()
}

fn object<'a>(objects: &'a [serde_json::Value], kind: &str, name: &str) -> &'a serde_json::Value {
    objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name).unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn playground_objects() -> Vec<serde_json::Value> {
    objects_of(&std::fs::read_to_string(repo_root().join("config.yaml")).unwrap())
}

const WITH_KNATIVE: &str = "components:\n  knative: {enabled: true}\n  istio:\n    enabled: true\n";

/// The local Gateway's Service must stay inside the cluster: istiod reads the Service overlay from the
/// ConfigMap named in `spec.infrastructure.parametersRef` (its `service` key). The external Gateway gets
/// one only when its type is not istiod's default LoadBalancer.
#[test]
fn the_local_gateway_service_is_cluster_ip_through_its_options_config_map() {
    let overlay_type = |objects: &[serde_json::Value], gateway: &str| -> Option<String> {
        let gw = object(objects, "Gateway", gateway);
        let reference = gw["spec"].get("infrastructure")?;
        let cm_name = format!("{gateway}-options");
        assert_eq!(reference["parametersRef"], serde_json::json!({"group": "", "kind": "ConfigMap", "name": cm_name}));
        let cm = object(objects, "ConfigMap", &cm_name);
        assert_eq!(cm["metadata"]["namespace"], gw["metadata"]["namespace"], "a parametersRef is local to the Gateway's namespace");
        let overlay =
            mesh_render::config::syntax::parse(cm["data"]["service"].as_str().unwrap(), mesh_render::config::syntax::Limits::DEFAULT)
                .unwrap();
        Some(overlay.to_json()["spec"]["type"].as_str().unwrap().to_string())
    };
    let objects = objects_of(WITH_KNATIVE);
    assert_eq!(overlay_type(&objects, "knative-local-gateway").as_deref(), Some("ClusterIP"));
    assert_eq!(overlay_type(&objects, "knative-gateway"), None, "LoadBalancer is istiod's default: no options");
    let node_port = objects_of(&format!("{WITH_KNATIVE}    gateways: {{external: {{serviceType: NodePort}}}}\n"));
    assert_eq!(overlay_type(&node_port, "knative-gateway").as_deref(), Some("NodePort"));
    assert_eq!(overlay_type(&node_port, "knative-local-gateway").as_deref(), Some("ClusterIP"));
}

/// Knative's HTTPRoutes live in the app namespaces, not in the Gateways' namespace: every listener of
/// both Knative Gateways admits routes from all namespaces.
#[test]
fn every_knative_gateway_listener_admits_routes_from_all_namespaces() {
    let objects = playground_objects();
    for gateway in ["knative-gateway", "knative-local-gateway"] {
        let listeners = object(&objects, "Gateway", gateway)["spec"]["listeners"].as_array().unwrap().clone();
        assert!(!listeners.is_empty());
        for l in &listeners {
            assert_eq!(l["allowedRoutes"]["namespaces"]["from"], "All", "{gateway} {}", l["name"]);
        }
    }
}

/// The sidecars already encrypt between pods; Knative's own system-internal TLS on top is switched off
/// in `config-network`, next to the Gateway API ingress class.
#[test]
fn config_network_switches_system_internal_tls_off() {
    let objects = playground_objects();
    let cm = object(&objects, "ConfigMap", "config-network");
    assert_eq!(cm["metadata"]["namespace"], "knative-serving");
    assert_eq!(cm["data"]["system-internal-tls"], "Disabled");
    assert_eq!(cm["data"]["ingress-class"], "gateway-api.ingress.networking.knative.dev");
}

/// The mesh-wide Telemetry exists exactly when tracing or access logging is on, and holds only those.
#[test]
fn the_telemetry_object_is_rendered_only_for_tracing_or_access_logging() {
    let telemetry = |istio: &str| {
        let objects = objects_of(&format!("{WITH_KNATIVE}{istio}"));
        let found: Vec<serde_json::Value> = objects.into_iter().filter(|o| o["kind"] == "Telemetry").collect();
        assert!(found.len() <= 1, "{found:#?}");
        found.into_iter().next()
    };
    assert!(telemetry("    accessLogging: {enabled: false}\n").is_none(), "neither: no Telemetry");
    let logs = telemetry("").expect("access logging is on by default");
    assert_eq!(logs["metadata"]["name"], "mesh-default");
    assert_eq!(logs["metadata"]["namespace"], "istio-system");
    assert_eq!(logs["spec"]["accessLogging"][0]["providers"][0]["name"], "envoy");
    assert!(logs["spec"].get("tracing").is_none_or(|t| t.as_array().is_some_and(Vec::is_empty)), "{logs:#}");
    let traces = telemetry("    accessLogging: {enabled: false}\n    tracing: {service: otel.observability.svc.cluster.local}\n")
        .expect("tracing alone renders it");
    assert_eq!(traces["spec"]["tracing"][0]["providers"][0]["name"], "otel-tracing");
    assert!(traces["spec"].get("accessLogging").is_none_or(|t| t.as_array().is_some_and(Vec::is_empty)), "{traces:#}");
}
