//! The flow evaluator agrees with the rendered objects: changing one policy changes exactly the
//! rows that policy decides, and the playground keeps every needed flow and refuses every refused one.

mod common;

use mesh_render::check::flows::{self, Need, Row, Transport, Verdict};
use mesh_render::config::syntax::Limits;
use mesh_render::{Manifest, Object};

const CONFIG: &str = "\
components:
  knative:
    enabled: true
    eventing: {enabled: true}
  istio:
    enabled: true
    version: \"1.29.8\"
    namespaces:
      apps: [demo, event-demo]
";

fn render(text: &str) -> (mesh_render::Loaded, Vec<Manifest>) {
    let loaded = mesh_render::load(text, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
    let manifests = mesh_render::render(&loaded).manifests;
    (loaded, manifests)
}

fn rows(loaded: &mesh_render::Loaded, manifests: &[Manifest]) -> Vec<Row> {
    flows::evaluate(loaded.selected(), manifests.iter().map(|m| &m.object))
}

/// Pairs of (before, after) rows that differ in verdict, transport or deciders.
fn changed<'a>(before: &'a [Row], after: &'a [Row]) -> Vec<(&'a Row, &'a Row)> {
    assert_eq!(before.len(), after.len());
    before.iter().zip(after).filter(|(b, a)| b != a).collect()
}

#[test]
fn removing_the_gateway_principals_from_one_app_policy_changes_exactly_the_gateway_rows_into_that_namespace() {
    let (loaded, manifests) = render(CONFIG);
    let before = rows(&loaded, &manifests);
    let mut edited = manifests.clone();
    let mut touched = 0;
    for m in &mut edited {
        if let Object::AuthorizationPolicy(p) = &mut m.object {
            if p.metadata.namespace.as_deref() == Some("demo") {
                for rule in &mut p.spec.rules {
                    for f in &mut rule.from {
                        let n = f.source.principals.len();
                        f.source.principals.retain(|p| !p.starts_with("cluster.local/ns/istio-system/"));
                        touched += n - f.source.principals.len();
                    }
                    rule.from.retain(|f| !f.source.principals.is_empty() || !f.source.namespaces.is_empty());
                }
                p.spec.rules.retain(|r| !r.from.is_empty());
            }
        }
    }
    assert!(touched > 0, "the app policy names the gateways by principal");
    let after = rows(&loaded, &edited);
    let diff = changed(&before, &after);
    // Every row whose last hop comes from a gateway into demo, and only those, is now denied.
    let expected: Vec<&Row> = before
        .iter()
        .filter(|r| r.to.namespace == "demo" && (r.from.namespace == "istio-system" || r.via.is_some()) && r.verdict == Verdict::Allow)
        .collect();
    assert!(expected.len() >= 5, "{expected:#?}");
    assert_eq!(diff.iter().map(|(b, _)| *b).collect::<Vec<_>>(), expected);
    for (_, a) in &diff {
        assert_eq!(a.verdict, Verdict::Deny, "{a:#?}");
    }
}

#[test]
fn moving_one_webhook_exception_to_another_port_changes_exactly_that_webhook_row() {
    let (loaded, manifests) = render(CONFIG);
    let before = rows(&loaded, &manifests);
    let mut edited = manifests.clone();
    for m in &mut edited {
        if let Object::PeerAuthentication(p) = &mut m.object {
            if p.metadata.name.as_deref() == Some("eventing-webhook") {
                let mode = p.spec.port_level_mtls.remove("8443").expect("8443 exception");
                p.spec.port_level_mtls.insert("9443".into(), mode);
            }
        }
    }
    let after = rows(&loaded, &edited);
    let diff = changed(&before, &after);
    assert_eq!(diff.len(), 1, "{diff:#?}");
    let (b, a) = diff[0];
    assert_eq!((b.from.workload.as_str(), b.to.workload.as_str(), b.port), ("kube-apiserver", "eventing-webhook", 8443));
    assert_eq!((b.verdict, a.verdict), (Verdict::Allow, Verdict::Deny));
}

#[test]
fn dropping_injection_from_an_app_namespace_turns_its_rows_plaintext_and_unchecked() {
    let (loaded, manifests) = render(CONFIG);
    let before = rows(&loaded, &manifests);
    let edited: Vec<Manifest> = manifests
        .iter()
        .filter(|m| !matches!(&m.object, Object::Namespace(n) if n.metadata.name.as_deref() == Some("event-demo")))
        .cloned()
        .collect();
    let after = rows(&loaded, &edited);
    for (b, _) in changed(&before, &after) {
        assert!(b.to.namespace == "event-demo" || b.from.namespace == "event-demo", "{b:#?}");
    }
    // Every call into event-demo is now unchecked there; only a call refused on the way is still
    // denied, before it reaches event-demo: by the activator's own policy (`activator-callers`), or
    // at the local gateway by its NetworkPolicy (a pod outside the mesh).
    let into: Vec<&Row> = after.iter().filter(|r| r.to.namespace == "event-demo").collect();
    assert!(into.iter().all(|r| !r.to.sidecar), "{into:#?}");
    for r in &into {
        let denied_on_the_way = r.via.is_some()
            && r.hops[0].verdict == Verdict::Deny
            && ["activator", "knative-local-gateway-istio"].contains(&r.hops[0].to.workload.as_str());
        assert!(r.verdict == Verdict::Allow || denied_on_the_way, "{r:#?}");
    }
    assert!(into.iter().any(|r| r.verdict == Verdict::Deny), "the activator still refuses another namespace's pod");
}

#[test]
fn every_golden_config_keeps_its_needed_flows_and_refuses_its_refused_ones() {
    for case in common::golden_cases() {
        let loaded = case.loaded();
        let rows = flows::evaluate(loaded.selected(), mesh_render::render(&loaded).manifests.iter().map(|m| &m.object));
        for r in &rows {
            match r.need {
                Need::Needed => assert_eq!(r.verdict, Verdict::Allow, "{}: {r:#?}", case.snapshot_name()),
                Need::Refused => assert_eq!(r.verdict, Verdict::Deny, "{}: {r:#?}", case.snapshot_name()),
                Need::Info => {}
            }
        }
    }
}

#[test]
fn the_playground_lists_every_catalogued_flow_kind() {
    let case = common::golden_cases().into_iter().find(|c| c.name == "playground" && c.env.is_none()).expect("playground");
    let loaded = case.loaded();
    let rows = flows::evaluate(loaded.selected(), mesh_render::render(&loaded).manifests.iter().map(|m| &m.object));
    for purpose in [
        "external gateway -> revision (http1)",
        "activator -> revision",
        "autoscaler -> queue-proxy metrics",
        "net-gateway-api prober -> gateway pods",
        "kubelet probe -> queue-proxy",
        "kubelet preStop hook -> queue-proxy drain",
        "kube-apiserver -> admission webhook",
        "broker filter -> Knative Service subscriber (through the local gateway)",
        "channel dispatcher -> Knative Service subscriber (through the local gateway)",
        "PingSource adapter -> broker ingress",
        "pod -> Knative Service of its own namespace (through the local gateway)",
        "pod of another app namespace -> revision",
        "pod outside the mesh -> revision",
        "Prometheus -> merged Istio metrics",
    ] {
        assert!(rows.iter().any(|r| r.purpose == purpose), "missing: {purpose}");
    }
    // Facts a real cluster shows: probes bypass the sidecar, webhooks take plaintext, the gateway
    // hop is plaintext, app-to-app is refused over mTLS.
    let find = |purpose: &str| rows.iter().find(|r| r.purpose == purpose).expect(purpose);
    assert_eq!(find("kubelet probe -> queue-proxy").transport, Transport::Bypass);
    assert_eq!(find("kube-apiserver -> admission webhook").transport, Transport::Plaintext);
    assert_eq!(find("activator -> revision").transport, Transport::Mtls);
    let cross = find("pod of another app namespace -> revision");
    assert_eq!((cross.verdict, cross.transport), (Verdict::Deny, Transport::Mtls));
    // Issue 22 (Istio's config generator in the oracle): no Service targets queue-proxy's admin port
    // 8022, so another app's pod reaches it by pod IP, in plaintext, and STRICT refuses it.
    let drain = find("pod of another app namespace -> queue-proxy drain");
    assert_eq!((drain.verdict, drain.transport), (Verdict::Deny, Transport::Plaintext), "{}", drain.reason);
    assert!(drain.decided_by.iter().any(|d| d.to_string().starts_with("PeerAuthentication/")), "{drain:#?}");
}

#[test]
fn json_rows_have_the_documented_fields() {
    let (loaded, manifests) = render(CONFIG);
    let json: serde_json::Value = serde_json::from_str(&flows::to_json(&rows(&loaded, &manifests))).unwrap();
    let row = json.as_array().unwrap().iter().find(|r| r["via"].is_object()).expect("a row through a gateway");
    let mut keys: Vec<&str> = row.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["call", "decided_by", "from", "need", "port", "purpose", "reason", "to", "transport", "verdict", "via", "via_call"]);
    let calls: std::collections::BTreeSet<&str> = json.as_array().unwrap().iter().filter_map(|r| r["call"].as_str()).collect();
    assert_eq!(calls.into_iter().collect::<Vec<_>>(), ["kubelet", "pod-ip", "service"]);
    let mut end: Vec<&str> = row["from"].as_object().unwrap().keys().map(String::as_str).collect();
    end.sort();
    assert_eq!(end, ["namespace", "sidecar", "workload"]);
    assert!(json.as_array().unwrap().iter().any(|r| r["path"].is_string()));
    assert!(json.as_array().unwrap().iter().any(|r| r["decided_by"][0]["rule"].is_number()));
}

/// The rows of one app namespace per class of alike namespaces (what the analyzers evaluate).
fn rows_by_class(loaded: &mesh_render::Loaded, manifests: &[Manifest]) -> Vec<Row> {
    let objects: Vec<&Object> = manifests.iter().map(|m| &m.object).collect();
    let mut out = Vec::new();
    flows::for_each_row_by_class(loaded.selected(), &objects, |r| out.push(r));
    out
}

/// What a row says, without the names of the app namespaces it runs between.
fn shape(r: &Row) -> String {
    let deciders: Vec<String> = r.decided_by.iter().map(|d| format!("{}#{:?}", d.kind, d.rule)).collect();
    format!(
        "{}|{:?}|{:?}|{:?}|{}|{:?}|{}|{}|{:?}",
        r.purpose, r.need, r.verdict, r.transport, r.port, r.path, r.from.sidecar, r.to.sidecar, deciders
    )
}

/// Rule: evaluating one app namespace per class loses no verdict. On every golden config and on a
/// mesh of 30 identical apps, the reduced rows say what the full rows say (same shapes); a namespace
/// whose policy differs forms its own class, so its rows (and its neighbour's) are evaluated by name.
#[test]
fn evaluating_one_namespace_per_class_keeps_every_verdict() {
    let mut texts: Vec<String> = common::golden_cases().iter().map(|c| c.text()).collect();
    let apps: Vec<String> = (0..30).map(|i| format!("app-{i:02}")).collect();
    let many = CONFIG.replace("apps: [demo, event-demo]", &format!("apps: [{}]", apps.join(", ")));
    texts.push(many.clone());
    for text in &texts {
        let (loaded, manifests) = render(text);
        let full: std::collections::BTreeSet<String> = rows(&loaded, &manifests).iter().map(shape).collect();
        let reduced: std::collections::BTreeSet<String> = rows_by_class(&loaded, &manifests).iter().map(shape).collect();
        assert_eq!(full, reduced, "{text}");
    }
    let (loaded, manifests) = render(&many);
    assert!(rows_by_class(&loaded, &manifests).len() * 5 < rows(&loaded, &manifests).len(), "30 alike apps are evaluated as one");

    // app-17 loses its ALLOW policy: every pod may call it. Its rows come out by name.
    let broken: Vec<Manifest> = manifests
        .into_iter()
        .filter(|m| !(m.object.kind() == "AuthorizationPolicy" && m.object.metadata().namespace.as_deref() == Some("app-17")))
        .collect();
    let full: Vec<Row> = rows(&loaded, &broken).into_iter().filter(|r| r.to.namespace == "app-17").collect();
    let reduced = rows_by_class(&loaded, &broken);
    assert!(full.iter().any(|r| r.need == Need::Refused && r.verdict == Verdict::Allow), "the broken namespace lets a refused call in");
    for r in &full {
        assert!(reduced.contains(r), "missing from the reduced rows: {r:?}");
    }
}

/// The classes the analyzers first used (issue 15): each app namespace's objects as JSON text, with
/// the name replaced as a whole string, a `.ns.` host part and a `/ns/<ns>/` principal part, sorted;
/// numbered by first appearance.
fn json_text_classes(apps: &[String], objects: &[&Object]) -> Vec<usize> {
    let mut numbers: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    apps.iter()
        .map(|ns| {
            let (quoted, host, principal) = (format!("\"{ns}\""), format!(".{ns}."), format!("/ns/{ns}/"));
            let mut parts: Vec<String> = objects
                .iter()
                .filter(|o| {
                    let m = o.metadata();
                    let own = if o.kind() == "Namespace" { &m.name } else { &m.namespace };
                    own.as_deref() == Some(ns.as_str())
                })
                .map(|o| {
                    let json = serde_json::to_string(o).unwrap();
                    json.replace(&quoted, "\"\u{1}NS\u{1}\"").replace(&host, ".\u{1}NS\u{1}.").replace(&principal, "/ns/\u{1}NS\u{1}/")
                })
                .collect();
            parts.sort();
            let next = numbers.len();
            *numbers.entry(parts.join("\n")).or_insert(next)
        })
        .collect()
}

/// Rule (issue 24): the classes of alike app namespaces, now computed from the typed values, are
/// the classes the JSON text gave: on every golden config, and on a mesh of 40 apps whose objects
/// are edited to be alike or not in the ways the name replacement decides (a principal or host
/// naming the own namespace, or another one; another port; a label key naming the namespace).
#[test]
fn app_classes_are_the_classes_the_json_text_gave() {
    for case in common::golden_cases() {
        let (loaded, rendered) = (case.loaded(), case.rendered());
        let objects: Vec<&Object> = rendered.manifests.iter().map(|m| &m.object).collect();
        let apps = &loaded.selected().apps;
        assert_eq!(flows::app_classes(apps, &objects), json_text_classes(apps, &objects), "{}", case.name);
    }
    let apps: Vec<String> = (0..40).map(|i| format!("app-{i:02}")).collect();
    let (loaded, mut manifests) = render(&CONFIG.replace("apps: [demo, event-demo]", &format!("apps: [{}]", apps.join(", "))));
    for m in &mut manifests {
        let ns = m.object.metadata().namespace.clone().unwrap_or_default();
        let Some(i) = apps.iter().position(|a| *a == ns) else { continue };
        let Object::AuthorizationPolicy(p) = &mut m.object else { continue };
        let principals = &mut p.spec.rules[1].from[0].source.principals;
        match i % 8 {
            // Its own service account (alike one another), another namespace's (each its own class).
            1 => principals.push(format!("cluster.local/ns/{ns}/sa/caller")),
            2 => principals.push(format!("cluster.local/ns/{}/sa/caller", apps[(i + 1) % apps.len()])),
            // A host part: its own namespace, and the same text in another namespace's policy.
            3 => principals.push(format!("caller.{ns}.svc")),
            4 => principals.push("caller.app-03.svc".to_string()),
            // A label key naming the namespace, and another port.
            5 => {
                p.metadata.labels.get_or_insert_with(Default::default).insert(ns.clone(), "x".into());
            }
            6 => p.spec.rules[0].to[0].operation.not_ports.push("9999".into()),
            _ => {}
        }
    }
    let objects: Vec<&Object> = manifests.iter().map(|m| &m.object).collect();
    let apps = &loaded.selected().apps;
    let expected = json_text_classes(apps, &objects);
    assert_eq!(flows::app_classes(apps, &objects), expected);
    let distinct: std::collections::BTreeSet<usize> = expected.iter().copied().collect();
    assert!(distinct.len() > 6 && distinct.len() < 20, "the edits make some classes, not one per app: {expected:?}");
}

/// Rule (issue 21 review, finding 3): `activator-callers` admits the activator's metrics port 9090
/// only to `security.prometheus.principals`, under PERMISSIVE as under STRICT: a Prometheus without a
/// sidecar, which could scrape the activator under PERMISSIVE before that policy existed, is refused,
/// and the row names the policy (not STRICT) as what refuses it. With a scraper configured, the
/// policy gains exactly one rule: its principals on 9090.
#[test]
fn activator_metrics_need_a_configured_scraper_identity_under_permissive_too() {
    let permissive = format!("{CONFIG}    mtls: {{mode: PERMISSIVE}}\n");
    let scrape = "    security:\n      prometheus: {principals: [cluster.local/ns/monitoring/sa/prometheus], ports: [9091]}\n";
    for (text, scraper) in [(permissive.clone(), false), (format!("{permissive}{scrape}"), true)] {
        let (loaded, manifests) = render(&text);
        let row =
            rows(&loaded, &manifests).into_iter().find(|r| r.purpose == "Prometheus outside the mesh -> activator metrics").expect("row");
        assert_eq!((row.need, row.verdict, row.transport), (Need::Refused, Verdict::Deny, Transport::Plaintext));
        let deciders: Vec<String> = row.decided_by.iter().map(|d| d.to_string()).collect();
        assert_eq!(deciders, ["PeerAuthentication/istio-system/default", "AuthorizationPolicy/knative-serving/activator-callers"]);
        let policy = manifests
            .iter()
            .find_map(|m| match &m.object {
                Object::AuthorizationPolicy(p) if p.metadata.name.as_deref() == Some("activator-callers") => Some(p.spec.clone()),
                _ => None,
            })
            .expect("activator-callers");
        let on_9090: Vec<Vec<String>> = policy
            .rules
            .iter()
            .filter(|r| r.to.iter().any(|t| t.operation.ports.contains(&"9090".to_string())))
            .map(|r| r.from.iter().flat_map(|f| f.source.principals.clone()).collect())
            .collect();
        let expected: Vec<Vec<String>> = if scraper { vec![vec!["cluster.local/ns/monitoring/sa/prometheus".into()]] } else { Vec::new() };
        assert_eq!(on_9090, expected, "scraper: {scraper}");
        assert!(policy.rules.iter().all(|r| !r.from.is_empty()), "no rule without `from`");
    }
}

/// Rule (issue 21 review, finding 1): the dispatchers of the configured Knative Kafka data planes
/// reach subscribers and sinks in app namespaces over mTLS, admitted by the eventing senders' rule
/// of `allow-mesh-and-knative` (rule 3) by their ServiceAccounts; a data plane the config does not
/// name and the KafkaSink's receiver are refused by that policy.
#[test]
fn kafka_dispatchers_deliver_to_app_namespaces_only_when_their_data_plane_is_configured() {
    let text = CONFIG.replace("eventing: {enabled: true}", "eventing: {enabled: true, kafka: {broker: true, source: true}}");
    let (loaded, manifests) = render(&text);
    let rows = rows(&loaded, &manifests);
    let into_demo = |purpose: &str| {
        rows.iter().find(|r| r.purpose == purpose && r.to.namespace == "demo").unwrap_or_else(|| panic!("no row {purpose}"))
    };
    let deciders = |r: &Row| r.decided_by.iter().map(|d| d.to_string()).collect::<Vec<_>>();
    for purpose in ["Kafka broker dispatcher -> Kubernetes Service subscriber", "KafkaSource dispatcher -> Kubernetes Service sink"] {
        let r = into_demo(purpose);
        assert_eq!((r.need, r.verdict, r.transport), (Need::Needed, Verdict::Allow, Transport::Mtls), "{purpose}");
        assert_eq!(deciders(r), ["AuthorizationPolicy/demo/allow-mesh-and-knative#3"], "{purpose}");
    }
    let through = into_demo("Kafka broker dispatcher -> Knative Service subscriber (through the local gateway)");
    assert_eq!((through.need, through.verdict), (Need::Needed, Verdict::Allow));
    for purpose in
        ["Kafka channel dispatcher (not configured) -> revision", "Kafka sink receiver (not a sender to subscribers) -> revision"]
    {
        let r = into_demo(purpose);
        assert_eq!((r.need, r.verdict, r.transport), (Need::Refused, Verdict::Deny, Transport::Mtls), "{purpose}");
        assert_eq!(deciders(r), ["AuthorizationPolicy/demo/allow-mesh-and-knative"], "{purpose}");
    }
    assert!(rows.iter().any(|r| r.purpose == "kube-apiserver -> admission webhook"
        && r.to.workload == "kafka-webhook-eventing"
        && r.verdict == Verdict::Allow));
    // Without `eventing.kafka` there is no Kafka row.
    let (loaded, manifests) = render(CONFIG);
    assert!(self::rows(&loaded, &manifests).iter().all(|r| !r.purpose.contains("Kafka")));
}

/// Rule (issue 21 point 5): under STRICT a pod outside the mesh's namespaces is refused at the
/// local gateway by the NetworkPolicy `knative-local-gateway-mesh-only`, a pod of another app
/// namespace still gets through (`info`, the gateway's identity reaches the app); under PERMISSIVE,
/// or with `gateways.local.meshOnly: false`, the outsider's row is `info` and allowed.
#[test]
fn the_local_gateway_refuses_pods_outside_the_mesh_under_strict() {
    let outsider = "pod outside the mesh -> Knative Service (through the local gateway)";
    let neighbour = "pod of another app namespace -> Knative Service (through the local gateway)";
    let find = |rows: &[Row], purpose: &str| rows.iter().find(|r| r.purpose == purpose).cloned().expect(purpose);
    let (loaded, manifests) = render(CONFIG);
    let all = rows(&loaded, &manifests);
    let out = find(&all, outsider);
    let deciders: Vec<String> = out.decided_by.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        (out.need, out.verdict, deciders),
        (Need::Refused, Verdict::Deny, vec!["NetworkPolicy/istio-system/knative-local-gateway-mesh-only".to_string()])
    );
    let near = find(&all, neighbour);
    assert_eq!((near.need, near.verdict, near.transport), (Need::Info, Verdict::Allow, Transport::Plaintext));
    for text in [format!("{CONFIG}    mtls: {{mode: PERMISSIVE}}\n"), format!("{CONFIG}    gateways: {{local: {{meshOnly: false}}}}\n")] {
        let (loaded, manifests) = render(&text);
        let out = find(&rows(&loaded, &manifests), outsider);
        assert_eq!((out.need, out.verdict), (Need::Info, Verdict::Allow), "{text}");
    }
}
