//! Parse + render: any config the checks accept must render, and its output must read back as YAML
//! and JSON. A panic, a hang, a blow-up or unreadable output is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesh_render::syntax::{self, Limits};

/// Rendered output is far larger than its config.
const OUTPUT: Limits = Limits { max_bytes: 64 * 1024 * 1024, max_depth: 128, max_nodes: 5_000_000 };

fn render(text: &str, env: Option<&str>) {
    let Ok(loaded) = mesh_render::load(text, env, Limits::DEFAULT) else { return };
    let rendered = mesh_render::render(&loaded);
    let stream = rendered.stream_yaml();
    let docs = syntax::parse_documents(&stream, OUTPUT).unwrap_or_else(|e| panic!("the stream does not read back: {e:?}\n{stream}"));
    assert_eq!(docs.len(), rendered.manifests.len(), "one document per object");
    let list: serde_json::Value = serde_json::from_str(&rendered.json_list()).expect("the JSON list reads back");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(rendered.manifests.len()));
    for (path, body) in rendered.tree() {
        syntax::parse_documents(&body, OUTPUT).unwrap_or_else(|e| panic!("{path} does not read back: {e:?}\n{body}"));
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
