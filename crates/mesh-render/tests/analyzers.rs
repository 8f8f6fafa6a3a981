//! Every analyzer, with a fixture that fires it and one that does not; the findings of each fixture
//! are pinned by a snapshot next to it (`tests/fixtures/analyzers/<CODE>-<name>/{fires,clean}/`).
//!
//! A fixture folder holds a `config.yaml` (rendered, then analyzed like `mesh-render check`), an
//! `objects.yaml` (objects read from files, like `check --rendered`), or both, and optionally the
//! wrapper chart's `values.yaml`.

mod common;

use std::path::{Path, PathBuf};

use mesh_render::check::analyzers::{self, Input, Subject};
use mesh_render::config::syntax::{self, Limits};
use mesh_render::emit::diagnostics::{to_json, to_sarif};
use mesh_render::{Diagnostic, MeshFacts};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/analyzers")
}

fn analyze(dir: &Path) -> Vec<Diagnostic> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let loaded = read("config.yaml")
        .map(|t| mesh_render::load(&t, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{}: {:?}", dir.display(), e.diagnostics)));
    let rendered = loaded.as_ref().map(mesh_render::render);
    let mut objects: Vec<Subject> = rendered.as_ref().map(|r| analyzers::subjects(&r.manifests)).unwrap_or_default();
    if let Some(text) = read("objects.yaml") {
        for (i, doc) in syntax::parse_documents(&text, Limits::DEFAULT).unwrap().iter().enumerate() {
            objects.push(Subject::read(doc.to_json(), format!("objects.yaml#{i}")));
        }
    }
    let values = match (read("values.yaml"), &loaded) {
        (Some(t), _) => Some(syntax::parse(&t, Limits::DEFAULT).unwrap().to_json()),
        (None, Some(l)) => Some(serde_json::to_value(mesh_render::render(l).selected_values).unwrap()),
        (None, None) => None,
    };
    let facts = loaded.as_ref().map(|l| MeshFacts::of(l.selected()));
    let mut findings = analyzers::run(&Input {
        config: loaded.as_ref().map(|l| l.selected()),
        facts: facts.as_ref(),
        objects: &objects,
        values: values.as_ref(),
    });
    if let Some(l) = &loaded {
        for f in &mut findings {
            analyzers::locate(f, l);
        }
    }
    // A fleet's trees (`clusters/<name>/`, each `values.yaml` and `objects.yaml`), as `check
    // --rendered` reads the tree of `render --out` of a multi-cluster mesh.
    if let Ok(entries) = std::fs::read_dir(dir.join("clusters")) {
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        let members: Vec<analyzers::fleet::Member> = dirs
            .iter()
            .map(|d| {
                let text = std::fs::read_to_string(d.join("objects.yaml")).unwrap();
                let subjects: Vec<Subject> = syntax::parse_documents(&text, Limits::DEFAULT)
                    .unwrap()
                    .iter()
                    .map(|doc| Subject::read(doc.to_json(), "objects.yaml"))
                    .collect();
                let values = syntax::parse(&std::fs::read_to_string(d.join("values.yaml")).unwrap(), Limits::DEFAULT).unwrap().to_json();
                let label = d.file_name().unwrap().to_string_lossy().into_owned();
                analyzers::fleet::member_of_tree(&label, &values, &subjects, None, false)
            })
            .collect();
        findings.extend(analyzers::fleet::check(&members));
    }
    findings
}

#[test]
fn every_rule_fires_on_its_fixture_and_not_on_its_clean_twin() {
    for rule in analyzers::RULES {
        let dir = fixtures().join(format!("{}-{}", rule.code, rule.name));
        for case in ["fires", "clean"] {
            let case_dir = dir.join(case);
            assert!(case_dir.is_dir(), "{} has no `{case}` fixture at {}", rule.code, case_dir.display());
            let findings = analyze(&case_dir);
            let own: Vec<&Diagnostic> = findings.iter().filter(|f| f.code == rule.code).collect();
            match case {
                "fires" => assert!(!own.is_empty(), "{} did not fire on its fixture: {findings:#?}", rule.code),
                _ => assert!(own.is_empty(), "{} fired on its clean fixture: {own:#?}", rule.code),
            }
            let text: String = findings.iter().map(|f| f.to_string_in("config.yaml") + "\n").collect();
            insta::with_settings!({ snapshot_path => case_dir.clone(), prepend_module_to_snapshot => false, omit_expression => true }, {
                insta::assert_snapshot!("findings", text);
            });
        }
    }
}

#[test]
fn every_fixture_folder_belongs_to_a_rule() {
    for entry in std::fs::read_dir(fixtures()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(analyzers::RULES.iter().any(|r| name == format!("{}-{}", r.code, r.name)), "fixture {name} has no rule");
    }
}

#[test]
fn the_golden_configs_have_no_analyzer_errors() {
    for case in common::golden_cases() {
        let loaded = case.loaded();
        let findings = analyzers::analyze(&loaded, &mesh_render::render(&loaded));
        let errors: Vec<_> = findings.iter().filter(|f| f.severity == mesh_render::Severity::Error).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", case.snapshot_name());
    }
}

/// MR104 asks whether kube-apiserver reaches the webhook, and it does on a port-level `DISABLE` as on
/// `PERMISSIVE`: both let a non-mTLS connection through to the webhook's own TLS (istio/api 1.29.0,
/// security/v1beta1/peer_authentication.proto: PERMISSIVE "can be either plaintext or mTLS tunnel",
/// DISABLE "is not tunneled"). DISABLE is weaker only towards mesh callers, which is not what MR104 is
/// about, so it is accepted; a port-level STRICT is not.
#[test]
fn mr104_accepts_a_disable_port_exception_and_refuses_a_strict_one() {
    // The config's own list leaves out net-gateway-api's webhook; an object from elsewhere covers it.
    let config = "components:\n  knative: {enabled: true}\n  istio:\n    enabled: true\n    knative:\n      webhooks:\n        - {namespace: knative-serving, name: webhook, selector: {app: webhook}}\n";
    let object = |mode: &str| {
        format!(
            "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {{name: net-gateway-api-webhook, namespace: knative-serving}}\nspec:\n  selector: {{matchLabels: {{app: net-gateway-api-webhook}}}}\n  portLevelMtls: {{\"8443\": {{mode: {mode}}}}}\n"
        )
    };
    let mr104 = |objects: Option<String>| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yaml"), config).unwrap();
        if let Some(o) = objects {
            std::fs::write(dir.path().join("objects.yaml"), o).unwrap();
        }
        analyze(dir.path()).into_iter().filter(|f| f.code == "MR104").map(|f| f.message).collect::<Vec<_>>()
    };
    let uncovered = mr104(None);
    assert_eq!(uncovered.len(), 1, "{uncovered:?}");
    assert!(uncovered[0].contains("`net-gateway-api-webhook`"), "{uncovered:?}");
    assert_eq!(mr104(Some(object("DISABLE"))), Vec::<String>::new());
    assert_eq!(mr104(Some(object("PERMISSIVE"))), Vec::<String>::new());
    assert_eq!(mr104(Some(object("STRICT"))), uncovered);
}

#[test]
fn json_and_sarif_carry_code_level_and_position() {
    let findings = analyze(&fixtures().join("MR104-webhook-without-permissive-port/fires"));
    let json: serde_json::Value = serde_json::from_str(&to_json(&findings, "config.yaml")).unwrap();
    assert_eq!(json[0]["code"], "MR104");
    assert_eq!(json[0]["severity"], "error");
    assert_eq!(json[0]["file"], "config.yaml");
    assert_eq!(json[0]["pos"], serde_json::json!({"line": 10, "column": 9}));
    let sarif: serde_json::Value = serde_json::from_str(&to_sarif(&findings, "config.yaml")).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "MR104");
    assert_eq!(result["level"], "error");
    assert_eq!(result["locations"][0]["physicalLocation"]["region"], serde_json::json!({"startLine": 10, "startColumn": 9}));
    // Every rule of the registry: the config's codes first (MR001), then the analyzers'.
    assert_eq!(sarif["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap().len(), mesh_render::check::rules().count());
    assert_eq!(sarif["runs"][0]["tool"]["driver"]["rules"][0]["id"], "MR001");
}

/// Rendered objects are analyzed typed; objects read from files as JSON. Both forms of the same
/// object must look the same to every accessor and give the same findings, for every fixture config
/// and every golden render (a typed shortcut that misses a field would otherwise go unnoticed).
#[test]
fn typed_and_json_subjects_agree() {
    let mut configs: Vec<String> = common::golden_cases().iter().map(|c| c.text()).collect();
    for rule in analyzers::RULES {
        for case in ["fires", "clean"] {
            let path = fixtures().join(format!("{}-{}", rule.code, rule.name)).join(case).join("config.yaml");
            configs.extend(std::fs::read_to_string(path).ok());
        }
    }
    let mut compared = 0;
    for text in &configs {
        let loaded = mesh_render::load(text, None, Limits::DEFAULT).unwrap();
        let rendered = mesh_render::render(&loaded);
        let typed = analyzers::subjects(&rendered.manifests);
        let json: Vec<Subject> =
            rendered.manifests.iter().map(|m| Subject::read(serde_json::to_value(&m.object).unwrap(), String::new())).collect();
        for (t, j) in typed.iter().zip(&json) {
            let id = j.id();
            assert_eq!((t.kind(), t.namespace(), t.name(), t.id()), (j.kind(), j.namespace(), j.name(), j.id()));
            assert_eq!(t.labels(), j.labels(), "{id}");
            assert_eq!(t.annotation_keys(), j.annotation_keys(), "{id}");
            assert_eq!(t.selector_labels(), j.selector_labels(), "{id}");
            assert_eq!(t.source_namespaces(), j.source_namespaces(), "{id}");
            compared += 1;
        }
        let config = Some(loaded.selected());
        let rendered = mesh_render::render(&loaded);
        let values = serde_json::to_value(&rendered.selected_values).unwrap();
        let facts = Some(&rendered.facts);
        let from_typed = analyzers::run(&Input { config, facts, objects: &typed, values: Some(&values) });
        let from_json = analyzers::run(&Input { config, facts, objects: &json, values: Some(&values) });
        assert_eq!(from_typed, from_json);
    }
    assert!(compared > 300, "only {compared} objects compared");
}
