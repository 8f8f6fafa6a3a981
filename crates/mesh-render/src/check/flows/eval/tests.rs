//! One policy, one flow, one verdict: each test names the Istio rule it pins.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{Namespace, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;
use crate::api::istio::*;
use crate::check::flows::catalogue::gateway;
use crate::check::flows::{Flow, Need};

const ROOT: &str = "istio-system";

fn meta(name: &str, namespace: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.into()), namespace: Some(namespace.into()), ..Default::default() }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn injected(name: &str) -> Object {
    Object::from(Namespace {
        metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels(&[("istio-injection", "enabled")])), ..Default::default() },
        ..Default::default()
    })
}

fn pa(name: &str, ns: &str, selector: &[(&str, &str)], mode: Option<&str>, ports: &[(u16, &str)]) -> Object {
    let mut p = PeerAuthentication::new(
        name,
        PeerAuthenticationSpec {
            selector: (!selector.is_empty()).then(|| WorkloadSelector { match_labels: labels(selector) }),
            mtls: mode.map(|m| PeerAuthenticationMtls { mode: m.into() }),
            port_level_mtls: ports.iter().map(|(p, m)| (p.to_string(), PeerAuthenticationMtls { mode: m.to_string() })).collect(),
        },
    );
    p.metadata = meta(name, ns);
    Object::from(p)
}

fn strict() -> Object {
    pa("default", ROOT, &[], Some("STRICT"), &[])
}

fn rule(namespaces: &[&str], principals: &[&str], ports: &[u16], paths: &[&str]) -> AuthorizationRule {
    let from = if namespaces.is_empty() && principals.is_empty() {
        Vec::new()
    } else {
        vec![RuleFrom {
            source: Source {
                namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
                principals: principals.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        }]
    };
    let to = if ports.is_empty() && paths.is_empty() {
        Vec::new()
    } else {
        vec![RuleTo {
            operation: Operation {
                ports: ports.iter().map(u16::to_string).collect(),
                paths: paths.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        }]
    };
    AuthorizationRule { from, to }
}

fn ap(name: &str, ns: &str, action: &str, selector: &[(&str, &str)], rules: Vec<AuthorizationRule>) -> Object {
    let mut p = AuthorizationPolicy::new(
        name,
        AuthorizationPolicySpec {
            selector: (!selector.is_empty()).then(|| WorkloadSelector { match_labels: labels(selector) }),
            action: Some(action.into()),
            rules,
        },
    );
    p.metadata = meta(name, ns);
    Object::from(p)
}

fn deployment(name: &str, ns: &str, template_labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> Object {
    Object::from(Deployment {
        metadata: meta(name, ns),
        spec: Some(DeploymentSpec {
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(template_labels)),
                    annotations: Some(labels(annotations)),
                    ..Default::default()
                }),
                spec: None,
            },
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn pod(ns: &str) -> Workload {
    Workload::pod(ns, "pod", &[], "default")
}

fn app(ns: &str) -> Workload {
    Workload::pod(ns, "app", &[("app", "web")], "web")
}

fn flow(from: Workload, to: &Workload, port: u16, path: Option<&str>, call: Call) -> Flow {
    Flow {
        purpose: "test".into(),
        need: Need::Info,
        from,
        hops: vec![Hop { to: to.clone(), port, path: path.map(String::from), call }],
        expectation: None,
        cross: None,
    }
}

fn svc() -> Call {
    Call::Service { host: None }
}

fn run(objects: &[Object], flow: &Flow) -> Row {
    Mesh::new(ROOT, objects).evaluate(flow)
}

fn names(row: &Row) -> Vec<String> {
    row.decided_by.iter().map(Decider::to_string).collect()
}

#[test]
fn without_peer_authentication_a_sidecar_is_permissive() {
    let row = run(&[injected("demo")], &flow(pod("outside"), &app("demo"), 8080, None, svc()));
    assert_eq!((row.verdict, row.transport), (Verdict::Allow, Transport::Plaintext));
}

#[test]
fn mesh_wide_strict_refuses_plaintext() {
    let row = run(&[injected("demo"), strict()], &flow(pod("outside"), &app("demo"), 8080, None, svc()));
    assert_eq!((row.verdict, row.transport), (Verdict::Deny, Transport::Plaintext));
    assert_eq!(names(&row), ["PeerAuthentication/istio-system/default"]);
}

#[test]
fn a_namespace_policy_overrides_the_mesh_policy() {
    let objects = [injected("demo"), strict(), pa("ns", "demo", &[], Some("PERMISSIVE"), &[])];
    assert_eq!(run(&objects, &flow(pod("outside"), &app("demo"), 8080, None, svc())).verdict, Verdict::Allow);
}

#[test]
fn unset_namespace_mode_inherits_the_mesh_mode() {
    let objects = [injected("demo"), strict(), pa("ns", "demo", &[], Some("UNSET"), &[])];
    assert_eq!(run(&objects, &flow(pod("outside"), &app("demo"), 8080, None, svc())).verdict, Verdict::Deny);
}

#[test]
fn port_level_permissive_opens_only_that_port_of_the_selected_workload() {
    let objects = [injected("demo"), strict(), pa("hook", "demo", &[("app", "web")], None, &[(8443, "PERMISSIVE")])];
    let on_port = run(&objects, &flow(pod("outside"), &app("demo"), 8443, None, svc()));
    assert_eq!(on_port.verdict, Verdict::Allow);
    assert_eq!(names(&on_port), ["PeerAuthentication/demo/hook"]);
    assert_eq!(run(&objects, &flow(pod("outside"), &app("demo"), 9090, None, svc())).verdict, Verdict::Deny);
    let other = Workload::pod("demo", "other", &[("app", "other")], "default");
    assert_eq!(run(&objects, &flow(pod("outside"), &other, 8443, None, svc())).verdict, Verdict::Deny);
}

#[test]
fn a_selector_policy_in_the_root_namespace_is_ignored() {
    let objects = [injected("istio-system"), strict(), pa("hook", ROOT, &[("app", "web")], Some("PERMISSIVE"), &[]), injected("demo")];
    assert_eq!(run(&objects, &flow(pod("outside"), &app("demo"), 8080, None, svc())).verdict, Verdict::Deny);
}

#[test]
fn sidecar_to_sidecar_through_a_service_is_mtls() {
    let objects = [injected("demo"), injected("other"), strict()];
    let row = run(&objects, &flow(pod("other"), &app("demo"), 8080, None, svc()));
    assert_eq!((row.verdict, row.transport), (Verdict::Allow, Transport::Mtls));
    assert!(row.from.sidecar && row.to.sidecar);
}

#[test]
fn a_pod_ip_call_gets_no_auto_mtls() {
    let objects = [injected("demo"), injected("other"), strict()];
    let row = run(&objects, &flow(pod("other"), &app("demo"), 8080, None, Call::PodIp));
    assert_eq!((row.verdict, row.transport), (Verdict::Deny, Transport::Plaintext));
    assert!(row.hops[0].plaintext_in_mesh);
}

fn headless(name: &str, ns: &str, selector: &[(&str, &str)], port: i32, port_name: &str, app_protocol: Option<&str>) -> Object {
    use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
    Object::from(Service {
        metadata: meta(name, ns),
        spec: Some(ServiceSpec {
            selector: Some(labels(selector)),
            cluster_ip: Some("None".into()),
            ports: Some(vec![ServicePort {
                name: Some(port_name.into()),
                port,
                app_protocol: app_protocol.map(str::to_string),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// `listener.go:489-494` (1.29.6) builds a listener per pod IP only for a headless Service's TCP
/// (or unsupported) ports, and `cluster_tls.go:93-95` keeps ISTIO_MUTUAL on its ORIGINAL_DST
/// cluster: a pod-IP call on a TCP port (by name or `appProtocol`) is mTLS.
#[test]
fn a_pod_ip_call_covered_by_a_headless_tcp_service_gets_mtls() {
    for (name, app_protocol) in [("tcp-metrics", None), ("metrics", Some("tcp")), ("http-metrics", Some("tcp"))] {
        let objects =
            [injected("demo"), injected("other"), strict(), headless("web-metrics", "demo", &[("app", "web")], 8080, name, app_protocol)];
        let row = run(&objects, &flow(pod("other"), &app("demo"), 8080, None, Call::PodIp));
        assert_eq!((row.verdict, row.transport), (Verdict::Allow, Transport::Mtls), "{name} {app_protocol:?}");
        assert!(row.decided_by.iter().any(|d| d.kind == "Service" && d.name == "web-metrics"), "{:?}", row.decided_by);
    }
}

/// An HTTP port of a headless Service is served on `0.0.0.0:<port>` with hostname domains only
/// (`httproute.go:570-574`; `endpointslice.go:113,140`): a pod-IP call goes to PassthroughCluster in
/// plaintext, and a STRICT sidecar refuses it (istio/istio#36725, #34679). Neither does a headless
/// Service on another port, selector or namespace cover it.
#[test]
fn a_headless_http_service_or_one_on_another_port_selector_or_namespace_does_not_cover_a_pod_ip_call() {
    for other in [
        headless("m", "demo", &[("app", "web")], 8080, "http-metrics", None),
        headless("m", "demo", &[("app", "web")], 8080, "metrics", Some("http")),
        headless("m", "demo", &[("app", "web")], 8080, "grpc-metrics", None),
        headless("m", "demo", &[("app", "web")], 9090, "tcp-metrics", None),
        headless("m", "demo", &[("app", "db")], 8080, "tcp-metrics", None),
        headless("m", "other", &[("app", "web")], 8080, "tcp-metrics", None),
    ] {
        let objects = [injected("demo"), injected("other"), strict(), other];
        let row = run(&objects, &flow(pod("other"), &app("demo"), 8080, None, Call::PodIp));
        assert_eq!((row.verdict, row.transport), (Verdict::Deny, Transport::Plaintext));
    }
}

#[test]
fn a_pod_without_injection_has_no_sidecar_and_no_policy_applies() {
    let objects = [strict(), ap("deny-all", "demo", "ALLOW", &[], Vec::new())];
    let row = run(&objects, &flow(pod("outside"), &app("demo"), 8080, None, svc()));
    assert_eq!((row.verdict, row.transport, row.to.sidecar), (Verdict::Allow, Transport::Plaintext, false));
}

#[test]
fn the_inject_false_label_on_the_pod_template_opts_out() {
    let objects = [injected("demo"), strict(), deployment("app", "demo", &[("sidecar.istio.io/inject", "false")], &[])];
    let row = run(&objects, &flow(pod("outside"), &app("demo"), 8080, None, svc()));
    assert_eq!((row.verdict, row.to.sidecar), (Verdict::Allow, false));
}

#[test]
fn the_inject_false_annotation_also_opts_out() {
    let objects = [injected("demo"), strict(), deployment("app", "demo", &[], &[("sidecar.istio.io/inject", "false")])];
    assert!(!run(&objects, &flow(pod("outside"), &app("demo"), 8080, None, svc())).to.sidecar);
}

#[test]
fn calls_to_gateway_pods_are_plaintext_and_peer_authentication_does_not_apply() {
    let objects = [injected("demo"), strict()];
    let gw = gateway(ROOT, "local");
    let row = run(&objects, &flow(pod("demo"), &gw, 80, None, svc()));
    assert_eq!((row.verdict, row.transport, row.to.sidecar), (Verdict::Allow, Transport::Plaintext, false));
}

#[test]
fn a_gateway_sends_mtls_to_sidecars_with_its_own_identity() {
    let objects = [
        injected("demo"),
        strict(),
        ap("allow", "demo", "ALLOW", &[], vec![rule(&[], &["cluster.local/ns/istio-system/sa/local-istio"], &[], &[])]),
    ];
    let row = run(&objects, &flow(gateway(ROOT, "local"), &app("demo"), 8012, None, svc()));
    assert_eq!((row.verdict, row.transport), (Verdict::Allow, Transport::Mtls));
}

/// Issue 22 (Istio's config generator in the oracle): a DestinationRule's host-level `tls` applies
/// to every port of the host, a `portLevelSettings` entry only to its port (istio 1.29.6
/// `pilot/pkg/networking/util/util.go:808-835`). The picker's self-signed TLS on 9002 must not turn
/// a sidecar's call to another port of its Service into one-way TLS that STRICT refuses.
#[test]
fn a_destination_rules_tls_applies_to_the_ports_it_names() {
    let simple = || Some(ClientTls { mode: "SIMPLE".into(), insecure_skip_verify: Some(true) });
    let dr_with = |policy: TrafficPolicy| {
        let mut dr =
            DestinationRule::new("web", DestinationRuleSpec { host: "web.demo.svc.cluster.local".into(), traffic_policy: Some(policy) });
        dr.metadata = meta("web", "demo");
        Object::from(dr)
    };
    let call = || Call::Service { host: Some("web.demo.svc.cluster.local".into()) };
    let host_level = dr_with(TrafficPolicy { tls: simple(), ..Default::default() });
    let row = run(&[injected("demo"), injected("other"), strict(), host_level], &flow(pod("other"), &app("demo"), 9090, None, call()));
    assert_eq!((row.verdict, row.transport), (Verdict::Deny, Transport::Plaintext), "{}", row.reason);
    let port_level = || {
        dr_with(TrafficPolicy {
            tls: None,
            port_level_settings: vec![PortTrafficPolicy { port: PortSelector { number: 9002 }, tls: simple() }],
        })
    };
    let row = run(&[injected("demo"), injected("other"), strict(), port_level()], &flow(pod("other"), &app("demo"), 9090, None, call()));
    assert_eq!((row.verdict, row.transport), (Verdict::Allow, Transport::Mtls), "{}", row.reason);
    let row = run(&[injected("demo"), injected("other"), strict(), port_level()], &flow(pod("other"), &app("demo"), 9002, None, call()));
    assert_eq!(row.transport, Transport::Plaintext, "{}", row.reason);
}

#[test]
fn a_destination_rule_disabling_tls_makes_the_call_plaintext() {
    let mut dr = DestinationRule::new(
        "web",
        DestinationRuleSpec {
            host: "web.demo.svc.cluster.local".into(),
            traffic_policy: Some(TrafficPolicy {
                tls: Some(ClientTls { mode: "DISABLE".into(), insecure_skip_verify: None }),
                ..Default::default()
            }),
        },
    );
    dr.metadata = meta("web", "demo");
    let objects = [injected("demo"), injected("other"), strict(), Object::from(dr)];
    let call = Call::Service { host: Some("web.demo.svc.cluster.local".into()) };
    let row = run(&objects, &flow(pod("other"), &app("demo"), 8080, None, call));
    assert_eq!((row.verdict, row.transport), (Verdict::Deny, Transport::Plaintext));
    assert_eq!(names(&row), ["DestinationRule/demo/web", "PeerAuthentication/istio-system/default"]);
}

#[test]
fn a_disabled_namespace_turns_auto_mtls_off() {
    let objects = [injected("demo"), injected("other"), pa("ns", "demo", &[], Some("DISABLE"), &[])];
    let row = run(&objects, &flow(pod("other"), &app("demo"), 8080, None, svc()));
    assert_eq!((row.verdict, row.transport), (Verdict::Allow, Transport::Plaintext));
}

#[test]
fn an_excluded_inbound_port_bypasses_the_sidecar() {
    let objects = [
        injected("demo"),
        strict(),
        deployment("app", "demo", &[], &[("traffic.sidecar.istio.io/excludeInboundPorts", "9002,9003")]),
        ap("deny-all", "demo", "ALLOW", &[], Vec::new()),
    ];
    let row = run(&objects, &flow(pod("outside"), &app("demo"), 9002, None, svc()));
    assert_eq!((row.verdict, row.transport), (Verdict::Allow, Transport::Bypass));
    assert_eq!(names(&row), ["Deployment/demo/app"]);
    assert_eq!(run(&objects, &flow(pod("outside"), &app("demo"), 9004, None, svc())).verdict, Verdict::Deny);
}

#[test]
fn kubelet_probes_are_rewritten_to_pilot_agent() {
    let objects = [injected("demo"), strict(), ap("deny-all", "demo", "ALLOW", &[], Vec::new())];
    let row = run(&objects, &flow(Workload::host("kubelet"), &app("demo"), 8012, None, Call::Kubelet));
    assert_eq!((row.verdict, row.transport), (Verdict::Allow, Transport::Bypass));
}

#[test]
fn without_probe_rewriting_kubelet_is_a_plaintext_caller() {
    let objects = [injected("demo"), strict(), deployment("app", "demo", &[], &[("sidecar.istio.io/rewriteAppHTTPProbers", "false")])];
    let row = run(&objects, &flow(Workload::host("kubelet"), &app("demo"), 8012, None, Call::Kubelet));
    assert_eq!((row.verdict, row.transport), (Verdict::Deny, Transport::Plaintext));
}

#[test]
fn no_allow_policy_allows() {
    let row = run(&[injected("demo"), injected("other")], &flow(pod("other"), &app("demo"), 8080, None, svc()));
    assert_eq!(row.verdict, Verdict::Allow);
    assert!(row.decided_by.is_empty());
}

#[test]
fn an_allow_policy_that_does_not_match_denies() {
    let objects = [injected("demo"), injected("other"), ap("allow", "demo", "ALLOW", &[], vec![rule(&["demo"], &[], &[], &[])])];
    let row = run(&objects, &flow(pod("other"), &app("demo"), 8080, None, svc()));
    assert_eq!(row.verdict, Verdict::Deny);
    assert_eq!(names(&row), ["AuthorizationPolicy/demo/allow"]);
}

#[test]
fn a_matching_allow_rule_is_named_with_its_index() {
    let objects = [
        injected("demo"),
        injected("other"),
        ap("allow", "demo", "ALLOW", &[], vec![rule(&["demo"], &[], &[], &[]), rule(&["oth*"], &[], &[], &[])]),
    ];
    let row = run(&objects, &flow(pod("other"), &app("demo"), 8080, None, svc()));
    assert_eq!((row.verdict, names(&row)), (Verdict::Allow, vec!["AuthorizationPolicy/demo/allow#1".to_string()]));
}

#[test]
fn an_allow_policy_without_rules_denies_everything() {
    let objects = [injected("demo"), injected("other"), ap("nothing", "demo", "ALLOW", &[], Vec::new())];
    assert_eq!(run(&objects, &flow(pod("other"), &app("demo"), 8080, None, svc())).verdict, Verdict::Deny);
}

#[test]
fn an_empty_rule_matches_every_request() {
    let objects = [injected("demo"), ap("all", "demo", "ALLOW", &[], vec![AuthorizationRule::default()])];
    assert_eq!(run(&objects, &flow(pod("outside"), &app("demo"), 8080, None, svc())).verdict, Verdict::Allow);
}

#[test]
fn deny_policies_come_before_allow_policies() {
    let objects = [
        injected("demo"),
        injected("other"),
        ap("allow", "demo", "ALLOW", &[], vec![AuthorizationRule::default()]),
        ap("block", "demo", "DENY", &[], vec![rule(&["other"], &[], &[], &[])]),
    ];
    let row = run(&objects, &flow(pod("other"), &app("demo"), 8080, None, svc()));
    assert_eq!((row.verdict, names(&row)), (Verdict::Deny, vec!["AuthorizationPolicy/demo/block#0".to_string()]));
}

/// `source.notPrincipals` matches a caller whose principal is not listed and a caller without one
/// (plaintext): istio.io's "deny requests without principals" is DENY with `notPrincipals: ["*"]`.
#[test]
fn not_principals_match_other_identities_and_plaintext_but_not_a_listed_principal() {
    let deny = AuthorizationRule {
        from: vec![RuleFrom { source: Source { not_principals: vec!["cluster.local/ns/other/sa/client".into()], ..Default::default() } }],
        to: Vec::new(),
    };
    let objects = [
        injected("demo"),
        injected("other"),
        ap("allow", "demo", "ALLOW", &[], vec![AuthorizationRule::default()]),
        ap("block", "demo", "DENY", &[], vec![deny]),
    ];
    let listed = Workload::pod("other", "client", &[], "client");
    assert_eq!(run(&objects, &flow(listed, &app("demo"), 8080, None, svc())).verdict, Verdict::Allow);
    let row = run(&objects, &flow(pod("other"), &app("demo"), 8080, None, svc()));
    assert_eq!((row.verdict, names(&row)), (Verdict::Deny, vec!["AuthorizationPolicy/demo/block#0".to_string()]));
    let row = run(&objects, &flow(pod("outside"), &app("demo"), 8080, None, svc()));
    assert_eq!((row.verdict, row.transport), (Verdict::Deny, Transport::Plaintext));
    assert_eq!(names(&row), ["AuthorizationPolicy/demo/block#0"]);
}

/// `operation.notPorts` (istio 1.29.6 `pilot/pkg/security/authz/model/model.go:140`): an ALLOW
/// rule with `notPorts` matches every port but the listed ones, ANDed with `ports`; a rule without
/// `to` matches every port, so `rule_admits_port` says it opens 8022.
#[test]
fn not_ports_exclude_the_listed_ports_from_an_allow_rule() {
    let mut allow = rule(&["other"], &[], &[], &[]);
    allow.to = vec![RuleTo { operation: Operation { not_ports: vec!["8022".into(), "9090".into()], ..Default::default() } }];
    assert!(!rule_admits_port(&allow, 8022) && rule_admits_port(&allow, 8012));
    assert!(rule_admits_port(&rule(&["other"], &[], &[], &[]), 8022), "no `to`: every port");
    let objects = [injected("demo"), injected("other"), ap("allow", "demo", "ALLOW", &[], vec![allow])];
    assert_eq!(run(&objects, &flow(pod("other"), &app("demo"), 8012, None, svc())).verdict, Verdict::Allow);
    let row = run(&objects, &flow(pod("other"), &app("demo"), 8022, Some("/wait-for-drain"), svc()));
    assert_eq!((row.verdict, names(&row)), (Verdict::Deny, vec!["AuthorizationPolicy/demo/allow".to_string()]));
    // Both lists: a port must be in `ports` and in no `notPorts`.
    let mut both = rule(&["other"], &[], &[8012, 8022], &[]);
    both.to[0].operation.not_ports = vec!["8022".into()];
    assert!(rule_admits_port(&both, 8012) && !rule_admits_port(&both, 8022) && !rule_admits_port(&both, 9090));
}

#[test]
fn source_namespaces_never_match_plaintext() {
    // PERMISSIVE lets the plaintext call in; the ALLOW rule on its namespace still cannot see it.
    let objects = [injected("demo"), ap("allow", "demo", "ALLOW", &[], vec![rule(&["outside"], &[], &[], &[])])];
    let row = run(&objects, &flow(pod("outside"), &app("demo"), 8080, None, svc()));
    assert_eq!((row.verdict, row.transport), (Verdict::Deny, Transport::Plaintext));
}

#[test]
fn source_principals_name_the_callers_service_account() {
    let objects = [
        injected("demo"),
        injected("other"),
        ap("allow", "demo", "ALLOW", &[], vec![rule(&[], &["cluster.local/ns/other/sa/client"], &[], &[])]),
    ];
    let client = Workload::pod("other", "client", &[], "client");
    assert_eq!(run(&objects, &flow(client, &app("demo"), 8080, None, svc())).verdict, Verdict::Allow);
    assert_eq!(run(&objects, &flow(pod("other"), &app("demo"), 8080, None, svc())).verdict, Verdict::Deny);
}

#[test]
fn operation_ports_restrict_a_rule_to_those_ports() {
    let objects = [injected("demo"), injected("other"), ap("allow", "demo", "ALLOW", &[], vec![rule(&["other"], &[], &[8012], &[])])];
    assert_eq!(run(&objects, &flow(pod("other"), &app("demo"), 8012, None, svc())).verdict, Verdict::Allow);
    assert_eq!(run(&objects, &flow(pod("other"), &app("demo"), 8022, None, svc())).verdict, Verdict::Deny);
}

#[test]
fn operation_paths_cover_only_requests_for_those_paths() {
    let objects = [injected("demo"), ap("allow", "demo", "ALLOW", &[], vec![rule(&[], &[], &[], &["/healthz", "/api/*"])])];
    assert_eq!(run(&objects, &flow(pod("outside"), &app("demo"), 8012, Some("/healthz"), svc())).verdict, Verdict::Allow);
    assert_eq!(run(&objects, &flow(pod("outside"), &app("demo"), 8012, Some("/api/v1"), svc())).verdict, Verdict::Allow);
    assert_eq!(run(&objects, &flow(pod("outside"), &app("demo"), 8012, Some("/admin"), svc())).verdict, Verdict::Deny);
    assert_eq!(run(&objects, &flow(pod("outside"), &app("demo"), 8012, None, svc())).verdict, Verdict::Deny);
}

#[test]
fn a_selector_scopes_a_policy_to_matching_pods() {
    let objects =
        [injected("demo"), injected("other"), ap("web-only", "demo", "ALLOW", &[("app", "web")], vec![rule(&["demo"], &[], &[], &[])])];
    assert_eq!(run(&objects, &flow(pod("other"), &app("demo"), 8080, None, svc())).verdict, Verdict::Deny);
    assert_eq!(run(&objects, &flow(pod("other"), &pod("demo"), 8080, None, svc())).verdict, Verdict::Allow);
}

#[test]
fn a_policy_in_the_root_namespace_applies_to_every_namespace() {
    let objects = [injected("demo"), injected("other"), ap("mesh", ROOT, "ALLOW", &[], vec![rule(&["demo"], &[], &[], &[])])];
    assert_eq!(run(&objects, &flow(pod("other"), &app("demo"), 8080, None, svc())).verdict, Verdict::Deny);
}

#[test]
fn through_a_gateway_the_second_hop_carries_the_gateways_identity() {
    let objects = [injected("demo"), injected("other"), strict(), ap("allow", "demo", "ALLOW", &[], vec![rule(&[ROOT], &[], &[], &[])])];
    let gw = gateway(ROOT, "local");
    let two_hops = Flow {
        hops: vec![Hop { to: gw, port: 80, path: None, call: svc() }, Hop { to: app("demo"), port: 8012, path: None, call: svc() }],
        ..flow(pod("other"), &app("demo"), 8012, None, svc())
    };
    let row = run(&objects, &two_hops);
    assert_eq!((row.verdict, row.transport), (Verdict::Allow, Transport::Plaintext));
    assert_eq!(row.via.as_ref().map(|v| v.workload.as_str()), Some("local-istio"));
    assert_eq!(names(&row), ["AuthorizationPolicy/demo/allow#0"]);
    // Without the gateway the same caller is refused.
    assert_eq!(run(&objects, &flow(pod("other"), &app("demo"), 8012, None, svc())).verdict, Verdict::Deny);
}

fn network_policy(
    name: &str,
    ns: &str,
    selector: &[(&str, &str)],
    rules: Vec<k8s_openapi::api::networking::v1::NetworkPolicyIngressRule>,
) -> Object {
    use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicySpec};
    Object::from(NetworkPolicy {
        metadata: meta(name, ns),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector { match_labels: Some(labels(selector)), match_expressions: None }),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(rules),
            egress: None,
        }),
    })
}

fn tcp(port: i32, end: Option<i32>) -> k8s_openapi::api::networking::v1::NetworkPolicyPort {
    k8s_openapi::api::networking::v1::NetworkPolicyPort {
        protocol: Some("TCP".into()),
        port: Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(port)),
        end_port: end,
    }
}

/// Kubernetes NetworkPolicy (kubernetes/website `network-policies.md`): a selected pod accepts only
/// what some ingress rule allows; a namespace selector matches `kubernetes.io/metadata.name`
/// (`In`); a rule without `from` admits every source on its ports (`endPort` ranges); the node's
/// kubelet always gets through; a pod no policy selects is not isolated.
#[test]
fn a_network_policy_admits_only_its_namespaces_on_its_port() {
    use k8s_openapi::api::networking::v1::{NetworkPolicyIngressRule, NetworkPolicyPeer};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    let gw = gateway(ROOT, "local");
    let mesh_only = NetworkPolicyIngressRule {
        from: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: None,
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: "kubernetes.io/metadata.name".into(),
                    operator: "In".into(),
                    values: Some(vec!["demo".into()]),
                }]),
            }),
            ..Default::default()
        }]),
        ports: Some(vec![tcp(80, None)]),
    };
    let rest = NetworkPolicyIngressRule { from: None, ports: Some(vec![tcp(1, Some(79)), tcp(81, Some(65535))]) };
    let objects = [injected("demo"), strict(), network_policy("mesh-only", ROOT, &[(GATEWAY_NAME_LABEL, "local")], vec![mesh_only, rest])];
    let inside = run(&objects, &flow(pod("demo"), &gw, 80, None, svc()));
    assert_eq!(inside.verdict, Verdict::Allow, "{}", inside.reason);
    let outside = run(&objects, &flow(pod("default"), &gw, 80, None, svc()));
    assert_eq!(
        (outside.verdict, names(&outside)),
        (Verdict::Deny, vec!["NetworkPolicy/istio-system/mesh-only".to_string()]),
        "{}",
        outside.reason
    );
    for port in [15021, 15090, 79, 81] {
        assert_eq!(run(&objects, &flow(pod("default"), &gw, port, None, svc())).verdict, Verdict::Allow, "port {port}: every source");
    }
    assert_eq!(
        run(&objects, &flow(pod("default"), &gw, 80, None, Call::Kubelet)).verdict,
        Verdict::Allow,
        "the node is always let through"
    );
    let other_gateway = gateway(ROOT, "other");
    assert_eq!(run(&objects, &flow(pod("default"), &other_gateway, 80, None, svc())).verdict, Verdict::Allow, "not selected: not isolated");
}
