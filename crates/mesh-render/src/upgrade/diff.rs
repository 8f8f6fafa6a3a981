//! The rendered tree before and after an upgrade, file by file, as unified diffs.

use std::collections::BTreeMap;

use serde::Serialize;

/// One rendered file that differs between the two releases, as a unified diff.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileDiff {
    pub path: String,
    /// `changed`, `added` or `removed`.
    pub status: &'static str,
    pub unified: String,
}

/// Unified diffs of every file that differs between two rendered trees.
pub fn tree_diff(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<FileDiff> {
    let mut paths: Vec<&String> = before.keys().chain(after.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut out = Vec::new();
    for path in paths {
        let (old, new) = (before.get(path), after.get(path));
        if old == new {
            continue;
        }
        let status = match (old, new) {
            (None, _) => "added",
            (_, None) => "removed",
            _ => "changed",
        };
        let old_header = if old.is_some() { format!("a/{path}") } else { "/dev/null".to_string() };
        let new_header = if new.is_some() { format!("b/{path}") } else { "/dev/null".to_string() };
        let (old, new) = (old.map_or("", String::as_str), new.map_or("", String::as_str));
        let unified = similar::TextDiff::from_lines(old, new).unified_diff().context_radius(3).header(&old_header, &new_header).to_string();
        out.push(FileDiff { path: path.clone(), status, unified });
    }
    out
}
