//! Bytes out: YAML that kubectl reads back unchanged, JSON, and the rendered tree.
//!
//! YAML is written by serde-saphyr, not serde_yaml: serde_yaml 0.9 (archived) writes `on`, `yes`,
//! `y` and `n` unquoted, which kubectl's YAML 1.1 parser turns into booleans. serde-saphyr quotes
//! every YAML 1.1 spelling; the kubectl round-trip tests prove it on every rendered file.

use serde::Serialize;

use crate::manifest::{Manifest, FIELD_MANAGER};

fn options() -> serde_saphyr::SerializerOptions {
    let mut opts = serde_saphyr::SerializerOptions::default();
    // Long one-line strings stay on one line; multi-line strings (config-gateway) stay literal blocks.
    opts.folded_wrap_chars = usize::MAX;
    opts.min_fold_chars = usize::MAX;
    opts
}

/// One value as a YAML document body (no `---`), ending in a newline.
pub fn yaml_value<T: Serialize>(value: &T) -> String {
    let mut out = String::new();
    if let Err(e) = serde_saphyr::to_fmt_writer_with_options(&mut out, value, options()) {
        // Every type rendered here is plain data (strings, numbers, maps, lists): unreachable.
        unreachable!("serializing rendered data cannot fail: {e}");
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Comment line put above partial objects in YAML output.
pub fn partial_comment() -> String {
    format!("# Partial object: apply with `kubectl apply --server-side --field-manager={FIELD_MANAGER}`; its installer owns the rest.\n")
}

/// Manifests as one multi-document YAML stream.
pub fn yaml_stream<'a>(manifests: impl IntoIterator<Item = &'a Manifest>) -> String {
    let mut out = String::new();
    for m in manifests {
        out.push_str("---\n");
        if m.object.is_partial() {
            out.push_str(&partial_comment());
        }
        out.push_str(&yaml_value(&m.object));
    }
    out
}

/// Manifests as a JSON `List`, pretty-printed, ending in a newline.
pub fn json_list(manifests: &[Manifest]) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct List<'a> {
        api_version: &'static str,
        kind: &'static str,
        items: Vec<&'a crate::manifest::Object>,
    }
    let list = List { api_version: "v1", kind: "List", items: manifests.iter().map(|m| &m.object).collect() };
    let mut out = serde_json::to_string_pretty(&list).unwrap_or_else(|e| unreachable!("JSON of plain data: {e}"));
    out.push('\n');
    out
}
