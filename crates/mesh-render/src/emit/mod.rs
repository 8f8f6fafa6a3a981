//! Bytes out: YAML that kubectl reads back unchanged, JSON, and the rendered tree.
//!
//! YAML is written by [`crate::emit::yaml`] in serde-saphyr's layout and quoting, not by serde_yaml:
//! serde_yaml 0.9 (archived) writes `on`, `yes`, `y` and `n` unquoted, which kubectl's YAML 1.1
//! parser turns into booleans. The kubectl round-trip tests prove it on every rendered file.

pub mod diagnostics;
pub mod yaml;

/// The narrower integers of a `serde::Serializer`, written as its 64-bit ones (`serialize_i64`,
/// `serialize_u64`): for the serializers that spell every integer alike.
macro_rules! widen_integers {
    () => {
        fn serialize_i8(self, v: i8) -> Result<Self::Ok, Self::Error> {
            self.serialize_i64(v.into())
        }
        fn serialize_i16(self, v: i16) -> Result<Self::Ok, Self::Error> {
            self.serialize_i64(v.into())
        }
        fn serialize_i32(self, v: i32) -> Result<Self::Ok, Self::Error> {
            self.serialize_i64(v.into())
        }
        fn serialize_u8(self, v: u8) -> Result<Self::Ok, Self::Error> {
            self.serialize_u64(v.into())
        }
        fn serialize_u16(self, v: u16) -> Result<Self::Ok, Self::Error> {
            self.serialize_u64(v.into())
        }
        fn serialize_u32(self, v: u32) -> Result<Self::Ok, Self::Error> {
            self.serialize_u64(v.into())
        }
    };
}
pub(crate) use widen_integers;

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

/// The text of [`partial_comment`] before and after the field manager.
const PARTIAL_COMMENT: [&str; 2] =
    ["# Partial object: apply with `kubectl apply --server-side --field-manager=", "`; its installer owns the rest.\n"];

/// Comment line put above partial objects in YAML output.
pub fn partial_comment() -> String {
    PARTIAL_COMMENT.join(FIELD_MANAGER)
}

/// One manifest as a document of a YAML stream: `---`, the partial-object comment if any, the body.
pub fn yaml_document(manifest: &Manifest) -> String {
    let mut out = String::new();
    write_yaml_document(&mut out, manifest);
    out
}

/// Appends [`yaml_document`] of `manifest` to `out`: a long stream is written through one buffer.
pub fn write_yaml_document(out: &mut String, manifest: &Manifest) {
    out.push_str("---\n");
    if manifest.object.is_partial() {
        out.push_str(PARTIAL_COMMENT[0]);
        out.push_str(FIELD_MANAGER);
        out.push_str(PARTIAL_COMMENT[1]);
    }
    write_yaml_value(out, &manifest.object);
}

/// Manifests as one multi-document YAML stream.
pub fn yaml_stream<'a>(manifests: impl IntoIterator<Item = &'a Manifest>) -> String {
    let mut out = String::new();
    for m in manifests {
        write_yaml_document(&mut out, m);
    }
    out
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
