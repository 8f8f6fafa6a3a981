//! Why the output is written by serde-saphyr and not by serde_yaml (the crate first asked for):
//! serde_yaml 0.9 leaves YAML 1.1 booleans unquoted, and kubectl reads them as booleans.

use std::collections::BTreeMap;
use std::process::Command;

fn config_map(data_yaml: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n{}",
        data_yaml.lines().map(|l| format!("  {l}\n")).collect::<String>()
    )
}

fn kubectl_accepts(yaml: &str) -> Result<serde_json::Value, String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cm.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = Command::new("kubectl")
        .args(["label", "--local", "-f"])
        .arg(&file)
        .args(["probe=1", "-o", "json"])
        .output()
        .expect("kubectl on PATH");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
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
