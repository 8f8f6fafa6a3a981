//! The `mesh-render` binary, driven as users, CI and Argo CD drive it.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::{repo_root, run_in, stderr, stdout};

/// A temporary folder holding `config.yaml` with `text`.
fn workdir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), text).unwrap();
    dir
}

fn playground() -> String {
    std::fs::read_to_string(repo_root().join("config.yaml")).unwrap()
}

/// Every file below `dir`, with its bytes.
fn snapshot_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn default_command_prints_the_stream_of_config_yaml() {
    let dir = workdir(&playground());
    let o = run_in(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("---\n"));
    assert_eq!(out.matches("\n---\n").count() + 1, 20, "20 objects");
    assert_eq!(out, stdout(&run_in(dir.path(), &["render"])));
    // Warnings go to stderr, never into the stream.
    assert!(stderr(&o).contains("warning[MR022]: components.envoyGateway.enabled"));
    assert!(!out.contains("warning"));
}

#[test]
fn two_processes_render_identical_bytes() {
    let dir = workdir(&playground());
    let a = run_in(dir.path(), &["render"]);
    let b = Command::new(env!("CARGO_BIN_EXE_mesh-render"))
        .current_dir(dir.path())
        .arg("render")
        .env("LC_ALL", "tr_TR.UTF-8")
        .env("TZ", "Pacific/Kiritimati")
        .output()
        .unwrap();
    assert_eq!(a.stdout, b.stdout);
    let ja = run_in(dir.path(), &["render", "-o", "json"]);
    let jb = run_in(dir.path(), &["render", "-o", "json"]);
    assert_eq!(ja.stdout, jb.stdout);
    let list: serde_json::Value = serde_json::from_slice(&ja.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 20);
}

#[test]
fn missing_config_is_an_error_not_a_default_mesh() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert_eq!(stderr(&o), "config.yaml: error: the config file does not exist\n  hint: run mesh-render where config.yaml is, or pass --config PATH; there is no built-in default mesh\n");
}

#[test]
fn invalid_config_exits_2_with_every_problem_and_empty_stdout() {
    let dir = workdir("components:\n  istio:\n    enabled: true\n    mode: ambient\n    mtls: {mode: strict}\n");
    let o = run_in(dir.path(), &["render"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert!(err.contains("config.yaml:4:11: error[MR006]: components.istio.mode: ambient mode is not supported"), "{err}");
    assert!(err.contains("config.yaml:5:18: error[MR006]: components.istio.mtls.mode: `strict` is not allowed here"), "{err}");
    assert!(err.ends_with("config.yaml: 2 errors found; nothing was rendered\n"), "{err}");
}

#[test]
fn check_exits_0_clean_1_problems_2_unreadable() {
    let good = workdir(&playground());
    let o = run_in(good.path(), &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).ends_with("config.yaml: no problems found (warnings only)\n"));

    let bad = workdir("components:\n  istio:\n    enabled: true\n    bogus: 1\n");
    let o = run_in(bad.path(), &["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("config.yaml:4:5: error[MR004]: components.istio.bogus: unknown key `bogus`"));

    let broken = workdir("components: [\n");
    assert_eq!(run_in(broken.path(), &["check"]).status.code(), Some(2));
    assert_eq!(run_in(good.path(), &["check", "--config", "nope.yaml"]).status.code(), Some(2));
}

#[test]
fn directory_and_non_utf8_configs_are_refused() {
    let dir = workdir("");
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    let o = run_in(dir.path(), &["--config", "conf.d"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("conf.d: error: this is a directory, not a config file"));

    std::fs::write(dir.path().join("latin1.yaml"), b"components:\n  istio: {enabled: true}\n# caf\xe9\n").unwrap();
    let o = run_in(dir.path(), &["--config", "latin1.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).starts_with("latin1.yaml: error: line 3, column 6: the config is not UTF-8 text"), "{}", stderr(&o));
}

#[test]
fn env_selects_an_environment() {
    let dir = workdir(&playground());
    let base = stdout(&run_in(dir.path(), &["render"]));
    let shared = stdout(&run_in(dir.path(), &["--env", "shared", "render"]));
    assert!(base.contains("randomSamplingPercentage: 10.0"));
    assert!(shared.contains("randomSamplingPercentage: 1.0"));
    let o = run_in(dir.path(), &["render", "--env", "shraed"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("environment `shraed` is not declared\n  hint: did you mean `shared`?"));
}

#[test]
fn out_writes_the_tree_and_check_detects_drift() {
    let dir = workdir(&playground());
    let o = run_in(dir.path(), &["render", "--out", "deployment/rendered"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let tree = dir.path().join("deployment/rendered");
    let files: Vec<String> = snapshot_tree(&tree).into_iter().map(|(p, _)| p.strip_prefix(&tree).unwrap().display().to_string()).collect();
    assert_eq!(
        files,
        [
            "helm/Chart.yaml",
            "helm/values-shared.yaml",
            "helm/values.yaml",
            "lifecycle/base-values.yaml",
            "lifecycle/istiod-values.yaml",
            "lifecycle/knative-restore.yaml",
            "manifests/00-namespaces.yaml",
            "manifests/10-security.yaml",
            "manifests/20-telemetry.yaml",
            "manifests/30-gateways.yaml",
            "manifests/40-knative-patch.yaml",
        ]
    );
    assert_eq!(run_in(dir.path(), &["render", "--out", "deployment/rendered", "--check"]).status.code(), Some(0));

    std::fs::write(tree.join("manifests/10-security.yaml"), "tampered\n").unwrap();
    std::fs::write(tree.join("stray.yaml"), "x\n").unwrap();
    // Helm's own build output beside the chart is not drift.
    std::fs::create_dir_all(tree.join("helm/charts")).unwrap();
    std::fs::write(tree.join("helm/charts/base-1.29.6.tgz"), "x").unwrap();
    std::fs::write(tree.join("helm/Chart.lock"), "x").unwrap();
    std::fs::remove_file(tree.join("helm/values.yaml")).unwrap();
    let o = run_in(dir.path(), &["render", "--out", "deployment/rendered", "--check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert!(err.contains("differs:   manifests/10-security.yaml\n"), "{err}");
    assert!(err.contains("missing:   helm/values.yaml\n"), "{err}");
    assert!(err.contains("unexpected: stray.yaml\n"), "{err}");
    assert!(!err.contains("helm/charts") && !err.contains("Chart.lock"), "{err}");
    assert!(err.ends_with("deployment/rendered: 3 file(s) differ from a fresh render; run `make render` (or `mesh-render render --out deployment/rendered`) and commit the result\n"), "{err}");
    // --check wrote nothing.
    assert_eq!(std::fs::read_to_string(tree.join("manifests/10-security.yaml")).unwrap(), "tampered\n");

    // A new render replaces the tree: stale files go, changed files are restored.
    assert_eq!(run_in(dir.path(), &["render", "--out", "deployment/rendered"]).status.code(), Some(0));
    assert!(!tree.join("stray.yaml").exists());
    assert_eq!(run_in(dir.path(), &["render", "--out", "deployment/rendered", "--check"]).status.code(), Some(0));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("deployment")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers, ["rendered"]);
}

#[test]
fn a_failed_render_leaves_the_tree_exactly_as_it_was() {
    let dir = workdir(&playground());
    assert_eq!(run_in(dir.path(), &["render", "--out", "out"]).status.code(), Some(0));
    let before = snapshot_tree(&dir.path().join("out"));
    std::fs::write(dir.path().join("config.yaml"), "components:\n  istio:\n    enabled: true\n    version: \"9.9.9\"\n").unwrap();
    let o = run_in(dir.path(), &["render", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert_eq!(snapshot_tree(&dir.path().join("out")), before);
}

#[test]
fn out_that_is_a_file_is_refused_and_left_alone() {
    let dir = workdir(&playground());
    std::fs::write(dir.path().join("out"), "not a dir\n").unwrap();
    let o = run_in(dir.path(), &["render", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).ends_with("out: error: the output path exists and is not a directory\n  hint: the existing tree was left as it was\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("out")).unwrap(), "not a dir\n");
}

#[test]
fn closed_pipe_exits_quietly() {
    let dir = workdir(&playground());
    let mut child = Command::new(env!("CARGO_BIN_EXE_mesh-render"))
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("error"), "{}", stderr(&o));
}

#[test]
fn example_prints_a_config_that_renders() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["example"]);
    assert_eq!(o.status.code(), Some(0));
    std::fs::write(dir.path().join("config.yaml"), &o.stdout).unwrap();
    let r = run_in(dir.path(), &["check"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
}

#[test]
fn every_subcommand_has_help_with_examples() {
    for sub in [&["--help"][..], &["render", "--help"], &["check", "--help"], &["example", "--help"], &["flows", "--help"]] {
        let o = run_in(&repo_root(), sub);
        assert_eq!(o.status.code(), Some(0));
        assert!(stdout(&o).contains("Example"), "{sub:?}: {}", stdout(&o));
    }
    assert_eq!(run_in(&repo_root(), &["render", "--bogus"]).status.code(), Some(2));
}

/// The Helm 4 binary of `make tools` (`MESH_RENDER_HELM4`, else `.cache/tools/helm4/helm`).
fn helm4() -> String {
    let path = std::env::var("MESH_RENDER_HELM4")
        .ok()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache/tools/helm4/helm"));
    assert!(path.is_file(), "Helm 4 not found at {}; run `make tools`", path.display());
    path.display().to_string()
}

fn reference_charts() -> String {
    repo_root().join("reference/istio-{version}/charts").display().to_string()
}

/// The CI gate: the committed `deployment/rendered/` (expanded charts included) is what
/// `config.yaml` renders to today, as `make render` renders it.
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn committed_deployment_rendered_is_up_to_date() {
    let (helm, charts) = (helm4(), reference_charts());
    let o = run_in(
        &repo_root(),
        &["render", "--out", "deployment/rendered", "--check", "--expand-charts", "--charts", &charts, "--helm", &helm],
    );
    assert_eq!(o.status.code(), Some(0), "deployment/rendered is stale; run `make render`:\n{}", stderr(&o));
}

#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn a_pilot_resources_change_shows_in_the_values_and_the_istiod_deployment() {
    let (helm, charts) = (helm4(), reference_charts());
    let dir = workdir(&playground());
    let expand = ["--expand-charts", "--charts", charts.as_str(), "--helm", helm.as_str()];
    let render = |out: &str| {
        let o = run_in(dir.path(), &[&["render", "--out", out][..], &expand[..]].concat());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    };
    render("before");
    std::fs::write(
        dir.path().join("config.yaml"),
        playground().replacen("requests: {cpu: 500m, memory: 2048Mi}", "requests: {cpu: 750m, memory: 3Gi}", 1),
    )
    .unwrap();
    render("after");
    let changed: Vec<String> = snapshot_tree(&dir.path().join("before"))
        .into_iter()
        .zip(snapshot_tree(&dir.path().join("after")))
        .filter(|((_, a), (_, b))| a != b)
        .map(|((p, _), _)| p.strip_prefix(dir.path().join("before")).unwrap().display().to_string())
        .collect();
    // istiod's `values` ConfigMap carries the merged chart values, so it changes with them.
    assert_eq!(
        changed,
        [
            "expanded/istiod/configmap-values.yaml",
            "expanded/istiod/deployment-istiod.yaml",
            "helm/values.yaml",
            "lifecycle/istiod-values.yaml"
        ]
    );
    let deployment = std::fs::read_to_string(dir.path().join("after/expanded/istiod/deployment-istiod.yaml")).unwrap();
    assert!(deployment.contains("requests:\n            cpu: 750m\n            memory: 3Gi"), "{deployment}");
    // --check sees the expanded part too.
    std::fs::write(dir.path().join("after/expanded/istiod/deployment-istiod.yaml"), "tampered\n").unwrap();
    let o = run_in(dir.path(), &[&["render", "--out", "after", "--check"][..], &expand[..]].concat());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("differs:   expanded/istiod/deployment-istiod.yaml"), "{}", stderr(&o));
}

#[test]
fn expand_without_helm_fails_clearly_and_writes_nothing() {
    let dir = workdir(&playground());
    let o = run_in(dir.path(), &["render", "--out", "out", "--expand-charts", "--helm", "no-such-helm-binary"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("error: --expand-charts: `no-such-helm-binary` was not found: --expand-charts runs Helm (3.17 or 4.x)"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("out").exists());
    // The normal render does not need Helm.
    assert_eq!(run_in(dir.path(), &["render", "--out", "out"]).status.code(), Some(0));
}

/// Charts of another version are refused rather than silently rendered.
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn expand_with_charts_of_another_version_fails_and_writes_nothing() {
    let dir = workdir(&playground());
    let charts = repo_root().join("reference/istio-1.29.0/charts").display().to_string();
    let o = run_in(dir.path(), &["render", "--out", "out", "--expand-charts", "--charts", &charts, "--helm", &helm4()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is the `base` chart 1.29.0, but the config asks for Istio 1.29.6"), "{}", stderr(&o));
    assert!(!dir.path().join("out").exists());
}

#[test]
fn check_rendered_validates_a_tree_and_a_stream() {
    let dir = workdir(&playground());
    assert_eq!(run_in(dir.path(), &["render", "--out", "out"]).status.code(), Some(0));
    let o = run_in(dir.path(), &["check", "--rendered", "out"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("validated against istio-1.29.6, gateway-api-v1.4.0"), "{err}");
    assert!(err.contains("security.istio.io/v1/PeerAuthentication: 6 object(s), 26 CEL rule(s) evaluated"), "{err}");
    assert!(err.ends_with("out: 20 objects valid\n"), "{err}");

    // Break one field of each class in the rendered files.
    let security = dir.path().join("out/manifests/10-security.yaml");
    let text = std::fs::read_to_string(&security).unwrap();
    let broken =
        text.replacen("mode: STRICT", "mode: STRICTEST", 1).replacen("  selector:\n    matchLabels:\n      app: eventing-webhook\n", "", 1);
    std::fs::write(&security, broken).unwrap();
    let o = run_in(dir.path(), &["check", "--rendered", "out"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert!(err.contains("PeerAuthentication istio-system/default: /spec/mtls/mode: schema: \"STRICTEST\" is not one of"), "{err}");
    assert!(
        err.contains("PeerAuthentication knative-eventing/eventing-webhook: /spec: CEL rule: portLevelMtls requires selector"),
        "{err}"
    );
    assert!(err.ends_with("out: 2 problem(s); 0 error(s), 0 warning(s) from the mesh analyzers\n"), "{err}");

    let o = Command::new(env!("CARGO_BIN_EXE_mesh-render"))
        .current_dir(dir.path())
        .args(["check", "--rendered", "-", "--istio-version", "1.30.3"])
        .stdin(std::fs::File::open(dir.path().join("out/manifests/30-gateways.yaml")).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("validated against istio-1.30.3"));
}

/// kubectl's parser reads every committed Kubernetes file (manifests and expanded charts) back to
/// the same objects mesh-render's own reader sees.
#[test]
#[ignore = "needs kubectl on PATH: run by `make test` (`make tools` checks for it)"]
fn kubectl_reads_every_committed_rendered_file_back_unchanged() {
    let root = repo_root().join("deployment/rendered");
    let mut checked = 0;
    for (path, bytes) in snapshot_tree(&root) {
        let rel = path.strip_prefix(&root).unwrap().display().to_string();
        // Helm values (the wrapper chart's and the per-chart ones of lifecycle/) are not objects.
        if rel.starts_with("helm/") || rel.ends_with("-values.yaml") {
            continue;
        }
        let text = String::from_utf8(bytes).unwrap();
        let ours: Vec<serde_json::Value> = mesh_render::config::syntax::parse_documents(
            &text,
            mesh_render::config::syntax::Limits { max_bytes: 1 << 26, max_depth: 256, max_nodes: 5_000_000 },
        )
        .unwrap()
        .iter()
        .map(mesh_render::config::syntax::Node::to_json)
        .collect();
        let out = Command::new("kubectl").args(["label", "--local", "-o", "json", "probe=1", "-f"]).arg(&path).output().unwrap();
        assert!(out.status.success(), "{rel}: {}", String::from_utf8_lossy(&out.stderr));
        let theirs: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&out.stdout)
            .into_iter::<serde_json::Value>()
            .map(|v| {
                let mut v = v.unwrap();
                let labels = v["metadata"]["labels"].as_object_mut().unwrap();
                labels.remove("probe");
                if labels.is_empty() {
                    v["metadata"].as_object_mut().unwrap().remove("labels");
                }
                v
            })
            .collect();
        assert_eq!(theirs.len(), ours.len(), "{rel}");
        for (t, o) in theirs.iter().zip(&ours) {
            assert!(same_json(t, o), "{rel}: kubectl read {t}\nmesh-render meant {o}");
        }
        checked += 1;
    }
    assert!(checked >= 30, "{checked} files");
}

/// Equal, with numbers compared by value (kubectl writes 1.0 back as 1).
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => x.as_f64() == y.as_f64(),
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q)),
        (Object(x), Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w))),
        _ => a == b,
    }
}

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
        "warning[MR113]: components.istio.version: Istio 1.29.6: Istio 1.29 is end-of-life; 1.29.9 is the newest patch of the line"
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

/// The YAML 1.1 risky strings survive the Helm values form too: the real Helm reads the rendered
/// `values.yaml` and puts each istiod env value into the Deployment unchanged.
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn risky_strings_survive_the_helm_values() {
    let (helm, charts) = (helm4(), reference_charts());
    let text = std::fs::read_to_string(repo_root().join("golden/yaml11-strings/config.yaml")).unwrap();
    let dir = workdir(&text);
    let o = run_in(dir.path(), &["render", "--out", "out", "--expand-charts", "--charts", &charts, "--helm", &helm]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let deployment = std::fs::read_to_string(dir.path().join("out/expanded/istiod/deployment-istiod.yaml")).unwrap();
    let docs = mesh_render::config::syntax::parse_documents(&deployment, mesh_render::config::syntax::Limits::DEFAULT).unwrap();
    let json = docs[0].to_json();
    let env: std::collections::BTreeMap<String, serde_json::Value> = json["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?.to_string(), e["value"].clone())))
        .collect();
    for (name, value) in [
        ("FLAG_ON", "on"),
        ("FLAG_YES", "yes"),
        ("FLAG_N", "n"),
        ("HEX", "0X1F"),
        ("UNDERSCORE", "1_000"),
        ("DATE", "2024-01-01"),
        ("TILDE", "~"),
        ("NULL_WORD", "null"),
        ("OCTAL", "0755"),
        ("FLOATISH", "1e3"),
        ("SEXAGESIMAL", "1:20"),
        ("EMPTY", ""),
    ] {
        assert_eq!(env.get(name), Some(&serde_json::Value::String(value.into())), "{name}");
    }
    // And kubectl reads the expanded Deployment the same way.
    let out = Command::new("kubectl")
        .args(["label", "--local", "-o", "json", "probe=1", "-f"])
        .arg(dir.path().join("out/expanded/istiod/deployment-istiod.yaml"))
        .output()
        .unwrap();
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs["spec"]["template"]["spec"]["containers"][0]["env"], json["spec"]["template"]["spec"]["containers"][0]["env"]);
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
    let text = "components:\n  knative: {enabled: true}\n  istio:\n    enabled: true\n    version: \"1.29.9\"\n    namespaces: {apps: [demo, event-demo]}\n    flows:\n      expect:\n        - {from: {namespace: event-demo}, to: {namespace: demo}, port: 8080, verdict: deny}\n        - {from: {namespace: event-demo}, to: {namespace: demo}, port: 8080, verdict: allow}\n";
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
