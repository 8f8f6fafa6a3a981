//! The generated docs (`docs/*.md`): rendered from templates and the real config, and committed.
//! A test fails when the committed files are stale (`make docs` regenerates them).

mod common;

use common::repo_root;
use mesh_render::config::syntax::Limits;

fn playground() -> mesh_render::Loaded {
    let text = std::fs::read_to_string(repo_root().join("config.yaml")).unwrap();
    mesh_render::load(&text, None, Limits::DEFAULT).unwrap()
}

fn golden(name: &str) -> mesh_render::Loaded {
    let text = std::fs::read_to_string(repo_root().join("golden").join(name).join("config.yaml")).unwrap();
    mesh_render::load(&text, None, Limits::DEFAULT).unwrap()
}

/// `make docs` writes exactly these files; a change to the config, the templates or the upgrade
/// table without regenerating them fails here.
#[test]
fn committed_docs_are_up_to_date_with_config_yaml() {
    let docs = mesh_render::docs::docs(&playground());
    assert_eq!(docs.keys().collect::<Vec<_>>(), ["ai-serving.md", "architecture.md", "upgrade-notes.md"]);
    let mut stale = Vec::new();
    for (name, text) in &docs {
        let path = repo_root().join("docs").join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(format!("docs/{name}"));
        }
    }
    assert!(stale.is_empty(), "stale: {stale:?}; run `make docs` and commit the result");
}

/// The check-code table of `docs/check-codes.md` is the analyzer registry's (`make docs` regenerates it).
#[test]
fn check_code_page_is_up_to_date_with_the_registry() {
    let page = std::fs::read_to_string(repo_root().join("docs/check-codes.md")).unwrap();
    let fresh = mesh_render::docs::with_check_codes_table(&page).expect("docs/check-codes.md has the check-codes markers");
    assert!(fresh == page, "the check-code table of docs/check-codes.md is stale; run `make docs` and commit the result");
    let table = mesh_render::docs::check_codes_table();
    for rule in mesh_render::check::rules() {
        assert!(table.contains(&format!("| `{}` | {} |", rule.code, rule.severity)), "{}", rule.code);
    }
    assert_eq!(table.lines().count(), mesh_render::check::rules().count() + 2);
}

/// GitHub renders the diagram only if it is valid Mermaid: alphanumeric ids, quoted labels,
/// balanced subgraphs, and edges between declared nodes.
#[test]
fn mermaid_diagrams_are_well_formed() {
    for (name, loaded) in [
        ("playground", playground()),
        ("ai-serving-pools", golden("ai-serving-pools")),
        ("ai-serving-one-pool", golden("ai-serving-one-pool")),
        ("minimal", golden("minimal")),
        ("permissive-no-tracing", golden("permissive-no-tracing")),
        ("many-apps-eventing", golden("many-apps-eventing")),
    ] {
        let diagram = mesh_render::docs::diagram(loaded.selected());
        check_mermaid(name, &diagram);
        let doc = &mesh_render::docs::docs(&loaded)["architecture.md"];
        assert!(doc.contains(&format!("```mermaid\n{diagram}```\n")), "{name}: the diagram is in architecture.md");
    }
}

/// Rule (issue 21): the diagram says what the policies admit. The app policies admit Knative and the
/// inference gateway by principal, never by namespace, and a dispatcher's event for a Knative Service
/// goes to the local gateway in plaintext (its address is the cluster-local URL), not to the app over mTLS.
#[test]
fn the_diagram_names_principals_and_the_plaintext_hop_of_events() {
    for name in ["many-apps-eventing", "ai-serving-pools"] {
        let diagram = mesh_render::docs::diagram(golden(name).selected());
        assert!(!diagram.contains("ALLOW from"), "{name}: an edge admits by namespace:\n{diagram}");
    }
    let diagram = mesh_render::docs::diagram(golden("many-apps-eventing").selected());
    assert!(diagram.contains("  dispatch -->|\"events to a Knative Service, plaintext HTTP 80\"| gwlocal"), "{diagram}");
    assert!(diagram.contains("  activator -->|\"mTLS, ALLOW sa activator :8012,8013\"| app0"), "{diagram}");
}

/// The example fleet page (`docs/fleet-example/fleet.md`, from golden/fleet-gpu) is up to date, and
/// every golden fleet's page draws a well-formed diagram with every cluster, network and east-west
/// gateway in it.
#[test]
fn fleet_pages_are_up_to_date_and_draw_every_cluster() {
    let page = mesh_render::docs::fleet_page(&golden("fleet-gpu"), "golden/fleet-gpu/config.yaml").expect("a fleet");
    let committed = std::fs::read_to_string(repo_root().join("docs/fleet-example/fleet.md")).unwrap_or_default();
    assert!(committed == page, "docs/fleet-example/fleet.md is stale; run `make docs` and commit the result");
    for name in ["fleet-one-network", "fleet-two-networks", "fleet-gpu"] {
        let loaded = golden(name);
        let page = mesh_render::docs::fleet_page(&loaded, "config.yaml").expect("a fleet");
        let diagram = page.split("```mermaid\n").nth(1).and_then(|rest| rest.split("```").next()).expect("a diagram");
        check_mermaid(name, diagram);
        let mc = loaded.base.multi_cluster.as_ref().unwrap();
        for c in &mc.clusters {
            assert!(diagram.contains(&format!("[\"cluster {} (Istio", c.name)), "{name}: cluster {}", c.name);
            assert!(diagram.contains(&format!("[\"network {}\"]", c.network)), "{name}: network {}", c.network);
        }
        assert_eq!(diagram.matches("AUTO_PASSTHROUGH").count(), loaded.base.clusters.iter().filter(|c| c.cluster.as_ref().unwrap().east_west.enabled).count(), "{name}");
    }
    assert!(mesh_render::docs::fleet_page(&playground(), "config.yaml").is_none(), "one cluster has no fleet page");
}

fn check_mermaid(name: &str, diagram: &str) {
    let mut lines = diagram.lines();
    assert_eq!(lines.next(), Some("flowchart LR"), "{name}");
    let id_ok = |id: &str| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) && id != "end";
    let mut nodes = std::collections::BTreeSet::new();
    let mut depth = 0;
    let mut edges = Vec::new();
    for line in lines {
        let line = line.trim();
        if line == "end" {
            depth -= 1;
            assert!(depth >= 0, "{name}: `end` without subgraph");
            continue;
        }
        if let Some(rest) = line.strip_prefix("subgraph ") {
            let (id, label) = rest.split_once('[').unwrap_or_else(|| panic!("{name}: {line}"));
            assert!(id_ok(id), "{name}: subgraph id `{id}`");
            assert!(label.starts_with('"') && label.ends_with("\"]"), "{name}: quoted subgraph label: {line}");
            depth += 1;
            continue;
        }
        if let Some((from, rest)) = line.split_once(" -->|").or_else(|| line.split_once(" -.->|")) {
            let (label, to) = rest.rsplit_once("| ").unwrap_or_else(|| panic!("{name}: {line}"));
            assert!(label.starts_with('"') && label.ends_with('"') && label.matches('"').count() == 2, "{name}: edge label: {line}");
            edges.push((from.to_string(), to.to_string()));
            continue;
        }
        let id: String = line.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        assert!(id_ok(&id), "{name}: node id in `{line}`");
        let shape = &line[id.len()..];
        let quoted = ["[\"", "([\"", "[(\""].iter().any(|open| shape.starts_with(open));
        assert!(quoted && shape.matches('"').count() == 2, "{name}: quoted node label: {line}");
        assert!(nodes.insert(id.clone()), "{name}: node `{id}` declared twice");
    }
    assert_eq!(depth, 0, "{name}: unbalanced subgraphs");
    for (from, to) in edges {
        assert!(nodes.contains(&from) && nodes.contains(&to), "{name}: edge {from} -> {to} between undeclared nodes");
    }
}

/// What DOMAIN.md says about AI serving: InferencePool v1 and InferenceObjective; InferenceModel only
/// as what no longer exists.
#[test]
fn ai_serving_doc_describes_inference_pool_v1_and_objectives() {
    let doc = &mesh_render::docs::docs(&playground())["ai-serving.md"];
    assert!(doc.contains("InferencePool `inference.networking.k8s.io/v1`"));
    assert!(doc.contains("InferenceObjective"));
    assert!(doc.contains("`inference.networking.x-k8s.io/v1alpha2`, `spec.priority`, `spec.poolRef`"));
    for line in doc.lines().filter(|l| l.contains("InferenceModel")) {
        assert!(line.contains("no longer exists") || line.contains("`InferenceModel` (`models`"), "{line}");
    }
    assert!(doc.contains("has no `aiServing` section"), "the playground has no pools");
    // The real traffic paths: the metrics scrape is plaintext, and 9002 is unguarded with selfSigned.
    assert!(doc.contains("leaves through Envoy's passthrough cluster **without mTLS**"));
    assert!(doc.contains("**any pod that can reach the\npicker's Service can call its ext_proc port**"));
    assert!(doc.contains("`ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0`"));
    assert!(doc.contains("(../golden/ai-serving-one-pool/config.yaml)"));

    let pools = &mesh_render::docs::docs(&golden("ai-serving-pools"))["ai-serving.md"];
    assert!(pools.contains("declares 2 inference pool(s) with Inference Extension **v1.6.0**"), "{pools}");
    assert!(pools.contains("| `qwen-coder` | `models` (injected) |"));
}

/// The architecture doc states what the config and the render say.
#[test]
fn architecture_doc_follows_the_config() {
    let doc = &mesh_render::docs::docs(&playground())["architecture.md"];
    for expected in [
        "| Istio | 1.29.6 |",
        "| Gateway API | v1.4.1 |",
        "| Kubernetes | 1.31–1.35 |",
        "| `demo` | `demo` | `cluster.local/ns/istio-system/sa/knative-gateway-istio`, `cluster.local/ns/istio-system/sa/knative-local-gateway-istio`, `cluster.local/ns/knative-serving/sa/activator` on 8012, 8013 (the Knative gateways and the activator forward requests to queue-proxy); `cluster.local/ns/knative-serving/sa/controller` on 9090 (the autoscaler scrapes queue-proxy's metrics); ",
        "`knative-serving` gets the ALLOW AuthorizationPolicy `activator-callers` (selector `app: activator`)",
        "What keeps **pods outside the mesh** out is a Kubernetes NetworkPolicy",
        "`istio-system/knative-local-gateway-mesh-only` selects the local gateway's pods",
        "**Any pod of the mesh's namespaces** can still call any",
        "| `knative-serving` | `webhook` | `app: webhook` | 8443 PERMISSIVE |",
        "`opentelemetry-collector.observability.svc.cluster.local:4317`",
        "`knative-gateway-istio` (LoadBalancer)",
    ] {
        assert!(doc.contains(expected), "missing {expected:?}");
    }
    let minimal = &mesh_render::docs::docs(&golden("minimal"))["architecture.md"];
    assert!(minimal.contains("Knative is off in this"), "{minimal}");
    assert!(!minimal.contains("**activator**") && !minimal.contains("subgraph serving"));
}
