//! A revision-based control plane: namespaces labelled with tags, tags that resolve, revisions
//! within Istio's version skew.

use super::{Diagnostic, Input, Rule};
use crate::diagnostics::Severity;

pub(super) const REVISION_LABEL: Rule = Rule {
    code: "MR140",
    name: "namespace-labelled-with-revision",
    severity: Severity::Warning,
    summary: "Namespaces are labelled with a control plane revision instead of a revision tag",
    explanation: "A namespace labelled `istio.io/rev=<revision>` is tied to that istiod: upgrading means \
        relabelling every namespace (and every Gateway) in the same change as the new control plane, with \
        no stable name to move back to. Label them with a tag (`istio.io/rev=prod`) that points at the \
        revision (Istio's \"Canary upgrades with revision tags\"): the upgrade then moves the tag, and the \
        rollback moves it back. Use `controlPlane.revisions` with `controlPlane.tags` and keep `stableTag` \
        on a tag (`prod`, the default); `mesh-render upgrade --to VERSION --canary` prints the configs.",
};

pub(super) fn revision_label(input: &Input) -> Vec<Diagnostic> {
    let Some(config) = input.config else { return Vec::new() };
    let mut out = Vec::new();
    if let Some(rev) = &config.revision {
        out.push(
            Diagnostic::new(
                &REVISION_LABEL,
                format!("namespaces are labelled `istio.io/rev={rev}`, a revision: an upgrade has to relabel every one of them"),
                format!(
                    "replace `revision` by `controlPlane.revisions: [{{version: \"{}\", name: {rev}}}]` and `tags: {{prod: {rev}}}`",
                    config.release.version
                ),
            )
            .key("components.istio.revision"),
        );
    }
    if let Some(rs) = &config.revisions {
        if rs.get(&rs.stable_tag).is_some() {
            let tag = crate::config::canary::DEFAULT_STABLE_TAG;
            out.push(
                Diagnostic::new(
                    &REVISION_LABEL,
                    format!(
                        "`stableTag` names revision `{}`: namespaces and Gateways are labelled with a revision, not a tag",
                        rs.stable_tag
                    ),
                    format!("add `tags: {{{tag}: {}}}` and remove `stableTag` (it defaults to `{tag}`)", rs.stable_tag),
                )
                .key("components.istio.controlPlane.stableTag"),
            );
        }
        // Namespaces read from files that name a revision directly.
        for ns in input.of_kind("Namespace").filter(|n| !n.origin.is_empty()) {
            if let Some(rev) = ns.label("istio.io/rev").filter(|r| rs.get(r).is_some() && !rs.tags.contains_key(*r)) {
                out.push(
                    Diagnostic::new(
                        &REVISION_LABEL,
                        format!("namespace `{}` is labelled `istio.io/rev={rev}`, a revision", ns.name()),
                        format!("label it `istio.io/rev={}` (the stable tag)", rs.stable_tag),
                    )
                    .on(ns),
                );
            }
        }
    }
    out
}

pub(super) const TAG_WITHOUT_REVISION: Rule = Rule {
    code: "MR141",
    name: "tag-without-revision",
    severity: Severity::Error,
    summary: "A revision tag points at a revision that is not rendered",
    explanation: "A tag's MutatingWebhookConfiguration is rendered by the istiod release of the revision \
        it points at (the chart's `revisionTags`). A tag that names a revision not listed in \
        `controlPlane.revisions` gets no webhook at all: pods created in namespaces labelled with it start \
        without a sidecar, and under STRICT mTLS nothing can reach them. Point the tag at a listed revision \
        (see `controlPlane.revisions`; the default name of a revision is its version with `-` for `.`), or \
        add the revision.",
};

pub(super) fn tag_without_revision(input: &Input) -> Vec<Diagnostic> {
    let Some(rs) = input.config.and_then(|c| c.revisions.as_ref()) else { return Vec::new() };
    let listed: Vec<&str> = rs.revisions.iter().map(|r| r.name.as_str()).collect();
    rs.tags
        .iter()
        .filter(|(_, rev)| rs.get(rev).is_none())
        .map(|(tag, rev)| {
            Diagnostic::new(
                &TAG_WITHOUT_REVISION,
                format!("tag `{tag}` points at revision `{rev}`, which is not in `controlPlane.revisions`: it has no webhook"),
                format!("point it at one of: {}", listed.join(", ")),
            )
            .key(&format!("components.istio.controlPlane.tags.{tag}"))
        })
        .collect()
}

pub(super) const REVISION_SKEW: Rule = Rule {
    code: "MR142",
    name: "revision-skew",
    severity: Severity::Error,
    summary: "Two control plane revisions are more than one minor version apart",
    explanation: "Istio's supported skew: \"The Istio control plane can be one version ahead of the data \
        plane. However, the data plane cannot be ahead of control plane.\" (istio.io \"Supported releases\", \
        Control Plane/Data Plane Skew). When the stable tag moves, the old revision's proxies talk to the new \
        istiod until their pods restart, and they read the CRDs of the newest base chart: with revisions two \
        minors apart that is an unsupported pair. Go one minor at a time (1.29 -> 1.30 -> 1.31): \
        `mesh-render upgrade --to VERSION --canary` prints the steps through the intermediate line.",
};

pub(super) fn revision_skew(input: &Input) -> Vec<Diagnostic> {
    let Some(rs) = input.config.and_then(|c| c.revisions.as_ref()) else { return Vec::new() };
    let mut out = Vec::new();
    for (i, old) in rs.revisions.iter().enumerate() {
        for new in &rs.revisions[i + 1..] {
            let (lo, hi) = if old.release.version <= new.release.version { (old, new) } else { (new, old) };
            let (a, b) = (lo.release.version, hi.release.version);
            if a.major != b.major || b.minor > a.minor + 1 {
                let between = crate::versions::newest_patch(crate::versions::Version::new(a.major, a.minor + 1, 0)).version;
                out.push(
                    Diagnostic::new(
                        &REVISION_SKEW,
                        format!("revisions `{}` ({a}) and `{}` ({b}) are more than one minor version apart", lo.name, hi.name),
                        format!("upgrade to {between} first (`mesh-render upgrade --to {between} --canary`), then to {b}"),
                    )
                    .key("components.istio.controlPlane.revisions"),
                );
            }
        }
    }
    out
}
