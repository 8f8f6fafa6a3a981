//! The rendered wrapper chart, run through the real Helm 4 and Helm 3 with the reference Istio charts.
//!
//! For every Istio version that has reference charts, a config is rendered with the `mesh-render`
//! binary, the reference `base` and `istiod` charts are copied into `helm/charts/` (what `helm
//! dependency build` would put there), and then `helm lint` and `helm template` run on the tree, with
//! the base values and with an environment overlay. The assertions are on the objects Helm produces:
//! istiod's Deployment, HPA and PDB, the `istio` mesh ConfigMap, the sidecar injector's values, the
//! validating webhooks and the CRDs. This proves that the values mesh-render writes are read by the
//! charts the way docs/outputs.md says, not just that the keys exist. How Helm is found and run:
//! `support/helm.rs`.

mod support;

use mesh_render::config::syntax::{self, Node};
use serde_json::Value as Json;
use support::helm::{
    at, check_manifests_are_served, check_webhook_services, copy_dir, documents, items, json, object, reference_charts, render_tree, text,
    Helm, Rendered, HELM_OUTPUT_LIMITS,
};
use support::repo_root;

/// Istio versions with reference charts in `reference/istio-<version>/charts/`.
const VERSIONS: [&str; 3] = ["1.29.0", "1.29.6", "1.30.3"];

/// The first patch whose charts read `base.validationFailurePolicy`.
const FAIL_POLICY_FROM: (u32, u32, u32) = (1, 29, 2);

// ---------------------------------------------------------------------------------------------
// What the output must hold

/// What a config should make the charts produce.
#[derive(Clone, Debug)]
struct Expect {
    version: &'static str,
    /// `spec.replicas` of istiod with autoscaling off; `None` with autoscaling on.
    replicas: Option<u32>,
    /// HPA `(min, max)` with autoscaling on.
    autoscale: Option<(u32, u32)>,
    requests: (&'static str, &'static str),
    limits: Option<(&'static str, &'static str)>,
    proxy_requests: (&'static str, &'static str),
    inference_extension: bool,
    log_level: Option<&'static str>,
    /// Tracing provider `(name, service, port)`.
    tracing: Option<(&'static str, &'static str, &'static str)>,
    prometheus: bool,
}

impl Expect {
    fn failure_policy(&self) -> &'static str {
        let v: Vec<u32> = self.version.split('.').map(|p| p.parse().unwrap()).collect();
        if (v[0], v[1], v[2]) >= FAIL_POLICY_FROM {
            "Fail"
        } else {
            "Ignore"
        }
    }
}

fn expect_eq(bad: &mut Vec<String>, what: &str, got: Option<&str>, want: Option<&str>) {
    if got != want {
        bad.push(format!("{what}: got {got:?}, want {want:?}"));
    }
}

/// Every way `docs` differs from `want`; empty when it matches.
fn check(docs: &[Node], want: &Expect) -> Vec<String> {
    let mut bad = Vec::new();

    // istiod's Deployment and its container.
    let Some(deploy) = object(docs, "Deployment", "istiod") else {
        return vec!["no Deployment istiod".to_string()];
    };
    expect_eq(&mut bad, "Deployment istiod namespace", text(deploy, "metadata.namespace"), Some("istio-system"));
    let containers = items(at(deploy, "spec.template.spec.containers"));
    let Some(discovery) = containers.iter().find(|c| text(c, "name") == Some("discovery")) else {
        return vec!["Deployment istiod has no container `discovery`".to_string()];
    };
    let image = format!("docker.io/istio/pilot:{}", want.version);
    expect_eq(&mut bad, "istiod image", text(discovery, "image"), Some(&image));
    let env_value = |name: &str| -> Option<&str> {
        items(discovery.get("env")).iter().find(|e| text(e, "name") == Some(name)).map(|e| text(e, "value").unwrap_or("<valueFrom>"))
    };
    expect_eq(&mut bad, "istiod env PILOT_ENABLE_GATEWAY_API", env_value("PILOT_ENABLE_GATEWAY_API"), Some("true"));
    expect_eq(
        &mut bad,
        "istiod env ENABLE_GATEWAY_API_INFERENCE_EXTENSION",
        env_value("ENABLE_GATEWAY_API_INFERENCE_EXTENSION"),
        want.inference_extension.then_some("true"),
    );
    expect_eq(&mut bad, "istiod requests.cpu", text(discovery, "resources.requests.cpu"), Some(want.requests.0));
    expect_eq(&mut bad, "istiod requests.memory", text(discovery, "resources.requests.memory"), Some(want.requests.1));
    expect_eq(&mut bad, "istiod limits.cpu", text(discovery, "resources.limits.cpu"), want.limits.map(|l| l.0));
    expect_eq(&mut bad, "istiod limits.memory", text(discovery, "resources.limits.memory"), want.limits.map(|l| l.1));
    let log_args: Vec<&str> =
        items(discovery.get("args")).iter().filter_map(Node::as_scalar).filter(|a| a.starts_with("--log_output_level=")).collect();
    let want_log = want.log_level.map(|l| format!("--log_output_level={l}"));
    // Without a configured level the chart's own default applies; only a configured one is checked.
    if want_log.is_some() {
        expect_eq(&mut bad, "istiod --log_output_level", log_args.first().copied(), want_log.as_deref());
    }

    // Replicas, HPA and PDB.
    let replicas = want.replicas.map(|r| r.to_string());
    expect_eq(&mut bad, "Deployment istiod spec.replicas", text(deploy, "spec.replicas"), replicas.as_deref());
    let hpa = object(docs, "HorizontalPodAutoscaler", "istiod");
    let (min, max) = (want.autoscale.map(|a| a.0.to_string()), want.autoscale.map(|a| a.1.to_string()));
    match (hpa, want.autoscale) {
        (None, None) => {}
        (Some(_), None) => bad.push("a HorizontalPodAutoscaler istiod exists, but autoscaling is off".to_string()),
        (None, Some(_)) => bad.push("no HorizontalPodAutoscaler istiod, but autoscaling is on".to_string()),
        (Some(hpa), Some(_)) => {
            expect_eq(&mut bad, "HPA istiod minReplicas", text(hpa, "spec.minReplicas"), min.as_deref());
            expect_eq(&mut bad, "HPA istiod maxReplicas", text(hpa, "spec.maxReplicas"), max.as_deref());
            expect_eq(&mut bad, "HPA istiod target", text(hpa, "spec.scaleTargetRef.name"), Some("istiod"));
        }
    }
    let more_than_one = want.autoscale.map_or(want.replicas.unwrap_or(1), |a| a.0) > 1;
    if object(docs, "PodDisruptionBudget", "istiod").is_some() != more_than_one {
        bad.push(format!("PodDisruptionBudget istiod: present={}, want present={more_than_one}", !more_than_one));
    }

    // The mesh config: a YAML string in ConfigMap istio.
    match object(docs, "ConfigMap", "istio").and_then(|cm| text(cm, "data.mesh")) {
        None => bad.push("no ConfigMap istio with data.mesh".to_string()),
        Some(mesh_text) => match syntax::parse(mesh_text, HELM_OUTPUT_LIMITS) {
            Err(e) => bad.push(format!("ConfigMap istio data.mesh is not YAML: {e:?}")),
            Ok(mesh) => {
                let metrics: Vec<&str> = items(at(&mesh, "defaultProviders.metrics")).iter().filter_map(Node::as_scalar).collect();
                if metrics.contains(&"prometheus") != want.prometheus {
                    bad.push(format!("mesh defaultProviders.metrics is {metrics:?}; prometheus wanted: {}", want.prometheus));
                }
                let providers: Vec<Json> = items(mesh.get("extensionProviders")).iter().map(json).collect();
                let want_providers: Vec<Json> = want
                    .tracing
                    .iter()
                    .map(|(name, service, port)| serde_json::json!({"name": name, "opentelemetry": {"service": service, "port": port}}))
                    .collect();
                if providers != want_providers {
                    bad.push(format!("mesh extensionProviders: got {providers:?}, want {want_providers:?}"));
                }
            }
        },
    }

    // Sidecar resources: the injector's `values` JSON carries global.proxy.resources.
    match object(docs, "ConfigMap", "istio-sidecar-injector").and_then(|cm| text(cm, "data.values")) {
        None => bad.push("no ConfigMap istio-sidecar-injector with data.values".to_string()),
        Some(values) => {
            let values: Json = serde_json::from_str(values).expect("the injector's values are JSON");
            let requests = &values["global"]["proxy"]["resources"]["requests"];
            let want_requests = serde_json::json!({"cpu": want.proxy_requests.0, "memory": want.proxy_requests.1});
            if requests != &want_requests {
                bad.push(format!("sidecar injector global.proxy.resources.requests: got {requests}, want {want_requests}"));
            }
        }
    }

    // Validating webhooks: the base chart's default validator and istiod's per-revision one.
    for name in ["istiod-default-validator", "istio-validator-istio-system"] {
        match object(docs, "ValidatingWebhookConfiguration", name) {
            None => bad.push(format!("no ValidatingWebhookConfiguration {name}")),
            Some(vwc) => {
                let webhooks = items(vwc.get("webhooks"));
                if webhooks.is_empty() {
                    bad.push(format!("ValidatingWebhookConfiguration {name} has no webhooks"));
                }
                for w in webhooks {
                    let what = format!("ValidatingWebhookConfiguration {name} webhook {:?} failurePolicy", text(w, "name"));
                    expect_eq(&mut bad, &what, text(w, "failurePolicy"), Some(want.failure_policy()));
                }
            }
        }
    }
    bad
}

// ---------------------------------------------------------------------------------------------
// The configs

/// Autoscaling off with 2 replicas, custom resources, the inference extension, tracing on a custom
/// port. Environment `prod` turns autoscaling on and changes resources, log level, tracing port
/// and sidecar requests.
fn full_config(version: &str) -> String {
    format!(
        r#"components:
  knative:
    enabled: true
  istio:
    enabled: true
    version: "{version}"
    controlPlane:
      autoscaling: {{enabled: false}}
      replicas: 2
      inferenceExtension: true
      logLevel: default:info
      resources:
        requests: {{cpu: 250m, memory: 1Gi}}
        limits: {{cpu: "2", memory: 3Gi}}
    namespaces:
      apps: [demo]
    tracing:
      service: otel.observability.svc.cluster.local
      port: 4318
    environments:
      prod:
        controlPlane:
          autoscaling: {{enabled: true, min: 3, max: 7}}
          replicas: null
          logLevel: default:warn
          resources:
            requests: {{cpu: "1"}}
        tracing:
          port: 4317
        proxy:
          resources:
            requests: {{cpu: 50m}}
"#
    )
}

fn full_expect(version: &'static str) -> (Expect, &'static str, Expect) {
    let base = Expect {
        version,
        replicas: Some(2),
        autoscale: None,
        requests: ("250m", "1Gi"),
        limits: Some(("2", "3Gi")),
        proxy_requests: ("100m", "128Mi"),
        inference_extension: true,
        log_level: Some("default:info"),
        tracing: Some(("otel-tracing", "otel.observability.svc.cluster.local", "4318")),
        prometheus: true,
    };
    let prod = Expect {
        replicas: None,
        autoscale: Some((3, 7)),
        requests: ("1", "1Gi"),
        log_level: Some("default:warn"),
        tracing: Some(("otel-tracing", "otel.observability.svc.cluster.local", "4317")),
        proxy_requests: ("50m", "128Mi"),
        ..base.clone()
    };
    (base, "prod", prod)
}

/// Mostly defaults (autoscaling on, default resources), L7 metrics off, a custom tracing provider
/// name. Environment `observe` turns metrics and the inference extension on.
fn lean_config(version: &str) -> String {
    format!(
        r#"components:
  knative:
    enabled: true
    eventing: {{}}
  istio:
    enabled: true
    version: "{version}"
    namespaces:
      apps: [shop]
    tracing:
      provider: collector
      service: collector.tracing.svc.cluster.local
    metrics:
      prometheus: false
    environments:
      observe:
        metrics:
          prometheus: true
        controlPlane:
          inferenceExtension: true
"#
    )
}

fn lean_expect(version: &'static str) -> (Expect, &'static str, Expect) {
    let base = Expect {
        version,
        replicas: None,
        autoscale: Some((1, 5)),
        requests: ("500m", "2048Mi"),
        limits: None,
        proxy_requests: ("100m", "128Mi"),
        inference_extension: false,
        log_level: None,
        tracing: Some(("collector", "collector.tracing.svc.cluster.local", "4317")),
        prometheus: false,
    };
    let observe = Expect { prometheus: true, inference_extension: true, ..base.clone() };
    (base, "observe", observe)
}

/// Lint and template one config with and without its environment overlay, and check the output.
fn lint_template_check(helm: &Helm, config: &str, version: &'static str, expect: (Expect, &'static str, Expect)) {
    let (base, env, with_env) = expect;
    let rendered = Rendered::new(config, version);
    let chart = rendered.chart();
    let overlay = rendered.overlay(env);
    helm.lint(&chart, None);
    helm.lint(&chart, Some(&overlay));

    let docs = helm.template(&chart, None);
    let mut bad = check(&docs, &base);
    bad.extend(check_webhook_services(&docs));
    bad.extend(check_manifests_are_served(&rendered.out, &docs));
    assert!(bad.is_empty(), "helm{} template, Istio {version}, base values:\n  {}", helm.major, bad.join("\n  "));

    let docs = helm.template(&chart, Some(&overlay));
    let mut bad = check(&docs, &with_env);
    bad.extend(check_webhook_services(&docs));
    assert!(bad.is_empty(), "helm{} template, Istio {version}, with values-{env}.yaml:\n  {}", helm.major, bad.join("\n  "));
}

fn matrix(major: u8, version: &'static str) {
    let helm = Helm::new(major);
    lint_template_check(&helm, &full_config(version), version, full_expect(version));
    lint_template_check(&helm, &lean_config(version), version, lean_expect(version));
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn helm4_istio_1_29_0() {
    matrix(4, "1.29.0");
}

#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn helm4_istio_1_29_6() {
    matrix(4, "1.29.6");
}

#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn helm4_istio_1_30_3() {
    matrix(4, "1.30.3");
}

#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn helm3_istio_1_29_0() {
    matrix(3, "1.29.0");
}

#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn helm3_istio_1_29_6() {
    matrix(3, "1.29.6");
}

#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn helm3_istio_1_30_3() {
    matrix(3, "1.30.3");
}

#[test]
fn the_versions_tested_are_all_the_versions_with_reference_charts() {
    let mut found: Vec<String> = std::fs::read_dir(repo_root().join("reference"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_prefix("istio-").map(str::to_string))
        .filter(|v| v.split('.').count() == 3 && v.split('.').all(|p| p.parse::<u32>().is_ok()))
        .collect();
    found.sort();
    assert_eq!(found, VERSIONS, "add a matrix test for each reference chart version");
}

#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn helm4_and_helm3_template_the_same_objects() {
    let (h4, h3) = (Helm::new(4), Helm::new(3));
    for version in VERSIONS {
        let rendered = Rendered::new(&full_config(version), version);
        let a: Vec<Json> = h4.template(&rendered.chart(), None).iter().map(json).collect();
        let b: Vec<Json> = h3.template(&rendered.chart(), None).iter().map(json).collect();
        assert!(a.len() > 20, "Istio {version}: only {} objects", a.len());
        assert!(a == b, "Istio {version}: Helm 4 and Helm 3 template different objects");
    }
}

/// The checks are not vacuous: on real output they report a wrong expectation, item by item.
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn the_checks_catch_wrong_expectations() {
    let helm = Helm::new(4);
    let version = "1.29.6";
    let rendered = Rendered::new(&lean_config(version), version);
    let docs = helm.template(&rendered.chart(), None);
    let (right, _, _) = lean_expect(version);
    assert_eq!(check(&docs, &right), Vec::<String>::new());

    // metrics.prometheus: false really drops prometheus from the mesh config's default providers.
    let bad = check(&docs, &Expect { prometheus: true, ..right.clone() });
    assert_eq!(bad, ["mesh defaultProviders.metrics is []; prometheus wanted: true"]);

    let wrong = Expect {
        inference_extension: true,
        replicas: Some(1),
        autoscale: None,
        requests: ("500m", "1Gi"),
        tracing: Some(("collector", "collector.tracing.svc.cluster.local", "4318")),
        proxy_requests: ("100m", "256Mi"),
        version: "1.29.0",
        ..right.clone()
    };
    let bad = check(&docs, &wrong);
    let expected = [
        "istiod image: got Some(\"docker.io/istio/pilot:1.29.6\"), want Some(\"docker.io/istio/pilot:1.29.0\")",
        "istiod env ENABLE_GATEWAY_API_INFERENCE_EXTENSION: got None, want Some(\"true\")",
        "istiod requests.memory: got Some(\"2048Mi\"), want Some(\"1Gi\")",
        "Deployment istiod spec.replicas: got None, want Some(\"1\")",
        "a HorizontalPodAutoscaler istiod exists, but autoscaling is off",
        "mesh extensionProviders:",
        "sidecar injector global.proxy.resources.requests:",
        "ValidatingWebhookConfiguration istiod-default-validator webhook Some(\"validation.istio.io\") failurePolicy: got Some(\"Fail\"), want Some(\"Ignore\")",
        "ValidatingWebhookConfiguration istio-validator-istio-system webhook Some(\"rev.validation.istio.io\") failurePolicy: got Some(\"Fail\"), want Some(\"Ignore\")",
    ];
    for e in expected {
        assert!(bad.iter().any(|b| b.starts_with(e)), "no failure starting with {e:?} in {bad:#?}");
    }
    assert_eq!(bad.len(), expected.len(), "{bad:#?}");
}

/// With `revision` set, the base chart's `istiod-default-validator` still calls Service `istiod`
/// (its `defaultRevision` is "default"), but only `istiod-<revision>` exists; from 1.29.2 on that
/// webhook has `failurePolicy: Fail`, so every Istio resource would be rejected. Passing
/// `base.defaultRevision: <revision>` in the wrapper values points it at `istiod-<revision>`.
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn a_revisioned_control_plane_has_webhooks_that_reach_istiod() {
    let helm = Helm::new(4);
    let version = "1.29.6";
    let config = lean_config(version).replace("    namespaces:\n", "    revision: canary\n    namespaces:\n");
    assert!(config.contains("revision: canary"));
    let rendered = Rendered::new(&config, version);
    helm.lint(&rendered.chart(), None);
    let docs = helm.template(&rendered.chart(), None);
    assert!(object(&docs, "Deployment", "istiod-canary").is_some());
    let bad = check_webhook_services(&docs);
    assert!(bad.is_empty(), "helm{} template, Istio {version}, revision canary:\n  {}", helm.major, bad.join("\n  "));
}

/// The charts Istio publishes for 1.30 default `global.hub` to `registry.istio.io/release`
/// (`RETIRED_HOSTS` in mesh-render's `api/helm.rs`: retired in December 2026), which the reference
/// copy hides: its `hub:` was re-stamped to `docker.io/istio` (reference/istio-1.30.3/README.md).
/// mesh-render writes `global.hub` itself, so istiod, the sidecars and the gateway pods come from
/// `docker.io/istio` whatever the chart defaults to; `hub` in the config moves all three.
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn images_come_from_the_configured_hub_not_the_charts_default() {
    let helm = Helm::new(4);
    let version = "1.30.3";
    for (config, hub) in [
        (lean_config(version), "docker.io/istio"),
        (
            lean_config(version).replace("    namespaces:\n", "    hub: mirror.example.com/istio\n    namespaces:\n"),
            "mirror.example.com/istio",
        ),
    ] {
        let rendered = Rendered::new(&config, version);
        let values = rendered.chart().join("charts/istiod/values.yaml");
        let chart_values = std::fs::read_to_string(&values).unwrap();
        assert!(chart_values.contains("    hub: docker.io/istio\n"), "the reference chart's default hub moved");
        std::fs::write(&values, chart_values.replace("    hub: docker.io/istio\n", "    hub: registry.istio.io/release\n")).unwrap();
        let docs = helm.template(&rendered.chart(), None);
        let deploy = object(&docs, "Deployment", "istiod").expect("Deployment istiod");
        let image = items(at(deploy, "spec.template.spec.containers")).iter().find_map(|c| text(c, "image")).map(str::to_string);
        assert_eq!(image, Some(format!("{hub}/pilot:{version}")), "istiod image");
        let injector =
            object(&docs, "ConfigMap", "istio-sidecar-injector").and_then(|cm| text(cm, "data.values")).expect("injector values");
        let injector: Json = serde_json::from_str(injector).unwrap();
        assert_eq!(injector["global"]["hub"], Json::String(hub.into()), "the sidecars' and gateways' hub (injection templates)");
    }
}

/// Issue 23: each cluster of a multi-cluster mesh gets its identity from the real istiod chart: the
/// wrapper chart of `clusters/<name>/helm/` with the reference charts, templated by Helm, gives istiod
/// `CLUSTER_ID=<name>` (`templates/deployment.yaml:212-213` at 1.29.6), the mesh ConfigMap
/// `defaultConfig.meshId` (`templates/configmap.yaml:29-30`) and the injector the cluster's network
/// (`files/injection-template.yaml:315-317` reads `.Values.global.network`). The GPU golden's
/// cluster on 1.30.3 is templated with the 1.30.3 charts.
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn every_cluster_of_a_fleet_gets_its_identity_from_the_istiod_chart() {
    let helm = Helm::new(4);
    let root = repo_root();
    let mut checked = Vec::new();
    for golden in ["fleet-two-networks", "fleet-gpu"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(root.join(format!("golden/{golden}/config.yaml")), dir.path().join("config.yaml")).unwrap();
        let out = render_tree(dir.path());
        let clusters = out.join("clusters");
        let mut names: Vec<String> =
            std::fs::read_dir(&clusters).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        for name in names {
            let chart = clusters.join(&name).join("helm");
            let version = documents(&std::fs::read_to_string(chart.join("Chart.yaml")).unwrap())
                .first()
                .and_then(|c| text(c, "version").map(str::to_string))
                .expect("Chart.yaml version");
            for sub in ["base", "istiod"] {
                copy_dir(&reference_charts(&version).join(sub), &chart.join("charts").join(sub));
            }
            helm.lint(&chart, None);
            let docs = helm.template(&chart, None);
            let deploy = object(&docs, "Deployment", "istiod").expect("Deployment istiod");
            let env = items(at(deploy, "spec.template.spec.containers")).iter().flat_map(|c| items(at(c, "env"))).collect::<Vec<_>>();
            let cluster_id = env.iter().find(|e| text(e, "name") == Some("CLUSTER_ID")).and_then(|e| text(e, "value"));
            assert_eq!(cluster_id, Some(name.as_str()), "{golden}/{name}: istiod's CLUSTER_ID");
            let mesh = object(&docs, "ConfigMap", "istio").and_then(|cm| text(cm, "data.mesh")).expect("mesh config");
            assert!(mesh.contains("meshId: playground"), "{golden}/{name}: the mesh config names the mesh:\n{mesh}");
            let injector =
                object(&docs, "ConfigMap", "istio-sidecar-injector").and_then(|cm| text(cm, "data.values")).expect("injector values");
            let injector: Json = serde_json::from_str(injector).unwrap();
            let network = injector["global"]["network"].as_str().unwrap_or_default().to_string();
            assert!(!network.is_empty(), "{golden}/{name}: the injector writes no network");
            assert_eq!(
                injector["global"]["multiCluster"]["clusterName"],
                Json::String(name.clone()),
                "{golden}/{name}: the sidecars' cluster"
            );
            checked.push(format!("{golden}/{name}@{version}:{network}"));
        }
    }
    assert_eq!(
        checked,
        [
            "fleet-two-networks/east@1.29.6:net-east",
            "fleet-two-networks/west@1.29.6:net-west",
            "fleet-gpu/app-a@1.29.6:apps",
            "fleet-gpu/app-b@1.29.6:apps",
            "fleet-gpu/gpu@1.30.3:gpu"
        ]
    );
}
