//! Authorization and mTLS exceptions.

use std::collections::HashSet;

use super::{Diagnostic, Input, Rule};
use crate::diagnostics::Severity;

pub(super) const UNDECLARED_NAMESPACE: Rule = Rule {
    code: "MR101",
    name: "authz-undeclared-namespace",
    severity: Severity::Error,
    summary: "An AuthorizationPolicy names a namespace the mesh does not declare",
    explanation: "An ALLOW policy denies every request it does not match. A source namespace that no \
        declared namespace matches (Istio's `*`, `prefix*` and `*suffix` forms included) is usually a typo, \
        and the callers it was meant for are refused. Declare the namespace (components.istio.namespaces.apps, \
        or the Knative namespaces) or fix the name in the policy.",
};

/// Istio's string match: exact, `*`, `prefix*` or `*suffix`.
pub fn istio_match(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        true
    } else if let Some(prefix) = pattern.strip_suffix('*') {
        value.starts_with(prefix)
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        value.ends_with(suffix)
    } else {
        pattern == value
    }
}

pub(super) fn undeclared_namespace(input: &Input) -> Vec<Diagnostic> {
    // Built on the first pattern that is not the policy's own namespace (declared, as the namespace
    // of an object): an app namespace's policy names only its own.
    let declared = std::cell::OnceCell::new();
    let declared = || declared.get_or_init(|| input.declared_namespaces());
    // Exact patterns are looked up; only wildcards scan (10,000 policies × 10,000 namespaces took seconds).
    let exact = std::cell::OnceCell::new();
    let exact = || exact.get_or_init(|| declared().iter().copied().collect::<HashSet<&str>>());
    let mut out = Vec::new();
    for policy in input.of_kind("AuthorizationPolicy") {
        for (key, pattern) in policy.source_namespaces() {
            if !pattern.is_empty() && pattern == policy.namespace() {
                continue;
            }
            if !exact().contains(pattern) && !declared().iter().any(|ns| istio_match(pattern, ns)) {
                out.push(
                    Diagnostic::new(
                        &UNDECLARED_NAMESPACE,
                        format!("source.{key} `{pattern}` matches no namespace of the mesh"),
                        format!("declared namespaces: {}", declared().join(", ")),
                    )
                    .on(policy)
                    .key("components.istio.namespaces.apps"),
                );
            }
        }
    }
    out
}

pub(super) const WEBHOOK_WITHOUT_EXCEPTION: Rule = Rule {
    code: "MR104",
    name: "webhook-without-permissive-port",
    severity: Severity::Error,
    summary: "Under STRICT mTLS a Knative webhook has no PERMISSIVE port exception and no sidecar opt-out",
    explanation: "kube-apiserver has no mesh identity, so it calls admission webhooks in plaintext. Under \
        mesh-wide STRICT mTLS a webhook pod with a sidecar refuses those calls, and every Knative object \
        (Services, Revisions, Brokers) fails admission. Each webhook needs a PeerAuthentication with a pod \
        selector and `portLevelMtls` PERMISSIVE on its port (8443), or no sidecar. mesh-render renders these \
        for the webhooks in components.istio.knative.webhooks; keep the built-in list unless you replace it \
        completely.",
};

pub(super) fn webhook_without_exception(input: &Input) -> Vec<Diagnostic> {
    if input.mesh_mtls().as_deref() != Some("STRICT") {
        return Vec::new();
    }
    let Some((serving, eventing)) = input.knative_namespaces() else { return Vec::new() };
    let mut out = Vec::new();
    for hook in crate::config::default_webhooks(&serving, eventing.as_deref()) {
        let covered = input.of_kind("PeerAuthentication").any(|pa| {
            let labels = pa.selector_labels();
            let selects =
                labels.is_some_and(|m| !m.is_empty() && m.iter().all(|(k, v)| hook.selector.get(*k).map(String::as_str) == Some(*v)));
            let mode = pa.json()["spec"]["portLevelMtls"][hook.port.to_string()]["mode"].as_str();
            pa.namespace() == hook.namespace && selects && matches!(mode, Some("PERMISSIVE") | Some("DISABLE"))
        });
        // A sidecar opt-out on the webhook's namespace (no injection label) also works.
        let injected = input
            .of_kind("Namespace")
            .any(|n| n.name() == hook.namespace && (n.label("istio-injection") == Some("enabled") || n.label("istio.io/rev").is_some()));
        if !covered && injected {
            out.push(
                Diagnostic::new(
                    &WEBHOOK_WITHOUT_EXCEPTION,
                    format!(
                        "webhook `{}` in {} ({}) gets no port-level PERMISSIVE exception on {}",
                        hook.name,
                        hook.namespace,
                        selector_text(&hook.selector),
                        hook.port
                    ),
                    "add it to components.istio.knative.webhooks, or leave that key out to get the built-in list",
                )
                .key("components.istio.knative.webhooks"),
            );
        }
    }
    out
}

fn selector_text(selector: &std::collections::BTreeMap<String, String>) -> String {
    selector.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

pub(super) const SELECTOR_ON_GATEWAY_PODS: Rule = Rule {
    code: "MR108",
    name: "selector-on-gateway-pods",
    severity: Severity::Warning,
    summary: "A policy selects Gateway API gateway pods by label instead of targeting the Gateway",
    explanation: "Pods of a Gateway API gateway are created by istiod; their labels \
        (`gateway.networking.k8s.io/gateway-name`, `istio.io/gateway-name`) are an implementation detail. \
        A policy that selects them with `spec.selector` silently stops applying when the deployment changes. \
        Use `spec.targetRefs` with `{group: gateway.networking.k8s.io, kind: Gateway, name}` instead.",
};

pub(super) fn selector_on_gateway_pods(input: &Input) -> Vec<Diagnostic> {
    let kinds = ["AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication", "Telemetry", "WasmPlugin"];
    let mut out = Vec::new();
    for o in input.objects.iter().filter(|o| kinds.contains(&o.kind())) {
        let labels = o.selector_labels().unwrap_or_default();
        let label = |key: &str| labels.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        if let Some(gw) = label("gateway.networking.k8s.io/gateway-name").or_else(|| label("istio.io/gateway-name")) {
            out.push(
                Diagnostic::new(
                    &SELECTOR_ON_GATEWAY_PODS,
                    format!("spec.selector picks the pods of Gateway `{gw}`"),
                    format!("use `targetRefs: [{{group: gateway.networking.k8s.io, kind: Gateway, name: {gw}}}]` instead of `selector`"),
                )
                .on(o),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::istio_match;

    #[test]
    fn istio_string_matching() {
        assert!(istio_match("*", "anything"));
        assert!(istio_match("knative-*", "knative-serving"));
        assert!(istio_match("*-system", "istio-system"));
        assert!(istio_match("demo", "demo"));
        assert!(!istio_match("knative-*", "kn"));
        assert!(!istio_match("demo", "demo2"));
    }
}
