//! The upgrade table (`mesh_render::upgrade::NOTES`) against the upstream upgrade notes, the
//! applicability of each kind of note, and a smoke run of every upgrade the version table allows.

mod common;

use std::collections::BTreeMap;

use common::repo_root;
use mesh_render::config::syntax::Limits;
use mesh_render::upgrade::{self, Applicability, Origin, NOTES};
use mesh_render::versions::{self, Version};

fn load(text: &str) -> mesh_render::Loaded {
    mesh_render::load(text, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{:#?}", e.diagnostics))
}

fn playground() -> mesh_render::Loaded {
    load(&std::fs::read_to_string(repo_root().join("config.yaml")).unwrap())
}

/// A minimal config with extra lines under `components.istio`.
fn config_with(extra: &str) -> mesh_render::Config {
    let text = format!("components:\n  knative: {{enabled: true}}\n  istio:\n    enabled: true\n{extra}");
    load(&text).base
}

fn note(id: &str) -> &'static upgrade::Note {
    NOTES.iter().find(|n| n.id == id).unwrap_or_else(|| panic!("no note {id}"))
}

/// Every upstream release-note file with `upgradeNotes` has exactly one entry per note, with the
/// same title, the file as its source, and the release line of its folder.
#[test]
fn every_upstream_note_has_exactly_one_entry() {
    let dir = repo_root().join("reference/istio-upgrade-notes");
    let mut upstream = Vec::new();
    for line in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten().filter(|e| e.path().is_dir()) {
        let line_name = line.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(line.path()).unwrap().flatten() {
            let text = std::fs::read_to_string(file.path()).unwrap();
            let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
            let source = format!("{line_name}/{}", file.file_name().to_string_lossy());
            for n in doc["upgradeNotes"].as_sequence().unwrap_or_else(|| panic!("{source}: no upgradeNotes")) {
                upstream.push((source.clone(), n["title"].as_str().unwrap().trim().to_string(), line_name.clone()));
            }
        }
    }
    upstream.sort();
    assert_eq!(upstream.len(), 15, "the reference folder holds fifteen upstream notes: {upstream:#?}");
    for (source, title, line) in &upstream {
        let entries: Vec<_> = NOTES.iter().filter(|n| n.title == title).collect();
        assert_eq!(entries.len(), 1, "`{title}` ({source}) must have exactly one entry in NOTES");
        let entry = entries[0];
        assert_eq!(entry.origin, Origin::Upstream { file: leak(source) }, "{title}");
        assert_eq!(entry.release.minor_line(), *line, "{title}: release line");
    }
    // And no upstream entry without a file behind it.
    let upstream_entries = NOTES.iter().filter(|n| matches!(n.origin, Origin::Upstream { .. })).count();
    assert_eq!(upstream_entries, upstream.len());
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

#[test]
fn ambient_and_cni_notes_never_apply() {
    let config = config_with("    controlPlane:\n      env: {AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY: \"true\"}\n");
    let ambient: Vec<_> = NOTES.iter().filter(|n| n.ambient_or_cni_only).collect();
    assert_eq!(ambient.len(), 5, "dry-run policies, iptables reconciliation, CNI permissions, CNI excludeNamespaces, WDS reconnect size");
    for n in ambient {
        assert!(matches!(upgrade::applies(n, &config), Applicability::NotApplicable(_)), "{}", n.id);
    }
}

#[test]
fn stats_compression_applies_when_the_annotation_is_set() {
    let with = config_with("    metadata:\n      annotations: {sidecar.istio.io/statsCompression: \"false\"}\n");
    let without = config_with("    metadata:\n      annotations: {team: mesh}\n");
    let n = note("stats-compression");
    assert_eq!(
        upgrade::applies(n, &with),
        Applicability::Applies(
            "`metadata.annotations` sets `sidecar.istio.io/statsCompression: \"false\"`, an annotation Istio no longer reads".into()
        )
    );
    assert!(matches!(upgrade::applies(n, &without), Applicability::NotApplicable(_)));
}

#[test]
fn env_switches_decide_their_notes() {
    let plain = config_with("");
    let pinned = config_with(
        "    controlPlane:\n      env:\n        DISABLE_TRACK_REMAINING_CB_METRICS: \"false\"\n        ENABLE_DEBUG_ENDPOINT_AUTH: \"false\"\n        PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE: \"false\"\n",
    );
    let level = |id: &str, c: &mesh_render::Config| upgrade::applies(note(id), c).label();
    // Debug endpoints: always "check" in a sidecar mesh, unless the switch is set.
    assert_eq!(level("debug-endpoint-auth", &plain), "check");
    assert_eq!(level("xds-debug-auth", &plain), "check");
    assert_eq!(level("circuit-breaker-remaining-metrics", &plain), "applies");
    assert_eq!(level("sidecar-service-namespace", &plain), "check");
    for id in ["debug-endpoint-auth", "xds-debug-auth", "circuit-breaker-remaining-metrics", "sidecar-service-namespace"] {
        assert_eq!(level(id, &pinned), "not applicable", "{id}");
    }
    assert!(upgrade::applies(note("circuit-breaker-remaining-metrics"), &pinned).why().contains("already set to \"false\""));
}

#[test]
fn validation_failure_policy_note_follows_the_config() {
    assert_eq!(upgrade::applies(note("validation-failure-policy"), &config_with("")).label(), "applies");
    let ignore = config_with("    controlPlane: {validationFailurePolicy: Ignore}\n");
    assert_eq!(upgrade::applies(note("validation-failure-policy"), &ignore).label(), "not applicable");
}

/// The target render is the config with only the release replaced: what the version table decides
/// follows it, and nothing else changes.
#[test]
fn retargeting_changes_only_what_the_release_decides() {
    let old = load("components:\n  istio:\n    enabled: true\n    version: \"1.29.0\"\n");
    let at = |v| versions::release(v).unwrap();
    let new = upgrade::loaded_with_release(&old, at(Version::new(1, 29, 2)));
    assert_eq!(old.base.control_plane.validation_failure_policy, None);
    assert_eq!(new.base.control_plane.validation_failure_policy, Some("Fail"));
    let mut back = new.base.clone();
    back.release = old.base.release;
    back.control_plane.validation_failure_policy = None;
    assert_eq!(back, old.base);

    let ignore =
        load("components:\n  istio:\n    enabled: true\n    version: \"1.29.2\"\n    controlPlane: {validationFailurePolicy: Ignore}\n");
    let moved = upgrade::loaded_with_release(&ignore, at(Version::new(1, 30, 0)));
    assert_eq!(moved.base.control_plane.validation_failure_policy, None, "an explicit Ignore stays");
}

/// `mesh-render upgrade --to` works for each pair of the version table: a report for every newer
/// target, an error for every other one.
#[test]
fn every_pair_in_the_version_table_upgrades() {
    let playground = playground();
    let mut reports = 0;
    for from in versions::RELEASES {
        let loaded = upgrade::loaded_with_release(&playground, from);
        for to in versions::RELEASES {
            let result = upgrade::report(&loaded, &to.version.to_string());
            if to.version <= from.version {
                assert!(result.is_err(), "{} → {} must be refused", from.version, to.version);
                continue;
            }
            let report = result.unwrap_or_else(|e| panic!("{} → {}: {e}", from.version, to.version));
            reports += 1;
            let ids = |notes: Vec<&upgrade::Note>| notes.iter().map(|n| n.id).collect::<Vec<_>>();
            assert_eq!(ids(report.notes.iter().map(|n| n.note).collect()), ids(upgrade::notes_between(from.version, to.version)));
            let text = report.text();
            assert!(text.starts_with(&format!("Upgrade Istio {} → {}\n", from.version, to.version)), "{text}");
            // The chart always moves to the new version, and nothing else but release-driven files.
            let changed: BTreeMap<_, _> = report.diff.iter().map(|d| (d.path.as_str(), d.status)).collect();
            assert_eq!(changed.get("helm/Chart.yaml"), Some(&"changed"), "{} → {}", from.version, to.version);
            let chart = &report.diff.iter().find(|d| d.path == "helm/Chart.yaml").unwrap().unified;
            assert!(chart.contains(&format!("+version: \"{}\"", to.version)), "{chart}");
            for path in changed.keys() {
                assert!(
                    path.starts_with("helm/") || path.starts_with("lifecycle/") || path.starts_with("argocd/"),
                    "{} → {}: only chart values may change, not {path}",
                    from.version,
                    to.version
                );
            }
            let vfp_changes = !from.validation_failure_policy && to.validation_failure_policy;
            assert_eq!(changed.contains_key("helm/values.yaml"), vfp_changes, "{} → {}", from.version, to.version);
            serde_json::from_str::<serde_json::Value>(&report.json()).unwrap();
        }
    }
    let n = versions::RELEASES.len();
    assert_eq!(reports, n * (n - 1) / 2);
}
