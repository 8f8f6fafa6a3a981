//! Knative's `config-gateway`, as net-gateway-api parses it.

use super::{Diagnostic, Input, Rule};
use crate::config::syntax::{self, Limits, Value};
use crate::diagnostics::Severity;

pub(super) const UNPARSEABLE_CONFIG_GATEWAY: Rule = Rule {
    code: "MR114",
    name: "config-gateway-unparseable",
    severity: Severity::Error,
    summary: "A `config-gateway` entry that net-gateway-api would not parse",
    explanation: "net-gateway-api reads `external-gateways` and `local-gateways` from `config-gateway` as \
        YAML strings holding a list with exactly one entry: `class` (required), `gateway` and `service` as \
        `namespace/name`. Anything else (two entries, a missing class, a bare name, the old `name:`/\
        `namespace:` format from the knative.dev install page) stops the controller from programming \
        routes. `service` is what it probes: it must be the Service istiod creates, `<gateway>-istio`.",
};

pub(super) fn unparseable(input: &Input) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for cm in input.of_kind("ConfigMap").filter(|c| c.name() == "config-gateway") {
        for key in ["external-gateways", "local-gateways"] {
            let Some(text) = cm.json()["data"][key].as_str() else { continue };
            for problem in problems(text) {
                out.push(Diagnostic::new(&UNPARSEABLE_CONFIG_GATEWAY, format!("{key}: {problem}"), "write one entry: `- {class: istio, gateway: ns/name, service: ns/name-istio, supported-features: [HTTPRouteRequestTimeout]}`").on(cm));
            }
        }
    }
    out
}

fn is_ns_name(v: &str) -> bool {
    let mut parts = v.split('/');
    matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None) if crate::config::decode::dns_label_problem(a).is_none() && crate::config::decode::dns_label_problem(b).is_none())
}

/// What is wrong with one `*-gateways` value.
pub(super) fn problems(text: &str) -> Vec<String> {
    let Ok(docs) = syntax::parse_documents(text, Limits::DEFAULT) else { return vec!["not valid YAML".into()] };
    let Some(Value::Seq(entries)) = docs.first().map(|d| &d.value) else { return vec!["not a YAML list".into()] };
    let mut out = Vec::new();
    if entries.len() != 1 {
        out.push(format!("{} entries; exactly one is expected", entries.len()));
    }
    for (i, e) in entries.iter().enumerate() {
        if e.get("name").is_some() || e.get("namespace").is_some() {
            out.push(format!("entry {i} uses the old `name`/`namespace` format"));
        }
        if e.get("class").and_then(|c| c.as_scalar()).is_none_or(str::is_empty) {
            out.push(format!("entry {i} has no `class`"));
        }
        for key in ["gateway", "service"] {
            match e.get(key).and_then(|v| v.as_scalar()) {
                Some(v) if !is_ns_name(v) => out.push(format!("entry {i}: `{key}: {v}` is not `namespace/name`")),
                None if key == "gateway" => out.push(format!("entry {i} has no `gateway`")),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::problems;

    #[test]
    fn config_gateway_parsing() {
        assert!(
            problems("- class: istio\n  gateway: istio-system/knative-gateway\n  service: istio-system/knative-gateway-istio\n").is_empty()
        );
        assert_eq!(
            problems("- gateway: a/b\n- class: x\n  gateway: c\n"),
            ["2 entries; exactly one is expected", "entry 0 has no `class`", "entry 1: `gateway: c` is not `namespace/name`"]
        );
        assert_eq!(
            problems("- name: knative-gateway\n  namespace: istio-system\n  class: istio\n"),
            ["entry 0 uses the old `name`/`namespace` format", "entry 0 has no `gateway`"]
        );
    }

    /// net-gateway-api needs exactly one entry: an empty list leaves Knative without a gateway.
    #[test]
    fn an_empty_gateway_list_is_refused() {
        assert_eq!(problems("[]"), ["0 entries; exactly one is expected"]);
        assert_eq!(problems(""), ["not a YAML list"]);
    }
}
