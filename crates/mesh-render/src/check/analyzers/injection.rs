//! Sidecar injection of the namespaces Knative calls into.

use std::collections::HashMap;

use super::{Diagnostic, Input, Rule, Subject};
use crate::diagnostics::Severity;

pub(super) const NOT_INJECTED: Rule = Rule {
    code: "MR102",
    name: "knative-namespace-not-injected",
    severity: Severity::Error,
    summary: "A namespace Knative calls into has no sidecar injection while mTLS is STRICT",
    explanation: "Under STRICT mTLS a pod without a sidecar can neither call into the mesh nor be called \
        from it. Knative's activator (knative-serving), event delivery (knative-eventing) and every app \
        namespace must be labelled `istio-injection=enabled` (or `istio.io/rev=<revision>`), and their pods \
        restarted, or requests between them are refused.",
};

fn injected(n: &Subject) -> bool {
    n.label("istio-injection") == Some("enabled") || n.label("istio.io/rev").is_some()
}

pub(super) fn not_injected(input: &Input) -> Vec<Diagnostic> {
    if input.mesh_mtls().as_deref() != Some("STRICT") {
        return Vec::new();
    }
    let knative = input.knative_namespaces();
    let mut namespaces: Vec<&str> = Vec::new();
    if let Some((serving, eventing)) = &knative {
        namespaces.push(serving);
        namespaces.extend(eventing.as_deref());
    }
    if let Some(c) = input.config {
        namespaces.extend(c.apps.iter().map(String::as_str));
    }
    // Indexed once: a search per namespace made 10,000 app namespaces take seconds.
    let mut by_name: HashMap<&str, &Subject> = HashMap::new();
    for n in input.of_kind("Namespace") {
        by_name.entry(n.name()).or_insert(n);
    }
    let mut out = Vec::new();
    for ns in namespaces {
        if let Some(n) = by_name.get(ns).filter(|n| !injected(n)) {
            let subject = Some(*n);
            let mut f = Diagnostic::new(
                &NOT_INJECTED,
                format!("namespace `{ns}` is not labelled for sidecar injection"),
                "label it `istio-injection=enabled` (or `istio.io/rev=<revision>`) and restart its pods",
            );
            if let Some(s) = &subject {
                f = f.on(s);
            }
            out.push(f);
        }
    }
    out
}

pub(super) const BOTH_INJECTION_LABELS: Rule = Rule {
    code: "MR103",
    name: "both-injection-labels",
    severity: Severity::Error,
    summary: "A namespace carries both `istio-injection` and `istio.io/rev`",
    explanation: "`istio-injection` wins over `istio.io/rev`, so a namespace with both is injected by the \
        default control plane, not by the revision its label names; revision-based upgrades then never \
        reach it. Keep exactly one: `istio.io/rev=<revision>` for a revisioned control plane, else \
        `istio-injection=enabled`.",
};

pub(super) fn both_labels(input: &Input) -> Vec<Diagnostic> {
    input
        .of_kind("Namespace")
        .filter(|n| n.label("istio-injection").is_some() && n.label("istio.io/rev").is_some())
        .map(|n| {
            Diagnostic::new(
                &BOTH_INJECTION_LABELS,
                format!("namespace `{}` has both injection labels", n.name()),
                "remove `istio-injection` (revisioned control plane) or `istio.io/rev`",
            )
            .on(n)
        })
        .collect()
}

pub(super) const AMBIENT_WITH_KNATIVE: Rule = Rule {
    code: "MR110",
    name: "ambient-with-knative",
    severity: Severity::Error,
    summary: "A namespace is enrolled in ambient mode while Knative runs in the mesh",
    explanation: "Knative is not yet compatible with Istio's ambient data plane: its activator and \
        queue-proxy rely on sidecar behaviour. mesh-render refuses `mode: ambient`; a namespace labelled \
        `istio.io/dataplane-mode=ambient` brings the same problem in through the back door. Use sidecar \
        injection for Knative and app namespaces.",
};

pub(super) fn ambient_with_knative(input: &Input) -> Vec<Diagnostic> {
    if input.knative_namespaces().is_none() {
        return Vec::new();
    }
    input
        .of_kind("Namespace")
        .filter(|n| n.label("istio.io/dataplane-mode") == Some("ambient"))
        .map(|n| {
            Diagnostic::new(
                &AMBIENT_WITH_KNATIVE,
                format!("namespace `{}` is in ambient mode", n.name()),
                "remove the `istio.io/dataplane-mode` label and use sidecar injection",
            )
            .on(n)
        })
        .collect()
}
