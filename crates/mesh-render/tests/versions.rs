//! The version table against the vendored pins file (`reference/istio-upstream-pins.tsv`, from each
//! Istio tag's go.mod): every row that claims go.mod as its source agrees with it, and every tag the
//! file holds has such a row.

mod common;

use std::collections::BTreeMap;

use mesh_render::versions::{PinSource, RELEASES};

fn pins() -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(common::repo_root().join("reference/istio-upstream-pins.tsv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("istio_tag\ttag_commit_date\tgateway_api\tgateway_api_inference_extension"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), (f[2].to_string(), f[3].to_string()))
        })
        .collect()
}

#[test]
fn rows_read_from_go_mod_agree_with_the_pins_file() {
    let pins = pins();
    let mut checked = 0;
    for r in RELEASES.iter().filter(|r| r.pins == PinSource::GoMod) {
        let (gateway_api, inference) = pins.get(&r.version.to_string()).unwrap_or_else(|| panic!("{}: not in the pins file", r.version));
        assert_eq!((r.gateway_api, r.inference_extension_pin), (gateway_api.as_str(), inference.as_str()), "Istio {}", r.version);
        checked += 1;
    }
    assert_eq!(checked, 11, "1.29.0-1.29.6 and 1.30.0-1.30.3 are read from go.mod");
}

#[test]
fn every_released_tag_in_the_pins_file_is_a_go_mod_row() {
    for tag in pins().keys().filter(|t| !t.contains('-')) {
        let row = RELEASES.iter().find(|r| r.version.to_string() == *tag).unwrap_or_else(|| panic!("{tag}: no row in the version table"));
        assert_eq!(row.pins, PinSource::GoMod, "{tag} is in the pins file, so its row must say so");
    }
}

#[test]
fn unread_rows_are_tags_the_pins_file_does_not_have_and_carry_their_lines_pins() {
    let pins = pins();
    for r in RELEASES.iter().filter(|r| r.pins == PinSource::Unread) {
        assert!(!pins.contains_key(&r.version.to_string()), "{} is in the pins file: read it", r.version);
        // The newest tag of the same line in the file (for 1.31 its release candidate).
        let line = format!("{}.", r.version.minor_line());
        let newest = pins.iter().filter(|(t, _)| t.starts_with(&line)).map(|(_, p)| p).next_back().unwrap();
        assert_eq!((r.gateway_api, r.inference_extension_pin), (newest.0.as_str(), newest.1.as_str()), "Istio {}", r.version);
    }
}
