//! Config parsing: any bytes through the YAML reader and the config checks. Either a config or a
//! list of diagnostics comes back; a panic, a hang or a blow-up is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesh_render::config::syntax::{self, Limits};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(docs) = syntax::parse_documents(text, Limits::DEFAULT) {
        for d in &docs {
            let _ = d.to_json();
        }
    }
    match syntax::parse(text, Limits::DEFAULT) {
        Ok(_) => {}
        Err(diagnostics) => assert!(!diagnostics.is_empty(), "a refusal without a reason"),
    }
    match mesh_render::config::load(text, None, Limits::DEFAULT) {
        Ok(loaded) => {
            // Every declared environment loads on its own.
            for name in loaded.environments.keys() {
                if let Err(e) = mesh_render::config::load(text, Some(name), Limits::DEFAULT) {
                    panic!("environment `{name}` of a valid config was refused: {:?}", e.diagnostics);
                }
            }
        }
        Err(e) => assert!(!e.diagnostics.is_empty(), "a refusal without a reason"),
    }
});
