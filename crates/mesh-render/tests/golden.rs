//! Golden snapshots: the exact bytes of every rendered file for each config under `golden/`
//! and for the playground's `config.yaml`, one snapshot per environment.

mod common;

use std::collections::BTreeSet;

use common::{golden_cases, repo_root, snapshot_text};

#[test]
fn golden_configs_render_to_their_snapshots() {
    for case in golden_cases() {
        insta::with_settings!({
            snapshot_path => case.snapshot_dir(),
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("mesh-render --config {} {}", case.config_display(), case.env_flag()),
        }, {
            insta::assert_snapshot!(case.snapshot_name(), snapshot_text(&case));
        });
    }
}

/// Golden snapshots of `mesh-render flows --format json` for every golden config and environment
/// (`<case>-flows.snap` beside the render snapshot).
#[test]
fn golden_flows_match_their_snapshots() {
    for case in golden_cases() {
        let loaded = case.loaded();
        let rendered = mesh_render::render(&loaded);
        let rows = mesh_render::flows::evaluate(loaded.selected(), rendered.manifests.iter().map(|m| &m.object));
        insta::with_settings!({
            snapshot_path => case.snapshot_dir(),
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("mesh-render --config {} {} flows --format json", case.config_display(), case.env_flag()),
        }, {
            insta::assert_snapshot!(format!("{}-flows", case.snapshot_name()), mesh_render::flows::to_json(&rows));
        });
    }
}

/// `cargo insta test --unreferenced reject` without needing cargo-insta: a snapshot whose config or
/// environment is gone fails here.
#[test]
fn no_snapshot_is_unreferenced() {
    let expected: BTreeSet<_> = golden_cases()
        .iter()
        .flat_map(|c| {
            [format!("{}.snap", c.snapshot_name()), format!("{}-flows.snap", c.snapshot_name())].map(|name| c.snapshot_dir().join(name))
        })
        .collect();
    let mut found = BTreeSet::new();
    for dir in
        [repo_root().join("golden")].into_iter().chain(std::fs::read_dir(repo_root().join("golden")).unwrap().flatten().map(|e| e.path()))
    {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "snap" || e == "new") || path.to_string_lossy().ends_with(".snap.new") {
                found.insert(path);
            }
        }
    }
    let unreferenced: Vec<_> = found.difference(&expected).collect();
    assert!(unreferenced.is_empty(), "snapshots without a golden config (delete them): {unreferenced:?}");
}

#[test]
fn there_are_at_least_five_golden_configs_and_an_environment() {
    let cases = golden_cases();
    let configs: BTreeSet<_> = cases.iter().map(|c| c.name.clone()).collect();
    assert!(configs.len() >= 6, "{configs:?}");
    assert!(cases.iter().any(|c| c.env.is_some()), "no golden config exercises --env");
}
