//! A fake cluster for the plan and hook tests (`fake_cluster.py`): fake `kubectl` and `helm` that keep
//! state between calls and answer as the upstream code they imitate (istiod's injector and webhooks,
//! Kubernetes admission, istiod's Gateway status), so that a test walks a whole path (every canary
//! step, an Argo CD sync, a deletion) and asserts the end state, not only the command lines.
//!
//! [`Cluster::fleet`] gives one such cluster per kube context, for the plans of a multi-cluster mesh.
//!
//! Runs on the venv's Python that `make tools` creates (`.cache/tools/venv`, where PyYAML comes with
//! kubernetes-validate); the tests that use it are `#[ignore]`d for a plain `cargo test`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::repo_root;

pub struct Cluster {
    dir: tempfile::TempDir,
}

impl Cluster {
    /// A cluster whose namespaces `workloads` each run a Deployment `app` with a pod created before
    /// the mesh (no sidecar).
    pub fn new(workloads: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let python = repo_root().join(".cache/tools/venv/bin/python3");
        assert!(python.exists(), "{} is missing: run `make tools`", python.display());
        let script = repo_root().join("crates/mesh-render-cli/tests/support/fake_cluster.py");
        for tool in ["kubectl", "helm"] {
            let wrapper = format!("#!/bin/sh\nexec '{}' '{}' {tool} \"$@\"\n", python.display(), script.display());
            let path = bin.join(tool);
            std::fs::write(&path, wrapper).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let cluster = Cluster { dir };
        std::fs::write(cluster.path().join("workloads"), workloads.join(" ")).unwrap();
        cluster
    }

    /// Several clusters, one per kube context of `contexts` (`(context, API server in the
    /// kubeconfig)`), each like [`Cluster::new`]; the contexts of `load_balancers` have a LoadBalancer
    /// implementation, the others none (as kind). A call without a context, or to another context,
    /// fails as kubectl fails it.
    pub fn fleet(contexts: &[(&str, &str)], load_balancers: &[&str], workloads: &[&str]) -> Cluster {
        let cluster = Cluster::new(workloads);
        let listed: Vec<String> = contexts.iter().map(|(c, server)| format!("{c}={server}")).collect();
        std::fs::write(cluster.path().join("contexts"), listed.join(" ")).unwrap();
        std::fs::write(cluster.path().join("load-balancers"), load_balancers.join(" ")).unwrap();
        cluster
    }

    /// The state of the cluster behind kube context `context` (`fake_cluster.py` keeps one per context).
    pub fn context(&self, context: &str) -> serde_json::Value {
        self.state()["contexts"][context].clone()
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn state_file(&self) -> PathBuf {
        self.path().join("state.json")
    }

    /// Runs `script` with `sh` in `cwd` (a folder with the rendered tree) against the cluster;
    /// returns its output and the calls it made.
    pub fn run(&self, cwd: &Path, script: &str, env: &[(&str, &str)]) -> (Output, Vec<String>) {
        self.run_with("sh", cwd, script, env)
    }

    /// [`Cluster::run`] with another shell (`bash`).
    pub fn run_with(&self, shell: &str, cwd: &Path, script: &str, env: &[(&str, &str)]) -> (Output, Vec<String>) {
        let file = self.path().join("script.sh");
        std::fs::write(&file, script).unwrap();
        let log = self.path().join("calls.log");
        let _ = std::fs::remove_file(&log);
        let _ = std::fs::remove_file(self.path().join("stdin.log"));
        let path = format!("{}:{}", self.path().join("bin").display(), std::env::var("PATH").unwrap_or_default());
        let workloads = std::fs::read_to_string(self.path().join("workloads")).unwrap();
        let mut cmd = Command::new(shell);
        cmd.arg(&file)
            .current_dir(cwd)
            .env("PATH", path)
            .env("FAKE_CLUSTER", self.state_file())
            .env("FAKE_LOG", &log)
            .env("FAKE_WORKLOAD_NAMESPACES", workloads)
            .env("TMPDIR", self.path())
            .env_remove("MESH_RENDER_RENDERED")
            .stdin(Stdio::null());
        for (file, variable) in [("contexts", "FAKE_CONTEXTS"), ("load-balancers", "FAKE_LOADBALANCER_CONTEXTS")] {
            match std::fs::read_to_string(self.path().join(file)) {
                Ok(text) => cmd.env(variable, text),
                Err(_) => cmd.env_remove(variable),
            };
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let calls = std::fs::read_to_string(&log).unwrap_or_default().lines().map(str::to_string).collect();
        (out, calls)
    }

    /// Puts a recorder in front of the real command `tool` (the first on PATH): each call logs what
    /// its stdin is and its arguments to the log [`Cluster::stdin_log`] reads, then runs the tool.
    pub fn record_stdin(&self, tool: &str) {
        let real = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("no {tool} on PATH"));
        let log = self.path().join("stdin.log");
        let wrapper = format!(
            "#!/bin/sh\nprintf '%s: {tool} %s\\n' \"$(stat -L -c %F /dev/stdin)\" \"$*\" >>'{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.display()
        );
        let path = self.path().join("bin").join(tool);
        std::fs::write(&path, wrapper).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// What stdin was, by `stat -L -c %F /dev/stdin` (`fifo`, `regular file`, ...), for each call of a
    /// recorded tool (and for each `kubectl … --filename -` of the fake cluster) of the last run:
    /// `<what stdin was>: <tool> <arguments>`.
    pub fn stdin_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.path().join("stdin.log")).unwrap_or_default().lines().map(str::to_string).collect()
    }

    /// The cluster's state (`fake_cluster.py` writes it after every call).
    pub fn state(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.state_file()).unwrap()).unwrap()
    }

    /// Changes the state (a pod added by hand, an Application being deleted).
    pub fn edit(&self, f: impl FnOnce(&mut serde_json::Value)) {
        let mut state = self.state();
        f(&mut state);
        std::fs::write(self.state_file(), serde_json::to_string(&state).unwrap()).unwrap();
    }

    /// The pod revision's injector wrote for the fake cluster's Deployment pod
    /// (`fixtures/injected/revisions/<revision>.yaml`, from `make oracle-fixtures`): what the fake
    /// cluster serves for a pod that revision admits.
    pub fn injected_pod(revision: &str) -> serde_json::Value {
        let path = repo_root().join("crates/mesh-render-cli/tests/fixtures/injected/revisions").join(format!("{revision}.yaml"));
        let mut docs = super::bench::objects(&path);
        assert_eq!(docs.len(), 1, "{}", path.display());
        docs.remove(0)
    }

    /// Every pod in `namespaces`, as the fake cluster stores it.
    pub fn pods(&self, namespaces: &[&str]) -> Vec<serde_json::Value> {
        let state = self.state();
        state["pods"].as_array().unwrap().iter().filter(|p| namespaces.contains(&p["namespace"].as_str().unwrap())).cloned().collect()
    }

    /// `(namespace, pod, istio.io/rev annotation)` of every pod in `namespaces`.
    pub fn pod_revisions(&self, namespaces: &[&str]) -> Vec<(String, String, Option<String>)> {
        self.state()["pods"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| namespaces.contains(&p["namespace"].as_str().unwrap()))
            .map(|p| {
                (
                    p["namespace"].as_str().unwrap().to_string(),
                    p["name"].as_str().unwrap().to_string(),
                    p["annotations"]["istio.io/rev"].as_str().map(str::to_string),
                )
            })
            .collect()
    }
}
