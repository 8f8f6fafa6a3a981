//! Helm for the chart tests: the binaries `make tools` fetches, run in a private home, their
//! output read back with mesh-render's own YAML reader, and a rendered tree with the reference charts.
//!
//! The Helm binaries come from `make tools` (`scripts/tools/fetch-tools.sh`). Their paths are taken
//! from `MESH_RENDER_HELM4` / `MESH_RENDER_HELM3` (the Makefile sets both), else from
//! `.cache/tools/helm{4,3}/helm` under the repository root. The tests that run Helm are ignored by a
//! plain `cargo test` (a machine with only Rust); `make test` runs them (`--include-ignored`), and there
//! a missing binary fails the test: it is never skipped. Helm runs with an empty environment apart from `PATH`, and with `HOME`, the XDG
//! folders and `KUBECONFIG` inside a temporary folder, so no Helm settings of the machine leak in.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mesh_render::config::syntax::{self, Limits, Node, Value};
use serde_json::Value as Json;

use super::repo_root;

/// Lint warnings that are expected. Helm 4 (not Helm 3) warns that a chart has no `templates/`
/// folder; the wrapper chart has none on purpose, all its objects come from its dependencies.
pub const EXPECTED_LINT_WARNINGS: &[&str] = &["[WARNING] templates/: directory does not exist"];

/// Generous limits: the base chart's CRDs are large and deep.
pub const HELM_OUTPUT_LIMITS: Limits = Limits { max_bytes: 64 * 1024 * 1024, max_depth: 256, max_nodes: 5_000_000 };

pub fn reference_charts(version: &str) -> PathBuf {
    let dir = repo_root().join("reference").join(format!("istio-{version}")).join("charts");
    assert!(
        dir.join("base/Chart.yaml").is_file() && dir.join("istiod/Chart.yaml").is_file(),
        "reference charts for Istio {version} not found in {}; the vendored reference data (reference/) is part of the repository",
        dir.display()
    );
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
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

// ---------------------------------------------------------------------------------------------
// Helm

/// Where Helm `major` is: the value of `MESH_RENDER_HELM<major>` if set and not empty, else
/// `.cache/tools/helm<major>/helm` under `root`. An error (never a skip) when the file is missing.
pub fn locate_helm(major: u8, from_env: Option<OsString>, root: &Path) -> Result<PathBuf, String> {
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
pub struct Helm {
    pub major: u8,
    path: PathBuf,
    home: tempfile::TempDir,
}

impl Helm {
    /// Helm `major`, checked to report that major. Panics with a `make tools` hint when missing.
    pub fn new(major: u8) -> Helm {
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

    pub fn version(&self) -> String {
        String::from_utf8(self.run(&["version", "--short"]).stdout).unwrap().trim().to_string()
    }

    /// `helm lint CHART [-f OVERLAY]`: must pass, with no errors and no unexpected warnings.
    pub fn lint(&self, chart: &Path, overlay: Option<&Path>) {
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
    /// `helm template` of `chart` with extra arguments (`--set`, `-s TEMPLATE`): the documents.
    pub fn template_with(&self, chart: &Path, extra: &[&str]) -> Vec<Node> {
        let chart = path_arg(chart);
        let mut args = vec!["template", "istiod", "--namespace", "istio-system", chart.as_str()];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        documents(&String::from_utf8(out.stdout).unwrap())
    }

    pub fn template(&self, chart: &Path, overlay: Option<&Path>) -> Vec<Node> {
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
pub fn documents(stream: &str) -> Vec<Node> {
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
pub fn json(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Scalar { text, .. } => Json::String(text.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(json).collect()),
        Value::Map(entries) => Json::Object(entries.iter().map(|(k, v)| (k.as_scalar().unwrap().to_string(), json(v))).collect()),
    }
}

pub fn at<'a>(node: &'a Node, path: &str) -> Option<&'a Node> {
    path.split('.').try_fold(node, |n, key| n.get(key))
}

pub fn text<'a>(node: &'a Node, path: &str) -> Option<&'a str> {
    at(node, path).and_then(Node::as_scalar)
}

pub fn items(node: Option<&Node>) -> &[Node] {
    match node.map(|n| &n.value) {
        Some(Value::Seq(items)) => items,
        _ => &[],
    }
}

pub fn objects<'a>(docs: &'a [Node], kind: &str) -> Vec<&'a Node> {
    docs.iter().filter(|d| text(d, "kind") == Some(kind)).collect()
}

pub fn object<'a>(docs: &'a [Node], kind: &str, name: &str) -> Option<&'a Node> {
    objects(docs, kind).into_iter().find(|d| text(d, "metadata.name") == Some(name))
}

// ---------------------------------------------------------------------------------------------
// Checks that hold for every config

/// Every webhook must call a Service that the charts create: a webhook that calls a missing Service
/// rejects every request it matches once its failurePolicy is `Fail`.
pub fn check_webhook_services(docs: &[Node]) -> Vec<String> {
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
pub fn check_manifests_are_served(out: &Path, docs: &[Node]) -> Vec<String> {
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

/// A rendered tree with the reference charts in `helm/charts/`.
pub struct Rendered {
    _dir: tempfile::TempDir,
    pub out: PathBuf,
}

/// Runs `mesh-render --config config.yaml render --out out` in `dir`; the tree's path.
pub fn render_tree(dir: &Path) -> PathBuf {
    let o = Command::new(env!("CARGO_BIN_EXE_mesh-render"))
        .current_dir(dir)
        .args(["--config", "config.yaml", "render", "--out", "out"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "mesh-render render failed:\n{}", String::from_utf8_lossy(&o.stderr));
    dir.join("out")
}

impl Rendered {
    pub fn new(config: &str, version: &str) -> Rendered {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config.yaml");
        std::fs::write(&config_path, config).unwrap();
        let out = render_tree(dir.path());
        let charts = out.join("helm/charts");
        for chart in ["base", "istiod"] {
            copy_dir(&reference_charts(version).join(chart), &charts.join(chart));
        }
        Rendered { _dir: dir, out }
    }

    pub fn chart(&self) -> PathBuf {
        self.out.join("helm")
    }

    pub fn overlay(&self, env: &str) -> PathBuf {
        let p = self.out.join(format!("helm/values-{env}.yaml"));
        assert!(p.is_file(), "mesh-render wrote no {}", p.display());
        p
    }
}
