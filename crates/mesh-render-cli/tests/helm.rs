//! The rendered wrapper chart, run through the real Helm 4 and Helm 3 with the reference Istio charts.
//!
//! For every Istio version that has reference charts, a config is rendered with the `mesh-render`
//! binary, the reference `base` and `istiod` charts are copied into `helm/charts/` (what `helm
//! dependency build` would put there), and then `helm lint` and `helm template` run on the tree, with
//! the base values and with an environment overlay. The assertions are on the objects Helm produces:
//! istiod's Deployment, HPA and PDB, the `istio` mesh ConfigMap, the sidecar injector's values, the
//! validating webhooks and the CRDs. This proves that the values mesh-render writes are read by the
//! charts the way docs/outputs.md says, not just that the keys exist.
//!
//! The Helm binaries come from `make tools` (`scripts/tools/fetch-tools.sh`). Their paths are taken
//! from `MESH_RENDER_HELM4` / `MESH_RENDER_HELM3` (the Makefile sets both), else from
//! `.cache/tools/helm{4,3}/helm` under the repository root. The tests that run Helm are ignored by a
//! plain `cargo test` (a machine with only Rust); `make test` runs them (`--include-ignored`), and there
//! a missing binary fails the test: it is never skipped. Helm runs with an empty environment apart from `PATH`, and with `HOME`, the XDG
//! folders and `KUBECONFIG` inside a temporary folder, so no Helm settings of the machine leak in.

mod support;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mesh_render::config::syntax::{self, Limits, Node, Value};
use serde_json::Value as Json;
use support::repo_root;

/// Istio versions with reference charts in `reference/istio-<version>/charts/`.
const VERSIONS: [&str; 3] = ["1.29.0", "1.29.6", "1.30.3"];

/// The first patch whose charts read `base.validationFailurePolicy`.
const FAIL_POLICY_FROM: (u32, u32, u32) = (1, 29, 2);

/// Lint warnings that are expected. Helm 4 (not Helm 3) warns that a chart has no `templates/`
/// folder; the wrapper chart has none on purpose, all its objects come from its dependencies.
const EXPECTED_LINT_WARNINGS: &[&str] = &["[WARNING] templates/: directory does not exist"];

/// Generous limits: the base chart's CRDs are large and deep.
const HELM_OUTPUT_LIMITS: Limits = Limits { max_bytes: 64 * 1024 * 1024, max_depth: 256, max_nodes: 5_000_000 };

fn reference_charts(version: &str) -> PathBuf {
    let dir = repo_root().join("reference").join(format!("istio-{version}")).join("charts");
    assert!(
        dir.join("base/Chart.yaml").is_file() && dir.join("istiod/Chart.yaml").is_file(),
        "reference charts for Istio {version} not found in {}; the vendored reference data (reference/) is part of the repository",
        dir.display()
    );
    dir
}

// ---------------------------------------------------------------------------------------------
// Helm

/// Where Helm `major` is: the value of `MESH_RENDER_HELM<major>` if set and not empty, else
/// `.cache/tools/helm<major>/helm` under `root`. An error (never a skip) when the file is missing.
fn locate_helm(major: u8, from_env: Option<OsString>, root: &Path) -> Result<PathBuf, String> {
    let var = format!("MESH_RENDER_HELM{major}");
    let (path, source) = match from_env {
        Some(p) if !p.is_empty() => (PathBuf::from(p), format!("${var}")),
        _ => (root.join(format!(".cache/tools/helm{major}/helm")), format!("the default path (${var} is not set)")),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "Helm {major} not found at {} ({source}). Run `make tools` to fetch it (scripts/tools/fetch-tools.sh), \
             or point ${var} at a Helm {major} binary.",
            path.display()
        ))
    }
}

/// A Helm binary and a private, empty home for it.
struct Helm {
    major: u8,
    path: PathBuf,
    home: tempfile::TempDir,
}

impl Helm {
    /// Helm `major`, checked to report that major. Panics with a `make tools` hint when missing.
    fn new(major: u8) -> Helm {
        let path = locate_helm(major, std::env::var_os(format!("MESH_RENDER_HELM{major}")), &repo_root()).unwrap_or_else(|e| panic!("{e}"));
        let helm = Helm { major, path, home: tempfile::tempdir().unwrap() };
        let version = helm.version();
        assert!(
            version.starts_with(&format!("v{major}.")),
            "{} reports `{version}`, expected Helm {major}; run `make tools`",
            helm.path.display()
        );
        helm
    }

    fn command(&self, args: &[&str]) -> Command {
        let home = self.home.path();
        let mut cmd = Command::new(&self.path);
        cmd.args(args).env_clear().stdin(Stdio::null());
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("KUBECONFIG", home.join("kubeconfig-that-does-not-exist"));
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", self.path.display()));
        assert!(
            out.status.success(),
            "helm{} {} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            self.major,
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn version(&self) -> String {
        String::from_utf8(self.run(&["version", "--short"]).stdout).unwrap().trim().to_string()
    }

    /// `helm lint CHART [-f OVERLAY]`: must pass, with no errors and no unexpected warnings.
    fn lint(&self, chart: &Path, overlay: Option<&Path>) {
        let mut args = vec!["lint".to_string(), path_arg(chart)];
        if let Some(o) = overlay {
            args.extend(["-f".to_string(), path_arg(o)]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.run(&args);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("1 chart(s) linted, 0 chart(s) failed"), "helm{} {}:\n{text}", self.major, args.join(" "));
        let unexpected: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("[ERROR]") || l.starts_with("[WARNING]"))
            .filter(|l| !EXPECTED_LINT_WARNINGS.contains(l))
            .collect();
        assert!(unexpected.is_empty(), "helm{} {}: unexpected findings {unexpected:?}\n{text}", self.major, args.join(" "));
    }

    /// `helm template istio-mesh CHART --namespace istio-system [-f OVERLAY]`, parsed.
    fn template(&self, chart: &Path, overlay: Option<&Path>) -> Vec<Node> {
        let mut args: Vec<String> = ["template", "istio-mesh", "--namespace", "istio-system"].map(String::from).into();
        args.push(path_arg(chart));
        if let Some(o) = overlay {
            args.extend(["-f".to_string(), path_arg(o)]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.run(&args);
        documents(&String::from_utf8(out.stdout).unwrap())
    }
}

fn path_arg(p: &Path) -> String {
    p.to_str().expect("temporary paths are UTF-8").to_string()
}

/// The documents of a YAML stream as Helm prints it: split on lines that are exactly `---`;
/// documents holding only comments (Helm 3 prints one per empty template) are dropped.
fn documents(stream: &str) -> Vec<Node> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut flush = |text: &mut String| {
        let has_content = text.lines().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        if has_content {
            let node = syntax::parse(text, HELM_OUTPUT_LIMITS).unwrap_or_else(|errors| {
                let errors: Vec<String> = errors.iter().map(|e| e.to_string_in("helm output")).collect();
                panic!("Helm printed a document mesh-render's YAML reader refuses: {errors:?}\n{text}")
            });
            docs.push(node);
        }
        text.clear();
    };
    for line in stream.split_inclusive('\n') {
        if line.trim_end_matches(['\n', '\r']) == "---" {
            flush(&mut current);
        } else {
            current.push_str(line);
        }
    }
    flush(&mut current);
    docs
}

// ---------------------------------------------------------------------------------------------
// Reading the objects

/// A node as JSON, without positions. Scalars stay strings, as in [`Node`].
fn json(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Scalar { text, .. } => Json::String(text.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(json).collect()),
        Value::Map(entries) => Json::Object(entries.iter().map(|(k, v)| (k.as_scalar().unwrap().to_string(), json(v))).collect()),
    }
}

fn at<'a>(node: &'a Node, path: &str) -> Option<&'a Node> {
    path.split('.').try_fold(node, |n, key| n.get(key))
}

fn text<'a>(node: &'a Node, path: &str) -> Option<&'a str> {
    at(node, path).and_then(Node::as_scalar)
}

fn items(node: Option<&Node>) -> &[Node] {
    match node.map(|n| &n.value) {
        Some(Value::Seq(items)) => items,
        _ => &[],
    }
}

fn objects<'a>(docs: &'a [Node], kind: &str) -> Vec<&'a Node> {
    docs.iter().filter(|d| text(d, "kind") == Some(kind)).collect()
}

fn object<'a>(docs: &'a [Node], kind: &str, name: &str) -> Option<&'a Node> {
    objects(docs, kind).into_iter().find(|d| text(d, "metadata.name") == Some(name))
}

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

/// Every webhook must call a Service that the charts create: a webhook that calls a missing Service
/// rejects every request it matches once its failurePolicy is `Fail`.
fn check_webhook_services(docs: &[Node]) -> Vec<String> {
    let services: Vec<(Option<&str>, Option<&str>)> =
        objects(docs, "Service").iter().map(|s| (text(s, "metadata.namespace"), text(s, "metadata.name"))).collect();
    let mut bad = Vec::new();
    let mut webhooks = 0;
    for kind in ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"] {
        for config in objects(docs, kind) {
            for w in items(config.get("webhooks")) {
                webhooks += 1;
                let target = (text(w, "clientConfig.service.namespace"), text(w, "clientConfig.service.name"));
                if target.1.is_some() && !services.contains(&target) {
                    bad.push(format!(
                        "{kind} {} webhook {} calls Service {}/{}, which the charts do not create (they create {services:?})",
                        text(config, "metadata.name").unwrap_or("?"),
                        text(w, "name").unwrap_or("?"),
                        target.0.unwrap_or("?"),
                        target.1.unwrap_or("?"),
                    ));
                }
            }
        }
    }
    if webhooks == 0 {
        bad.push("no webhooks in the output".to_string());
    }
    bad
}

/// Every Istio object in the rendered manifests must be a kind and version that a CRD of the
/// templated base chart serves.
fn check_manifests_are_served(out: &Path, docs: &[Node]) -> Vec<String> {
    let mut bad = Vec::new();
    let crds = objects(docs, "CustomResourceDefinition");
    if crds.len() < 14 {
        bad.push(format!("only {} CustomResourceDefinitions in the base chart's output", crds.len()));
    }
    let mut istio_objects = 0;
    for entry in std::fs::read_dir(out.join("manifests")).unwrap() {
        let file = entry.unwrap().path();
        for obj in documents(&std::fs::read_to_string(&file).unwrap()) {
            let (Some(api_version), Some(kind)) = (text(&obj, "apiVersion"), text(&obj, "kind")) else { continue };
            let Some((group, version)) = api_version.split_once('/') else { continue };
            if !group.ends_with("istio.io") {
                continue;
            }
            istio_objects += 1;
            let served = crds.iter().any(|crd| {
                text(crd, "spec.group") == Some(group)
                    && text(crd, "spec.names.kind") == Some(kind)
                    && items(at(crd, "spec.versions")).iter().any(|v| text(v, "name") == Some(version) && text(v, "served") == Some("true"))
            });
            if !served {
                bad.push(format!("{}: {kind} {api_version} is not served by the chart's CRDs", file.display()));
            }
        }
    }
    if istio_objects == 0 {
        bad.push("no Istio objects in the rendered manifests".to_string());
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

/// A rendered tree with the reference charts in `helm/charts/`.
struct Rendered {
    _dir: tempfile::TempDir,
    out: PathBuf,
}

impl Rendered {
    fn new(config: &str, version: &str) -> Rendered {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config.yaml");
        std::fs::write(&config_path, config).unwrap();
        let out = dir.path().join("out");
        let o = Command::new(env!("CARGO_BIN_EXE_mesh-render"))
            .current_dir(dir.path())
            .args(["--config", "config.yaml", "render", "--out", "out"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "mesh-render render failed:\n{}", String::from_utf8_lossy(&o.stderr));
        let charts = out.join("helm/charts");
        for chart in ["base", "istiod"] {
            copy_dir(&reference_charts(version).join(chart), &charts.join(chart));
        }
        Rendered { _dir: dir, out }
    }

    fn chart(&self) -> PathBuf {
        self.out.join("helm")
    }

    fn overlay(&self, env: &str) -> PathBuf {
        let p = self.out.join(format!("helm/values-{env}.yaml"));
        assert!(p.is_file(), "mesh-render wrote no {}", p.display());
        p
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
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

#[test]
fn a_missing_helm_fails_and_says_to_run_make_tools() {
    let dir = tempfile::tempdir().unwrap();
    let e = locate_helm(4, None, dir.path()).unwrap_err();
    assert!(e.starts_with("Helm 4 not found at ") && e.contains("Run `make tools`"), "{e}");
    let e = locate_helm(3, Some(dir.path().join("no-helm").into_os_string()), dir.path()).unwrap_err();
    assert!(e.contains("($MESH_RENDER_HELM3)") && e.contains("Run `make tools`"), "{e}");
    // An empty variable means unset.
    let e = locate_helm(3, Some(OsString::new()), dir.path()).unwrap_err();
    assert!(e.contains(".cache/tools/helm3/helm"), "{e}");
}

#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn the_helm_binaries_are_the_expected_majors() {
    for major in [4, 3] {
        let helm = Helm::new(major);
        assert!(helm.version().starts_with(&format!("v{major}.")));
    }
}

// ---------------------------------------------------------------------------------------------
// Canary: two istiod revisions side by side

/// `(kind, name, istio.io/rev, istio.io/tag, services the webhooks call)` of every webhook configuration.
fn webhooks(docs: &[Node]) -> Vec<(String, String, String, String, Vec<String>)> {
    let mut out: Vec<_> = docs
        .iter()
        .filter(|d| matches!(text(d, "kind"), Some("MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration")))
        .map(|d| {
            let j = json(d);
            let label = |k: &str| j["metadata"]["labels"][k].as_str().unwrap_or("").to_string();
            let mut services: Vec<String> = j["webhooks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w["clientConfig"]["service"]["name"].as_str().map(str::to_string))
                .collect();
            services.dedup();
            (
                j["kind"].as_str().unwrap().to_string(),
                j["metadata"]["name"].as_str().unwrap().to_string(),
                label("istio.io/rev"),
                label("istio.io/tag"),
                services,
            )
        })
        .collect();
    out.sort();
    out
}

/// The wrapper chart of a canary step, with the reference charts of both revisions (`istiod` twice,
/// under its aliases, each at its own version) and the newer base chart, through the real Helm: two
/// istiod Deployments, one sidecar injector and one validator per revision, each tag's webhook on the
/// revision it points at, one default validator (the base chart's) calling the stable revision, and no
/// object rendered twice (separate Helm releases would fight over it).
#[test]
fn two_istiod_revisions_render_side_by_side_with_their_tag_webhooks() {
    let step = |name: &str| std::fs::read_to_string(repo_root().join("golden").join(name).join("config.yaml")).unwrap();
    let w = |kind: &str, name: &str, rev: &str, tag: &str, svc: &str| {
        let kind = if kind == "M" { "MutatingWebhookConfiguration" } else { "ValidatingWebhookConfiguration" };
        (kind.to_string(), name.to_string(), rev.to_string(), tag.to_string(), vec![svc.to_string()])
    };
    let cases = [
        (
            "canary-2-side-by-side",
            vec![
                w("M", "istio-revision-tag-canary", "1-30-3", "canary", "istiod-1-30-3"),
                w("M", "istio-revision-tag-prod", "default", "prod", "istiod"),
                w("M", "istio-sidecar-injector", "default", "", "istiod"),
                w("M", "istio-sidecar-injector-1-30-3", "1-30-3", "", "istiod-1-30-3"),
                w("V", "istio-validator-1-30-3-istio-system", "1-30-3", "", "istiod-1-30-3"),
                w("V", "istio-validator-istio-system", "default", "", "istiod"),
                w("V", "istiod-default-validator", "default", "", "istiod"),
            ],
        ),
        (
            "canary-3-tag-moved",
            vec![
                w("M", "istio-revision-tag-prod", "1-30-3", "prod", "istiod-1-30-3"),
                w("M", "istio-sidecar-injector", "default", "", "istiod"),
                w("M", "istio-sidecar-injector-1-30-3", "1-30-3", "", "istiod-1-30-3"),
                w("V", "istio-validator-1-30-3-istio-system", "1-30-3", "", "istiod-1-30-3"),
                w("V", "istio-validator-istio-system", "default", "", "istiod"),
                w("V", "istiod-default-validator", "1-30-3", "", "istiod-1-30-3"),
            ],
        ),
    ];
    for major in [4, 3] {
        let helm = Helm::new(major);
        for (name, want) in &cases {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("config.yaml"), step(name)).unwrap();
            let o = Command::new(env!("CARGO_BIN_EXE_mesh-render"))
                .current_dir(dir.path())
                .args(["--config", "config.yaml", "render", "--out", "out"])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let charts = dir.path().join("out/helm/charts");
            // What `helm dependency build` would fetch: base at the newest version, istiod once per version.
            copy_dir(&reference_charts("1.30.3").join("base"), &charts.join("base"));
            for v in ["1.29.6", "1.30.3"] {
                copy_dir(&reference_charts(v).join("istiod"), &charts.join(format!("istiod-{v}")));
            }
            let chart = dir.path().join("out/helm");
            helm.lint(&chart, None);
            let docs = helm.template(&chart, None);
            let mut deployments: Vec<(String, String)> = objects(&docs, "Deployment")
                .iter()
                .map(|d| {
                    let image = json(d)["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap_or("").to_string();
                    (text(d, "metadata.name").unwrap().to_string(), image.rsplit(':').next().unwrap().to_string())
                })
                .collect();
            deployments.sort();
            assert_eq!(
                deployments,
                [("istiod".to_string(), "1.29.6".to_string()), ("istiod-1-30-3".into(), "1.30.3".into())],
                "helm{major} {name}"
            );
            assert_eq!(webhooks(&docs), *want, "helm{major} {name}");
            let mut ids: Vec<String> = docs
                .iter()
                .map(|d| {
                    format!(
                        "{} {} {}",
                        text(d, "kind").unwrap_or(""),
                        text(d, "metadata.namespace").unwrap_or(""),
                        text(d, "metadata.name").unwrap_or("")
                    )
                })
                .collect();
            let total = ids.len();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), total, "helm{major} {name}: an object is rendered twice");
        }
    }
}
