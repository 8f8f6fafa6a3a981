//! The targeted Istio release.

use super::{Finding, Input, Rule};
use crate::diagnostics::Severity;
use crate::versions;

pub const OUTDATED_RELEASE: Rule = Rule {
    code: "MR113",
    name: "outdated-istio",
    severity: Severity::Warning,
    summary: "The Istio release is end-of-life or has newer patch releases",
    explanation: "Patch releases carry security fixes; a release line past its end of life gets none. \
        The version table in mesh-render says which patches exist and which lines are end-of-life. \
        Move to the newest patch of the line (no breaking changes within a line), and plan the upgrade to \
        a supported line with `mesh-render upgrade --to VERSION`.",
    check: outdated,
};

fn outdated(input: &Input) -> Vec<Finding> {
    let Some(config) = input.config else { return Vec::new() };
    let rel = config.release;
    let newest = versions::newest_patch(rel.version);
    let mut problems = Vec::new();
    if rel.end_of_life {
        problems.push(format!("Istio {} is end-of-life", rel.version.minor_line()));
    }
    if newest.version > rel.version {
        problems.push(format!("{} is the newest patch of the line", newest.version));
    }
    if problems.is_empty() {
        return Vec::new();
    }
    let latest_line = versions::RELEASES.iter().filter(|r| !r.end_of_life).map(|r| r.version).max();
    let hint = match (rel.end_of_life, latest_line) {
        (true, Some(v)) => format!("set version: \"{}\" now, and plan `mesh-render upgrade --to {v}`", newest.version),
        _ => format!("set version: \"{}\"", newest.version),
    };
    vec![Finding::new(&OUTDATED_RELEASE, format!("Istio {}: {}", rel.version, problems.join("; ")), hint).at("components.istio.version")]
}
