//! `mesh-render upgrade --to VERSION --canary`: a revision-based canary upgrade as a sequence of
//! configs to commit (Istio's "Canary upgrades with revision tags"), each with what `plan apply`
//! (or an Argo CD sync) does, what `plan verify` checks, and the rollback.
//!
//! Per hop to a newer release `N` (named `n`, e.g. `1-30-3`) from the running revision `c`:
//! 1. side by side: revisions `[c, n]`, `prod -> c`, `canary -> n`; the base chart (CRDs) moves to
//!    `N` first, because CRDs must be at least as new as every istiod reading them;
//! 2. tag moved: `prod -> n` (every tag that pointed at `c`); workloads restart onto `n`;
//! 3. old one removed: revisions `[n]`.
//!
//! A config without revisions first adopts them without reinstalling anything: its istiod becomes
//! revision `default` with the tag `prod`. Upgrades across more than one minor go through the newest
//! patch of each line in between (Istio's skew policy, MR142).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::config::canary::{revision_name, DEFAULT_REVISION};
use crate::config::Loaded;
use crate::upgrade::{self, UpgradeError};
use crate::versions::{self, Version};

/// The tag a new revision is tested with before the stable tag moves to it.
pub const CANARY_TAG: &str = "canary";

/// One config to commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Short name, used in file names (`side-by-side`).
    pub slug: &'static str,
    pub title: String,
    /// The full config text of this step.
    pub config: String,
    /// What applying it does.
    pub does: String,
    /// What to check before the next step.
    pub check: String,
    /// How to go back to the previous step.
    pub rollback: String,
}

/// The whole path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canary {
    pub from: Version,
    pub to: Version,
    /// The releases passed through, the target last.
    pub hops: Vec<Version>,
    pub steps: Vec<Step>,
    pub argocd: bool,
    /// The config as it is now.
    pub original: String,
}

#[derive(Clone)]
struct State {
    version: Version,
    /// (version, name)
    revisions: Vec<(Version, String)>,
    tags: BTreeMap<String, String>,
}

fn err(message: impl Into<String>, hint: impl Into<String>) -> UpgradeError {
    UpgradeError { message: message.into(), hint: hint.into() }
}

/// The canary path from the loaded config (whose text is `text`) to `to`.
pub fn plan(text: &str, loaded: &Loaded, to: &str) -> Result<Canary, UpgradeError> {
    let (mut canary, states, stable) = build(loaded, to)?;
    for (step, st) in canary.steps.iter_mut().zip(&states) {
        step.config = edit(text, loaded, st, &stable)?;
    }
    canary.original = text.to_string();
    Ok(canary)
}

/// The path as a Mermaid flowchart: the state now, then each step with its revisions and the tags
/// on them; a dashed edge back from each step is its rollback.
pub fn diagram(loaded: &Loaded, to: &str) -> Result<String, UpgradeError> {
    let (canary, states, _) = build(loaded, to)?;
    let config = &loaded.base;
    let node = |st: &State| -> String {
        st.revisions
            .iter()
            .map(|(v, name)| {
                let tags: Vec<&str> = st.tags.iter().filter(|(_, r)| *r == name).map(|(t, _)| t.as_str()).collect();
                let tags = if tags.is_empty() { String::new() } else { format!(" ← {}", tags.join(", ")) };
                format!("{name} ({v}){tags}")
            })
            .collect::<Vec<_>>()
            .join("<br/>")
    };
    let now = match &config.revisions {
        None => format!("now: Istio {}, one istiod<br/>namespaces istio-injection=enabled", config.release.version),
        Some(rs) => {
            let st = State {
                version: config.release.version,
                revisions: rs.revisions.iter().map(|r| (r.release.version, r.name.clone())).collect(),
                tags: rs.tags.clone(),
            };
            format!("now: {}", node(&st))
        }
    };
    let mut s = String::from(
        "flowchart TD
",
    );
    let _ = writeln!(s, "  s0[\"{now}\"]");
    for (i, (step, st)) in canary.steps.iter().zip(&states).enumerate() {
        let _ = writeln!(s, "  s{}[\"{}. {}<br/>{}\"]", i + 1, i + 1, step.slug, node(st));
        let _ = writeln!(s, "  s{i} -->|commit| s{}", i + 1);
        let _ = writeln!(s, "  s{} -.->|rollback| s{i}", i + 1);
    }
    Ok(s)
}

fn build(loaded: &Loaded, to: &str) -> Result<(Canary, Vec<State>, String), UpgradeError> {
    let config = &loaded.base;
    if let Some(rev) = &config.revision {
        return Err(err(
            format!("the config uses the single revision `{rev}`"),
            format!(
                "replace `revision: {rev}` by `controlPlane.revisions: [{{version: \"{}\", name: {rev}}}]` and `tags: {{prod: {rev}}}` (the same istiod, now with a tag), then run this again",
                config.release.version
            ),
        ));
    }
    for (name, env) in &loaded.environments {
        if env.release.version != config.release.version || env.revisions != config.revisions {
            return Err(err(
                format!("environment `{name}` sets its own `version` or `controlPlane.revisions`"),
                "the canary steps edit the base settings: move those keys out of the environment first",
            ));
        }
    }
    let target = upgrade::target(config.release.version, to)?;
    let stable = config.revisions.as_ref().map_or(crate::config::canary::DEFAULT_STABLE_TAG.to_string(), |r| r.stable_tag.clone());
    let mut steps = Vec::new();
    let mut states: Vec<State> = Vec::new();
    let mut state = match &config.revisions {
        None => {
            let state = State {
                version: config.release.version,
                revisions: vec![(config.release.version, DEFAULT_REVISION.to_string())],
                tags: BTreeMap::from([(stable.clone(), DEFAULT_REVISION.to_string())]),
            };
            steps.push(Step {
                slug: "one-revision",
                title: format!("one revision: the running istiod becomes revision `default` with the tag `{stable}`"),
                config: String::new(),
                does: format!(
                    "istiod (same release, same version) also renders the webhook of tag `{stable}`; every mesh namespace and the Gateways are labelled `istio.io/rev={stable}` instead of `istio-injection=enabled`. Both labels reach the same istiod, so no pod changes."
                ),
                check: format!("`plan verify`: tag `{stable}` has its webhook and injects revision `default`."),
                rollback: "revert the commit and apply: the namespaces get `istio-injection=enabled` back.".into(),
            });
            states.push(state.clone());
            state
        }
        Some(rs) if rs.revisions.len() > 1 => {
            return Err(err(
                format!("an upgrade is in progress: {} revisions are listed", rs.revisions.len()),
                "finish it (commit the step that removes the old revision) or roll it back, then run this again",
            ));
        }
        Some(rs) => State {
            version: config.release.version,
            revisions: rs.revisions.iter().map(|r| (r.release.version, r.name.clone())).collect(),
            tags: rs.tags.clone(),
        },
    };
    let from = config.release.version;
    let mut hops: Vec<Version> =
        ((from.minor + 1)..target.version.minor).map(|m| versions::newest_patch(Version::new(from.major, m, 0)).version).collect();
    hops.push(target.version);
    for &next in &hops {
        let (cur_version, cur) = state.revisions[0].clone();
        let new = revision_name(next);
        let mut a = state.clone();
        a.version = next;
        a.revisions.push((next, new.clone()));
        a.tags.insert(CANARY_TAG.into(), new.clone());
        steps.push(Step {
            slug: "side-by-side",
            title: format!("Istio {next}: revision `{new}` next to `{cur}` ({cur_version}), tag `{CANARY_TAG}` on it"),
            config: String::new(),
            does: format!(
                "the base chart (CRDs, default validator) moves to {next} first; istiod `{new}` is installed next to `{cur}` with the webhook of tag `{CANARY_TAG}`. Namespaces and Gateways stay on `{stable}` -> `{cur}`: nothing restarts."
            ),
            check: format!(
                "`plan verify`: tag `{CANARY_TAG}`'s webhook exists and a test pod in a namespace labelled `istio.io/rev={CANARY_TAG}` is injected by `{new}`; tag `{stable}` still injects `{cur}`; the Gateways are ready. Label a test namespace `istio.io/rev={CANARY_TAG}` to try your own workloads on {next}."
            ),
            rollback: format!("revert the commit and apply: `plan apply` uninstalls istiod `{new}` (no pod runs on it) and moves the base chart back to {cur_version}."),
        });
        states.push(a.clone());
        state = a;
        let mut b = state.clone();
        b.tags.remove(CANARY_TAG);
        for rev in b.tags.values_mut().filter(|r| **r == cur) {
            rev.clone_from(&new);
        }
        steps.push(Step {
            slug: "tag-moved",
            title: format!("Istio {next}: tag `{stable}` moved to `{new}`"),
            config: String::new(),
            does: format!(
                "istiod `{cur}` gives up the webhook of `{stable}`, then istiod `{new}` takes it (the plan and the Argo CD waves keep this order); the base chart's default validator calls `{new}`; the workloads of every namespace labelled `{stable}` restart and are waited for; istiod `{new}` redeploys the Gateways."
            ),
            check: format!(
                "`plan verify`: tag `{stable}` injects `{new}`, the Gateways are ready and traffic flows (and the flow checks, where your mesh-render has them). Proxies of `{cur}` left anywhere are one minor behind at most, which Istio supports."
            ),
            rollback: format!(
                "revert the commit and apply: `{new}` gives `{stable}` back to `{cur}` and the workloads restart onto {cur_version}."
            ),
        });
        states.push(b.clone());
        state = b;
        let mut c = state.clone();
        c.revisions.retain(|(_, n)| *n != cur);
        steps.push(Step {
            slug: "old-removed",
            title: format!("Istio {next}: revision `{cur}` ({cur_version}) removed"),
            config: String::new(),
            does: format!("`plan apply` uninstalls istiod `{cur}` after checking that no pod runs with its proxies; with Argo CD, its Application is pruned."),
            check: "`plan verify`.".into(),
            rollback: format!("revert the commit and apply: istiod `{cur}` is installed again, without tags; then roll back the previous step to move `{stable}` back."),
        });
        states.push(c.clone());
        state = c;
    }
    Ok((Canary { from, to: target.version, hops, steps, argocd: config.argocd.is_some(), original: String::new() }, states, stable))
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim_start();
    !t.is_empty() && !t.starts_with('#')
}

/// The block of `controlPlane` keys for a state.
fn block(st: &State, stable: &str, indent: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    let mut out = vec![format!("{pad}revisions:")];
    for (v, name) in &st.revisions {
        if *name == revision_name(*v) {
            out.push(format!("{pad}  - {{version: \"{v}\"}}"));
        } else {
            out.push(format!("{pad}  - {{version: \"{v}\", name: {name}}}"));
        }
    }
    out.push(format!("{pad}tags:"));
    for (tag, rev) in &st.tags {
        out.push(format!("{pad}  {tag}: {rev}"));
    }
    if stable != crate::config::canary::DEFAULT_STABLE_TAG {
        out.push(format!("{pad}stableTag: {stable}"));
    }
    out
}

/// The config text with `version` and the three `controlPlane` keys of `st`; everything else, the
/// comments included, as it was. Block-style `components.istio` and `controlPlane` only.
fn edit(text: &str, loaded: &Loaded, st: &State, stable: &str) -> Result<String, UpgradeError> {
    let unsupported = || {
        err(
            "the config's `components.istio` is not in block style, so the steps cannot be written into it",
            "write `components.istio` and `controlPlane` as indented blocks (as `mesh-render example` does)",
        )
    };
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let enabled = loaded.position("components.istio.enabled");
    // The position is the value's; the key starts the line in block style.
    let anchor = enabled.line.saturating_sub(1);
    let Some(indent) = lines.get(anchor).filter(|l| l.trim_start().starts_with("enabled:")).map(|l| indent_of(l)) else {
        return Err(unsupported());
    };
    let mut start = anchor;
    while start > 0 && (!is_content(&lines[start - 1]) || indent_of(&lines[start - 1]) >= indent) {
        start -= 1;
    }
    let mut end = anchor + 1;
    while end < lines.len() && (!is_content(&lines[end]) || indent_of(&lines[end]) >= indent) {
        end += 1;
    }
    let key_line = |lines: &[String], from: usize, to: usize, ind: usize, key: &str| {
        (from..to).find(|&i| indent_of(&lines[i]) == ind && lines[i].trim_start().starts_with(&format!("{key}:")))
    };
    let pad = " ".repeat(indent);
    let version_line = format!("{pad}version: \"{}\"", st.version);
    let vline = match key_line(&lines, start, end, indent, "version") {
        Some(i) => {
            lines[i] = version_line;
            i
        }
        None => {
            lines.insert(anchor + 1, version_line);
            end += 1;
            anchor + 1
        }
    };
    match key_line(&lines, start, end, indent, "controlPlane") {
        Some(cp) => {
            if lines[cp].trim_end() != format!("{pad}controlPlane:") {
                return Err(unsupported());
            }
            let mut cp_end = cp + 1;
            while cp_end < end && (!is_content(&lines[cp_end]) || indent_of(&lines[cp_end]) > indent) {
                cp_end += 1;
            }
            let child = (cp + 1..cp_end).find(|&i| is_content(&lines[i])).map_or(indent + 2, |i| indent_of(&lines[i]));
            // Drop the keys this edit writes, each with its nested lines.
            let mut i = cp + 1;
            while i < cp_end {
                let t = lines[i].trim_start();
                if indent_of(&lines[i]) == child && ["revisions:", "tags:", "stableTag:"].iter().any(|k| t.starts_with(k)) {
                    let mut j = i + 1;
                    while j < cp_end && (!is_content(&lines[j]) || indent_of(&lines[j]) > child) {
                        j += 1;
                    }
                    lines.drain(i..j);
                    cp_end -= j - i;
                } else {
                    i += 1;
                }
            }
            // Before the first trailing blank or comment line of the block.
            let mut at = cp_end;
            while at > cp + 1 && !is_content(&lines[at - 1]) {
                at -= 1;
            }
            for (k, l) in block(st, stable, child).into_iter().enumerate() {
                lines.insert(at + k, l);
            }
        }
        None => {
            let mut new = vec![format!("{pad}controlPlane:")];
            new.extend(block(st, stable, indent + 2));
            for (k, l) in new.into_iter().enumerate() {
                lines.insert(vline + 1 + k, l);
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Ok(out)
}

impl Canary {
    /// The path as text: per step, what happens, the check, the rollback and the config diff.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let path: Vec<String> = std::iter::once(self.from.to_string()).chain(self.hops.iter().map(Version::to_string)).collect();
        let _ = writeln!(s, "Canary upgrade Istio {} → {} with revisions and tags ({} step(s))", self.from, self.to, self.steps.len());
        let _ = writeln!(s, "Path: {}", path.join(" → "));
        let _ = writeln!(s);
        let _ = writeln!(s, "Each step is a config to commit, in order, each once the previous one checks out.");
        if self.argocd {
            let _ = writeln!(s, "With Argo CD the commit is the step: the sync waves apply it in the order below.");
        }
        let _ = writeln!(
            s,
            "With the plans, after each commit: mesh-render render --out deployment/rendered && mesh-render plan apply | sh && mesh-render plan verify | sh"
        );
        let _ = writeln!(s, "Rollback at any step: revert its commit and apply the same way.");
        let mut before = self.original.clone();
        for (i, step) in self.steps.iter().enumerate() {
            let _ = writeln!(s, "\nStep {} of {}: {}", i + 1, self.steps.len(), step.title);
            let _ = writeln!(s, "  Applying it: {}", step.does);
            let _ = writeln!(s, "  Check: {}", step.check);
            let _ = writeln!(s, "  Rollback: {}", step.rollback);
            let _ = writeln!(s);
            let diff = similar::TextDiff::from_lines(&before, &step.config)
                .unified_diff()
                .context_radius(2)
                .header("a/config.yaml", &format!("b/config.yaml (step {})", i + 1))
                .to_string();
            s.push_str(&diff);
            before.clone_from(&step.config);
        }
        s
    }

    /// `step-<n>-<slug>.yaml` for every step, with its config.
    pub fn files(&self) -> Vec<(String, String)> {
        self.steps.iter().enumerate().map(|(i, st)| (format!("step-{}-{}.yaml", i + 1, st.slug), st.config.clone())).collect()
    }
}
