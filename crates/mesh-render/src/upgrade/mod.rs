//! The upgrade assistant: every breaking change or action-required note between two Istio releases,
//! whether it applies to a config, and what the rendered tree looks like after the upgrade.
//!
//! [`NOTES`] (in `notes.rs`) is the one table of upgrade data. It holds the upstream upgrade notes
//! of Istio 1.29, 1.30 and 1.31 (the `upgradeNotes` of the release-note files added between 1.28.0
//! and 1.31.0-rc.0, vendored in `reference/istio-upgrade-notes/`; the tests
//! check that each upstream file has exactly one entry here) and mesh-render's own changes that
//! follow from the version table. `mesh-render upgrade`, the generated `docs/upgrade-notes.md`, and
//! the analyzers (MR113 through the version table, MR109 through [`CHANGED_ANNOTATIONS`]) read it.
//! This module judges the notes for a config and writes the report; `diff.rs` compares the trees.

pub mod canary;
mod diff;
mod notes;

use std::fmt::{self, Write as _};

use serde::Serialize;

use crate::config::{Config, Loaded};
use crate::versions::{self, Release, Version};

pub use diff::{tree_diff, FileDiff};
pub use notes::{CHANGED_ANNOTATIONS, NOTES};

/// Where a note comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Origin {
    /// An upstream release-note file, e.g. `1.29/48051.yaml` (relative to the reference folder
    /// `istio-upgrade-notes/`); the note's title is the file's `upgradeNotes[].title`.
    Upstream { file: &'static str },
    /// A change mesh-render makes itself because the version table says so.
    MeshRender,
}

/// Whether a note concerns a config, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "level", content = "why")]
pub enum Applicability {
    /// The change hits this config: act on it.
    Applies(String),
    /// It may apply: it depends on something outside the config (tools, pods, the cluster).
    Check(String),
    /// It cannot affect this config.
    NotApplicable(String),
}

impl Applicability {
    pub fn why(&self) -> &str {
        match self {
            Applicability::Applies(w) | Applicability::Check(w) | Applicability::NotApplicable(w) => w,
        }
    }

    /// `applies`, `check` or `not applicable`.
    pub fn label(&self) -> &'static str {
        match self {
            Applicability::Applies(_) => "applies",
            Applicability::Check(_) => "check",
            Applicability::NotApplicable(_) => "not applicable",
        }
    }
}

/// One breaking change or action-required note.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// Stable short name, e.g. `stats-compression`.
    pub id: &'static str,
    pub origin: Origin,
    /// The upstream title, word for word (for mesh-render's own notes, a title in the same style).
    pub title: &'static str,
    /// The release the change arrived in: upgrading across it brings the note.
    #[serde(serialize_with = "version_string")]
    pub release: Version,
    /// Only ambient mode or the istio-cni node agent is affected; mesh-render renders sidecar mode
    /// without istio-cni, so such a note never applies.
    pub ambient_or_cni_only: bool,
    /// What changed, in a few sentences.
    pub summary: &'static str,
    /// What to change in the config (or the cluster) when the note applies.
    pub change: &'static str,
    #[serde(skip)]
    condition: fn(&Config) -> Applicability,
}

fn version_string<S: serde::Serializer>(version: &Version, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(version)
}

/// Whether `note` applies to `config`.
pub fn applies(note: &Note, config: &Config) -> Applicability {
    if note.ambient_or_cni_only {
        return notes::ambient_only(config);
    }
    (note.condition)(config)
}

/// The notes an upgrade from `from` to `to` crosses: those that arrived after `from`, up to and
/// including `to`, oldest first.
pub fn notes_between(from: Version, to: Version) -> Vec<&'static Note> {
    NOTES.iter().filter(|n| from < n.release && n.release <= to).collect()
}

/// The notes of one release line (`1.29` holds those from 1.28 to 1.29.x).
pub fn notes_of_line(major: u32, minor: u32) -> Vec<&'static Note> {
    NOTES.iter().filter(|n| n.release.major == major && n.release.minor == minor).collect()
}

/// Why an upgrade cannot be planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpgradeError {
    pub message: String,
    pub hint: String,
}

impl fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}\n  hint: {}", self.message, self.hint)
    }
}

impl std::error::Error for UpgradeError {}

/// The target release for an upgrade from `from`: in the version table and newer.
pub fn target(from: Version, to: &str) -> Result<&'static Release, UpgradeError> {
    let supported = || format!("supported: {}", versions::supported_summary());
    let version = Version::parse(to).ok_or_else(|| UpgradeError {
        message: format!("`{to}` is not an Istio version"),
        hint: format!("write MAJOR.MINOR.PATCH, e.g. {}; {}", versions::newest_patch(from).version, supported()),
    })?;
    let release = versions::release(version)
        .ok_or_else(|| UpgradeError { message: format!("Istio {version} is not in mesh-render's version table"), hint: supported() })?;
    if version == from {
        return Err(UpgradeError {
            message: format!("the config already uses Istio {version}"),
            hint: format!("pick a newer release; the newest is {}", versions::RELEASES[versions::RELEASES.len() - 1].version),
        });
    }
    if version < from {
        return Err(UpgradeError {
            message: format!("Istio {version} is older than the configured {from}: downgrades are not supported"),
            hint: "Istio supports upgrades only; to go back, restore the previous config and render it".into(),
        });
    }
    Ok(release)
}

/// A copy of `config` on another release: the version changes, and so does everything the version
/// table decides (a `validationFailurePolicy` left to its default follows the release).
pub fn with_release(config: &Config, release: &'static Release) -> Config {
    let mut out = config.clone();
    out.release = release;
    let cp = &mut out.control_plane;
    if cp.validation_failure_policy_pos.is_none() {
        cp.validation_failure_policy = release.validation_failure_policy.then_some("Fail");
    }
    out
}

/// A copy of a loaded config, base and every environment, on another release.
pub fn loaded_with_release(loaded: &Loaded, release: &'static Release) -> Loaded {
    let mut out = loaded.clone();
    out.base = with_release(&loaded.base, release);
    for (name, env) in &loaded.environments {
        out.environments.insert(name.clone(), with_release(env, release));
    }
    out
}

/// One note, judged for the config.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JudgedNote {
    pub note: &'static Note,
    pub applicability: Applicability,
}

/// What the version table says about a release, for the report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseFacts {
    pub version: String,
    pub gateway_api: &'static str,
    pub kubernetes: String,
    pub validation_failure_policy: bool,
    pub end_of_life: bool,
    /// The newest patch of the same line, when it is not this release.
    pub newer_patch: Option<String>,
}

impl ReleaseFacts {
    pub fn of(release: &Release) -> ReleaseFacts {
        let newest = versions::newest_patch(release.version).version;
        ReleaseFacts {
            version: release.version.to_string(),
            gateway_api: release.gateway_api,
            kubernetes: kubernetes_range_text(release),
            validation_failure_policy: release.validation_failure_policy,
            end_of_life: release.end_of_life,
            newer_patch: (newest != release.version).then(|| newest.to_string()),
        }
    }
}

/// `1.31–1.35`.
pub fn kubernetes_range_text(release: &Release) -> String {
    let ((a, b), (c, d)) = release.kubernetes;
    format!("{a}.{b}–{c}.{d}")
}

/// Everything `mesh-render upgrade --to` reports.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub from: ReleaseFacts,
    pub to: ReleaseFacts,
    /// The environment judged (`None`: the base settings).
    pub environment: Option<String>,
    /// Every note between the two releases, oldest first.
    pub notes: Vec<JudgedNote>,
    /// What to do, in order.
    pub steps: Vec<String>,
    /// Files of the rendered tree that change, sorted by path.
    pub diff: Vec<FileDiff>,
}

/// Plans the upgrade of the selected settings of `loaded` to `to`.
pub fn report(loaded: &Loaded, to: &str) -> Result<Report, UpgradeError> {
    let config = loaded.selected();
    let from = config.release;
    let to = target(from.version, to)?;
    let notes: Vec<JudgedNote> =
        notes_between(from.version, to.version).into_iter().map(|note| JudgedNote { note, applicability: applies(note, config) }).collect();
    let before = crate::render(loaded).tree();
    let after = crate::render(&loaded_with_release(loaded, to)).tree();
    Ok(Report {
        from: ReleaseFacts::of(from),
        to: ReleaseFacts::of(to),
        environment: config.environment.clone(),
        steps: steps(config, from, to, &notes),
        notes,
        diff: tree_diff(&before, &after),
    })
}

fn steps(config: &Config, from: &Release, to: &Release, notes: &[JudgedNote]) -> Vec<String> {
    let mut out = vec![format!("Set `components.istio.version: \"{}\"` in the config.", to.version)];
    let acting = notes.iter().filter(|n| !matches!(n.applicability, Applicability::NotApplicable(_))).count();
    if acting > 0 {
        out.push(format!("Go through the {acting} note(s) above marked `applies` or `check` and make the changes they name."));
    }
    out.push("Run `make render` and review the diff of `deployment/rendered/` (shown below) before committing.".into());
    if from.gateway_api != to.gateway_api {
        out.push(format!("Apply the Gateway API {} standard-channel CRDs.", to.gateway_api));
    }
    out.push(format!(
        "Upgrade the wrapper chart (`helm upgrade istio-mesh deployment/rendered/helm -n {}`, or let Argo CD sync it), then wait for istiod to be ready.",
        config.namespace
    ));
    let namespaces = crate::MeshFacts::of(config).injected;
    if !namespaces.is_empty() {
        out.push(format!(
            "Restart the injected workloads so that their sidecars run the new proxy: `kubectl rollout restart deployment -n NAMESPACE` for {}.",
            namespaces.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    out
}

impl Report {
    /// The notes at one level.
    fn with_level(&self, level: &str) -> impl Iterator<Item = &JudgedNote> + '_ {
        let level = level.to_string();
        self.notes.iter().filter(move |n| n.applicability.label() == level)
    }

    /// The report as text (`mesh-render upgrade`).
    pub fn text(&self) -> String {
        let mut s = String::new();
        let env = self.environment.as_ref().map(|e| format!(" (environment `{e}`)")).unwrap_or_default();
        let _ = writeln!(s, "Upgrade Istio {} → {}{env}", self.from.version, self.to.version);
        let _ = writeln!(s);
        let _ = writeln!(s, "{:<28}{:<14}{}", "", self.from.version, self.to.version);
        let row = |s: &mut String, name: &str, a: String, b: String| {
            let _ = writeln!(s, "{name:<28}{a:<14}{b}");
        };
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        row(&mut s, "Gateway API", self.from.gateway_api.into(), self.to.gateway_api.into());
        row(&mut s, "Kubernetes", self.from.kubernetes.clone(), self.to.kubernetes.clone());
        row(&mut s, "validationFailurePolicy", yes_no(self.from.validation_failure_policy), yes_no(self.to.validation_failure_policy));
        row(&mut s, "end of life", yes_no(self.from.end_of_life), yes_no(self.to.end_of_life));
        if self.to.end_of_life {
            let newest = versions::RELEASES[versions::RELEASES.len() - 1].version;
            let _ = writeln!(s, "\nwarning: Istio {} is past its end of life; the newest release is {newest}.", self.to.version);
        }
        if let Some(newer) = &self.to.newer_patch {
            let _ = writeln!(s, "\nnote: {newer} is a newer patch of the same line; consider `--to {newer}`.");
        }

        let applies: Vec<_> = self.with_level("applies").collect();
        let check: Vec<_> = self.with_level("check").collect();
        let skipped: Vec<_> = self.with_level("not applicable").collect();
        let _ = writeln!(
            s,
            "\n{} note(s) between {} and {}: {} apply, {} to check, {} do not apply.",
            self.notes.len(),
            self.from.version,
            self.to.version,
            applies.len(),
            check.len(),
            skipped.len()
        );
        for (heading, notes) in [("Applies to this config", &applies), ("To check (the config cannot tell)", &check)] {
            if notes.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n{heading}:");
            for n in notes.iter() {
                let _ = writeln!(s, "\n  * {} [{}, {}]", n.note.title, n.note.release, origin_text(n.note.origin));
                let _ = writeln!(s, "    What changed: {}", n.note.summary);
                let _ = writeln!(s, "    Why: {}", n.applicability.why());
                let _ = writeln!(s, "    Change: {}", n.note.change);
            }
        }
        if !skipped.is_empty() {
            let _ = writeln!(s, "\nDoes not apply:");
            for n in &skipped {
                let _ = writeln!(s, "  - {} [{}]: {}", n.note.title, n.note.release, n.applicability.why());
            }
        }
        let _ = writeln!(s, "\nSteps:");
        for (i, step) in self.steps.iter().enumerate() {
            let _ = writeln!(s, "  {}. {step}", i + 1);
        }
        let _ = writeln!(s, "\nRendered tree, {} → {}: {} file(s) differ.", self.from.version, self.to.version, self.diff.len());
        for d in &self.diff {
            let _ = writeln!(s);
            s.push_str(&d.unified);
        }
        s
    }

    /// The report as pretty-printed JSON (`mesh-render upgrade --format json`).
    pub fn json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|e| unreachable!("JSON of plain data: {e}"));
        text.push('\n');
        text
    }
}

/// `upstream 1.29/48051.yaml` or `mesh-render`.
pub fn origin_text(origin: Origin) -> String {
    match origin {
        Origin::Upstream { file } => format!("upstream {file}"),
        Origin::MeshRender => "mesh-render".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::notes::v;
    use super::*;

    #[test]
    fn notes_between_excludes_from_and_includes_to() {
        let ids = |a, b| notes_between(a, b).iter().map(|n| n.id).collect::<Vec<_>>();
        assert_eq!(ids(v(29, 0), v(29, 2)), ["validation-failure-policy"]);
        assert_eq!(ids(v(29, 3), v(29, 5)), Vec::<&str>::new());
        assert_eq!(ids(v(29, 2), v(29, 3)), ["gateway-api-v1.4.1"]);
        assert_eq!(ids(v(29, 6), v(30, 0)).len(), 7);
        assert_eq!(ids(v(30, 5), v(31, 1)).len(), 6);
    }

    #[test]
    fn targets_must_be_known_and_newer() {
        let from = v(29, 6);
        assert_eq!(target(from, "1.30.3").map(|r| r.version), Ok(v(30, 3)));
        for (to, message) in [
            ("1.29.0", "older than the configured 1.29.6"),
            ("1.29.6", "already uses Istio 1.29.6"),
            ("1.32.0", "not in mesh-render's version table"),
            ("v1.30.0", "is not an Istio version"),
        ] {
            let err = target(from, to).expect_err(to);
            assert!(err.message.contains(message), "{to}: {}", err.message);
        }
    }
}
