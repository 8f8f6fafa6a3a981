//! The Istio releases mesh-render supports and what each one offers.
//!
//! One table, read by the config checks, the renderers and the docs. Each fact names its source in
//! [`RELEASES`]; rows whose pins were not read say so ([`PinSource::Unread`]), and a test ties every
//! other row to `reference/istio-upstream-pins.tsv`.

use std::fmt;

/// An Istio release number, `MAJOR.MINOR.PATCH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Version { major, minor, patch }
    }

    /// Parses `1.29.6`; a leading `v` is not accepted because chart versions have none.
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.split('.');
        let mut next = || -> Option<u32> {
            let p = parts.next()?;
            if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) || (p.len() > 1 && p.starts_with('0')) {
                return None;
            }
            p.parse().ok()
        };
        let v = Version { major: next()?, minor: next()?, patch: next()? };
        parts.next().is_none().then_some(v)
    }

    /// `1.29`, the release line.
    pub fn minor_line(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Where a row's Gateway API and Inference Extension pins come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinSource {
    /// The tag's `go.mod` (`git show TAG:go.mod`), recorded in `reference/istio-upstream-pins.tsv`;
    /// a test ties each such row to that file.
    GoMod,
    /// Not read: the tag is newer than the snapshot the pins file was made from. The row carries the
    /// pins of the newest read patch of the same line (patch releases of a line have kept their
    /// pins so far, but nobody checked this one).
    Unread,
}

/// What one Istio release offers that mesh-render depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release {
    pub version: Version,
    /// Release date (`publishdate` of the istio.io release announcement); `None`: not read.
    pub date: Option<&'static str>,
    /// Gateway API release the control plane is built against (`sigs.k8s.io/gateway-api` in go.mod).
    pub gateway_api: &'static str,
    /// `sigs.k8s.io/gateway-api-inference-extension` in go.mod (a pseudo-version before 1.30).
    pub inference_extension_pin: &'static str,
    pub pins: PinSource,
    /// Oldest and newest Kubernetes minor versions the release supports.
    pub kubernetes: ((u32, u32), (u32, u32)),
    /// Charts accept `base.validationFailurePolicy` (no webhook flip-flop under GitOps).
    pub validation_failure_policy: bool,
    /// Inference Extension support (`ENABLE_GATEWAY_API_INFERENCE_EXTENSION`) exists.
    pub inference_extension: bool,
    /// The release line is past its end of life.
    pub end_of_life: bool,
    /// A known defect of this release that a newer patch fixes: (what goes wrong, the fix release).
    pub known_issue: Option<(&'static str, Version)>,
    /// Reference charts for this exact release are vendored in `reference/` (tests use them).
    pub reference_charts: bool,
    /// The public key that verifies this release's image signatures ([`SIGNING_KEY_V1`] or
    /// [`SIGNING_KEY_V2`]).
    pub signing_key: &'static str,
}

/// The key Istio's images are signed with up to 1.31.0 (istio.io `blog/2026/retirement-of-gcp`,
/// "Signing Keys": "1.18.x - 1.30.x" and "1.31.0").
pub const SIGNING_KEY_V1: &str = "https://istio.io/misc/istio-key.pub";
/// The key after Istio's move off Google Cloud: "1.31.1+" (the same table).
pub const SIGNING_KEY_V2: &str = "https://istio.io/misc/istio-key-v2.pub";

/// Kubernetes ranges per line (istio.io `data/compatibility/supportStatus.yml`, see the rows below).
const K8S_1_29: ((u32, u32), (u32, u32)) = ((1, 31), (1, 35));
const K8S_1_30: ((u32, u32), (u32, u32)) = ((1, 32), (1, 36));
const K8S_1_31: ((u32, u32), (u32, u32)) = ((1, 32), (1, 36));

/// Gateway API and Inference Extension pins of each line's `go.mod` (reference/istio-upstream-pins.tsv).
const GIE_1_29: &str = "v0.0.0-20250926182816-0a3bb2010751";
const GIE_1_30: &str = "v1.4.0";
const GIE_1_31: &str = "v1.5.0";

/// istio/istio#60629: 1.30.0 to 1.30.2 push every metadata-only change to all proxies.
const METADATA_PUSH: (&str, Version) = (
    "istiod pushes every metadata-only change of a VirtualService (an Argo CD tracking label, a Helm annotation) to all proxies (istio/istio#60629)",
    Version::new(1, 30, 3),
);

struct Row {
    minor: u32,
    patch: u32,
    date: Option<&'static str>,
    gateway_api: &'static str,
    pins: PinSource,
    vfp: bool,
    charts: bool,
}

const fn r(minor: u32, patch: u32, date: Option<&'static str>, gateway_api: &'static str, pins: PinSource, vfp: bool, charts: bool) -> Row {
    Row { minor, patch, date, gateway_api, pins, vfp, charts }
}

const fn release_of(row: Row) -> Release {
    let (kubernetes, inference_extension_pin, end_of_life) = match row.minor {
        29 => (K8S_1_29, GIE_1_29, true),
        30 => (K8S_1_30, GIE_1_30, false),
        _ => (K8S_1_31, GIE_1_31, false),
    };
    let known_issue = if row.minor == 30 && row.patch < 3 { Some(METADATA_PUSH) } else { None };
    let signing_key = if row.minor > 31 || (row.minor == 31 && row.patch >= 1) { SIGNING_KEY_V2 } else { SIGNING_KEY_V1 };
    Release {
        version: Version::new(1, row.minor, row.patch),
        date: row.date,
        gateway_api: row.gateway_api,
        inference_extension_pin,
        pins: row.pins,
        kubernetes,
        validation_failure_policy: row.vfp,
        inference_extension: true,
        end_of_life,
        known_issue,
        reference_charts: row.charts,
        signing_key,
    }
}

use PinSource::{GoMod, Unread};

/// Every supported release, oldest first. Sources:
/// - pins: each tag's go.mod (reference/istio-upstream-pins.tsv). `Unread` rows are tags newer than
///   that snapshot; they carry the pins their release branch had at the snapshot's end
///   (release-1.29: v1.4.1; release-1.30: v1.5.1 / v1.4.0; release-1.31: v1.6.0 / v1.5.0), unchecked.
/// - rows: one per tag with a release announcement in istio/istio.io `content/en/news/releases/1.N.x/`.
///   The 1.29 line ends at 1.29.8 (2026-09-21): there is no 1.29.9 (no tag, no announcement; an
///   earlier table had a row for it, and `check` told users to set it).
/// - dates: `publishdate` of istio/istio.io `content/en/news/releases/1.N.x/announcing-1.N.P/` as
///   reviewed, not of the generated draft: 1.29.0 is 2026-02-16 (`announcing-1.29/change-notes`, the
///   draft said 02-12; tag commit 2026-02-10), 1.29.3 is 2026-05-14 (the draft said 05-13), 1.30.0 is
///   2026-05-18 (the draft said 05-14; tag commit 2026-05-15). 1.31.0: the announcement's front
///   matter says 2026-08-20, the 1.29 end-of-life notice says 2026-08-31, which matches the tags
///   (1.31.0-rc.0 on 2026-08-19); the table says 2026-08-31.
/// - Kubernetes ranges: the x.0 announcements ("officially supported on Kubernetes versions 1.31 to
///   1.35" for 1.29; "1.32 to 1.36" for 1.30 and 1.31).
/// - end of life: 1.29 on 2026-10-12 (istio.io `content/en/news/support/announcing-1.29-eol/`);
///   1.30 and 1.31 are supported (no end-of-life notice).
/// - `base.validationFailurePolicy`: the charts, from 1.29.2 on.
/// - known issue: istio/istio#60629, "introduced in Istio 1.30", fixed in 1.30.3 (its release notes).
/// - signing key: istio.io `blog/2026/retirement-of-gcp`, "Signing Keys" (1.31.1 and later: v2).
pub const RELEASES: &[Release] = &[
    release_of(r(29, 0, Some("2026-02-16"), "v1.4.0", GoMod, false, true)),
    release_of(r(29, 1, Some("2026-03-10"), "v1.4.0", GoMod, false, false)),
    release_of(r(29, 2, Some("2026-04-13"), "v1.4.0", GoMod, true, false)),
    release_of(r(29, 3, Some("2026-05-14"), "v1.4.1", GoMod, true, false)),
    release_of(r(29, 4, Some("2026-06-04"), "v1.4.1", GoMod, true, false)),
    release_of(r(29, 5, Some("2026-06-23"), "v1.4.1", GoMod, true, false)),
    release_of(r(29, 6, Some("2026-07-16"), "v1.4.1", GoMod, true, true)),
    release_of(r(29, 7, Some("2026-08-26"), "v1.4.1", Unread, true, false)),
    release_of(r(29, 8, Some("2026-09-21"), "v1.4.1", Unread, true, false)),
    release_of(r(30, 0, Some("2026-05-18"), "v1.5.1", GoMod, true, false)),
    release_of(r(30, 1, Some("2026-06-04"), "v1.5.1", GoMod, true, false)),
    release_of(r(30, 2, Some("2026-06-23"), "v1.5.1", GoMod, true, false)),
    release_of(r(30, 3, Some("2026-07-16"), "v1.5.1", GoMod, true, true)),
    release_of(r(30, 4, Some("2026-08-26"), "v1.5.1", Unread, true, false)),
    release_of(r(30, 5, Some("2026-09-21"), "v1.5.1", Unread, true, false)),
    release_of(r(31, 0, Some("2026-08-31"), "v1.6.0", Unread, true, false)),
    release_of(r(31, 1, Some("2026-09-21"), "v1.6.0", Unread, true, false)),
];

/// The version used when the config names none: the newest patch of the newest line, so that a
/// config without `version` never gets a release past its end of life.
pub const DEFAULT_VERSION: Version = RELEASES[RELEASES.len() - 1].version;

/// Vendored charts that stand in for releases without charts of their own. The 1.31 line has only
/// a release candidate (`reference/istio-1.31.0-rc.0/`): good for checking that values fit the 1.31
/// chart structure, not for `--expand-charts` (which refuses charts of another version).
pub const PRERELEASE_CHARTS: &[(u32, u32, &str)] = &[(1, 31, "1.31.0-rc.0")];

/// Looks a release up in the table.
pub fn release(version: Version) -> Option<&'static Release> {
    RELEASES.iter().find(|r| r.version == version)
}

/// The newest patch of the same release line.
pub fn newest_patch(version: Version) -> &'static Release {
    RELEASES.iter().rfind(|r| r.version.major == version.major && r.version.minor == version.minor).unwrap_or(&RELEASES[RELEASES.len() - 1])
}

/// The vendored charts (`reference/istio-<this>/`) that stand in for `version`: its own if vendored,
/// else the newest older patch of the same line that is, else the line's oldest vendored release,
/// else the line's release candidate ([`PRERELEASE_CHARTS`]), else the oldest vendored release.
pub fn reference_charts(version: Version) -> String {
    let line =
        || RELEASES.iter().filter(move |r| r.reference_charts && r.version.major == version.major && r.version.minor == version.minor);
    if let Some(r) = line().rfind(|r| r.version <= version).or_else(|| line().next()) {
        return r.version.to_string();
    }
    if let Some((_, _, rc)) = PRERELEASE_CHARTS.iter().find(|(major, minor, _)| *major == version.major && *minor == version.minor) {
        return (*rc).to_string();
    }
    RELEASES[0].version.to_string()
}

/// `1.29.0 to 1.29.8, 1.30.0 to 1.30.5, …`, for error messages.
pub fn supported_summary() -> String {
    let mut lines: Vec<(u32, u32, u32)> = Vec::new();
    for rel in RELEASES {
        match lines.last_mut() {
            Some((minor, _, last)) if *minor == rel.version.minor => *last = rel.version.patch,
            _ => lines.push((rel.version.minor, rel.version.patch, rel.version.patch)),
        }
    }
    lines.iter().map(|(m, a, b)| format!("1.{m}.{a} to 1.{m}.{b}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_strict_versions() {
        assert_eq!(Version::parse("1.29.6"), Some(Version::new(1, 29, 6)));
        for bad in ["v1.29.0", "1.29", "1.29.0.1", "1.029.0", "1.29.x", "", "1..0", "1.29.0-rc1"] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(RELEASES.windows(2).all(|w| w[0].version < w[1].version));
    }

    #[test]
    fn validation_failure_policy_starts_at_1_29_2() {
        assert!(!release(Version::new(1, 29, 1)).unwrap().validation_failure_policy);
        assert!(release(Version::new(1, 29, 2)).unwrap().validation_failure_policy);
    }

    #[test]
    fn reference_charts_are_the_nearest_older_vendored_patch_or_the_release_candidate() {
        let r = |minor, p| reference_charts(Version::new(1, minor, p));
        assert_eq!((r(29, 0), r(29, 5), r(29, 6), r(29, 8)), ("1.29.0".into(), "1.29.0".into(), "1.29.6".into(), "1.29.6".into()));
        assert_eq!(r(30, 1), "1.30.3");
        assert_eq!((r(31, 0), r(31, 1)), ("1.31.0-rc.0".into(), "1.31.0-rc.0".into()));
    }

    #[test]
    fn default_is_the_newest_release_and_not_end_of_life() {
        assert_eq!(DEFAULT_VERSION, Version::new(1, 31, 1));
        assert!(!release(DEFAULT_VERSION).unwrap().end_of_life);
    }

    #[test]
    fn metadata_push_bug_is_flagged_on_1_30_0_to_1_30_2_only() {
        let flagged: Vec<String> = RELEASES.iter().filter(|r| r.known_issue.is_some()).map(|r| r.version.to_string()).collect();
        assert_eq!(flagged, ["1.30.0", "1.30.1", "1.30.2"]);
        assert_eq!(release(Version::new(1, 30, 0)).unwrap().known_issue.unwrap().1, Version::new(1, 30, 3));
    }

    #[test]
    fn newest_patch_stays_on_the_line() {
        assert_eq!(newest_patch(Version::new(1, 29, 0)).version, Version::new(1, 29, 8));
        assert_eq!(newest_patch(Version::new(1, 30, 1)).version, Version::new(1, 30, 5));
        assert_eq!(supported_summary(), "1.29.0 to 1.29.8, 1.30.0 to 1.30.5, 1.31.0 to 1.31.1");
    }

    /// Issue 20, version facts: there is no Istio 1.29.9 (istio.io `content/en/news/releases/1.29.x/`
    /// ends at `announcing-1.29.8`, 2026-09-21); the newest 1.29 patch is 1.29.8.
    #[test]
    fn there_is_no_1_29_9_and_1_29_8_is_the_last_1_29_patch() {
        assert_eq!(release(Version::new(1, 29, 9)), None);
        let last = newest_patch(Version::new(1, 29, 6));
        assert_eq!((last.version, last.date), (Version::new(1, 29, 8), Some("2026-09-21")));
    }

    /// Issue 20, version facts: the reviewed announcements' `publishdate`, not the generated drafts'
    /// (1.29.0 `announcing-1.29/change-notes`, `announcing-1.29.3`, `announcing-1.30`).
    #[test]
    fn release_dates_are_the_reviewed_announcements() {
        let date = |minor, patch| release(Version::new(1, minor, patch)).unwrap().date;
        assert_eq!((date(29, 0), date(29, 3), date(30, 0)), (Some("2026-02-16"), Some("2026-05-14"), Some("2026-05-18")));
        assert!(RELEASES.iter().all(|r| r.date.is_some()), "every row is an announced release");
    }

    /// Issue 20, version facts: istio.io `blog/2026/retirement-of-gcp` ("Signing Keys"): 1.18.x to
    /// 1.30.x and 1.31.0 are signed with `istio-key.pub`, 1.31.1 and later with `istio-key-v2.pub`.
    #[test]
    fn images_from_1_31_1_on_are_signed_with_the_v2_key() {
        let key = |minor, patch| release(Version::new(1, minor, patch)).unwrap().signing_key;
        assert_eq!((key(29, 8), key(30, 5), key(31, 0)), (SIGNING_KEY_V1, SIGNING_KEY_V1, SIGNING_KEY_V1));
        assert_eq!(key(31, 1), SIGNING_KEY_V2);
        assert!(SIGNING_KEY_V2.ends_with("/istio-key-v2.pub") && SIGNING_KEY_V1.ends_with("/istio-key.pub"));
    }
}
