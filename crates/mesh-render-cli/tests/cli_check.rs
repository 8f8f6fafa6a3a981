//! `check`, `explain`, `flows` and `--ignore`: the analyzers and the config's own problems as users,
//! CI and code-scanning UIs read them (text, JSON, SARIF).

mod support;

use support::{playground, repo_root, run_in, stderr, stdout, workdir};

fn webhook_gap_config() -> String {
    "components:\n  knative: {enabled: true}\n  istio:\n    enabled: true\n    version: \"1.30.5\"\n    knative:\n      webhooks:\n        - {namespace: knative-serving, name: webhook, selector: {app: webhook}}\n".to_string()
}

#[test]
fn analyzer_errors_stop_the_render_with_exit_1_and_nothing_written() {
    let dir = workdir(&webhook_gap_config());
    let o = run_in(dir.path(), &["render", "--out", "out"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(!dir.path().join("out").exists());
    let err = stderr(&o);
    assert!(err.starts_with("config.yaml:8:9: error[MR104]: components.istio.knative.webhooks: webhook `net-gateway-api-webhook` in knative-serving (app=net-gateway-api-webhook) gets no port-level PERMISSIVE exception on 8443"), "{err}");
    // The flow catalogue sees the same gap: kube-apiserver's call to that webhook is denied (MR120).
    assert!(err.contains("error[MR120]: needed flow denied: kube-apiserver -> knative-serving/net-gateway-api-webhook:8443"), "{err}");
    assert!(err.ends_with("config.yaml: 2 error(s), 2 warning(s) from the mesh analyzers; nothing was rendered\n"), "{err}");
    assert_eq!(run_in(dir.path(), &["render"]).stdout.len(), 0);
}

#[test]
fn check_reports_findings_as_text_json_and_sarif() {
    let dir = workdir(&webhook_gap_config());
    let o = run_in(dir.path(), &["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error[MR104]"));
    let o = run_in(dir.path(), &["check", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json[0]["code"], "MR104");
    let o = run_in(dir.path(), &["check", "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "MR104");

    // Warnings alone pass, unless --strict. The playground's Istio 1.29 is end-of-life (MR113).
    let play = workdir(&playground());
    let o = run_in(play.path(), &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains(
        "warning[MR113]: components.istio.version: Istio 1.29.6: Istio 1.29 is end-of-life; 1.29.8 is the newest patch of the line"
    ));
    assert_eq!(run_in(play.path(), &["check", "--strict"]).status.code(), Some(1));
}

#[test]
fn explain_prints_a_rule_and_the_list() {
    let o = run_in(&repo_root(), &["explain", "mr104"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("MR104 webhook-without-permissive-port (error)\n"));
    let o = run_in(&repo_root(), &["explain", "--list"]);
    assert_eq!(stdout(&o).lines().count(), mesh_render::check::rules().count());
    assert_eq!(run_in(&repo_root(), &["explain", "MR999"]).status.code(), Some(2));
}

#[test]
fn flows_prints_a_table_json_and_mermaid() {
    let play = workdir(&playground());
    let o = run_in(play.path(), &["flows"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(table.starts_with("NEED     VERDICT  TRANSPORT  FROM"), "{table}");
    assert!(table.contains("kube-apiserver"), "{table}");
    let o = run_in(play.path(), &["flows", "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert!(rows.len() > 40);
    assert!(rows.iter().all(|r| r["need"] != "needed" || r["verdict"] == "allow"));
    assert!(rows.iter().all(|r| r["need"] != "refused" || r["verdict"] == "deny"));
    assert_eq!(o.stdout, run_in(play.path(), &["flows", "--format", "json"]).stdout, "stable output");
    let o = run_in(play.path(), &["flows", "--format", "mermaid"]);
    assert!(stdout(&o).starts_with("flowchart LR\n"));
    assert_eq!(run_in(play.path(), &["flows", "--format", "dot"]).status.code(), Some(2));
}

#[test]
fn a_violated_flow_expectation_stops_the_render() {
    let text = "components:\n  knative: {enabled: true}\n  istio:\n    enabled: true\n    version: \"1.29.8\"\n    namespaces: {apps: [demo, event-demo]}\n    flows:\n      expect:\n        - {from: {namespace: event-demo}, to: {namespace: demo}, port: 8080, verdict: deny}\n        - {from: {namespace: event-demo}, to: {namespace: demo}, port: 8080, verdict: allow}\n";
    let dir = workdir(text);
    let o = run_in(dir.path(), &["render", "--out", "out"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty() && !dir.path().join("out").exists());
    let err = stderr(&o);
    assert!(err.contains("config.yaml:10:11: error[MR123]: components.istio.flows.expect[1] expects allow, the mesh gives deny"), "{err}");
    assert!(!err.contains("expect[0]"), "{err}");
    let bad = text.replace("verdict: allow", "verdict: maybe");
    let o = run_in(workdir(&bad).path(), &["check"]);
    assert!(stderr(&o).contains("config.yaml:10:"), "{}", stderr(&o));
    assert!(stderr(&o).contains("components.istio.flows.expect[1].verdict"), "{}", stderr(&o));
}

/// `--ignore CODE` leaves a check's findings out of `check` and `render` (its exit status too); an
/// unknown code is a usage error (exit 2, nothing on stdout).
#[test]
fn ignore_leaves_a_check_out_and_refuses_unknown_codes() {
    let text = "components:\n  istio:\n    enabled: true\n    version: \"1.29.6\"\n";
    let dir = workdir(text);
    let o = run_in(dir.path(), &["check", "--strict", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "MR113 (end of life) fails --strict");
    assert!(stdout(&o).contains("\"code\": \"MR113\""), "{}", stdout(&o));
    let o = run_in(dir.path(), &["check", "--strict", "--format", "json", "--ignore", "mr113"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains("MR113"));
    let o = run_in(dir.path(), &["render", "--ignore", "MR113"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!stderr(&o).contains("MR113"), "{}", stderr(&o));
    let o = run_in(dir.path(), &["check", "--ignore", "MR999"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "");
    assert!(stderr(&o).contains("`MR999` is not a check code"), "{}", stderr(&o));
    // A config error stops the read: there is nothing to ignore.
    let o = run_in(dir.path(), &["check", "--ignore", "MR004"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "");
    assert!(stderr(&o).contains("MR004 is a config error"), "{}", stderr(&o));
}

/// `--ignore` silences a config warning too (MR020 for PERMISSIVE), on stderr and in JSON.
#[test]
fn ignore_silences_a_config_warning() {
    let dir = workdir("components:\n  istio:\n    enabled: true\n    mtls: {mode: PERMISSIVE}\n");
    let o = run_in(dir.path(), &["check", "--format", "json"]);
    assert!(stdout(&o).contains("\"code\": \"MR020\""), "{}", stdout(&o));
    assert!(stderr(&o).contains("warning[MR020]: components.istio.mtls.mode"), "{}", stderr(&o));
    let o = run_in(dir.path(), &["check", "--format", "json", "--ignore", "MR020"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains("MR020") && !stderr(&o).contains("MR020"), "{}{}", stdout(&o), stderr(&o));
    let o = run_in(dir.path(), &["render", "--ignore", "MR020"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!stderr(&o).contains("MR020"), "{}", stderr(&o));
}

/// One diagnostic model: with `--format json|sarif`, a broken config's errors come out on stdout
/// with their own codes (MR006 for a value that is not allowed) at their line and column (exit 1),
/// and a valid config's own warnings (MR020) are reported beside the analyzers' findings.
#[test]
fn check_reports_config_problems_in_json_and_sarif_with_their_codes() {
    let dir = workdir("components:\n  istio:\n    enabled: true\n    mtls: {mode: strict}\n");
    let o = run_in(dir.path(), &["check", "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "MR006");
    assert_eq!(results[0]["level"], "error");
    assert_eq!(results[0]["locations"][0]["physicalLocation"]["region"], serde_json::json!({"startLine": 4, "startColumn": 18}));
    assert_eq!(sarif["runs"][0]["tool"]["driver"]["rules"][0]["id"], "MR001");
    let o = run_in(dir.path(), &["check", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(json[0]["code"], "MR006");
    assert_eq!(json[0]["config_path"], "components.istio.mtls.mode");

    let dir = workdir("components:\n  istio:\n    enabled: true\n    mtls: {mode: PERMISSIVE}\n");
    let o = run_in(dir.path(), &["check", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let warning = json.as_array().unwrap().iter().find(|f| f["code"] == "MR020").expect("the config's PERMISSIVE warning");
    assert_eq!(warning["severity"], "warning");
    assert!(warning["message"].as_str().unwrap().starts_with("mTLS is PERMISSIVE"));
}
