//! Annotations removed or deprecated by the target Istio release.

use super::{Diagnostic, Input, Rule, Subject};
use crate::diagnostics::Severity;

/// The annotations the upgrade data says were removed or deprecated (one table, in `upgrade`).
use crate::upgrade::CHANGED_ANNOTATIONS as CHANGED;

pub(super) const REMOVED_ANNOTATION: Rule = Rule {
    code: "MR109",
    name: "removed-annotation",
    severity: Severity::Error,
    summary: "An annotation that the target Istio release removed (error) or deprecated (warning)",
    explanation: "Istio ignores an annotation it removed, so the setting silently stops working after the \
        upgrade. 1.29 removed `sidecar.istio.io/statsCompression` (use the proxyConfig option \
        `statsCompression`); `networking.istio.io/service-type` on Gateways is deprecated in favour of \
        `spec.infrastructure.parametersRef`.",
};

pub(super) fn removed_annotation(input: &Input) -> Vec<Diagnostic> {
    let target = input.config.map_or(crate::versions::DEFAULT_VERSION, |c| c.release.version);
    let mut out = Vec::new();
    let mut report = |key: &str, subject: Option<&Subject>, config_path: Option<&str>| {
        for (name, since, removed, instead) in CHANGED {
            if key == *name && target >= *since {
                let what = if *removed { "removed" } else { "deprecated" };
                let mut f = Diagnostic::new(
                    &REMOVED_ANNOTATION,
                    format!("annotation `{key}` was {what} in Istio {}", since.minor_line()),
                    format!("use {instead}"),
                );
                if !removed {
                    f = f.severity(Severity::Warning);
                }
                if let Some(s) = subject {
                    f = f.on(s);
                }
                if let Some(p) = config_path {
                    f = f.key(p);
                }
                out.push(f);
            }
        }
    };
    if let Some(c) = input.config {
        for key in c.metadata.annotations.keys() {
            report(key, None, Some(&format!("components.istio.metadata.annotations.{key}")));
        }
    }
    for o in input.objects {
        for (_, key) in o.annotation_keys() {
            if input.config.is_some_and(|c| c.metadata.annotations.contains_key(key)) {
                continue;
            }
            report(key, Some(o), None);
        }
    }
    out
}
