//! Why the output is written by serde-saphyr and not by serde_yaml (the crate first asked for):
//! serde_yaml 0.9 leaves YAML 1.1 booleans unquoted, and kubectl reads them as booleans.

mod common;

use std::collections::BTreeMap;

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
fn serde_yaml_output_changes_type_in_kubectl() {
    let emitted = serde_yaml::to_string(&risky()).unwrap();
    assert!(emitted.contains("a: on\n") && emitted.contains("c: y\n"), "serde_yaml now quotes: {emitted}");
    // kubectl reads them as booleans; the API server would then refuse the ConfigMap.
    let read = kubectl_accepts(&config_map(&emitted)).expect("kubectl parses it");
    assert_eq!(read["data"], serde_json::json!({"a": true, "b": true, "c": true, "d": false, "e": false}));
}

#[test]
fn serde_saphyr_output_reads_back_as_strings() {
    let emitted = mesh_render::output::yaml_value(&risky());
    let read = kubectl_accepts(&config_map(&emitted)).expect("kubectl reads it");
    for (k, v) in risky() {
        assert_eq!(read["data"][k], v);
    }
}
