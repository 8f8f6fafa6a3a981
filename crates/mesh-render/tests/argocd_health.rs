//! Issue 20, point 9: the Application health check the app-of-apps docs rely on
//! (`argocd/application-health.lua`, and the argocd-cm object `argocd/argocd-cm-application-health.yaml`
//! that carries it), run by Argo CD's own Lua runtime in `oracle/argocd-health/`.

mod common;

use std::process::Command;

use mesh_render::config::syntax::{parse, Limits};

const KEY: &str = "resource.customizations.health.argoproj.io_Application";

fn read(path: &str) -> String {
    std::fs::read_to_string(common::repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The argocd-cm object carries the tested script byte for byte, under the key Argo CD reads for
/// group `argoproj.io`, kind `Application` (argo-cd v3.5.1 docs/operator-manual/health.md).
#[test]
fn the_argocd_cm_object_carries_the_tested_script() {
    let cm = parse(&read("argocd/argocd-cm-application-health.yaml"), Limits::DEFAULT).unwrap().to_json();
    assert_eq!(
        (cm["kind"].as_str(), cm["metadata"]["name"].as_str(), cm["metadata"]["namespace"].as_str()),
        (Some("ConfigMap"), Some("argocd-cm"), Some("argocd"))
    );
    assert_eq!(
        cm["data"].as_object().unwrap().len(),
        1,
        "only the health key: a merge or server-side apply leaves the rest of argocd-cm alone"
    );
    assert_eq!(cm["data"][KEY].as_str(), Some(read("argocd/application-health.lua").as_str()));
}

/// The docs point at the shipped files (they used to point at a README section that did not exist).
#[test]
fn the_docs_point_at_the_shipped_check() {
    let docs = read("docs/argocd.md");
    for file in ["argocd/application-health.lua", "argocd/argocd-cm-application-health.yaml"] {
        assert!(docs.contains(file), "docs/argocd.md does not name {file}");
        assert!(common::repo_root().join(file).is_file(), "{file}");
    }
}

/// `go test` of the harness: the shipped check on Synced/OutOfSync/Degraded/no-status Applications,
/// Argo CD's Gateway check on istiod's status of a Gateway without an address (point 3), and (issue
/// 23) Argo CD's Certificate check on cert-manager's statuses of the trust Application's `cacerts`.
/// The fleet test (`oracle/argocd-health/fleet/`, build tag `argocd_fleet`) runs from `argocd_fleet.rs`.
#[test]
#[ignore = "needs Go: run by `make test` (Go 1.26.3 or newer on PATH; gopher-lua from the Go module proxy into .cache/go/)"]
fn argocd_lua_runtime_agrees_with_the_health_checks() {
    let root = common::repo_root();
    let out = Command::new(std::env::var("GO").unwrap_or_else(|_| "go".into()))
        .args(["test", "-count=1", "./..."])
        .current_dir(root.join("oracle/argocd-health"))
        .env("GOMODCACHE", root.join(".cache/go/mod"))
        .env("GOCACHE", root.join(".cache/go/build"))
        .env("GOFLAGS", "-mod=readonly -buildvcs=false")
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap_or_else(|e| panic!("cannot run go ({e}): install Go 1.26.3 or newer (`make tools` names what is missing)"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ok  \tmesh-render/oracle/argocd-health"), "{text}");
}

/// Issue 20, point 11: `docker build -f argocd/Dockerfile .` sends the repository as its context;
/// `.dockerignore` keeps the build outputs, caches and history out of it (a warm `target/` is
/// gigabytes) and keeps what `make release` reads.
#[test]
fn the_docker_context_leaves_out_build_outputs_and_keeps_the_sources() {
    let ignore = read(".dockerignore");
    let rules: Vec<&str> = ignore.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    for excluded in [".git", "**/target", ".cache"] {
        assert!(rules.contains(&excluded), "{excluded} is not excluded: {rules:?}");
    }
    let dockerfile = read("argocd/Dockerfile");
    assert!(
        dockerfile.contains("COPY . .") && dockerfile.contains("RUN make release"),
        "the Dockerfile's build still copies the context and runs make release"
    );
    for kept in ["Cargo.toml", "Cargo.lock", "Makefile", "crates"] {
        assert!(!rules.iter().any(|r| r.trim_start_matches('/') == kept || kept.starts_with(&format!("{r}/"))), "{kept} is excluded");
    }
}
