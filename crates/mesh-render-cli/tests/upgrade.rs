//! `mesh-render upgrade --to` and `mesh-render docs`, run as the real binary on the playground's
//! config. The upgrade reports are snapshots (`tests/snapshots/upgrade/`): stdout only, byte for
//! byte, nothing filtered (the report holds no path of this machine).

mod support;

use support::{repo_root, run_in, stderr, stdout};

/// The playground's config.yaml with `components.istio.version` set to `version`, in a temp folder.
fn playground_at(version: &str) -> tempfile::TempDir {
    let text = std::fs::read_to_string(repo_root().join("config.yaml")).unwrap();
    let istio = text.find("\n  istio:\n").expect("components.istio in config.yaml");
    let line = text[istio..].lines().find(|l| l.trim_start().starts_with("version:")).expect("components.istio.version in config.yaml");
    let indent = &line[..line.len() - line.trim_start().len()];
    let text = text.replacen(line, &format!("{indent}version: \"{version}\""), 1);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), text).unwrap();
    dir
}

fn assert_upgrade_snapshot(from: &str, to: &str, format: &str) {
    let dir = playground_at(from);
    let o = run_in(dir.path(), &["upgrade", "--to", to, "--format", format]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let name = format!("{from}-to-{to}{}", if format == "json" { "-json" } else { "" });
    insta::with_settings!({
        snapshot_path => "snapshots/upgrade",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!("config.yaml at Istio {from}: mesh-render upgrade --to {to} --format {format}"),
    }, {
        insta::assert_snapshot!(name, stdout(&o));
    });
}

#[test]
fn patch_upgrade_on_the_1_29_line() {
    assert_upgrade_snapshot("1.29.0", "1.29.6", "text");
}

#[test]
fn minor_upgrade_from_the_current_playground_release() {
    assert_upgrade_snapshot("1.29.6", "1.30.3", "text");
}

#[test]
fn longest_upgrade_in_the_table() {
    assert_upgrade_snapshot("1.29.0", "1.31.1", "text");
}

#[test]
fn json_report() {
    assert_upgrade_snapshot("1.29.6", "1.31.1", "json");
}

/// The config in the repo is what `upgrade` reads by default; its warnings go to stderr only.
#[test]
fn playground_config_upgrades_and_keeps_warnings_on_stderr() {
    let o = run_in(&repo_root(), &["upgrade", "--to", "1.30.4"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("Upgrade Istio 1.29.6 → 1.30.4\n"));
    assert!(!stdout(&o).contains("warning: components"));
    assert!(stderr(&o).contains("warning[MR022]: components.envoyGateway.enabled"));
}

#[test]
fn downgrades_unknown_and_equal_targets_are_exit_2_with_nothing_on_stdout() {
    let dir = playground_at("1.29.6");
    for (to, message) in [
        ("1.29.0", "error: Istio 1.29.0 is older than the configured 1.29.6: downgrades are not supported"),
        ("1.29.6", "error: the config already uses Istio 1.29.6"),
        ("1.32.0", "error: Istio 1.32.0 is not in mesh-render's version table\n  hint: supported: 1.29.0 to 1.29.8, 1.30.0 to 1.30.5, 1.31.0 to 1.31.1"),
        ("latest", "error: `latest` is not an Istio version"),
    ] {
        let o = run_in(dir.path(), &["upgrade", "--to", to]);
        assert_eq!(o.status.code(), Some(2), "--to {to}");
        assert_eq!(stdout(&o), "", "--to {to}");
        assert!(stderr(&o).contains(&format!("config.yaml: upgrade --to {to}: {message}")), "--to {to}: {}", stderr(&o));
    }
    let o = run_in(dir.path(), &["upgrade"]);
    assert_eq!(o.status.code(), Some(2), "--to is required");
    let missing = tempfile::tempdir().unwrap();
    let o = run_in(missing.path(), &["upgrade", "--to", "1.30.4"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(2), ""), "a missing config");
}

/// With `--env`, the notes are judged for that environment and the header says so.
#[test]
fn environment_is_named_in_the_report() {
    let dir = playground_at("1.29.6");
    let o = run_in(dir.path(), &["--env", "shared", "upgrade", "--to", "1.29.8"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("Upgrade Istio 1.29.6 → 1.29.8 (environment `shared`)\n"), "{}", stdout(&o));
}

#[test]
fn docs_are_written_and_checked() {
    let dir = playground_at("1.29.6");
    let o = run_in(dir.path(), &["docs", "--out", "docs"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for name in ["architecture.md", "ai-serving.md", "upgrade-notes.md"] {
        let written = std::fs::read_to_string(dir.path().join("docs").join(name)).unwrap();
        let committed = std::fs::read_to_string(repo_root().join("docs").join(name)).unwrap();
        assert!(written == committed, "{name}: the committed docs are not those of config.yaml; run `make docs`");
    }
    assert_eq!(run_in(dir.path(), &["docs", "--out", "docs", "--check"]).status.code(), Some(0));
    std::fs::write(dir.path().join("docs/architecture.md"), "stale\n").unwrap();
    let o = run_in(dir.path(), &["docs", "--out", "docs", "--check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("differs:   docs/architecture.md"), "{}", stderr(&o));
    // The same stale report as `render --check` (one `Error::Stale` path), with the command that fixes it.
    assert!(stderr(&o).contains("docs: 1 file(s) differ from a fresh render; run `make docs` and commit the result"), "{}", stderr(&o));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("docs"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left: {leftovers:?}");
}
