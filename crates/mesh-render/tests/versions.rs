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

/// Issue 20, version facts: a release is announced on or after its tag's commit, so a row's date
/// (the announcement's `publishdate`) is never before the pins file's `tag_commit_date`. The table's
/// old 1.30.0 date (2026-05-14, the generated draft's) was before its tag (2026-05-15).
#[test]
fn announcements_are_not_older_than_their_tags() {
    let text = std::fs::read_to_string(common::repo_root().join("reference/istio-upstream-pins.tsv")).unwrap();
    let tag_dates: BTreeMap<&str, &str> =
        text.lines().skip(1).map(|l| (l.split('\t').next().unwrap(), l.split('\t').nth(1).unwrap())).collect();
    let mut checked = 0;
    for r in RELEASES.iter().filter(|r| r.pins == PinSource::GoMod) {
        let version = r.version.to_string();
        let (date, tagged) = (r.date.unwrap(), tag_dates[version.as_str()]);
        assert!(date >= tagged, "Istio {version}: announced {date}, tagged {tagged}");
        checked += 1;
    }
    assert_eq!(checked, 11);
}

/// Issue 20, version facts: the table has no 1.29.9 (istio.io `content/en/news/releases/1.29.x/`
/// ends at 1.29.8) and neither has the pins file.
#[test]
fn there_is_no_1_29_9_in_the_table_or_the_pins_file() {
    assert!(!pins().contains_key("1.29.9"));
    assert!(RELEASES.iter().all(|r| r.version.to_string() != "1.29.9"));
    let last_1_29 = RELEASES.iter().rfind(|r| r.version.minor == 29).unwrap();
    assert_eq!(last_1_29.version.to_string(), "1.29.8");
}
