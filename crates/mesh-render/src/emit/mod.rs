//! Bytes out: YAML that kubectl reads back unchanged, JSON, and the rendered tree.
//!
//! YAML is written by [`crate::emit::yaml`] in serde-saphyr's layout and quoting, not by serde_yaml:
//! serde_yaml 0.9 (archived) writes `on`, `yes`, `y` and `n` unquoted, which kubectl's YAML 1.1
//! parser turns into booleans. The kubectl round-trip tests prove it on every rendered file.

pub mod diagnostics;
pub mod yaml;

use serde::Serialize;

use crate::render::manifest::{Manifest, FIELD_MANAGER};

/// One value as a YAML document body (no `---`), ending in a newline.
pub fn yaml_value<T: Serialize>(value: &T) -> String {
    let mut out = String::new();
    write_yaml_value(&mut out, value);
    out
}

fn write_yaml_value<T: Serialize>(out: &mut String, value: &T) {
    if let Err(e) = crate::emit::yaml::write(out, value) {
        // Every type rendered here is plain data (strings, numbers, maps, lists): unreachable.
        unreachable!("serializing rendered data cannot fail: {e}");
    }
}

/// Comment line put above partial objects in YAML output.
pub fn partial_comment() -> String {
    format!("# Partial object: apply with `kubectl apply --server-side --field-manager={FIELD_MANAGER}`; its installer owns the rest.\n")
}

/// One manifest as a document of a YAML stream: `---`, the partial-object comment if any, the body.
pub fn yaml_document(manifest: &Manifest) -> String {
    let mut out = String::from("---\n");
    if manifest.object.is_partial() {
        out.push_str(&partial_comment());
    }
    write_yaml_value(&mut out, &manifest.object);
    out
}

/// Manifests as one multi-document YAML stream.
pub fn yaml_stream<'a>(manifests: impl IntoIterator<Item = &'a Manifest>) -> String {
    manifests.into_iter().map(yaml_document).collect()
}

/// Manifests as a JSON `List`, pretty-printed, ending in a newline.
pub fn json_list<'a>(manifests: impl IntoIterator<Item = &'a Manifest>) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct List<'a> {
        api_version: &'static str,
        kind: &'static str,
        items: Vec<&'a crate::render::manifest::Object>,
    }
    let list = List { api_version: "v1", kind: "List", items: manifests.into_iter().map(|m| &m.object).collect() };
    let mut out = serde_json::to_string_pretty(&list).unwrap_or_else(|e| unreachable!("JSON of plain data: {e}"));
    out.push('\n');
    out
}
