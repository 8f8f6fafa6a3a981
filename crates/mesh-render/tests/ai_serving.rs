//! AI serving: what each pool renders, in both picker TLS modes.

mod common;

use mesh_render::config::syntax::Limits;
use serde_json::Value;

fn render(yaml: &str) -> Vec<Value> {
    let loaded = mesh_render::load(yaml, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
    mesh_render::render(&loaded).manifests.iter().map(|m| serde_json::to_value(&m.object).unwrap()).collect()
}

fn config(tls: &str, apps: &str) -> String {
    format!(
        "components:\n  istio:\n    enabled: true\n    namespaces: {{apps: [{apps}]}}\n    aiServing:\n      pools:\n        - {{name: llm, namespace: ai, selector: {{app: vllm}}, targetPorts: [8000], endpointPicker: {{tls: {tls}}}}}\n"
    )
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

#[test]
fn self_signed_picker_gets_a_destination_rule_and_an_uncaptured_port() {
    let objects = render(&config("selfSigned", ""));
    let dr = find(&objects, "DestinationRule", "llm-epp").expect("DestinationRule");
    assert_eq!(dr["spec"]["host"], "llm-epp.ai.svc.cluster.local");
    // Issue 22 (the oracle: Istio's config generator): the picker's TLS on the ext_proc port only;
    // a host-level `tls` would make a sidecar's call to 9003 or 9090 one-way TLS that STRICT refuses.
    assert_eq!(
        dr["spec"]["trafficPolicy"],
        serde_json::json!({"portLevelSettings": [{"port": {"number": 9002}, "tls": {"mode": "SIMPLE", "insecureSkipVerify": true}}]})
    );
    let deployment = find(&objects, "Deployment", "llm-epp").unwrap();
    // The pool namespace joins the mesh, so the sidecar must leave 9002 to the picker's own TLS.
    assert_eq!(deployment["spec"]["template"]["metadata"]["annotations"]["traffic.sidecar.istio.io/excludeInboundPorts"], "9002");
    assert!(deployment["spec"]["template"]["spec"]["containers"][0]["args"].as_array().unwrap().contains(&"--secure-serving=true".into()));
    let ns = find(&objects, "Namespace", "ai").unwrap();
    assert_eq!(ns["metadata"]["labels"]["istio-injection"], "enabled");
}

#[test]
fn mesh_picker_gets_neither_destination_rule_nor_annotation() {
    let objects = render(&config("mesh", ""));
    assert!(find(&objects, "DestinationRule", "llm-epp").is_none());
    let deployment = find(&objects, "Deployment", "llm-epp").unwrap();
    assert!(deployment["spec"]["template"]["metadata"].get("annotations").is_none());
    assert!(deployment["spec"]["template"]["spec"]["containers"][0]["args"].as_array().unwrap().contains(&"--secure-serving=false".into()));
}

#[test]
fn pool_route_and_access_are_complete() {
    let objects = render(&config("mesh", "ai"));
    let pool = find(&objects, "InferencePool", "llm").unwrap();
    assert_eq!(pool["apiVersion"], "inference.networking.k8s.io/v1");
    assert_eq!(
        pool["spec"]["endpointPickerRef"],
        serde_json::json!({"group": "", "kind": "Service", "name": "llm-epp", "port": {"number": 9002}, "failureMode": "FailClose"})
    );
    let route = find(&objects, "HTTPRoute", "llm").unwrap();
    assert_eq!(
        route["spec"]["rules"][0]["backendRefs"][0],
        serde_json::json!({"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "llm", "weight": 1})
    );
    assert_eq!(route["spec"]["parentRefs"][0]["name"], "inference-gateway");
    assert!(find(&objects, "Gateway", "inference-gateway").is_some());
    let service = find(&objects, "Service", "llm-epp").unwrap();
    assert_eq!(service["spec"]["ports"][0]["appProtocol"], "http2");
    let models = find(&objects, "AuthorizationPolicy", "llm-model-servers").unwrap();
    assert_eq!(models["spec"]["selector"]["matchLabels"]["app"], "vllm");
    assert_eq!(
        models["spec"]["rules"][0]["from"][0]["source"]["principals"][0],
        "cluster.local/ns/istio-system/sa/inference-gateway-istio"
    );
    assert_eq!(models["spec"]["rules"][0]["to"][0]["operation"]["ports"][0], "8000");
    let epp = find(&objects, "AuthorizationPolicy", "llm-epp").unwrap();
    assert_eq!(epp["spec"]["rules"][0]["to"][0]["operation"]["ports"][0], "9002");
    // An app namespace keeps its namespace-wide policy too.
    assert!(find(&objects, "AuthorizationPolicy", "allow-mesh-and-knative").is_some());
}

/// Rule: `<pool>-model-servers` and `<pool>-epp` admit principals, never namespaces: the inference
/// gateway's pods (`sa/<gateway>-istio`, istio 1.29.6 `deploymentcontroller.go:547`) on the target
/// ports and 9002, the picker (`sa/<pool>-epp`) on the target ports, the configured scraper on the
/// picker's 9090; no rule without `from`, none for 9003 (gRPC probes go through pilot-agent).
#[test]
fn pool_policies_admit_the_callers_principals_on_their_ports_only() {
    let scrape = "    security:\n      prometheus: {principals: [cluster.local/ns/monitoring/sa/prometheus], ports: [9091]}\n";
    for (extra, scraper) in [("", false), (scrape, true)] {
        let objects = render(&(config("mesh", "") + extra));
        let rules = |name: &str| -> Vec<(Value, Value)> {
            let policy = find(&objects, "AuthorizationPolicy", name).unwrap();
            policy["spec"]["rules"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["from"][0]["source"].clone(), r["to"][0]["operation"]["ports"].clone()))
                .collect()
        };
        let gw = serde_json::json!({"principals": ["cluster.local/ns/istio-system/sa/inference-gateway-istio"]});
        let epp = serde_json::json!({"principals": ["cluster.local/ns/ai/sa/llm-epp"]});
        assert_eq!(rules("llm-model-servers"), [(gw.clone(), serde_json::json!(["8000"])), (epp, serde_json::json!(["8000"]))]);
        let mut picker = vec![(gw, serde_json::json!(["9002"]))];
        if scraper {
            picker.push((serde_json::json!({"principals": ["cluster.local/ns/monitoring/sa/prometheus"]}), serde_json::json!(["9090"])));
        }
        assert_eq!(rules("llm-epp"), picker, "scraper: {scraper}");
        // A pool namespace that is no app namespace gets no DENY policy.
        assert!(objects.iter().all(|o| o["spec"]["action"] != "DENY"));
    }
}

/// Rule (issue 21, 3d): in a namespace that is also an app namespace the namespace-wide app policy
/// is ORed into the pool's workloads, so `<pool>-model-servers-deny-others` and
/// `<pool>-epp-deny-others` (DENY, evaluated before ALLOW) keep the target ports to the gateway and
/// the picker, 9002 to the gateway, and close 9003 and 9090 (no scraper) to everyone; the flow
/// evaluator sees a neighbour pod and eventing's broker filter refused, the needed calls allowed.
#[test]
fn a_pool_in_an_app_namespace_gets_deny_policies_for_every_other_caller() {
    let text = config("mesh", "ai").replace("components:\n", "components:\n  knative: {enabled: true, eventing: {}}\n");
    let objects = render(&text);
    let models = find(&objects, "AuthorizationPolicy", "llm-model-servers-deny-others").expect("model-server DENY policy");
    assert_eq!(models["spec"]["action"], "DENY");
    assert_eq!(
        models["spec"]["rules"],
        serde_json::json!([{"from": [{"source": {"notPrincipals": ["cluster.local/ns/istio-system/sa/inference-gateway-istio", "cluster.local/ns/ai/sa/llm-epp"]}}], "to": [{"operation": {"ports": ["8000"]}}]}])
    );
    let picker = find(&objects, "AuthorizationPolicy", "llm-epp-deny-others").expect("picker DENY policy");
    assert_eq!(
        picker["spec"]["rules"],
        serde_json::json!([
            {"from": [{"source": {"notPrincipals": ["cluster.local/ns/istio-system/sa/inference-gateway-istio"]}}], "to": [{"operation": {"ports": ["9002"]}}]},
            {"to": [{"operation": {"ports": ["9003"]}}]},
            {"to": [{"operation": {"ports": ["9090"]}}]}
        ])
    );
    let loaded = mesh_render::load(&text, None, Limits::DEFAULT).unwrap();
    let rendered = mesh_render::render(&loaded);
    let rows = mesh_render::check::flows::evaluate(loaded.selected(), rendered.manifests.iter().map(|m| &m.object));
    let verdict = |purpose: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r.purpose == purpose)
            .map(|r| serde_json::to_value(r).unwrap()["verdict"].as_str().unwrap().to_string())
            .collect()
    };
    for refused in [
        "another pod of the pool namespace -> model server",
        "another pod of the pool namespace -> endpoint picker (ext_proc)",
        "another pod of the pool namespace -> endpoint picker health or metrics",
        "broker filter -> model server",
    ] {
        let v = verdict(refused);
        assert!(!v.is_empty() && v.iter().all(|v| v == "deny"), "{refused}: {v:?}");
    }
    for needed in [
        "inference gateway -> model server",
        "inference gateway -> endpoint picker (ext_proc)",
        "endpoint picker -> model server metrics (pod IP)",
    ] {
        assert_eq!(verdict(needed), ["allow"], "{needed}");
    }
}

#[test]
fn pools_switch_istiod_support_on() {
    let loaded = mesh_render::load(&config("mesh", ""), None, Limits::DEFAULT).unwrap();
    let values = mesh_render::render(&loaded).selected_values;
    assert_eq!(values.istiod().env.get("ENABLE_GATEWAY_API_INFERENCE_EXTENSION").map(String::as_str), Some("true"));
    let without = mesh_render::load("components:\n  istio:\n    enabled: true\n", None, Limits::DEFAULT).unwrap();
    assert!(!mesh_render::render(&without).selected_values.istiod().env.contains_key("ENABLE_GATEWAY_API_INFERENCE_EXTENSION"));
}

/// A pool in the root namespace does not label it for injection: istiod and the gateways run there, and
/// the root Namespace is mesh-render's own object, rendered once and without an injection label.
#[test]
fn a_pool_in_the_root_namespace_does_not_label_it_for_injection() {
    let objects = render(&config("mesh", "").replace("namespace: ai", "namespace: istio-system"));
    assert_eq!(find(&objects, "InferencePool", "llm").unwrap()["metadata"]["namespace"], "istio-system");
    let roots: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == "istio-system").collect();
    assert_eq!(roots.len(), 1, "{roots:#?}");
    let labels = roots[0]["metadata"]["labels"].as_object().unwrap();
    assert!(!labels.contains_key("istio-injection") && !labels.contains_key("istio.io/rev"), "{labels:?}");
}

#[test]
fn crds_are_rendered_first_only_when_asked() {
    let yaml = config("mesh", "").replace("    aiServing:\n", "    aiServing:\n      installCRDs: true\n");
    let loaded = mesh_render::load(&yaml, None, Limits::DEFAULT).unwrap();
    let rendered = mesh_render::render(&loaded);
    let tree = rendered.tree();
    let crds = &tree["manifests/05-inference-crds.yaml"];
    assert_eq!(crds.matches("kind: CustomResourceDefinition").count(), 2);
    assert!(!render(&config("mesh", "")).iter().any(|o| o["kind"] == "CustomResourceDefinition"));
}

fn pool_config(release: &str, picker: &str) -> String {
    format!(
        "components:\n  istio:\n    enabled: true\n    aiServing:\n      inferenceExtension: {release}\n      pools:\n        - {{name: llm, namespace: ai, selector: {{app: vllm}}, targetPorts: [8000], endpointPicker: {picker}}}\n"
    )
}

fn args(objects: &[Value]) -> Vec<String> {
    let deployment = find(objects, "Deployment", "llm-epp").expect("picker Deployment");
    deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// Rule: the picker image exists for the release. GIE v1.1.0 publishes
/// registry.k8s.io/gateway-api-inference-extension/epp:v1.1.0 (config/charts/inferencepool/values.yaml);
/// GIE v1.6.0 builds only lwepp and the picker moved to llm-d/llm-d-router, whose release workflow
/// (v0.10.0 .github/workflows/ci-release.yaml) tags ghcr.io/llm-d/llm-d-router-endpoint-picker with the git tag.
#[test]
fn picker_image_follows_the_release() {
    for (release, image) in [
        ("v1.1.0", "registry.k8s.io/gateway-api-inference-extension/epp:v1.1.0"),
        ("v1.6.0", "ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0"),
    ] {
        let objects = render(&pool_config(release, "{}"));
        let deployment = find(&objects, "Deployment", "llm-epp").unwrap();
        assert_eq!(deployment["spec"]["template"]["spec"]["containers"][0]["image"], image, "{release}");
        assert!(!image.ends_with("epp:v1.6.0"));
    }
}

/// Rule: the picker's flags are the upstream chart's (GIE v1.1.0 epp-deployment.yaml, llm-d-router
/// v0.10.0 routerlib _deployment.yaml): pool name, namespace and group, JSON logs, tracing off, and
/// leader election only with more than one replica; every flag exists in both binaries
/// (GIE v1.1.0 cmd/epp/runner/runner.go, llm-d-router v0.10.0 pkg/epp/server/options.go).
#[test]
fn picker_flags_match_the_upstream_charts() {
    for release in ["v1.1.0", "v1.6.0"] {
        let one = args(&render(&pool_config(release, "{replicas: 1}")));
        for pair in
            [["--pool-name", "llm"], ["--pool-namespace", "ai"], ["--pool-group", "inference.networking.k8s.io"], ["--zap-encoder", "json"]]
        {
            assert!(one.windows(2).any(|w| w == pair), "{release}: {pair:?} in {one:?}");
        }
        assert!(one.contains(&"--tracing=false".to_string()), "{release}");
        assert!(!one.contains(&"--ha-enable-leader-election".to_string()), "{release}");
        let three = args(&render(&pool_config(release, "{replicas: 3}")));
        assert!(three.contains(&"--ha-enable-leader-election".to_string()), "{release}");
    }
}

/// Rule: more than one picker replica gets leader election, its RBAC (leases, events) and the
/// separate liveness/readiness health services (both upstream charts).
#[test]
fn several_picker_replicas_elect_a_leader() {
    let objects = render(&pool_config("v1.1.0", "{replicas: 2}"));
    let role = find(&objects, "Role", "llm-epp-leader-election").expect("leader election Role");
    assert_eq!(role["rules"][0]["apiGroups"][0], "coordination.k8s.io");
    assert_eq!(role["rules"][0]["resources"][0], "leases");
    assert!(find(&objects, "RoleBinding", "llm-epp-leader-election").is_some());
    let container = &find(&objects, "Deployment", "llm-epp").unwrap()["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["livenessProbe"]["grpc"]["service"], "liveness");
    assert_eq!(container["readinessProbe"]["grpc"]["service"], "readiness");
    let single = render(&pool_config("v1.1.0", "{replicas: 1}"));
    assert!(find(&single, "Role", "llm-epp-leader-election").is_none());
}

/// Rule: metrics authentication (on by default in the picker) has the RBAC it needs: create
/// TokenReviews and SubjectAccessReviews (GIE v1.1.0 config/charts/inferencepool/templates/rbac.yaml).
#[test]
fn picker_can_check_metrics_tokens() {
    let objects = render(&pool_config("v1.1.0", "{}"));
    let role = find(&objects, "ClusterRole", "ai-llm-epp-metrics-auth").expect("ClusterRole");
    let rules: Vec<(String, String)> = role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["resources"][0].as_str().unwrap().to_string(), r["verbs"][0].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(rules, [("tokenreviews".to_string(), "create".to_string()), ("subjectaccessreviews".to_string(), "create".to_string())]);
    let binding = find(&objects, "ClusterRoleBinding", "ai-llm-epp-metrics-auth").expect("ClusterRoleBinding");
    assert_eq!(binding["subjects"][0]["name"], "llm-epp");
    assert_eq!(binding["subjects"][0]["namespace"], "ai");
    assert!(!args(&objects).iter().any(|a| a.starts_with("--metrics-endpoint-auth")));
}

/// Rule: no AuthorizationPolicy rule for the ext_proc port when the sidecar does not intercept it
/// (`tls: selfSigned` excludes 9002 from inbound capture, so such a rule is never enforced).
#[test]
fn ext_proc_rule_only_where_the_sidecar_enforces_it() {
    let port_rules = |tls: &str| -> Vec<Value> {
        let objects = render(&config(tls, ""));
        let policy = find(&objects, "AuthorizationPolicy", "llm-epp").unwrap();
        // Without a scraper, `tls: selfSigned` leaves the policy without rules: an ALLOW policy
        // that matches nothing, so the sidecar admits no caller on any captured port.
        policy["spec"]["rules"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter(|r| r.to_string().contains("\"9002\""))
            .cloned()
            .collect()
    };
    assert!(port_rules("selfSigned").is_empty());
    assert_eq!(port_rules("mesh").len(), 1);
}

/// Rule: in an injected pool namespace, a headless Service over the model servers' target ports,
/// served as TCP (Istio builds per-pod-IP outbound listeners only for TCP ports, istio 1.29.6
/// `listener.go:489-494`), lets the picker's pod-IP scrape travel over mTLS, so STRICT does not
/// refuse it; the flow evaluator sees that scrape allowed over mTLS.
#[test]
fn the_picker_scrape_gets_a_headless_tcp_service_over_the_target_ports() {
    let text = "components:\n  istio:\n    enabled: true\n    aiServing:\n      pools:\n        - {name: llm, namespace: ai, selector: {app: vllm}, targetPorts: [8000, 8001]}\n";
    let objects = render(text);
    let svc = find(&objects, "Service", "llm-model-server-metrics").expect("the headless Service");
    assert_eq!(svc["spec"]["clusterIP"], "None");
    assert_eq!(svc["spec"]["selector"], serde_json::json!({"app": "vllm"}));
    let ports: Vec<(i64, &str, &str)> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["port"].as_i64().unwrap(), p["name"].as_str().unwrap(), p["appProtocol"].as_str().unwrap()))
        .collect();
    assert_eq!(ports, [(8000, "tcp-metrics-0", "tcp"), (8001, "tcp-metrics-1", "tcp")]);

    let loaded = mesh_render::load(text, None, Limits::DEFAULT).unwrap();
    let rendered = mesh_render::render(&loaded);
    let rows = mesh_render::check::flows::evaluate(loaded.selected(), rendered.manifests.iter().map(|m| &m.object));
    let scrape: Vec<_> = rows.iter().filter(|r| r.purpose.starts_with("endpoint picker -> model server metrics")).collect();
    assert_eq!(scrape.len(), 2);
    for row in scrape {
        let json = serde_json::to_value(row).unwrap();
        assert_eq!(
            (json["need"].as_str(), json["verdict"].as_str(), json["transport"].as_str()),
            (Some("needed"), Some("allow"), Some("mtls")),
            "{json}"
        );
    }

    // A pool in the root namespace is not injected: no sidecar to refuse the scrape, no Service.
    let root = render(&text.replace("namespace: ai", "namespace: istio-system"));
    assert!(find(&root, "Service", "llm-model-server-metrics").is_none());
}

/// Rule (issue 21 review, finding 4): the pool's refused rows are refused by the pool's policies
/// (`<pool>-model-servers`, `<pool>-epp`: ALLOW by the gateway's and the picker's principals), not
/// only by STRICT. Under STRICT and PERMISSIVE, another gateway of the inference gateway's namespace
/// calls over mTLS with its own principal and is refused by the ALLOW policy with no rule matching
/// (an admission by namespace would let it through); istiod has no sidecar, so under STRICT the
/// PeerAuthentication refuses it, and under PERMISSIVE the ALLOW policy.
#[test]
fn pool_refusals_are_decided_by_the_pool_policies_not_only_by_strict() {
    use mesh_render::check::flows::{Transport, Verdict};
    for mode in ["STRICT", "PERMISSIVE"] {
        let text = format!("{}    mtls: {{mode: {mode}}}\n", config("mesh", ""));
        let loaded = mesh_render::load(&text, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
        let rendered = mesh_render::render(&loaded);
        let rows = mesh_render::check::flows::evaluate(loaded.selected(), rendered.manifests.iter().map(|m| &m.object));
        let row = |purpose: &str| rows.iter().find(|r| r.purpose == purpose).unwrap_or_else(|| panic!("{mode}: no row {purpose}"));
        let decided = |r: &mesh_render::check::flows::Row| r.decided_by.iter().map(|d| d.to_string()).collect::<Vec<_>>();
        for (purpose, policy) in [
            ("another gateway of the inference gateway's namespace -> model server", "AuthorizationPolicy/ai/llm-model-servers"),
            ("another gateway of the inference gateway's namespace -> endpoint picker (ext_proc)", "AuthorizationPolicy/ai/llm-epp"),
        ] {
            let r = row(purpose);
            assert_eq!((r.verdict, r.transport), (Verdict::Deny, Transport::Mtls), "{mode}: {purpose}: {r:#?}");
            assert_eq!(decided(r), [policy], "{mode}: {purpose}: no rule of the ALLOW policy matches");
        }
        for (purpose, policy) in [
            ("istiod -> model server", "AuthorizationPolicy/ai/llm-model-servers"),
            ("istiod -> endpoint picker (ext_proc)", "AuthorizationPolicy/ai/llm-epp"),
        ] {
            let r = row(purpose);
            assert_eq!(r.verdict, Verdict::Deny, "{mode}: {purpose}");
            // Under PERMISSIVE the mesh-wide PeerAuthentication is named for letting plaintext in; the
            // ALLOW policy then refuses it.
            let expected: &[&str] = if mode == "STRICT" {
                &["PeerAuthentication/istio-system/default"]
            } else {
                &["PeerAuthentication/istio-system/default", policy]
            };
            assert_eq!(decided(r), expected, "{mode}: {purpose}: {r:#?}");
        }
    }
}

fn reused(gateway: &str) -> String {
    format!(
        "components:\n  knative: {{enabled: true}}\n  istio:\n    enabled: true\n    aiServing:\n      gateway: {gateway}\n      pools:\n        - {{name: llm, namespace: ai, selector: {{app: vllm}}, targetPorts: [8000], endpointPicker: {{tls: mesh}}}}\n"
    )
}

/// Rule (issue 21 review, finding 2): a reused Gateway that mesh-render does not render runs as the
/// ServiceAccount its `gateway.istio.io/service-account` annotation names, else `<name>-<class>`
/// (istio 1.29.6 `pilot/pkg/config/kube/gateway/deploymentcontroller.go:547`; 1.30.3
/// `gatewaycommon/deploymentcontroller.go:429`). `aiServing.gateway.serviceAccount` states it, and the
/// pool policies and flows admit that principal; without it mesh-render warns (MR025) that it assumes
/// `<name>-istio`. On a Gateway mesh-render renders (created, or a Knative Gateway) the key is refused.
#[test]
fn a_reused_gateway_is_admitted_by_the_service_account_its_pods_run_as() {
    use mesh_render::check::flows::{Need, Verdict};
    let text = reused("{name: shared, namespace: edge, create: false, serviceAccount: edge-proxy}");
    let loaded = mesh_render::load(&text, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
    assert!(loaded.warnings.iter().all(|w| w.code != "MR025"), "{:?}", loaded.warnings);
    let rendered = mesh_render::render(&loaded);
    let objects: Vec<Value> = rendered.manifests.iter().map(|m| serde_json::to_value(&m.object).unwrap()).collect();
    let sa = "cluster.local/ns/edge/sa/edge-proxy";
    assert_eq!(
        find(&objects, "AuthorizationPolicy", "llm-model-servers").unwrap()["spec"]["rules"][0]["from"][0]["source"]["principals"],
        serde_json::json!([sa])
    );
    assert_eq!(
        find(&objects, "AuthorizationPolicy", "llm-epp").unwrap()["spec"]["rules"][0]["from"][0]["source"]["principals"],
        serde_json::json!([sa])
    );
    let rows = mesh_render::check::flows::evaluate(loaded.selected(), rendered.manifests.iter().map(|m| &m.object));
    for purpose in ["inference gateway -> model server", "inference gateway -> endpoint picker (ext_proc)"] {
        let r = rows.iter().find(|r| r.purpose == purpose).expect(purpose);
        assert_eq!((r.need, r.verdict), (Need::Needed, Verdict::Allow), "{purpose}: {r:#?}");
    }

    let assumed = mesh_render::load(&reused("{name: shared, namespace: edge, create: false}"), None, Limits::DEFAULT).unwrap();
    let w: Vec<String> = assumed.warnings.iter().filter(|w| w.code == "MR025").map(|w| w.to_string_in("c.yaml")).collect();
    assert_eq!(
        w,
        ["c.yaml:6:16: warning[MR025]: components.istio.aiServing.gateway: the reused Gateway `edge/shared` is not rendered by mesh-render: the pool policies assume its pods run as `shared-istio`\n  hint: set `serviceAccount` to the ServiceAccount of its pods (its `gateway.istio.io/service-account` annotation, else `<name>-<class>`)"]
    );
    // A Knative Gateway reused: mesh-render renders it, without the annotation.
    let knative = mesh_render::load(&reused("{name: knative-gateway, create: false}"), None, Limits::DEFAULT).unwrap();
    assert!(knative.warnings.iter().all(|w| w.code != "MR025"));

    for (gateway, why) in [
        ("{serviceAccount: edge-proxy}", "mesh-render creates this Gateway"),
        ("{name: knative-gateway, create: false, serviceAccount: edge-proxy}", "this is a Knative Gateway that mesh-render renders"),
    ] {
        let errors: Vec<String> = match mesh_render::load(&reused(gateway), None, Limits::DEFAULT) {
            Ok(_) => panic!("{gateway}: expected an error"),
            Err(e) => e.diagnostics.iter().map(|d| d.to_string_in("c.yaml")).collect(),
        };
        assert!(
            errors.iter().any(|e| e.contains("MR008") && e.contains(why) && e.contains("aiServing.gateway.serviceAccount")),
            "{gateway}: {errors:?}"
        );
    }
}

/// Rule (issue 21 review, finding 2): `metadata.annotations` may not carry the annotations that make
/// istiod name a rendered Gateway's ServiceAccount or Deployment/Service otherwise than
/// `<gateway>-istio` (`deploymentcontroller.go:546-547`): every policy admits the Gateways by that name.
#[test]
fn metadata_may_not_rename_the_rendered_gateways() {
    for key in ["gateway.istio.io/service-account", "gateway.istio.io/name-override"] {
        let text = format!("components:\n  istio:\n    enabled: true\n    metadata:\n      annotations: {{{key}: other}}\n");
        let errors: Vec<String> = match mesh_render::load(&text, None, Limits::DEFAULT) {
            Ok(_) => panic!("{key}: expected an error"),
            Err(e) => e.diagnostics.iter().map(|d| d.to_string_in("c.yaml")).collect(),
        };
        assert!(errors.iter().any(|e| e.contains("MR006") && e.contains(key) && e.contains("rename")), "{key}: {errors:?}");
    }
}

/// Rule (issue 21, secure by default): without `tls` the picker in an injected namespace is `mesh`
/// (9002 captured, `<pool>-epp` admits only the inference gateway's principal); in Istio's root
/// namespace, where it has no sidecar, `selfSigned`. An explicit `selfSigned` in an injected
/// namespace warns (MR026), with the key's line and column.
#[test]
fn the_picker_defaults_to_mesh_tls_where_it_has_a_sidecar_and_warns_on_self_signed() {
    let pool = |ns: &str, picker: &str| {
        format!(
            "components:\n  istio:\n    enabled: true\n    aiServing:\n      pools:\n        - name: llm\n          namespace: {ns}\n          selector: {{app: vllm}}\n          targetPorts: [8000]\n{picker}"
        )
    };
    let objects = render(&pool("ai", ""));
    assert!(find(&objects, "DestinationRule", "llm-epp").is_none(), "no SIMPLE TLS: mesh mode");
    let deployment = find(&objects, "Deployment", "llm-epp").unwrap();
    assert!(deployment["spec"]["template"]["metadata"].get("annotations").is_none(), "9002 stays captured");
    let epp = find(&objects, "AuthorizationPolicy", "llm-epp").unwrap();
    assert_eq!(
        epp["spec"]["rules"][0],
        serde_json::json!({"from": [{"source": {"principals": ["cluster.local/ns/istio-system/sa/inference-gateway-istio"]}}], "to": [{"operation": {"ports": ["9002"]}}]})
    );
    let root = render(&pool("istio-system", ""));
    assert!(find(&root, "DestinationRule", "llm-epp").is_some(), "no sidecar in the root namespace: selfSigned");
    let quiet = mesh_render::load(&pool("ai", ""), None, Limits::DEFAULT).unwrap();
    assert!(quiet.warnings.iter().all(|w| w.code != "MR026"), "{:?}", quiet.warnings);
    let explicit = pool("ai", "          endpointPicker:\n            tls: selfSigned\n");
    let loaded = mesh_render::load(&explicit, None, Limits::DEFAULT).unwrap();
    let w: Vec<String> = loaded.warnings.iter().filter(|w| w.code == "MR026").map(|w| w.to_string_in("c.yaml")).collect();
    assert_eq!(
        w,
        ["c.yaml:11:18: warning[MR026]: components.istio.aiServing.pools[0].endpointPicker.tls: `selfSigned` excludes the picker's ext_proc port 9002 from its sidecar: any pod can call it\n  hint: remove `tls` (the default in an injected namespace is `mesh`, which admits only the inference gateway)"]
    );
    let root_explicit = pool("istio-system", "          endpointPicker:\n            tls: selfSigned\n");
    assert!(mesh_render::load(&root_explicit, None, Limits::DEFAULT).unwrap().warnings.iter().all(|w| w.code != "MR026"));
}
