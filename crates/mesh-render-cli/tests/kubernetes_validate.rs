//! Built-in kinds (Namespace, ConfigMap, Deployment, RBAC, CRDs, webhooks, …) validated strictly
//! against the Kubernetes 1.34 OpenAPI schemas by the PyPI package kubernetes-validate, for every
//! golden render and for the committed expanded charts.
//!
//! `make tools` installs it into `.cache/tools/venv/`; `MESH_RENDER_KUBERNETES_VALIDATE` overrides the
//! path. Ignored by a plain `cargo test`; `make test` runs it, and there a missing validator fails the
//! test: it is never skipped.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::repo_root;

/// The Kubernetes version the playground targets (Knative 1.23 needs 1.34 or later).
const KUBERNETES: &str = "1.34.0";

/// API groups served by Kubernetes itself.
const BUILTIN_GROUPS: &[&str] =
    &["", "apps", "autoscaling", "policy", "rbac.authorization.k8s.io", "apiextensions.k8s.io", "admissionregistration.k8s.io"];

fn validator() -> PathBuf {
    let path = std::env::var("MESH_RENDER_KUBERNETES_VALIDATE")
        .ok()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache/tools/venv/bin/kubernetes-validate"));
    assert!(path.is_file(), "kubernetes-validate not found at {}; run `make tools`", path.display());
    path
}

fn is_builtin(object: &Value) -> bool {
    let api = object["apiVersion"].as_str().unwrap_or_default();
    let group = api.rsplit_once('/').map_or("", |(g, _)| g);
    BUILTIN_GROUPS.contains(&group)
}

/// Runs the validator in strict mode on `objects`; returns (exit code, output).
fn validate(objects: &[Value]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("objects.yaml");
    let stream: String = objects.iter().map(|o| format!("---\n{o}\n")).collect();
    std::fs::write(&file, stream).unwrap();
    let out = Command::new(validator()).args(["--strict", "-k", KUBERNETES]).arg(&file).output().unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// The objects a config renders: of every cluster, for a multi-cluster mesh (`--cluster`).
fn rendered_objects(config: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(config).unwrap();
    let loaded = mesh_render::load(&text, None, mesh_render::config::syntax::Limits::DEFAULT).unwrap();
    let clusters: Vec<Option<String>> = match loaded.clusters() {
        c if c.is_empty() => vec![None],
        c => c.into_iter().map(Some).collect(),
    };
    let mut objects = Vec::new();
    for cluster in clusters {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mesh-render"));
        cmd.arg("--config").arg(config).args(["render", "-o", "json"]);
        if let Some(c) = &cluster {
            cmd.args(["--cluster", c]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{} {cluster:?}: {}", config.display(), String::from_utf8_lossy(&out.stderr));
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        objects.extend(list["items"].as_array().unwrap().clone());
        // A fleet cluster's Argo CD hooks outside the stream: the trust's cleanup and the east-west gate.
        for part in cluster.iter().flat_map(|_| ["trust", "eastwest-gate"]) {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_mesh-render"));
            cmd.arg("--config").arg(config).args([
                "render",
                "-o",
                "json",
                "--part",
                part,
                "--cluster",
                cluster.as_deref().unwrap_or_default(),
            ]);
            let out = cmd.env("ARGOCD_APP_NAME", "kubernetes-validate").output().unwrap();
            assert!(out.status.success(), "{} {cluster:?} {part}: {}", config.display(), String::from_utf8_lossy(&out.stderr));
            let list: Value = serde_json::from_slice(&out.stdout).unwrap();
            objects.extend(
                list["items"].as_array().unwrap().iter().filter(|o| o["kind"] != "Certificate" && o["kind"] != "ClusterIssuer").cloned(),
            );
        }
    }
    objects
}

#[test]
#[ignore = "needs kubernetes-validate: run by `make test` (`make tools` installs it)"]
fn every_builtin_object_passes_strict_validation() {
    let mut configs = vec![repo_root().join("config.yaml")];
    let mut golden: Vec<PathBuf> = std::fs::read_dir(repo_root().join("golden"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("config.yaml"))
        .filter(|p| p.is_file())
        .collect();
    golden.sort();
    configs.extend(golden);
    let mut objects: Vec<Value> = configs.iter().flat_map(|c| rendered_objects(c)).filter(is_builtin).collect();

    let expanded = repo_root().join("deployment/rendered/expanded");
    let mut files = Vec::new();
    for chart in std::fs::read_dir(&expanded).unwrap().flatten() {
        files.extend(std::fs::read_dir(chart.path()).unwrap().flatten().map(|e| e.path()));
    }
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let docs = mesh_render::config::syntax::parse_documents(
            &text,
            mesh_render::config::syntax::Limits { max_bytes: 1 << 26, max_depth: 256, max_nodes: 5_000_000 },
        )
        .unwrap();
        objects.extend(docs.iter().map(mesh_render::config::syntax::Node::to_json).filter(is_builtin));
    }

    let kinds: std::collections::BTreeSet<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    for kind in [
        "Namespace",
        "ConfigMap",
        "Deployment",
        "Service",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "CustomResourceDefinition",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ClusterRole",
    ] {
        assert!(kinds.contains(kind), "no {kind} was validated: {kinds:?}");
    }
    let (code, output) = validate(&objects);
    assert_eq!(code, Some(0), "{output}");
    assert!(!output.contains("ERROR") && !output.contains("WARN"), "{output}");
    assert_eq!(output.matches(" passed for resource ").count(), objects.len(), "{output}");
    eprintln!("kubernetes-validate --strict -k {KUBERNETES}: {} built-in objects passed, kinds {kinds:?}", objects.len());
}

#[test]
#[ignore = "needs kubernetes-validate: run by `make test` (`make tools` installs it)"]
fn the_validator_catches_an_unknown_field_and_a_wrong_type() {
    let unknown = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "dta": {}});
    let (code, output) = validate(&[unknown]);
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("did not validate for resource configmap/x against version 1.34: : Additional properties are not allowed ('dta' was unexpected)"), "{output}");
    let wrong = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": "two", "selector": {}, "template": {}}});
    let (code, output) = validate(&[wrong]);
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("'two' is not of type 'integer'"), "{output}");
}
