//! The YAML writer. Why not serde_yaml (the crate first asked for): serde_yaml 0.9 leaves YAML 1.1
//! booleans unquoted, and kubectl reads them as booleans. Why mesh-render's own writer and not
//! serde-saphyr directly: the same bytes (proven here on every golden render, on the upstream CRDs and
//! on generated strings) in a quarter of the time (`make bench`, CONTRIBUTING.md "Performance").

mod common;

use std::collections::BTreeMap;

use mesh_render::config::syntax::{self, Limits};
use proptest::prelude::*;
use serde::Serialize;

fn saphyr<T: Serialize>(value: &T) -> String {
    let mut opts = serde_saphyr::SerializerOptions::default();
    opts.folded_wrap_chars = usize::MAX;
    opts.min_fold_chars = usize::MAX;
    let mut out = String::new();
    serde_saphyr::to_fmt_writer_with_options(&mut out, value, opts).unwrap();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn ours<T: Serialize>(value: &T) -> String {
    mesh_render::emit::yaml_value(value)
}

/// Every object, chart and values file of every golden render: byte-identical to serde-saphyr.
#[test]
fn golden_renders_are_written_exactly_as_serde_saphyr_writes_them() {
    let mut compared = 0;
    for case in common::golden_cases() {
        let r = case.rendered();
        for m in r.manifests.iter().chain(&r.applications).chain(&r.knative_restore) {
            assert_eq!(ours(&m.object), saphyr(&m.object), "{}: {} {:?}", case.snapshot_name(), m.object.kind(), m.object.metadata().name);
            compared += 1;
        }
        assert_eq!(ours(&r.chart), saphyr(&r.chart));
        assert_eq!(ours(&r.values), saphyr(&r.values), "{}: values", case.snapshot_name());
        assert_eq!(ours(r.selected_values.istiod()), saphyr(r.selected_values.istiod()));
        for overlay in r.environment_values.values().flatten() {
            assert_eq!(ours(overlay), saphyr(overlay), "{}: overlay", case.snapshot_name());
        }
    }
    assert!(compared > 250, "only {compared} objects compared");
}

/// The upstream CRDs and chart defaults: long descriptions, multi-line strings, CEL rules with
/// quotes, colons and `#`, numbers and booleans; byte-identical to serde-saphyr.
#[test]
fn upstream_documents_are_written_exactly_as_serde_saphyr_writes_them() {
    let reference = common::repo_root().join("reference");
    let files = [
        "istio-1.29.6/charts/base/files/crd-all.gen.yaml",
        "istio-1.29.6/charts/istiod/values.yaml",
        "gateway-api-v1.4.0/standard/gateway.networking.k8s.io_gateways.yaml",
        "gateway-api-v1.4.0/standard/gateway.networking.k8s.io_httproutes.yaml",
        "argo-cd-v3.5.1/crds/applicationset-crd.yaml",
        "argo-cd-v3.5.1/crds/application-crd.yaml",
    ];
    let mut documents = 0;
    for file in files {
        let path = reference.join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let limits = Limits { max_bytes: 64 << 20, max_nodes: 10_000_000, ..Limits::DEFAULT };
        for doc in syntax::parse_documents(&text, limits).unwrap_or_else(|e| panic!("{file}: {e:?}")) {
            let json = doc.to_json();
            assert_eq!(ours(&json), saphyr(&json), "{file}: {}", json["metadata"]["name"]);
            documents += 1;
        }
    }
    assert!(documents > 15, "only {documents} documents compared");
}

/// Shapes the golden renders do not have: lists of lists, empty collections in lists, numbers of
/// every kind, nulls; byte-identical to serde-saphyr and read back to the same value.
#[test]
fn unusual_shapes_are_written_exactly_as_serde_saphyr_writes_them() {
    let value = serde_json::json!({
        "nested": [[1, [2, 3]], [], [{}], [{"a": [[]]}], [[{"b": null, "c": [true, false]}]]],
        "numbers": [0, -1, 1.5, -2.25, 1e300, 9007199254740993u64, -9223372036854775808i64],
        "empty": {"m": {}, "l": [], "s": ""},
        "deep": {"a": {"b": {"c": [{"d": {"e": ["x\ny", "z"]}}]}}},
    });
    let written = ours(&value);
    assert_eq!(written, saphyr(&value));
    let docs = syntax::parse_documents(&written, Limits::DEFAULT).expect("our output parses");
    assert_eq!(docs[0].to_json(), value);
}

/// Strings a generator could think of: indicators, keywords, numbers, spaces, newlines, unicode.
fn tricky_string() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a",
        "Z",
        "istio-system",
        "/",
        ".",
        "-",
        "_",
        ";",
        ",",
        " ",
        "  ",
        ":",
        ": ",
        "#",
        " #",
        "'",
        "\"",
        "\n",
        "\t",
        "\r",
        "\\",
        "yes",
        "No",
        "ON",
        "off",
        "y",
        "n",
        "true",
        "null",
        "~",
        "NaN",
        ".inf",
        "inf",
        "0",
        "8022",
        "0x1F",
        "1e3",
        "12:30",
        "2026-11-27",
        "- ",
        "? ",
        "---",
        "...",
        "{",
        "}",
        "[",
        "]",
        "&",
        "*",
        "!",
        "|",
        ">",
        "%",
        "@",
        "`",
        "<<",
        "=",
        "é",
        "\u{2028}",
        "\u{feff}",
    ]);
    prop::collection::vec(pieces, 0..6).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Values are written as serde-saphyr writes them, and read back to the same string.
    #[test]
    fn any_string_value_matches_serde_saphyr_and_reads_back(s in tricky_string()) {
        let value = serde_json::json!({"k": s, "list": [s, {"k": s}]});
        let written = ours(&value);
        prop_assert_eq!(&written, &saphyr(&value));
        let docs = syntax::parse_documents(&written, Limits::DEFAULT).expect("our output parses");
        prop_assert_eq!(docs[0].to_json(), value);
    }

    /// Keys are written as serde-saphyr writes them, and read back to the same string.
    #[test]
    fn any_string_key_matches_serde_saphyr_and_reads_back(s in tricky_string()) {
        let value = serde_json::json!({"outer": {s.clone(): "v"}, s.clone(): [{s: 1}]});
        let written = ours(&value);
        prop_assert_eq!(&written, &saphyr(&value));
        let docs = syntax::parse_documents(&written, Limits::DEFAULT).expect("our output parses");
        prop_assert_eq!(docs[0].to_json(), value);
    }
}

/// Keys that YAML 1.1 reads as booleans stay strings through kubectl.
#[test]
#[ignore = "needs kubectl on PATH: run by `make test` (`make tools` checks for it)"]
fn yaml_1_1_keyword_keys_stay_strings_in_kubectl() {
    let data = BTreeMap::from([("on", "x"), ("yes", "y"), ("n", "8022")]);
    let read = kubectl_accepts(&config_map(&ours(&data))).expect("kubectl reads it");
    assert_eq!(read["data"], serde_json::json!({"on": "x", "yes": "y", "n": "8022"}));
}
fn config_map(data_yaml: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n{}",
        data_yaml.lines().map(|l| format!("  {l}\n")).collect::<String>()
    )
}

fn kubectl_accepts(yaml: &str) -> Result<serde_json::Value, String> {
    common::kubectl_read_raw(yaml).map(|mut docs| docs.remove(0))
}

fn risky() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([("a", "on"), ("b", "yes"), ("c", "y"), ("d", "n"), ("e", "off")])
}

#[test]
#[ignore = "needs kubectl on PATH: run by `make test` (`make tools` checks for it)"]
fn serde_yaml_output_changes_type_in_kubectl() {
    let emitted = serde_yaml::to_string(&risky()).unwrap();
    assert!(emitted.contains("a: on\n") && emitted.contains("c: y\n"), "serde_yaml now quotes: {emitted}");
    // kubectl reads them as booleans; the API server would then refuse the ConfigMap.
    let read = kubectl_accepts(&config_map(&emitted)).expect("kubectl parses it");
    assert_eq!(read["data"], serde_json::json!({"a": true, "b": true, "c": true, "d": false, "e": false}));
}

#[test]
#[ignore = "needs kubectl on PATH: run by `make test` (`make tools` checks for it)"]
fn serde_saphyr_output_reads_back_as_strings() {
    let emitted = mesh_render::emit::yaml_value(&risky());
    let read = kubectl_accepts(&config_map(&emitted)).expect("kubectl reads it");
    for (k, v) in risky() {
        assert_eq!(read["data"][k], v);
    }
}
