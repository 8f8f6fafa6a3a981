//! Every key of the rendered Helm values is one the real Istio chart reads. The charts have no
//! values schema, so Helm would silently ignore a misspelt key: this test is that schema.

mod common;

use std::path::{Path, PathBuf};

use mesh_render::config::syntax::{self, Limits, Node};
use mesh_render::versions::Version;
use serde_json::Value as Json;

/// Subtrees the charts pass through whole (`toYaml`), so any key below them is the chart's to read.
const FREE_FORM: &[&str] = &["env", "meshConfig", "resources", "global.proxy.resources"];

/// The reference charts for `version` (or the release that stands in for it).
fn chart_dir(version: Version) -> PathBuf {
    common::repo_root().join("reference").join(format!("istio-{}", mesh_render::versions::reference_charts(version))).join("charts")
}

fn defaults(chart: &Path) -> Node {
    let text = std::fs::read_to_string(chart.join("values.yaml")).unwrap();
    let node = syntax::parse(&text, Limits::DEFAULT).unwrap();
    node.get("_internal_defaults_do_not_set").cloned().unwrap_or(node)
}

fn templates(chart: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(chart.join("templates")).unwrap().flatten() {
        all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    all
}

fn exists(defaults: &Node, path: &[&str]) -> bool {
    let mut node = defaults;
    for key in path {
        match node.get(key) {
            Some(n) => node = n,
            None => return false,
        }
    }
    true
}

/// Paths of `values` that neither the chart's defaults nor its templates know.
fn unknown_paths(values: &Json, chart: &Path) -> Vec<String> {
    let defaults = defaults(chart);
    let templates = templates(chart);
    let mut leaves = Vec::new();
    collect(values, String::new(), &mut leaves);
    leaves
        .into_iter()
        .filter(|path| !FREE_FORM.iter().any(|f| path == f || path.starts_with(&format!("{f}."))))
        .filter(|path| {
            let parts: Vec<&str> = path.split('.').collect();
            !exists(&defaults, &parts) && !referenced(&templates, path)
        })
        .collect()
}

/// Whether the templates read `.Values.<path>` (the whole key, not a longer one that starts with it).
fn referenced(templates: &str, path: &str) -> bool {
    let needle = format!(".Values.{path}");
    templates
        .match_indices(&needle)
        .any(|(i, _)| templates[i + needle.len()..].chars().next().is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_')))
}

fn collect(value: &Json, prefix: String, out: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                collect(v, path, out);
            }
        }
        _ => out.push(prefix),
    }
}

#[test]
fn every_rendered_values_key_exists_in_the_real_charts() {
    let mut checked = 0;
    for case in common::golden_cases() {
        let loaded = case.loaded();
        let config = loaded.selected();
        let charts = chart_dir(config.release.version);
        let values = serde_json::to_value(mesh_render::render(&loaded).selected_values).unwrap();
        for sub in ["base", "istiod"] {
            let unknown = unknown_paths(&values[sub], &charts.join(sub));
            assert!(unknown.is_empty(), "{}: {sub} values the chart ignores: {unknown:?}", case.snapshot_name());
            checked += 1;
        }
    }
    assert!(checked >= 16, "{checked}");
}

#[test]
fn a_misspelt_key_is_caught() {
    let charts = chart_dir(Version::new(1, 29, 6));
    let values =
        serde_json::json!({"autoscaleEnable": true, "global": {"istioNamespace": "x", "logLevel": "debug"}, "env": {"ANYTHING": "1"}});
    assert_eq!(unknown_paths(&values, &charts.join("istiod")), ["autoscaleEnable", "global.logLevel"]);
}

#[test]
fn validation_failure_policy_is_known_only_where_the_chart_reads_it() {
    let values = serde_json::json!({"base": {"validationFailurePolicy": "Fail"}});
    assert!(unknown_paths(&values, &chart_dir(Version::new(1, 29, 6)).join("base")).is_empty());
    assert_eq!(unknown_paths(&values, &chart_dir(Version::new(1, 29, 0)).join("base")), ["base.validationFailurePolicy"]);
}
