//! Each config rule, with a config that breaks it and the exact message a user sees.

use mesh_render::config::syntax::Limits;

/// A config with `components.istio` set to `istio` (indented YAML under it).
fn with_istio(istio: &str) -> String {
    let body: String = istio.lines().map(|l| format!("    {l}\n")).collect();
    format!("components:\n  knative:\n    enabled: true\n  istio:\n    enabled: true\n{body}")
}

fn errors(text: &str) -> Vec<String> {
    match mesh_render::load(text, None, Limits::DEFAULT) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.diagnostics.iter().map(|d| d.to_string_in("c.yaml")).collect(),
    }
}

fn warnings(text: &str) -> Vec<String> {
    mesh_render::load(text, None, Limits::DEFAULT).unwrap().warnings.iter().map(|d| d.to_string_in("c.yaml")).collect()
}

/// Two clusters of one mesh, on two networks.
const FLEET: &str =
    "namespaces: {apps: [demo]}\nmultiCluster:\n  meshID: m\n  clusters:\n  - {name: east, network: n1}\n  - {name: west, network: n2}";

/// The errors of loading `text` with cluster `cluster` (and environment `env`) selected.
fn cluster_errors(text: &str, env: Option<&str>, cluster: &str) -> Vec<String> {
    match mesh_render::config::load_cluster(text, env, Some(cluster), Limits::DEFAULT) {
        Ok(_) => panic!("expected errors for cluster {cluster} of:\n{text}"),
        Err(e) => e.diagnostics.iter().map(|d| d.to_string_in("c.yaml")).collect(),
    }
}

/// Rule: `--cluster` names one of the selected section's clusters; a near miss gets a suggestion.
#[test]
fn a_cluster_the_mesh_does_not_list_is_an_error_with_a_suggestion() {
    assert_eq!(
        cluster_errors(&with_istio(FLEET), None, "wset"),
        ["c.yaml:10:9: error[MR011]: components.istio.multiCluster.clusters: cluster `wset` is not in the mesh's clusters\n  hint: did you mean `west`? Listed: east, west"]
    );
    assert_eq!(
        cluster_errors(&with_istio("version: \"1.29.6\""), None, "east"),
        ["c.yaml:1:1: error[MR011]: components.istio.multiCluster.clusters: cluster `east` is not in the mesh's clusters\n  hint: the config describes one cluster: leave `--cluster` out, or add `components.istio.multiCluster`"]
    );
}

/// Rule: a cluster's overrides are read like the section; a problem in them points into the
/// override and names the cluster.
#[test]
fn a_problem_in_a_clusters_overrides_points_at_it_and_names_the_cluster() {
    let text = with_istio("multiCluster:\n  meshID: m\n  clusters:\n  - {name: east, network: n1}\n  - name: west\n    network: n2\n    overrides: {mtls: {mode: strict}}");
    assert_eq!(
        errors(&text),
        ["c.yaml:12:34: error[MR006]: components.istio.mtls.mode: `strict` is not allowed here (in cluster `west`)\n  hint: did you mean `STRICT`? Allowed: STRICT, PERMISSIVE, DISABLE"]
    );
}

/// Rule: Argo CD's settings are the fleet's: a cluster's overrides cannot move its Applications to
/// another namespace or project than the ApplicationSet's parents.
#[test]
fn a_clusters_overrides_cannot_change_argo_cd() {
    let text =
        with_istio("multiCluster:\n  meshID: m\n  clusters:\n  - {name: east, network: n1, overrides: {argocd: {namespace: gitops}}}");
    assert_eq!(
        errors(&text),
        ["c.yaml:9:47: error[MR008]: components.istio.multiCluster.clusters[0].overrides.argocd: `argocd` is one per mesh and cannot be overridden per cluster\n  hint: set it in `components.istio` (or an environment) for every cluster"]
    );
}

/// Rule: a cluster's `version` and `overrides.version` are one setting; the cluster's settings
/// are its version's.
#[test]
fn a_clusters_version_is_set_once_and_selects_its_release() {
    let text = with_istio(
        "multiCluster:\n  meshID: m\n  clusters:\n  - {name: east, network: n1, version: \"1.30.3\", overrides: {version: \"1.30.3\"}}",
    );
    assert_eq!(
        errors(&text),
        ["c.yaml:9:66: error[MR008]: components.istio.multiCluster.clusters[0].overrides.version: the cluster sets `version` twice, beside and in `overrides`\n  hint: keep one of them"]
    );
    let loaded = mesh_render::config::load_cluster(&with_istio("version: \"1.29.6\"\nmultiCluster:\n  meshID: m\n  clusters:\n  - {name: east, network: n1}\n  - {name: gpu, network: n1, version: \"1.30.3\"}"), None, Some("gpu"), Limits::DEFAULT).unwrap();
    assert_eq!(loaded.selected().release.version.to_string(), "1.30.3");
    assert_eq!(loaded.base.cluster_config("east").map(|c| c.release.version.to_string()).as_deref(), Some("1.29.6"));
}

/// Rule: with Argo CD, each cluster's Applications go to its own `server`: `destinationServer`
/// is refused in a fleet, and so are two clusters on one server.
#[test]
fn a_fleet_under_argo_cd_deploys_to_each_clusters_own_server() {
    let text = with_istio("argocd: {repoURL: https://example.com/r.git, destinationServer: https://10.0.0.1:6443}\nmultiCluster:\n  meshID: m\n  clusters:\n  - {name: east, network: n1, server: https://10.0.0.2:6443}\n  - {name: west, network: n1, server: https://10.0.0.2:6443/}");
    assert_eq!(
        errors(&text),
        [
            "c.yaml:6:69: error[MR008]: components.istio.argocd.destinationServer: `destinationServer` is one server, and a multi-cluster mesh deploys to each cluster's own\n  hint: remove it and set `server` on each entry of `multiCluster.clusters` (Argo CD's own cluster when absent)",
            "c.yaml:11:9: error[MR008]: components.istio.multiCluster.clusters[1].server: clusters `east` and `west` both deploy to https://10.0.0.2:6443\n  hint: give each cluster the API server Argo CD knows it by (its cluster Secret's `server`); an absent `server` is Argo CD's own cluster",
        ]
    );
}

macro_rules! rule {
    ($name:ident, $config:expr, $($expected:expr),+ $(,)?) => {
        #[test]
        fn $name() {
            assert_eq!(errors(&$config), [$($expected),+]);
        }
    };
}

rule!(unknown_key_with_suggestion, with_istio("namespce: x"),
    "c.yaml:6:5: error[MR004]: components.istio.namespce: unknown key `namespce`\n  hint: did you mean `namespace`? Known keys here: enabled, version, namespace, mode, revision, controlPlane, proxy, mtls, namespaces, gateways, knative, tracing, accessLogging, metrics, metadata, aiServing, argocd, chartRepository, hub, security, multiCluster, flows, analyzers, environments");
rule!(prometheus_scrape_needs_principals_and_ports, with_istio("security: {prometheus: {ports: [9091]}}"),
    "c.yaml:6:28: error[MR007]: components.istio.security.prometheus: `prometheus` needs both `principals` and `ports`\n  hint: e.g. `{principals: [cluster.local/ns/monitoring/sa/prometheus], ports: [9091]}`");
rule!(prometheus_scrape_lists_must_not_be_empty, with_istio("security: {prometheus: {principals: [], ports: [9091]}}"),
    "c.yaml:6:28: error[MR006]: components.istio.security.prometheus: `principals` and `ports` must each list at least one entry\n  hint: an empty list would match nothing");
rule!(prometheus_scrape_principal_is_an_identity, with_istio("security: {prometheus: {principals: [prometheus], ports: [9091]}}"),
    "c.yaml:6:42: error[MR006]: components.istio.security.prometheus.principals[0]: `prometheus` is not a mesh identity\n  hint: write `<trust domain>/ns/<namespace>/sa/<service account>`, e.g. `cluster.local/ns/monitoring/sa/prometheus`");
rule!(prometheus_scrape_never_gets_the_queue_admin_port, with_istio("security: {prometheus: {principals: [cluster.local/ns/m/sa/p], ports: [8022]}}"),
    "c.yaml:6:76: error[MR006]: components.istio.security.prometheus.ports[0]: port 8022 is queue-proxy's admin port (health checks and the drain hook), not a metrics port\n  hint: scrape queue-proxy's user metrics on 9091 (or your app's metrics port) instead");
rule!(yaml11_boolean, "components:\n  istio:\n    enabled: yes\n",
    "c.yaml:3:14: error[MR005]: components.istio.enabled: expected true or false, found `yes`\n  hint: write `true`: `yes`/`on`/`y` are booleans only in YAML 1.1");
rule!(disabled_component, "components:\n  istio:\n    enabled: false\n",
    "c.yaml:3:14: error[MR006]: components.istio.enabled: Istio is disabled, so there is nothing to render\n  hint: set `enabled: true`; mesh-render refuses to print an empty render, which Argo CD would prune everything on");
rule!(missing_istio_section, "components:\n  isito:\n    enabled: true\n",
    "c.yaml:2:3: error[MR007]: components.istio: the config has no `components.istio` section\n  hint: `components.isito` is not read; did you mean `components.istio`?");
rule!(version_outside_table, with_istio("version: \"1.28.3\""),
    "c.yaml:6:14: error[MR010]: components.istio.version: Istio 1.28.3 is not in mesh-render's version table\n  hint: supported: 1.29.0 to 1.29.8, 1.30.0 to 1.30.5, 1.31.0 to 1.31.1");
rule!(version_not_a_version, with_istio("version: 1.29"),
    "c.yaml:6:14: error[MR006]: components.istio.version: `1.29` is not an Istio version\n  hint: write MAJOR.MINOR.PATCH in quotes, e.g. \"1.29.6\"; supported: 1.29.0 to 1.29.8, 1.30.0 to 1.30.5, 1.31.0 to 1.31.1");
rule!(chart_repository_must_be_a_url, with_istio("chartRepository: istio-release"),
    "c.yaml:6:22: error[MR006]: components.istio.chartRepository: `istio-release` is not a chart repository URL\n  hint: write an `https://` chart repository or an `oci://` registry path, e.g. `https://blob.istio.io/istio-release/charts` (the default) or `oci://ghcr.io/istio/release/charts`");
rule!(chart_repository_refuses_characters_that_need_shell_quoting, with_istio("chartRepository: \"https://mirror.example/charts;rm -rf\""),
    "c.yaml:6:22: error[MR006]: components.istio.chartRepository: `https://mirror.example/charts;rm -rf` is not a chart repository URL\n  hint: write an `https://` chart repository or an `oci://` registry path, e.g. `https://blob.istio.io/istio-release/charts` (the default) or `oci://ghcr.io/istio/release/charts`");
rule!(hub_is_a_registry_path_not_a_url, with_istio("hub: https://docker.io/istio"),
    "c.yaml:6:10: error[MR006]: components.istio.hub: `https://docker.io/istio` is not an image registry path\n  hint: write a registry and path without scheme, tag or trailing slash, e.g. `docker.io/istio` (the default) or `registry.example.com/istio`");
rule!(hub_carries_no_tag, with_istio("hub: docker.io/istio:1.30.3"),
    "c.yaml:6:10: error[MR006]: components.istio.hub: `docker.io/istio:1.30.3` is not an image registry path\n  hint: write a registry and path without scheme, tag or trailing slash, e.g. `docker.io/istio` (the default) or `registry.example.com/istio`");
rule!(ambient_refused, with_istio("mode: ambient"),
    "c.yaml:6:11: error[MR006]: components.istio.mode: ambient mode is not supported: Knative is not yet compatible with Istio's ambient data plane\n  hint: use `mode: sidecar` (the default)");
rule!(enum_with_case_hint, with_istio("mtls: {mode: strict}"),
    "c.yaml:6:18: error[MR006]: components.istio.mtls.mode: `strict` is not allowed here\n  hint: did you mean `STRICT`? Allowed: STRICT, PERMISSIVE, DISABLE");
rule!(invalid_namespace_name, with_istio("namespaces: {apps: [Demo_App]}"),
    "c.yaml:6:25: error[MR006]: components.istio.namespaces.apps[0]: `Demo_App` is not a valid name: only lowercase letters, digits and `-` are allowed\n  hint: use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit");
rule!(duplicate_app_namespace, with_istio("namespaces: {apps: [a, b, a]}"),
    "c.yaml:6:31: error[MR006]: components.istio.namespaces.apps[2]: `a` is listed twice (first at line 6, column 25)\n  hint: remove the duplicate");
rule!(system_namespace_as_app, with_istio("namespaces: {apps: [knative-serving]}"),
    "c.yaml:6:25: error[MR006]: components.istio.namespaces.apps[0]: `knative-serving` is a system namespace, not an app namespace\n  hint: list only the namespaces where your Knative Services and event consumers run");
// The root namespace is no app namespace: an app gets a selector-less ALLOW policy in its namespace, and
// a selector-less policy in the root namespace applies to every workload of the mesh (under PERMISSIVE, to
// plaintext callers too). The reserved name follows `namespace`, not the default `istio-system`.
rule!(root_namespace_as_app_is_refused_because_its_allow_policy_would_be_mesh_wide,
    with_istio("namespace: mesh-root\nmtls: {mode: PERMISSIVE}\nnamespaces: {apps: [mesh-root]}"),
    "c.yaml:8:25: error[MR006]: components.istio.namespaces.apps[0]: `mesh-root` is a system namespace, not an app namespace\n  hint: list only the namespaces where your Knative Services and event consumers run");
// Port 0 is no port: the PERMISSIVE exception would name a port no webhook listens on.
rule!(
    webhook_port_zero_is_refused,
    with_istio("knative:\n  webhooks:\n    - {namespace: knative-serving, name: webhook, selector: {app: webhook}, port: 0}"),
    "c.yaml:8:87: error[MR006]: components.istio.knative.webhooks[0].port: 0 is out of range\n  hint: use a number from 1 to 65535"
);
// The collector's port has its own key: `host:port` in `service` would reach Envoy as a host name.
rule!(tracing_service_with_a_port_is_refused, with_istio("tracing: {service: \"otel-collector.observability:4317\"}"),
    "c.yaml:6:24: error[MR006]: components.istio.tracing.service: `otel-collector.observability:4317` is not a Service host name\n  hint: write the collector's host, e.g. `opentelemetry-collector.observability.svc.cluster.local`, and the port under `port`");
rule!(invalid_quantity, with_istio("controlPlane:\n  resources:\n    requests: {memory: 500mi}"),
    "c.yaml:8:28: error[MR006]: components.istio.controlPlane.resources.requests.memory: `500mi` is not a Kubernetes quantity\n  hint: did you mean `500Mi`? Suffixes are case-sensitive: m (milli), k, M, G, Ki, Mi, Gi, …");
rule!(
    autoscaling_min_above_max,
    with_istio("controlPlane:\n  autoscaling: {min: 6, max: 5}"),
    "c.yaml:7:26: error[MR008]: components.istio.controlPlane.autoscaling.min: min (6) is greater than max (5)\n  hint: make `min` at most `max`"
);
rule!(
    out_of_range_number,
    with_istio("tracing: {service: otel, samplingPercent: 150}"),
    "c.yaml:6:47: error[MR006]: components.istio.tracing.samplingPercent: 150 is out of range\n  hint: use a number from 0 to 100"
);
rule!(tracing_without_service, with_istio("tracing: {enabled: true}"),
    "c.yaml:6:14: error[MR007]: components.istio.tracing.service: tracing is enabled but no collector `service` is given\n  hint: set `service` to the OpenTelemetry collector's host, or `enabled: false`");
rule!(bad_log_level, with_istio("controlPlane: {logLevel: debug}"),
    "c.yaml:6:30: error[MR006]: components.istio.controlPlane.logLevel: `debug` is not a `scope:level` pair\n  hint: write e.g. `default:info` or `default:info,ads:debug`; levels: none, error, warn, info, debug");
rule!(managed_env_var, with_istio("controlPlane:\n  env: {PILOT_ENABLE_GATEWAY_API: \"false\"}"),
    "c.yaml:7:13: error[MR006]: components.istio.controlPlane.env.PILOT_ENABLE_GATEWAY_API: `PILOT_ENABLE_GATEWAY_API` is set by mesh-render from another key\n  hint: use `controlPlane.gatewayAPI` or `controlPlane.inferenceExtension` instead");
rule!(gateway_api_off_with_knative, with_istio("controlPlane: {gatewayAPI: false}"),
    "c.yaml:6:32: error[MR008]: components.istio.controlPlane.gatewayAPI: Knative's net-gateway-api needs Istio's Gateway API support, which is switched off\n  hint: set `gatewayAPI: true`, or switch Knative off");
rule!(mtls_disable_with_apps, with_istio("mtls: {mode: DISABLE}\nnamespaces: {apps: [demo]}"),
    "c.yaml:6:11: error[MR008]: components.istio.mtls.mode: with mTLS DISABLE, the app namespaces' ALLOW policies cannot see which namespace a caller is in, so they would deny every call\n  hint: use PERMISSIVE while migrating, or STRICT");
rule!(
    same_gateway_names,
    with_istio("gateways: {external: {name: gw}, local: {name: gw}}"),
    "c.yaml:6:15: error[MR008]: components.istio.gateways: the external and local Gateways are both named `gw`\n  hint: give them different names"
);
rule!(reserved_label, with_istio("metadata: {labels: {app.kubernetes.io/managed-by: me}}"),
    "c.yaml:6:25: error[MR006]: components.istio.metadata.labels.app.kubernetes.io/managed-by: `app.kubernetes.io/managed-by` is set by mesh-render\n  hint: choose another key");
rule!(invalid_label_value, with_istio("metadata: {labels: {team: \"a b\"}}"),
    "c.yaml:6:31: error[MR006]: components.istio.metadata.labels.team: `a b` is not a valid label value: only letters, digits, `-`, `_` and `.` are allowed\n  hint: use at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit");
rule!(wrong_type, with_istio("namespaces: {apps: demo}"),
    "c.yaml:6:24: error[MR005]: components.istio.namespaces.apps: expected a list, found a scalar\n  hint: write a YAML list (`- item` lines or `[a, b]`)");
rule!(unknown_environment_key_points_into_the_environment, with_istio("environments:\n  prod:\n    controlPlane: {replica: 2}"),
    "c.yaml:8:24: error[MR004]: components.istio.controlPlane.replica: unknown key `replica`\n  hint: did you mean `replicas`? Known keys here: replicas, autoscaling, resources, logLevel, gatewayAPI, inferenceExtension, validationFailurePolicy, env, revisions, tags, stableTag");
rule!(nested_environments, with_istio("environments:\n  prod:\n    environments: {}"),
    "c.yaml:8:23: error[MR009]: components.istio.environments.prod.environments: environments cannot be nested\n  hint: move this environment up to `components.istio.environments`");
rule!(webhook_without_selector, with_istio("knative:\n  webhooks:\n    - {namespace: knative-serving, name: webhook, selector: {}}"),
    "c.yaml:8:65: error[MR006]: components.istio.knative.webhooks[0].selector: the selector is empty\n  hint: a port-level exception needs a pod selector (Istio refuses portLevelMtls without one)");

rule!(feature_missing_from_the_release, with_istio("version: \"1.29.1\"\ncontrolPlane: {validationFailurePolicy: Fail}"),
    "c.yaml:7:45: error[MR008]: components.istio.controlPlane.validationFailurePolicy: Istio 1.29.1 has no `base.validationFailurePolicy` (it arrived in 1.29.2)\n  hint: use Istio 1.29.2 or later, or remove the key (GitOps tools then need ignoreDifferences on the webhook's failurePolicy)");

rule!(inference_model_is_explained, with_istio("aiServing:\n  pools:\n    - {name: p, namespace: ai, selector: {app: m}, targetPorts: [8000], inferenceModels: []}"),
    "c.yaml:8:77: error[MR006]: components.istio.aiServing.pools[0].inferenceModels: InferenceModel no longer exists: it became InferenceObjective (inference.networking.x-k8s.io/v1alpha2, `priority` and `poolRef`), which only the endpoint picker reads\n  hint: list `objectives: [{name, priority}]` under the pool (Inference Extension v1.1.0; from v1.6.0 objectives live in the llm-d project)");
// Pool selectors and `metadata.labels` share one label check: same messages, same hints.
rule!(pool_selector_labels_are_checked_like_metadata_labels, with_istio("aiServing:\n  pools:\n    - {name: p, namespace: ai, selector: {\"bad key!\": m, app: \"-x-\", tier: ok}, targetPorts: [8000]}"),
    "c.yaml:8:47: error[MR006]: components.istio.aiServing.pools[0].selector.bad key!: `bad key!` is not a valid label key: only letters, digits, `-`, `_` and `.` are allowed\n  hint: use an optional DNS prefix and `/`, then at most 63 letters, digits, `-`, `_` or `.`",
    "c.yaml:8:67: error[MR006]: components.istio.aiServing.pools[0].selector.app: `-x-` is not a valid label value: it must start and end with a letter or digit\n  hint: use at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit");
rule!(too_many_target_ports, with_istio("aiServing:\n  pools:\n    - {name: p, namespace: ai, selector: {app: m}, targetPorts: [1, 2, 3, 4, 5, 6, 7, 8, 9]}"),
    "c.yaml:8:69: error[MR006]: components.istio.aiServing.pools[0].targetPorts: 9 target ports given; an InferencePool takes 1 to 8\n  hint: list the model servers' ports");
rule!(duplicate_target_port, with_istio("aiServing:\n  pools:\n    - {name: p, namespace: ai, selector: {app: m}, targetPorts: [8000, 8000]}"),
    "c.yaml:8:76: error[MR006]: components.istio.aiServing.pools[0].targetPorts[1]: port 8000 is listed twice\n  hint: target ports must be unique");
rule!(objectives_need_v1_1_0, with_istio("aiServing:\n  inferenceExtension: v1.6.0\n  pools:\n    - {name: p, namespace: ai, selector: {app: m}, targetPorts: [8000], objectives: [{name: o}]}"),
    "c.yaml:9:89: error[MR008]: components.istio.aiServing.pools[0].objectives: Inference Extension v1.6.0 has no InferenceObjective (it moved to the llm-d project in v1.6.0)\n  hint: use `inferenceExtension: v1.1.0`, or manage objectives with llm-d");
rule!(pools_need_the_istiod_switch, with_istio("controlPlane: {inferenceExtension: false}\naiServing:\n  pools:\n    - {name: p, namespace: ai, selector: {app: m}, targetPorts: [8000]}"),
    "c.yaml:6:40: error[MR008]: components.istio.controlPlane.inferenceExtension: 1 inference pool(s) are declared, but istiod's Inference Extension support is switched off\n  hint: remove `inferenceExtension: false` (pools switch it on), or remove `aiServing`");
rule!(pool_without_selector, with_istio("aiServing:\n  pools:\n    - {name: p, namespace: ai, targetPorts: [8000]}"),
    "c.yaml:8:11: error[MR007]: components.istio.aiServing.pools[0].selector: `selector` is required\n  hint: see `mesh-render example` for a complete pool");

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    let all = errors(&with_istio("mode: ambient\nmtls: {mode: strict}\nnamespaces: {apps: [Bad]}\nbogus: 1"));
    let lines: Vec<&str> = all.iter().map(|e| e.split(": error").next().unwrap()).collect();
    assert_eq!(lines, ["c.yaml:6:11", "c.yaml:7:18", "c.yaml:8:25", "c.yaml:9:5"]);
}

#[test]
fn problems_inside_one_section_are_all_reported() {
    let all = errors(&with_istio(
        "controlPlane: {replicas: 0, gatewayAPI: on, logLevel: loud}\ntracing: {service: otel, port: 0, samplingPercent: -1}",
    ));
    let paths: Vec<&str> = all.iter().map(|e| e.split(": ").nth(2).unwrap()).collect();
    assert_eq!(
        paths,
        [
            "components.istio.controlPlane.replicas",
            "components.istio.controlPlane.gatewayAPI",
            "components.istio.controlPlane.logLevel",
            "components.istio.tracing.port",
            "components.istio.tracing.samplingPercent",
        ]
    );
}

#[test]
fn unknown_environment_is_an_error_with_a_suggestion() {
    let text = with_istio("environments:\n  prod: {}");
    let e = mesh_render::load(&text, Some("prd"), Limits::DEFAULT).unwrap_err();
    assert_eq!(
        e.diagnostics[0].to_string_in("c.yaml"),
        "c.yaml:5:5: error[MR009]: components.istio.environments: environment `prd` is not declared\n  hint: did you mean `prod`? Declared: prod"
    );
}

#[test]
fn weakened_mtls_is_a_warning_not_an_error() {
    assert_eq!(
        warnings(&with_istio("mtls: {mode: PERMISSIVE}")),
        ["c.yaml:6:18: warning[MR020]: components.istio.mtls.mode: mTLS is PERMISSIVE: workloads accept plaintext traffic that no AuthorizationPolicy can attribute to a caller\n  hint: use STRICT (the default) once every workload that calls into the mesh has a sidecar"]
    );
}

#[test]
fn other_components_are_tolerated() {
    let text = "cluster: {name: x}\ncomponents:\n  certManager: {enabled: true, anything: [1, 2]}\n  istio:\n    enabled: true\n";
    assert!(mesh_render::load(text, None, Limits::DEFAULT).is_ok());
}

#[test]
fn syntax_errors_are_marked_unreadable() {
    let e = mesh_render::load("components: [\n", None, Limits::DEFAULT).unwrap_err();
    assert!(e.unreadable);
    let e = mesh_render::load("components: {}\n", None, Limits::DEFAULT).unwrap_err();
    assert!(!e.unreadable);
}

#[test]
fn the_example_config_is_valid() {
    let loaded = mesh_render::load(mesh_render::example_config(), Some("prod"), Limits::DEFAULT).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.selected().control_plane.autoscaling.unwrap().min, 2);
}

#[test]
fn every_release_in_the_table_renders_with_what_it_offers() {
    for rel in mesh_render::versions::RELEASES {
        let text = with_istio(&format!("version: \"{}\"", rel.version));
        let loaded = mesh_render::load(&text, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{}: {:?}", rel.version, e.diagnostics));
        let values = mesh_render::render(&loaded).selected_values;
        assert_eq!(values.istiod().base.is_some(), rel.validation_failure_policy, "{}", rel.version);
        assert_eq!(mesh_render::render(&loaded).chart.dependencies[1].version, rel.version.to_string());
    }
}

#[test]
fn the_example_ai_serving_block_is_valid_when_uncommented() {
    let example = mesh_render::example_config();
    let mut in_block = false;
    let text: String = example
        .lines()
        .map(|line| {
            in_block = (in_block || line.starts_with("    # aiServing:")) && !line.starts_with("    environments:");
            let out = if in_block { line.replacen("# ", "", 1) } else { line.to_string() };
            out + "\n"
        })
        .collect();
    assert!(text.contains("\n    aiServing:"), "{text}");
    let loaded = mesh_render::load(&text, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
    assert_eq!(loaded.selected().ai_serving.as_ref().unwrap().pools[0].name, "llama3-8b");
}

/// Rule: under PERMISSIVE, Knative's mesh compatibility mode defaults to `enabled`: with `auto`, the
/// activator reads the 403 its plaintext pod-IP probe gets as "no mesh" and never falls back to the
/// revision's ClusterIP (knative-v1.23.0 `IsPotentialMeshErrorResponse` counts only 502 and 503).
#[test]
fn permissive_mesh_forces_knative_mesh_compatibility_mode_enabled() {
    let mode =
        |istio: &str| mesh_render::load(&with_istio(istio), None, Limits::DEFAULT).unwrap().base.knative.unwrap().mesh_compatibility_mode;
    assert_eq!(mode("mtls: {mode: PERMISSIVE}"), "enabled");
    assert_eq!(mode(""), "auto", "STRICT resets the probe's connection, which the activator takes for a mesh");
    assert_eq!(mode("mtls: {mode: PERMISSIVE}\nknative: {meshCompatibilityMode: enabled}"), "enabled");
    assert_eq!(mode("mtls: {mode: PERMISSIVE}\nknative: {meshCompatibilityMode: auto}"), "auto", "an explicit value is kept");
    let w = warnings(&with_istio("mtls: {mode: PERMISSIVE}\nknative: {meshCompatibilityMode: auto}"));
    assert!(
        w.iter().any(|w| w.starts_with("c.yaml:7:38: warning[MR023]: components.istio.knative.meshCompatibilityMode: with mTLS PERMISSIVE and `auto`, the activator's plaintext probes of revision pods get 403")),
        "{w:#?}"
    );
    assert!(!warnings(&with_istio("mtls: {mode: PERMISSIVE}")).iter().any(|w| w.contains("meshCompatibilityMode")));
}

rule!(ignored_check_must_be_a_check_code, with_istio("analyzers: {ignore: [MR131]}"),
    "c.yaml:6:26: error[MR006]: components.istio.analyzers.ignore[0]: `MR131` is not a check code\n  hint: did you mean `MR113`? `mesh-render explain --list` lists the codes");

/// Rule: a config error code cannot be ignored (the config is not read past one); a config warning
/// code can, and its warnings are then left out of `Loaded.warnings`.
#[test]
fn config_error_codes_cannot_be_ignored_and_config_warnings_can() {
    assert_eq!(
        errors(&with_istio("analyzers: {ignore: [MR004]}")),
        ["c.yaml:6:26: error[MR006]: components.istio.analyzers.ignore[0]: MR004 is a config error (A key mesh-render does not know): the config cannot be read past it, so it cannot be ignored\n  hint: fix what MR004 reports (`mesh-render explain MR004`)"]
    );
    let permissive = with_istio("mtls: {mode: PERMISSIVE}");
    assert!(warnings(&permissive).iter().any(|w| w.contains("warning[MR020]: components.istio.mtls.mode")));
    let silenced = with_istio("mtls: {mode: PERMISSIVE}\nanalyzers: {ignore: [MR020]}");
    assert_eq!(warnings(&silenced), Vec::<String>::new());
}

/// Every config code of the registry fires on a config that breaks its rule, and each config
/// problem carries the code of its family (MR001–MR027).
#[test]
fn every_config_code_fires_on_a_config_that_breaks_it() {
    let cases: [(&str, String, bool); 20] = [
        ("MR001", "components: [\n".to_string(), true),
        ("MR002", "components: {}\ncomponents: {}\n".to_string(), true),
        ("MR003", format!("{}1{}\n", "[".repeat(70), "]".repeat(70)), true),
        ("MR004", with_istio("namespce: x"), true),
        ("MR005", with_istio("mtls: [STRICT]"), true),
        ("MR006", with_istio("mtls: {mode: strict}"), true),
        ("MR007", "components:\n  istio: {}\n".to_string(), true),
        ("MR008", with_istio("gateways: {external: {name: gw}, local: {name: gw}}"), true),
        ("MR009", with_istio("environments: {Dev: {}}"), true),
        ("MR010", with_istio("version: \"1.28.3\""), true),
        ("MR011", with_istio(FLEET), true),
        ("MR020", with_istio("mtls: {mode: PERMISSIVE}"), false),
        ("MR021", with_istio("controlPlane: {replicas: 3, autoscaling: {enabled: true}}"), false),
        (
            "MR022",
            "components:\n  knative: {enabled: true}\n  envoyGateway: {enabled: true}\n  istio: {enabled: true}\n".to_string(),
            false,
        ),
        ("MR023", with_istio("mtls: {mode: PERMISSIVE}\nknative: {meshCompatibilityMode: auto}"), false),
        ("MR024", with_istio("analyzers: {ignore: [MR121]}"), false),
        (
            "MR025",
            with_istio("aiServing:\n  gateway: {name: shared, namespace: edge, create: false}\n  pools: [{name: p, namespace: ai, selector: {app: m}, targetPorts: [8000]}]"),
            false,
        ),
        (
            "MR026",
            with_istio("aiServing:\n  pools: [{name: p, namespace: ai, selector: {app: m}, targetPorts: [8000], endpointPicker: {tls: selfSigned}}]"),
            false,
        ),
        ("MR027", with_istio("argocd: {repoURL: https://example.com/r.git, destinationServer: https://10.0.0.1:6443}"), false),
        (
            "MR028",
            "components:\n  knative: {enabled: true}\n  istio:\n    enabled: true\n    gateways: {local: {meshOnly: false}}\n".to_string(),
            false,
        ),
    ];
    let registry: Vec<&str> = mesh_render::check::rules().map(|r| r.code).filter(|c| *c < "MR100").collect();
    assert_eq!(cases.iter().map(|c| c.0).collect::<Vec<_>>(), registry, "one case per config code");
    for (code, text, is_error) in cases {
        let found: Vec<String> = match (code, is_error) {
            // A cluster the mesh does not list (`--cluster`).
            ("MR011", _) => cluster_errors(&text, None, "north"),
            (_, true) => errors(&text),
            (_, false) => warnings(&text),
        };
        assert!(found.iter().any(|d| d.contains(&format!("[{code}]: "))), "{code}: {found:#?}");
    }
}

/// Rule: `analyzers.ignore` silences a check in every run (render and check); ignoring an error
/// check is allowed, with a warning, because it lets a real problem through.
#[test]
fn ignored_checks_are_left_out_of_every_analyzer_run() {
    let text = with_istio("version: \"1.29.6\"\nanalyzers: {ignore: [mr113, MR121]}");
    let loaded = mesh_render::load(&text, None, Limits::DEFAULT).unwrap();
    assert_eq!(loaded.base.ignored_checks, ["MR113", "MR121"], "codes as the registry spells them");
    let w: Vec<String> = loaded.warnings.iter().map(|d| d.to_string_in("c.yaml")).collect();
    assert!(
        w.iter().any(|w| w.starts_with("c.yaml:7:33: warning[MR024]: components.istio.analyzers.ignore[1]: MR121 is an error check")),
        "{w:#?}"
    );
    assert!(!w.iter().any(|w| w.contains("ignore[0]")), "MR113 is a warning check: {w:#?}");
    let codes = |loaded: &mesh_render::Loaded| -> Vec<&str> {
        mesh_render::check::analyzers::analyze(loaded, &mesh_render::render(loaded)).iter().map(|f| f.code).collect()
    };
    assert!(!codes(&loaded).contains(&"MR113"));
    let without = mesh_render::load(&with_istio("version: \"1.29.6\""), None, Limits::DEFAULT).unwrap();
    assert!(codes(&without).contains(&"MR113"), "the check fires when not ignored");
}

/// Review of issue 20: the hooks run in the destination cluster and read the mesh Application in
/// Argo CD's namespace, which exists only in Argo CD's own cluster: a remote `destinationServer`
/// warns (MR027); the default and the explicit in-cluster address do not.
#[test]
fn a_remote_argocd_destination_warns_that_the_hooks_cannot_work_there() {
    let remote = with_istio("argocd:\n  repoURL: https://example.com/r.git\n  destinationServer: https://10.0.0.1:6443");
    assert_eq!(
        warnings(&remote),
        ["c.yaml:8:26: warning[MR027]: components.istio.argocd.destinationServer: `https://10.0.0.1:6443` is not Argo CD's own cluster: the hooks there cannot read the mesh Application nor create their Role in Argo CD's namespace, so the teardown and the revision gates fail and block every deletion\n  hint: use `https://kubernetes.default.svc` and run Argo CD in the mesh's cluster, or install the mesh with the plans"]
    );
    for local in ["", "\n  destinationServer: https://kubernetes.default.svc"] {
        let text = with_istio(&format!("argocd:\n  repoURL: https://example.com/r.git{local}"));
        assert_eq!(warnings(&text), Vec::<String>::new(), "{text}");
    }
    let off = with_istio("argocd:\n  enabled: false\n  destinationServer: https://10.0.0.1:6443");
    assert_eq!(warnings(&off), Vec::<String>::new(), "Argo CD off: nothing runs there");
}
