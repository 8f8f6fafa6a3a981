//! The `mesh-render` binary, driven as users, CI and Argo CD drive it.

mod support;

use std::process::{Command, Stdio};

use support::{playground, repo_root, run_in, snapshot_tree, stderr, stdout, workdir};

#[test]
fn default_command_prints_the_stream_of_config_yaml() {
    let dir = workdir(&playground());
    let o = run_in(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("---\n"));
    assert_eq!(out.matches("\n---\n").count() + 1, 22, "22 objects");
    assert_eq!(out, stdout(&run_in(dir.path(), &["render"])));
    // Warnings go to stderr, never into the stream.
    assert!(stderr(&o).contains("warning[MR022]: components.envoyGateway.enabled"));
    assert!(!out.contains("warning"));
}

#[test]
fn two_processes_render_identical_bytes() {
    let dir = workdir(&playground());
    let a = run_in(dir.path(), &["render"]);
    let b = Command::new(env!("CARGO_BIN_EXE_mesh-render"))
        .current_dir(dir.path())
        .arg("render")
        .env("LC_ALL", "tr_TR.UTF-8")
        .env("TZ", "Pacific/Kiritimati")
        .output()
        .unwrap();
    assert_eq!(a.stdout, b.stdout);
    let ja = run_in(dir.path(), &["render", "-o", "json"]);
    let jb = run_in(dir.path(), &["render", "-o", "json"]);
    assert_eq!(ja.stdout, jb.stdout);
    let list: serde_json::Value = serde_json::from_slice(&ja.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 22);
}

#[test]
fn missing_config_is_an_error_not_a_default_mesh() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert_eq!(stderr(&o), "config.yaml: error: the config file does not exist\n  hint: run mesh-render where config.yaml is, or pass --config PATH; there is no built-in default mesh\n");
}

#[test]
fn invalid_config_exits_2_with_every_problem_and_empty_stdout() {
    let dir = workdir("components:\n  istio:\n    enabled: true\n    mode: ambient\n    mtls: {mode: strict}\n");
    let o = run_in(dir.path(), &["render"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert!(err.contains("config.yaml:4:11: error[MR006]: components.istio.mode: ambient mode is not supported"), "{err}");
    assert!(err.contains("config.yaml:5:18: error[MR006]: components.istio.mtls.mode: `strict` is not allowed here"), "{err}");
    assert!(err.ends_with("config.yaml: 2 errors found; nothing was rendered\n"), "{err}");
}

#[test]
fn check_exits_0_clean_1_problems_2_unreadable() {
    let good = workdir(&playground());
    let o = run_in(good.path(), &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).ends_with("config.yaml: no problems found (warnings only)\n"));

    let bad = workdir("components:\n  istio:\n    enabled: true\n    bogus: 1\n");
    let o = run_in(bad.path(), &["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("config.yaml:4:5: error[MR004]: components.istio.bogus: unknown key `bogus`"));

    let broken = workdir("components: [\n");
    assert_eq!(run_in(broken.path(), &["check"]).status.code(), Some(2));
    assert_eq!(run_in(good.path(), &["check", "--config", "nope.yaml"]).status.code(), Some(2));
}

#[test]
fn directory_and_non_utf8_configs_are_refused() {
    let dir = workdir("");
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    let o = run_in(dir.path(), &["--config", "conf.d"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("conf.d: error: this is a directory, not a config file"));

    std::fs::write(dir.path().join("latin1.yaml"), b"components:\n  istio: {enabled: true}\n# caf\xe9\n").unwrap();
    let o = run_in(dir.path(), &["--config", "latin1.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).starts_with("latin1.yaml: error: line 3, column 6: the config is not UTF-8 text"), "{}", stderr(&o));
}

#[test]
fn env_selects_an_environment() {
    let dir = workdir(&playground());
    let base = stdout(&run_in(dir.path(), &["render"]));
    let shared = stdout(&run_in(dir.path(), &["--env", "shared", "render"]));
    assert!(base.contains("randomSamplingPercentage: 10.0"));
    assert!(shared.contains("randomSamplingPercentage: 1.0"));
    let o = run_in(dir.path(), &["render", "--env", "shraed"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("environment `shraed` is not declared\n  hint: did you mean `shared`?"));
}

#[test]
fn out_writes_the_tree_and_check_detects_drift() {
    let dir = workdir(&playground());
    let o = run_in(dir.path(), &["render", "--out", "deployment/rendered"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let tree = dir.path().join("deployment/rendered");
    let files: Vec<String> = snapshot_tree(&tree).into_iter().map(|(p, _)| p.strip_prefix(&tree).unwrap().display().to_string()).collect();
    assert_eq!(
        files,
        [
            "helm/Chart.yaml",
            "helm/values-shared.yaml",
            "helm/values.yaml",
            "lifecycle/base-values.yaml",
            "lifecycle/istiod-values.yaml",
            "lifecycle/knative-restore.yaml",
            "manifests/00-namespaces.yaml",
            "manifests/10-security.yaml",
            "manifests/20-telemetry.yaml",
            "manifests/30-gateways.yaml",
            "manifests/40-knative-patch.yaml",
        ]
    );
    assert_eq!(run_in(dir.path(), &["render", "--out", "deployment/rendered", "--check"]).status.code(), Some(0));

    std::fs::write(tree.join("manifests/10-security.yaml"), "tampered\n").unwrap();
    std::fs::write(tree.join("stray.yaml"), "x\n").unwrap();
    // Helm's own build output beside the chart is not drift.
    std::fs::create_dir_all(tree.join("helm/charts")).unwrap();
    std::fs::write(tree.join("helm/charts/base-1.29.6.tgz"), "x").unwrap();
    std::fs::write(tree.join("helm/Chart.lock"), "x").unwrap();
    std::fs::remove_file(tree.join("helm/values.yaml")).unwrap();
    let o = run_in(dir.path(), &["render", "--out", "deployment/rendered", "--check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert!(err.contains("differs:   manifests/10-security.yaml\n"), "{err}");
    assert!(err.contains("missing:   helm/values.yaml\n"), "{err}");
    assert!(err.contains("unexpected: stray.yaml\n"), "{err}");
    assert!(!err.contains("helm/charts") && !err.contains("Chart.lock"), "{err}");
    assert!(err.ends_with("deployment/rendered: 3 file(s) differ from a fresh render; run `make render` (or `mesh-render render --out deployment/rendered`) and commit the result\n"), "{err}");
    // --check wrote nothing.
    assert_eq!(std::fs::read_to_string(tree.join("manifests/10-security.yaml")).unwrap(), "tampered\n");

    // A new render replaces the tree: stale files go, changed files are restored.
    assert_eq!(run_in(dir.path(), &["render", "--out", "deployment/rendered"]).status.code(), Some(0));
    assert!(!tree.join("stray.yaml").exists());
    assert_eq!(run_in(dir.path(), &["render", "--out", "deployment/rendered", "--check"]).status.code(), Some(0));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("deployment")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers, ["rendered"]);
}

#[test]
fn a_failed_render_leaves_the_tree_exactly_as_it_was() {
    let dir = workdir(&playground());
    assert_eq!(run_in(dir.path(), &["render", "--out", "out"]).status.code(), Some(0));
    let before = snapshot_tree(&dir.path().join("out"));
    std::fs::write(dir.path().join("config.yaml"), "components:\n  istio:\n    enabled: true\n    version: \"9.9.9\"\n").unwrap();
    let o = run_in(dir.path(), &["render", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert_eq!(snapshot_tree(&dir.path().join("out")), before);
}

#[test]
fn out_that_is_a_file_is_refused_and_left_alone() {
    let dir = workdir(&playground());
    std::fs::write(dir.path().join("out"), "not a dir\n").unwrap();
    let o = run_in(dir.path(), &["render", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).ends_with("out: error: the output path exists and is not a directory\n  hint: the existing tree was left as it was\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("out")).unwrap(), "not a dir\n");
}

#[test]
fn closed_pipe_exits_quietly() {
    let dir = workdir(&playground());
    let mut child = Command::new(env!("CARGO_BIN_EXE_mesh-render"))
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("error"), "{}", stderr(&o));
}

#[test]
fn example_prints_a_config_that_renders() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["example"]);
    assert_eq!(o.status.code(), Some(0));
    std::fs::write(dir.path().join("config.yaml"), &o.stdout).unwrap();
    let r = run_in(dir.path(), &["check"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
}

#[test]
fn every_subcommand_has_help_with_examples() {
    for sub in [&["--help"][..], &["render", "--help"], &["check", "--help"], &["example", "--help"], &["flows", "--help"]] {
        let o = run_in(&repo_root(), sub);
        assert_eq!(o.status.code(), Some(0));
        assert!(stdout(&o).contains("Example"), "{sub:?}: {}", stdout(&o));
    }
    assert_eq!(run_in(&repo_root(), &["render", "--bogus"]).status.code(), Some(2));
}
