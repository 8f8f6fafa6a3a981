//! The Istio releases mesh-render supports and what each one offers.
//!
//! One table, read by the config checks, the renderers and the docs. Read from upstream tags:
//! 1.29.0 pins Gateway API v1.4.0 and 1.29.6 pins v1.4.1; `base.validationFailurePolicy` exists from
//! 1.29.2; 1.29 serves Kubernetes 1.31 to 1.35. Not read, and carried over from the nearest known
//! row: the pins of 1.29.1 to 1.29.5 and of 1.30.x, and 1.30's Kubernetes range (one minor later).

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

/// What one Istio release offers that mesh-render depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release {
    pub version: Version,
    /// Gateway API release the control plane is built against.
    pub gateway_api: &'static str,
    /// Oldest and newest Kubernetes minor versions the release supports.
    pub kubernetes: ((u32, u32), (u32, u32)),
    /// Charts accept `base.validationFailurePolicy` (no webhook flip-flop under GitOps).
    pub validation_failure_policy: bool,
    /// Inference Extension support (`ENABLE_GATEWAY_API_INFERENCE_EXTENSION`) exists.
    pub inference_extension: bool,
    /// The release line is past its end of life.
    pub end_of_life: bool,
    /// Reference charts for this exact release ship in the vendored reference data (`reference/`) (tests use them).
    pub reference_charts: bool,
}

const fn r(patch_minor: (u32, u32), gateway_api: &'static str, vfp: bool, eol: bool, charts: bool) -> Release {
    let (minor, patch) = patch_minor;
    let kubernetes = if minor == 29 { ((1, 31), (1, 35)) } else { ((1, 32), (1, 36)) };
    Release {
        version: Version::new(1, minor, patch),
        gateway_api,
        kubernetes,
        validation_failure_policy: vfp,
        inference_extension: true,
        end_of_life: eol,
        reference_charts: charts,
    }
}

/// Every supported release, oldest first. 1.29 reached end of life in October 2026.
pub const RELEASES: &[Release] = &[
    r((29, 0), "v1.4.0", false, true, true),
    r((29, 1), "v1.4.0", false, true, false),
    r((29, 2), "v1.4.0", true, true, false),
    r((29, 3), "v1.4.0", true, true, false),
    r((29, 4), "v1.4.0", true, true, false),
    r((29, 5), "v1.4.0", true, true, false),
    r((29, 6), "v1.4.1", true, true, true),
    r((29, 7), "v1.4.1", true, true, false),
    r((29, 8), "v1.4.1", true, true, false),
    r((29, 9), "v1.4.1", true, true, false),
    r((30, 0), "v1.4.1", true, false, false),
    r((30, 1), "v1.4.1", true, false, false),
    r((30, 2), "v1.4.1", true, false, false),
    r((30, 3), "v1.4.1", true, false, true),
    r((30, 4), "v1.4.1", true, false, false),
];

/// The version used when the config names none.
pub const DEFAULT_VERSION: Version = Version::new(1, 29, 0);

/// Looks a release up in the table.
pub fn release(version: Version) -> Option<&'static Release> {
    RELEASES.iter().find(|r| r.version == version)
}

/// The newest patch of the same release line.
pub fn newest_patch(version: Version) -> &'static Release {
    RELEASES.iter().rfind(|r| r.version.major == version.major && r.version.minor == version.minor).unwrap_or(&RELEASES[RELEASES.len() - 1])
}

/// The release whose reference data (charts, CRDs) stands in for `version`: itself if it has
/// some, else the newest older patch of the same line that does, else the oldest one of the line.
pub fn reference_release(version: Version) -> &'static Release {
    let line =
        || RELEASES.iter().filter(move |r| r.reference_charts && r.version.major == version.major && r.version.minor == version.minor);
    line().rfind(|r| r.version <= version).or_else(|| line().next()).unwrap_or(&RELEASES[0])
}

/// `1.29.0 … 1.29.9, 1.30.0 … 1.30.4`, for error messages.
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
    fn reference_release_is_the_nearest_older_patch_with_data() {
        let r = |p| reference_release(Version::new(1, 29, p)).version;
        assert_eq!(
            (r(0), r(5), r(6), r(9)),
            (Version::new(1, 29, 0), Version::new(1, 29, 0), Version::new(1, 29, 6), Version::new(1, 29, 6))
        );
        assert_eq!(reference_release(Version::new(1, 30, 1)).version, Version::new(1, 30, 3));
    }

    #[test]
    fn newest_patch_stays_on_the_line() {
        assert_eq!(newest_patch(Version::new(1, 29, 0)).version, Version::new(1, 29, 9));
        assert_eq!(newest_patch(Version::new(1, 30, 1)).version, Version::new(1, 30, 4));
        assert_eq!(supported_summary(), "1.29.0 to 1.29.9, 1.30.0 to 1.30.4");
    }
}
