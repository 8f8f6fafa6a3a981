//! Parse + render: any config the checks accept must render, and its output must read back as YAML
//! and JSON, each YAML document to exactly its object (the YAML writer's contract). A panic, a hang,
//! a blow-up, unreadable output or a document that reads back as something else is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesh_render::config::syntax::{self, Limits};

/// Rendered output is far larger than its config.
const OUTPUT: Limits = Limits { max_bytes: 64 * 1024 * 1024, max_depth: 128, max_nodes: 5_000_000 };

fn render(text: &str, env: Option<&str>) {
    let Ok(loaded) = mesh_render::load(text, env, Limits::DEFAULT) else { return };
    let rendered = mesh_render::render(&loaded);
    let stream = rendered.stream_yaml();
    let docs = syntax::parse_documents(&stream, OUTPUT).unwrap_or_else(|e| panic!("the stream does not read back: {e:?}\n{stream}"));
    assert_eq!(docs.len(), rendered.manifests.len(), "one document per object");
    for (doc, m) in docs.iter().zip(&rendered.manifests) {
        let expected = by_value(serde_json::to_value(&m.object).expect("JSON of an object"));
        assert_eq!(by_value(doc.to_json()), expected, "a document reads back as another object:\n{stream}");
    }
    let list: serde_json::Value = serde_json::from_str(&rendered.json_list()).expect("the JSON list reads back");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(rendered.manifests.len()));
    for (path, body) in rendered.tree() {
        syntax::parse_documents(&body, OUTPUT).unwrap_or_else(|e| panic!("{path} does not read back: {e:?}\n{body}"));
    }
}

/// Every number as an f64, so that `10` and `10.0` compare equal.
fn by_value(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) => n.as_f64().map_or(Value::Number(n), Value::from),
        Value::Array(a) => Value::Array(a.into_iter().map(by_value).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, by_value(v))).collect()),
        other => other,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    render(text, None);
    if let Ok(loaded) = mesh_render::load(text, None, Limits::DEFAULT) {
        for name in loaded.environments.keys() {
            render(text, Some(name));
        }
    }
});
