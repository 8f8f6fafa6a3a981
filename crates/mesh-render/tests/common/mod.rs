//! Helpers shared by the integration tests: where the repo is and what the golden cases are.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use mesh_render::config::syntax::Limits;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// One config (and environment) whose render is pinned by a snapshot.
#[derive(Clone, Debug)]
pub struct Case {
    /// `playground` for the repo's `config.yaml`, else the folder name under `golden/`.
    pub name: String,
    pub config: PathBuf,
    pub env: Option<String>,
    /// A cluster of a multi-cluster mesh (`--cluster`): each cluster has its own snapshot.
    pub cluster: Option<String>,
}

impl Case {
    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.config).expect("golden config")
    }

    pub fn loaded(&self) -> mesh_render::Loaded {
        mesh_render::config::load_cluster(&self.text(), self.env.as_deref(), self.cluster.as_deref(), Limits::DEFAULT)
            .unwrap_or_else(|e| panic!("{}: {:#?}", self.name, e.diagnostics))
    }

    pub fn rendered(&self) -> mesh_render::Rendered {
        mesh_render::render(&self.loaded())
    }

    pub fn snapshot_dir(&self) -> PathBuf {
        if self.name == "playground" {
            repo_root().join("golden")
        } else {
            repo_root().join("golden").join(&self.name)
        }
    }

    pub fn snapshot_name(&self) -> String {
        let mut name = match &self.env {
            Some(env) => format!("{}@{env}", self.name),
            None => self.name.clone(),
        };
        if let Some(cluster) = &self.cluster {
            name.push_str(&format!("-cluster-{cluster}"));
        }
        name
    }

    pub fn config_display(&self) -> String {
        self.config.strip_prefix(repo_root()).unwrap_or(&self.config).display().to_string()
    }

    /// `--env E --cluster C` as far as the case has them.
    pub fn env_flag(&self) -> String {
        let env = self.env.iter().map(|e| format!("--env {e}"));
        env.chain(self.cluster.iter().map(|c| format!("--cluster {c}"))).collect::<Vec<_>>().join(" ")
    }
}

/// Every golden config, plus one case per declared environment; a multi-cluster mesh has one case
/// per cluster (and environment) instead.
pub fn golden_cases() -> Vec<Case> {
    let mut configs = vec![("playground".to_string(), repo_root().join("config.yaml"))];
    let mut dirs: Vec<_> = std::fs::read_dir(repo_root().join("golden"))
        .expect("golden/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("config.yaml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        configs.push((dir.file_name().unwrap().to_string_lossy().into_owned(), dir.join("config.yaml")));
    }
    let mut cases = Vec::new();
    for (name, config) in configs {
        let base = Case { name, config, env: None, cluster: None };
        let envs: Vec<String> = base.loaded().environments.keys().cloned().collect();
        for case in std::iter::once(base.clone()).chain(envs.into_iter().map(|env| Case { env: Some(env), ..base.clone() })) {
            let clusters = case.loaded().clusters();
            if clusters.is_empty() {
                cases.push(case);
            } else {
                cases.extend(clusters.into_iter().map(|cluster| Case { cluster: Some(cluster), ..case.clone() }));
            }
        }
    }
    cases
}

/// The multi-cluster meshes among the golden configs (and their environments): one case each,
/// with no cluster selected, for what the fleet shares (`fleet/`).
pub fn fleet_cases() -> Vec<Case> {
    let mut out: Vec<Case> = Vec::new();
    for case in golden_cases().into_iter().filter(|c| c.cluster.is_some()) {
        let fleet = Case { cluster: None, ..case };
        if !out.iter().any(|c| c.name == fleet.name && c.env == fleet.env) {
            out.push(fleet);
        }
    }
    out
}

/// The snapshot of a case: warnings, then every file of the rendered tree.
pub fn snapshot_text(case: &Case) -> String {
    let loaded = case.loaded();
    let mut out = String::new();
    for w in &loaded.warnings {
        out.push_str(&format!("# {}\n", w.to_string_in("config.yaml").replace('\n', "\n# ")));
    }
    for (path, contents) in mesh_render::render(&loaded).tree() {
        out.push_str(&format!("# ==> {path} <==\n{contents}"));
    }
    out
}

/// Reads YAML with kubectl's own parser, offline: `kubectl label --local -f FILE probe=1 -o json`.
/// Returns one JSON object per document, or kubectl's error text.
pub fn kubectl_read_raw(yaml: &str) -> Result<Vec<serde_json::Value>, String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("objects.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = Command::new("kubectl")
        .args(["label", "--local", "-f"])
        .arg(&file)
        .args(["probe=1", "-o", "json"])
        .output()
        .expect("kubectl on PATH");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::Deserializer::from_slice(&out.stdout).into_iter().map(|v| v.expect("kubectl prints JSON")).collect())
}
