//! Traffic flows: the catalogue of needed and refused calls, and the config's expectations,
//! evaluated against the objects (`crate::check::flows`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{Diagnostic, Input, Rule, Subject};
use crate::check::flows::{self, Need, Row, Verdict};
use crate::config::MtlsMode;
use crate::diagnostics::Severity;
use crate::Object;

pub(super) const NEEDED_FLOW_DENIED: Rule = Rule {
    code: "MR120",
    name: "needed-flow-denied",
    severity: Severity::Error,
    summary: "A call the mesh needs is denied by the rendered policies",
    explanation: "mesh-render evaluates a catalogue of the calls Knative, Eventing and AI serving make \
        (gateways and the activator to revision pods, the autoscaler's scrape, net-gateway-api's prober, \
        kube-apiserver to the webhooks, kubelet probes and hooks, event delivery, the endpoint picker) \
        against the rendered PeerAuthentications, AuthorizationPolicies, DestinationRules and injection \
        labels, with Istio's semantics. A needed call that is denied breaks the platform: Revisions never \
        get ready, webhooks time out, events are lost. `mesh-render flows` shows the row and the objects \
        that decided it; fix the policy (or the config that renders it).",
};

pub(super) const REFUSED_FLOW_ALLOWED: Rule = Rule {
    code: "MR121",
    name: "refused-flow-allowed",
    severity: Severity::Error,
    summary: "A call the mesh must refuse is allowed by the rendered policies",
    explanation: "Least privilege: a pod of one app namespace must not reach another app namespace's pods \
        (directly or through the local gateway), and a pod outside the mesh must not reach app pods. \
        mesh-render evaluates these refused calls like the needed ones; one that is allowed is a hole in \
        the policies (for example a rule without `from`, which admits any caller). `mesh-render flows` shows \
        the rule that lets it through.",
};

pub(super) const PLAINTEXT_UNDER_STRICT: Rule = Rule {
    code: "MR122",
    name: "needed-flow-plaintext",
    severity: Severity::Warning,
    summary: "A needed call works only in plaintext although the config asks for STRICT mTLS",
    explanation: "The caller has a proxy, but the hop is not mutual TLS: gateway pods carry no \
        `security.istio.io/tlsMode` label (so sidecars send them plaintext), a call to a pod IP leaves \
        through the passthrough cluster without mTLS, or a DestinationRule turns TLS off. The destination \
        then cannot see who called, and the traffic is not encrypted on that hop. Calls through Knative's \
        local gateway are the usual case: the app sees the gateway's identity, not the caller's.",
};

pub(super) const EXPECTATION_VIOLATED: Rule = Rule {
    code: "MR123",
    name: "flow-expectation-violated",
    severity: Severity::Error,
    summary: "A flow in components.istio.flows.expect gets the other verdict",
    explanation: "Each entry of `components.istio.flows.expect` says that a call from one namespace (and \
        workload) to another on a port is allowed or denied. mesh-render evaluates it against the rendered \
        objects like the built-in catalogue; a different verdict is an error and the render stops. \
        `mesh-render flows` shows the row, its transport and the objects that decided it.",
};

/// The typed form of a subject, for the kinds the evaluation reads (objects read from files are
/// converted; one that does not fit the typed form is left out).
fn typed<'a>(subject: &Subject<'a>) -> Option<Cow<'a, Object>> {
    if let Some(o) = subject.typed {
        return Some(Cow::Borrowed(o));
    }
    let json = subject.json().clone();
    let object = match subject.kind() {
        "PeerAuthentication" => Object::from(serde_json::from_value::<crate::api::istio::PeerAuthentication>(json).ok()?),
        "AuthorizationPolicy" => Object::from(serde_json::from_value::<crate::api::istio::AuthorizationPolicy>(json).ok()?),
        "DestinationRule" => Object::from(serde_json::from_value::<crate::api::istio::DestinationRule>(json).ok()?),
        "Namespace" => Object::from(serde_json::from_value::<k8s_openapi::api::core::v1::Namespace>(json).ok()?),
        "Deployment" => Object::from(serde_json::from_value::<k8s_openapi::api::apps::v1::Deployment>(json).ok()?),
        "Service" => Object::from(serde_json::from_value::<k8s_openapi::api::core::v1::Service>(json).ok()?),
        "NetworkPolicy" => Object::from(serde_json::from_value::<k8s_openapi::api::networking::v1::NetworkPolicy>(json).ok()?),
        _ => return None,
    };
    Some(Cow::Owned(object))
}

/// Every flow row for the input; none without a config (the catalogue is built from it).
fn rows(input: &Input) -> Vec<Row> {
    let Some(config) = input.config else { return Vec::new() };
    let objects: Vec<Cow<Object>> = input.objects.iter().filter_map(typed).collect();
    flows::evaluate(config, objects.iter().map(|o| o.as_ref()))
}

fn describe(row: &Row) -> String {
    let end = |e: &flows::Endpoint| if e.namespace.is_empty() { e.workload.clone() } else { format!("{}/{}", e.namespace, e.workload) };
    let via = row.via.as_ref().map(|v| format!(" via {}/{}", v.namespace, v.workload)).unwrap_or_default();
    let path = row.path.clone().unwrap_or_default();
    format!("{} -> {}:{}{path}{via} ({})", end(&row.from), end(&row.to), row.port, row.purpose)
}

fn finding(rule: &Rule, row: &Row, message: String, hint: &str) -> Diagnostic {
    let mut f = Diagnostic::new(rule, message, hint);
    f.object = row.decided_by.first().map(|d| format!("{} {}/{}", d.kind, d.namespace, d.name));
    f
}

/// MR120, MR121 and MR122 come from one evaluation of the catalogue (it is the costly part of a
/// render with thousands of app namespaces), made by MR120's check, row by row: only the rows that
/// report something are kept.
pub(super) fn catalogue_findings(input: &Input) -> Vec<Diagnostic> {
    let Some(config) = input.config else { return Vec::new() };
    let objects: Vec<Cow<Object>> = input.objects.iter().filter_map(typed).collect();
    let strict = config.mtls == MtlsMode::Strict;
    let mut kept = Vec::new();
    let objects: Vec<&Object> = objects.iter().map(|o| o.as_ref()).collect();
    flows::for_each_row_by_class(config, &objects, |r| {
        let reports = r.expectation.is_none()
            && ((r.need == Need::Needed && r.verdict == Verdict::Deny)
                || (r.need == Need::Refused && r.verdict == Verdict::Allow)
                || (strict && r.need == Need::Needed && r.verdict == Verdict::Allow && r.hops.iter().any(|h| h.plaintext_in_mesh)));
        if reports {
            kept.push(r);
        }
    });
    let mut out = needed_flow_denied(&kept);
    out.extend(refused_flow_allowed(&kept));
    out.extend(plaintext_under_strict(input, &kept));
    out
}

pub(super) fn reported_by_mr120(_: &Input) -> Vec<Diagnostic> {
    Vec::new()
}

fn needed_flow_denied(rows: &[Row]) -> Vec<Diagnostic> {
    rows.iter()
        .filter(|r| r.expectation.is_none() && r.need == Need::Needed && r.verdict == Verdict::Deny)
        .map(|r| {
            finding(
                &NEEDED_FLOW_DENIED,
                r,
                format!("needed flow denied: {}: {}", describe(r), r.reason),
                "`mesh-render flows` shows the objects that decided it; the policy must let this call through",
            )
        })
        .collect()
}

fn refused_flow_allowed(rows: &[Row]) -> Vec<Diagnostic> {
    rows.iter()
        .filter(|r| r.expectation.is_none() && r.need == Need::Refused && r.verdict == Verdict::Allow)
        .map(|r| {
            finding(
                &REFUSED_FLOW_ALLOWED,
                r,
                format!("refused flow allowed: {}: {}", describe(r), r.reason),
                "`mesh-render flows` shows the rule that lets it through; narrow it to the callers that need it",
            )
        })
        .collect()
}

/// One finding per plaintext hop destination (a gateway is reached by many flows).
fn plaintext_under_strict(input: &Input, rows: &[Row]) -> Vec<Diagnostic> {
    if input.config.map(|c| c.mtls) != Some(MtlsMode::Strict) {
        return Vec::new();
    }
    let mut by_hop: BTreeMap<(String, String, u16), Vec<String>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.expectation.is_none() && r.need == Need::Needed && r.verdict == Verdict::Allow) {
        for hop in r.hops.iter().filter(|h| h.plaintext_in_mesh) {
            let purposes = by_hop.entry((hop.to.namespace.clone(), hop.to.workload.clone(), hop.port)).or_default();
            if !purposes.contains(&r.purpose) {
                purposes.push(r.purpose.clone());
            }
        }
    }
    by_hop
        .into_iter()
        .map(|((ns, workload, port), purposes)| {
            Diagnostic::new(
                &PLAINTEXT_UNDER_STRICT,
                format!("needed calls reach {ns}/{workload}:{port} in plaintext under STRICT mTLS: {}", purposes.join("; ")),
                "expected for gateway hops and pod-IP probes (see docs/flows.md); elsewhere, call through a Service or fix the DestinationRule",
            )
        })
        .collect()
}

pub(super) fn expectation_violated(input: &Input) -> Vec<Diagnostic> {
    let Some(config) = input.config else { return Vec::new() };
    if config.flow_expectations.is_empty() {
        return Vec::new();
    }
    rows(input)
        .iter()
        .filter_map(|r| {
            let i = r.expectation?;
            let expected = if r.need == Need::Needed { Verdict::Allow } else { Verdict::Deny };
            (r.verdict != expected).then(|| {
                let mut f = finding(
                    &EXPECTATION_VIOLATED,
                    r,
                    format!(
                        "components.istio.flows.expect[{i}] expects {expected}, the mesh gives {}: {} -> {}/{}:{} over {}: {}",
                        r.verdict,
                        if r.from.namespace.is_empty() {
                            r.from.workload.clone()
                        } else {
                            format!("{}/{}", r.from.namespace, r.from.workload)
                        },
                        r.to.namespace,
                        r.to.workload,
                        r.port,
                        r.transport,
                        r.reason
                    ),
                    "change the policies (or the config that renders them), or the expectation",
                );
                f.pos = config.flow_expectations.get(i).map(|e| e.pos);
                f
            })
        })
        .collect()
}
