//! kubectl's own YAML parser (YAML 1.1) reads every rendered file back to exactly the objects
//! mesh-render meant: no string turns into a boolean, number, date or null on the way in.

mod common;

use serde_json::Value;

/// Runs `kubectl label --local -f FILE probe=1 -o json` (offline) and returns the objects it read,
/// with the probe label taken off again.
fn kubectl_read(yaml: &str) -> Vec<Value> {
    let mut items = common::kubectl_read_raw(yaml).unwrap_or_else(|e| panic!("kubectl failed: {e}"));
    for item in &mut items {
        let labels = item["metadata"]["labels"].as_object_mut().unwrap();
        assert_eq!(labels.remove("probe"), Some(Value::String("1".into())));
        if labels.is_empty() {
            item["metadata"].as_object_mut().unwrap().remove("labels");
        }
    }
    items.into_iter().map(normalize).collect()
}

/// JSON numbers compared by value: kubectl writes `10.0` back as `10`, which is the same number.
fn normalize(v: Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.into_iter().map(normalize).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, normalize(v))).collect()),
        other => other,
    }
}

/// Compares object by object, so that a failure names the object instead of dumping all of them.
fn assert_same(read: &[Value], expected: &[Value], what: &str) {
    assert_eq!(read.len(), expected.len(), "{what}: object count");
    for (r, e) in read.iter().zip(expected) {
        assert_eq!(r, e, "{what}: {} {}", e["kind"], e["metadata"]["name"]);
    }
}

#[test]
#[ignore = "needs kubectl on PATH: run by `make test` (`make tools` checks for it)"]
fn every_rendered_file_and_stream_reads_back_unchanged() {
    let mut files_checked = 0;
    let mut objects_checked = 0;
    for case in common::golden_cases() {
        let rendered = case.rendered();
        let expected: Vec<Value> = rendered.manifests.iter().map(|m| normalize(serde_json::to_value(&m.object).unwrap())).collect();

        assert_same(&kubectl_read(&rendered.stream_yaml()), &expected, &format!("{}: stream", case.snapshot_name()));
        let from_json = normalize(serde_json::from_str(&rendered.json_list()).unwrap());
        assert_same(from_json["items"].as_array().unwrap(), &expected, &format!("{}: -o json", case.snapshot_name()));

        let mut from_files = Vec::new();
        for (path, contents) in rendered.tree().iter().filter(|(p, _)| p.starts_with("manifests/")) {
            let read = kubectl_read(contents);
            assert!(!read.is_empty(), "{path} is empty");
            from_files.extend(read);
            files_checked += 1;
        }
        assert_same(&from_files, &expected, &format!("{}: tree", case.snapshot_name()));
        objects_checked += expected.len();
    }
    assert!(files_checked >= 30 && objects_checked >= 100, "{files_checked} files, {objects_checked} objects");
}

/// A multi-cluster mesh's ApplicationSet (`fleet/applicationset.yaml`), whose Go templates
/// (`{{.cluster}}`) must stay strings, and each cluster's Applications (`argocd/applications.yaml`).
#[test]
#[ignore = "needs kubectl on PATH: run by `make test` (`make tools` checks for it)"]
fn every_fleet_file_reads_back_unchanged() {
    let mut checked = 0;
    for case in common::fleet_cases() {
        let fleet = mesh_render::render_fleet(&case.loaded()).expect("a multi-cluster mesh");
        let tree = fleet.tree();
        for (objects, path) in std::iter::once((&fleet.application_set, mesh_render::FLEET_APPLICATION_SET.to_string()))
            .chain(
                fleet
                    .clusters
                    .iter()
                    .map(|(name, r)| (&r.applications, format!("{}/{name}/argocd/applications.yaml", mesh_render::FLEET_CLUSTERS))),
            )
            .filter(|(objects, _)| !objects.is_empty())
        {
            let expected: Vec<Value> = objects.iter().map(|m| normalize(serde_json::to_value(&m.object).unwrap())).collect();
            assert_same(&kubectl_read(&tree[&path]), &expected, &format!("{}: {path}", case.snapshot_name()));
            checked += expected.len();
        }
    }
    assert!(checked > 0, "no golden fleet renders Argo CD objects");
}

#[test]
#[ignore = "needs kubectl on PATH: run by `make test` (`make tools` checks for it)"]
fn risky_strings_survive_in_every_free_form_field() {
    let case = common::golden_cases().into_iter().find(|c| c.name == "yaml11-strings").unwrap();
    let objects = kubectl_read(&case.rendered().stream_yaml());
    let names: Vec<&str> = objects.iter().filter(|o| o["kind"] == "Namespace").map(|o| o["metadata"]["name"].as_str().unwrap()).collect();
    for risky in ["on", "yes", "n", "y", "off", "no", "true", "null", "0x1f"] {
        assert!(names.contains(&risky), "namespace {risky} lost: {names:?}");
    }
    let gateway = objects.iter().find(|o| o["kind"] == "Gateway").unwrap();
    assert_eq!(gateway["metadata"]["labels"]["example.com/on"], "on");
    assert_eq!(gateway["metadata"]["labels"]["example.com/hex"], "0X1F");
    assert_eq!(gateway["metadata"]["labels"]["example.com/underscore"], "1_000");
    assert_eq!(gateway["metadata"]["labels"]["example.com/date"], "2024-01-01");
    assert_eq!(gateway["metadata"]["annotations"]["example.com/tilde"], "~");
    assert_eq!(gateway["metadata"]["annotations"]["example.com/multiline"], "first line\nsecond: line");
    let policy = objects.iter().find(|o| o["kind"] == "AuthorizationPolicy" && o["metadata"]["namespace"] == "on").unwrap();
    assert_eq!(policy["spec"]["rules"][0]["from"][0]["source"]["namespaces"][0], "on");
    // The last rule is the scraper's (after the namespace's own and Knative's callers).
    let rules = policy["spec"]["rules"].as_array().unwrap();
    assert_eq!(rules[rules.len() - 1]["to"][0]["operation"]["ports"][0], "9091");
}
