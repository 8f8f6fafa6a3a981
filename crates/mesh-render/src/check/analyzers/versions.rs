//! The targeted Istio release.

use super::{Diagnostic, Input, Rule};
use crate::diagnostics::Severity;
use crate::versions;

pub(super) const OUTDATED_RELEASE: Rule = Rule {
    code: "MR113",
    name: "outdated-istio",
    severity: Severity::Warning,
    summary: "The Istio release is end-of-life or has newer patch releases",
    explanation: "Patch releases carry security fixes; a release line past its end of life gets none. \
        The version table in mesh-render says which patches exist and which lines are end-of-life. \
        Move to the newest patch of the line (no breaking changes within a line), and plan the upgrade to \
        a supported line with `mesh-render upgrade --to VERSION`.",
};

pub(super) fn outdated(input: &Input) -> Vec<Diagnostic> {
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
        // Already on the line's last patch (1.29.8): only the upgrade is left to recommend.
        (true, Some(v)) if newest.version == rel.version => format!("plan `mesh-render upgrade --to {v}`"),
        (true, Some(v)) => format!("set version: \"{}\" now, and plan `mesh-render upgrade --to {v}`", newest.version),
        _ => format!("set version: \"{}\"", newest.version),
    };
    vec![Diagnostic::new(&OUTDATED_RELEASE, format!("Istio {}: {}", rel.version, problems.join("; ")), hint).key("components.istio.version")]
}

pub(super) const RETIRED_HOST: Rule = Rule {
    code: "MR115",
    name: "retired-istio-host",
    severity: Severity::Error,
    summary: "The config names Istio's retired chart repository or image registry",
    explanation: "Istio removes `https://istio-release.storage.googleapis.com/charts`, \
        `gcr.io/istio-release` and `registry.istio.io/release` in December 2026 for every version, and \
        never published 1.31 there (istio.io blogs \"An Update on Our Container Registry Migration\", \
        2026-07-23, and \"An update on our move to AWS\", 2026-08-21). Their last scream test runs from \
        2026-12-08 15:00 UTC to 2026-12-09 15:00 UTC. `helm dependency build`, `plan apply` and an Argo CD \
        sync that read them fail. Charts: `https://blob.istio.io/istio-release/charts` (`chartRepository`, \
        the default) or `oci://ghcr.io/istio/release/charts`; images: `docker.io/istio` (images from \
        1.31.1 on are signed with `https://istio.io/misc/istio-key-v2.pub`).",
};

pub(super) fn retired_host(input: &Input) -> Vec<Diagnostic> {
    let Some(config) = input.config else { return Vec::new() };
    config
        .retired_references
        .iter()
        .map(|(path, value)| {
            // `gcr.io/istio-release/charts` held the OCI charts; every other path there, and all of
            // `registry.istio.io/release`, held images.
            let charts = value.contains("istio-release.storage.googleapis.com") || value.contains("istio-release/charts");
            let hint = if charts {
                format!(
                    "use `{}` (the default: remove the key) or `{}`",
                    crate::api::helm::CHART_REPOSITORY,
                    crate::api::helm::OCI_CHART_REPOSITORY
                )
            } else {
                "use `docker.io/istio` (or a pull-through cache of it) for images".to_string()
            };
            Diagnostic::new(
                &RETIRED_HOST,
                format!(
                    "`{value}` is one of Istio's retired homes, removed in December 2026 (last scream test {})",
                    crate::api::helm::LAST_SCREAM_TEST
                ),
                hint,
            )
            .key(path)
        })
        .collect()
}

pub(super) const KNOWN_ISSUE: Rule = Rule {
    code: "MR116",
    name: "release-with-known-issue",
    severity: Severity::Warning,
    summary: "The Istio release has a known defect that a newer patch fixes",
    explanation: "Some patch releases carry a defect that matters to this mesh. Istio 1.30.0 to 1.30.2 push \
        every metadata-only change of a VirtualService (an Argo CD tracking label, a Helm annotation, \
        kubectl's last-applied annotation) to all proxies (istio/istio#60629, \"introduced in Istio 1.30\", \
        fixed in 1.30.3): under GitOps that is a steady load on istiod and every sidecar. Move to the fixed patch or later (no breaking changes within a line).",};

pub(super) fn known_issue(input: &Input) -> Vec<Diagnostic> {
    let Some(config) = input.config else { return Vec::new() };
    let Some((what, fixed)) = config.release.known_issue else { return Vec::new() };
    let target = versions::newest_patch(config.release.version).version.max(fixed);
    vec![Diagnostic::new(
        &KNOWN_ISSUE,
        format!("Istio {}: {what}; fixed in {fixed}", config.release.version),
        format!("set version: \"{target}\""),
    )
    .key("components.istio.version")]
}
