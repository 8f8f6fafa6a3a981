//! The Argo CD config management plugin contract: mesh-render run exactly as the CMP server runs it
//! (working directory = the app path, Argo CD's environment, no TTY, stdin closed), the shipped
//! `argocd/plugin.yaml` executed as written, and the repo-server patch built with kustomize.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mesh_render::config::syntax::{self, Limits};
use serde_json::Value;
use support::repo_root;

const REVISION: &str = "4f2c9a1e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39";
const KUBE_VERSION: &str = "1.34.2";

fn bin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mesh-render")).parent().unwrap().to_path_buf()
}

fn playground() -> String {
    std::fs::read_to_string(repo_root().join("config.yaml")).unwrap()
}

/// A checkout as the repo-server has it: `<repo>/<path>/config.yaml`.
fn app_path(config: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let repo = tempfile::tempdir().unwrap();
    let app = repo.path().join("clusters/playground");
    std::fs::create_dir_all(&app).unwrap();
    if let Some(text) = config {
        std::fs::write(app.join("config.yaml"), text).unwrap();
    }
    (repo, app)
}

/// Argo CD's environment for a plugin's generate command (reposerver/repository and cmp/server).
fn argocd_env(parameters: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ARGOCD_APP_NAME", "istio-mesh".into()),
        ("ARGOCD_APP_NAMESPACE", "istio-system".into()),
        ("ARGOCD_APP_PROJECT_NAME", "default".into()),
        ("ARGOCD_APP_REVISION", REVISION.into()),
        ("ARGOCD_APP_REVISION_SHORT", REVISION[..7].into()),
        ("ARGOCD_APP_SOURCE_REPO_URL", "https://github.com/example/playground.git".into()),
        ("ARGOCD_APP_SOURCE_PATH", "clusters/playground".into()),
        ("ARGOCD_APP_SOURCE_TARGET_REVISION", "main".into()),
        ("KUBE_VERSION", KUBE_VERSION.into()),
        ("KUBE_API_VERSIONS", "v1,apps/v1,argoproj.io/v1alpha1,gateway.networking.k8s.io/v1,security.istio.io/v1".into()),
        ("ARGOCD_APP_PARAMETERS", parameters.into()),
    ]
}

/// Runs `program args` in `dir` with only Argo CD's environment and `mesh-render` on PATH.
fn run_as_cmp(dir: &Path, program: &str, args: &[&str], parameters: &str) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir().display()))
        .env("HOME", dir)
        .envs(argocd_env(parameters))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// Runs the shipped plugin's `generate` command in `dir` as the CMP server does.
fn generate_as_cmp(dir: &Path, parameters: &str) -> Output {
    let generate = command_of(&plugin()["spec"]["generate"]["command"]);
    let args: Vec<&str> = generate[1..].iter().map(String::as_str).collect();
    run_as_cmp(dir, &generate[0], &args, parameters)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The reference output: the same render outside Argo CD.
fn plain_render(dir: &Path, env: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mesh-render"));
    cmd.current_dir(dir).arg("render").env_remove("ARGOCD_APP_NAME").stdin(Stdio::null());
    if let Some(env) = env {
        cmd.args(["--env", env]);
    }
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    text(&o.stdout)
}

fn assert_no_stamps(stdout: &str) {
    for stamp in [REVISION, &REVISION[..7], KUBE_VERSION, "1.34.2", "istio-mesh-", "2026-", "T00:"] {
        assert!(!stdout.contains(stamp), "the output contains `{stamp}`");
    }
}

fn plugin() -> Value {
    let text = std::fs::read_to_string(repo_root().join("argocd/plugin.yaml")).unwrap();
    syntax::parse(&text, Limits::DEFAULT).unwrap().to_json()
}

fn command_of(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

#[test]
fn good_config_prints_only_objects_of_the_selected_environment() {
    let (_repo, app) = app_path(Some(&playground()));
    let o = run_as_cmp(&app, "mesh-render", &["render"], r#"[{"name":"env","string":"shared"}]"#);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert_eq!(stdout, plain_render(&app, Some("shared")), "the `env` parameter selects the environment");
    assert_no_stamps(&stdout);
    let objects = syntax::parse_documents(&stdout, Limits::DEFAULT).unwrap();
    assert!(objects.len() >= 20);
    assert!(objects.iter().all(|o| o.get("apiVersion").is_some() && o.get("kind").is_some() && o.get("metadata").is_some()));
    let stderr = text(&o.stderr);
    assert!(
        stderr.starts_with("mesh-render: Argo CD Application istio-mesh: rendering environment `shared` (from ARGOCD_APP_PARAMETERS)\n"),
        "{stderr}"
    );
    assert!(stderr.contains("warning[MR022]: components.envoyGateway.enabled"), "warnings go to stderr: {stderr}");

    // Without parameters (Argo CD does not send announced defaults): the base settings.
    let o = run_as_cmp(&app, "mesh-render", &["render"], "");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stdout), plain_render(&app, None));
}

#[test]
fn kube_version_selects_a_warning_never_output() {
    let (_repo, app) = app_path(Some(&playground()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mesh-render"));
    cmd.current_dir(&app).env_clear().envs(argocd_env("[]")).env("KUBE_VERSION", "v1.36.0").stdin(Stdio::null());
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), plain_render(&app, None));
    assert!(
        text(&o.stderr).contains("warning: the destination runs Kubernetes 1.36; Istio 1.29.6 supports 1.31 to 1.35"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn broken_config_exits_non_zero_with_empty_stdout() {
    let (_repo, app) = app_path(Some("components:\n  istio:\n    enabled: true\n    mtls: {mode: strict}\n"));
    let o = run_as_cmp(&app, "mesh-render", &["render"], "[]");
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty(), "an empty stream with auto-prune would delete everything");
    let stderr = text(&o.stderr);
    assert!(stderr.contains("config.yaml:4:18: error[MR006]: components.istio.mtls.mode: `strict` is not allowed here"), "{stderr}");
    assert!(stderr.ends_with("config.yaml: 1 error found; nothing was rendered\n"), "{stderr}");

    let (_repo, app) = app_path(Some(&playground()));
    for (parameters, message) in [
        (r#"[{"name":"env","array":["shared"]}]"#, "ARGOCD_APP_PARAMETERS: error: parameter `env` must be a string"),
        ("not json", "ARGOCD_APP_PARAMETERS: error: not JSON"),
    ] {
        let o = run_as_cmp(&app, "mesh-render", &["render"], parameters);
        assert_eq!(o.status.code(), Some(2), "{parameters}");
        assert!(o.stdout.is_empty());
        assert!(text(&o.stderr).contains(message), "{}", text(&o.stderr));
    }
}

/// Review of issue 20: Argo CD renders an Application's sources again at HEAD when it deletes it,
/// for its PreDelete hooks (argo-cd v3.5.1 `controller/hook.go:113-122`), and retries while the
/// render fails. An `env` parameter naming an environment the config no longer has falls back to
/// the base settings, with a note, as the revision gate does, so the mesh's teardown still runs.
/// Outside Argo CD, `--env` of an undeclared environment stays an error.
#[test]
fn an_environment_the_config_no_longer_has_is_an_error_under_argocd_too() {
    // Issue 20 review: a fallback to the base settings deployed them on every sync of an Application
    // whose `env` the config does not declare (a typo included), with a note Argo CD does not show.
    let config = std::fs::read_to_string(repo_root().join("golden/argocd-app-of-apps/config.yaml")).unwrap();
    let (_repo, app) = app_path(Some(&config));
    let o = run_as_cmp(&app, "mesh-render", &["render"], r#"[{"name":"env","string":"prod"}]"#);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty(), "nothing on stdout");
    assert!(text(&o.stderr).contains("environment `prod` is not declared"), "{}", text(&o.stderr));
    // The revision gate alone still falls back (it renders nothing but the gate).
    let o = run_as_cmp(&app, "mesh-render", &["render", "--revision-gate", "1-29-6"], r#"[{"name":"env","string":"prod"}]"#);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("environment `prod` is not in the config any more: the revision gate uses the base settings"),
        "{}",
        text(&o.stderr)
    );
    // Outside Argo CD: an error as well.
    let (_repo, app) = app_path(Some(&playground()));
    let o = Command::new(env!("CARGO_BIN_EXE_mesh-render"))
        .current_dir(&app)
        .args(["render", "--env", "prod"])
        .env_remove("ARGOCD_APP_NAME")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("environment `prod` is not declared"), "{}", text(&o.stderr));
}

#[test]
fn missing_config_exits_non_zero_with_empty_stdout() {
    let (_repo, app) = app_path(None);
    let o = run_as_cmp(&app, "mesh-render", &["render"], "[]");
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(text(&o.stderr).contains("config.yaml: error: the config file does not exist"), "{}", text(&o.stderr));
}

#[test]
fn the_shipped_plugin_runs_as_written() {
    let plugin = plugin();
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    assert_eq!(plugin["metadata"]["name"], mesh_render::api::argocd::PLUGIN_NAME);
    assert!(plugin["spec"].get("version").is_none(), "Applications name the plugin `mesh-render`");
    let generate = command_of(&plugin["spec"]["generate"]["command"]);
    let args: Vec<&str> = generate[1..].iter().map(String::as_str).collect();
    let (_repo, app) = app_path(Some(&playground()));

    let o = run_as_cmp(&app, &generate[0], &args, r#"[{"name":"env","string":"shared"}]"#);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), plain_render(&app, Some("shared")));
    assert_no_stamps(&text(&o.stdout));

    // A broken config through the plugin: non-zero, nothing on stdout.
    std::fs::write(app.join("config.yaml"), "components: [\n").unwrap();
    let o = run_as_cmp(&app, &generate[0], &args, "[]");
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());

    // The announced parameters and their defaults are the ones mesh-render applies itself.
    let params = plugin["spec"]["parameters"]["static"].as_array().unwrap();
    use mesh_render::api::argocd::{
        CLUSTER_PARAMETER, GATE_ARGOCD_NAMESPACE_PARAMETER, GATE_HOOK_IMAGE_PARAMETER, GATE_NAMESPACE_PARAMETER, GATE_PARAMETER,
        PART_PARAMETER,
    };
    let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            mesh_render::api::argocd::ENV_PARAMETER,
            CLUSTER_PARAMETER,
            PART_PARAMETER,
            GATE_PARAMETER,
            GATE_NAMESPACE_PARAMETER,
            GATE_ARGOCD_NAMESPACE_PARAMETER,
            GATE_HOOK_IMAGE_PARAMETER
        ]
    );
    assert_eq!(params[0]["string"], mesh_render::api::argocd::ENV_DEFAULT);
    assert!(params[1..].iter().all(|p| p["string"] == ""), "{params:?}");
}

/// Review of issue 20: a revision's Application carries its gate's settings (root namespace, Argo
/// CD's namespace, hook image) next to `revisionGate`, and the plugin renders the gate from them
/// alone. Here the Application was rendered from a config with root namespace `mesh-a`, Argo CD in
/// `gitops` and a mirrored hook image; at deletion today's config has other values (and then none
/// that can be read): the gate still runs in `mesh-a` under the ServiceAccount that exists there,
/// reads the Application in `gitops`, with the same image, byte for byte as rendered then. Only some
/// of the settings is an error.
#[test]
fn the_gate_renders_from_the_settings_its_application_carries() {
    let step2 = std::fs::read_to_string(repo_root().join("golden/canary-2-side-by-side/config.yaml")).unwrap();
    let then = step2
        .replace("    namespace: istio-system\n", "    namespace: mesh-a\n")
        .replace("    argocd:\n", "    argocd:\n      namespace: gitops\n      hookImage: mirror.example/k8s:1.34.1\n");
    assert_ne!(then, step2);
    let (_repo, app) = app_path(Some(&then));
    let o = Command::new(bin_dir().join("mesh-render")).args(["render", "--out", "tree"]).current_dir(&app).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let applications = std::fs::read_to_string(app.join("tree/argocd/applications.yaml")).unwrap();
    let istiod = applications
        .split("\n---\n")
        .map(|d| {
            mesh_render::config::syntax::parse(d.trim_start_matches("---\n"), mesh_render::config::syntax::Limits::DEFAULT)
                .unwrap()
                .to_json()
        })
        .find(|a| a["metadata"]["name"] == "istiod")
        .unwrap();
    let parameters = istiod["spec"]["sources"][1]["plugin"]["parameters"].to_string();
    for (name, value) in [("gateNamespace", "mesh-a"), ("gateArgocdNamespace", "gitops"), ("gateHookImage", "mirror.example/k8s:1.34.1")] {
        assert!(parameters.contains(&format!(r#"{{"name":"{name}","string":"{value}"}}"#)), "{parameters}");
    }
    let rendered_then = generate_as_cmp(&app, &parameters);
    assert_eq!(rendered_then.status.code(), Some(0), "{}", text(&rendered_then.stderr));
    let gate = text(&rendered_then.stdout);
    assert!(
        gate.contains("namespace: mesh-a\n") && gate.contains("namespace: gitops\n") && gate.contains("image: mirror.example/k8s:1.34.1\n")
    );
    assert!(gate.contains("name: mesh-render-revision-gate-default-mesh-a\n"), "{gate}");

    // Today's config: the defaults again (istio-system, argocd, the default image), then unreadable.
    for today in [step2.as_str(), "components: [\n"] {
        std::fs::write(app.join("config.yaml"), today).unwrap();
        let o = generate_as_cmp(&app, &parameters);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert_eq!(text(&o.stdout), gate, "the gate of {today:?}");
    }
    let partial = r#"[{"name":"revisionGate","string":"default"},{"name":"gateNamespace","string":"mesh-a"}]"#;
    let o = generate_as_cmp(&app, partial);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(text(&o.stderr).contains("or none"), "{}", text(&o.stderr));
}

/// Issue 20 point 4: a revision's Application asks the plugin for its PreDelete gate with the
/// `revisionGate` parameter; the plugin prints the gate alone, also for a revision the config no
/// longer lists (canary step 4 and the removed `default`), and the same bytes as `render
/// --revision-gate`. A bad name, or a config without Argo CD, prints nothing and exits 2.
#[test]
fn the_plugin_prints_a_revisions_gate_for_its_parameter() {
    let step4 = std::fs::read_to_string(repo_root().join("golden/canary-4-old-removed/config.yaml")).unwrap();
    let (_repo, app) = app_path(Some(&step4));
    let o = generate_as_cmp(&app, r#"[{"name":"revisionGate","string":"default"}]"#);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stream = text(&o.stdout);
    let kinds: Vec<&str> = stream.lines().filter_map(|l| l.strip_prefix("kind: ")).collect();
    assert_eq!(kinds, ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Job"]);
    assert!(stream.contains("name: mesh-render-revision-gate-default\n") && stream.contains("argocd.argoproj.io/hook: PreDelete"));
    assert!(stream.contains("Application argocd/istiod (and with it that istiod)"), "the gate names the Application it belongs to");
    let by_hand =
        Command::new(bin_dir().join("mesh-render")).args(["render", "--revision-gate", "default"]).current_dir(&app).output().unwrap();
    assert_eq!(text(&by_hand.stdout), stream);

    let o = generate_as_cmp(&app, r#"[{"name":"revisionGate","string":"1.29.6"}]"#);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(text(&o.stderr).contains("`1.29.6` is not a revision name"), "{}", text(&o.stderr));

    // The commit that switched Argo CD off, or removed the environment, prunes the revisions'
    // Applications, whose gates still render: with Argo CD's defaults, or the base settings.
    std::fs::write(app.join("config.yaml"), playground()).unwrap();
    for parameters in [
        r#"[{"name":"revisionGate","string":"default"}]"#,
        r#"[{"name":"revisionGate","string":"default"},{"name":"env","string":"gone"}]"#,
    ] {
        let o = generate_as_cmp(&app, parameters);
        assert_eq!(o.status.code(), Some(0), "{parameters}: {}", text(&o.stderr));
        assert!(text(&o.stdout).contains("namespace: argocd\n"), "{}", text(&o.stdout));
        assert!(text(&o.stderr).contains("the revision gate uses"), "{}", text(&o.stderr));
    }
}

#[test]
fn the_plugin_discovers_istio_configs_only() {
    let discover = command_of(&plugin()["spec"]["discover"]["find"]["command"]);
    let args: Vec<&str> = discover[1..].iter().map(String::as_str).collect();
    let (_repo, app) = app_path(Some(&playground()));
    let o = run_as_cmp(&app, &discover[0], &args, "[]");
    assert_eq!((o.status.code(), text(&o.stdout)), (Some(0), "config.yaml\n".to_string()));
    for other in [Some("components:\n  knative:\n    enabled: true\n"), None] {
        let (_repo, app) = app_path(other);
        let o = run_as_cmp(&app, &discover[0], &args, "[]");
        assert_eq!((o.status.code(), text(&o.stdout)), (Some(0), String::new()));
    }
}

/// The repo-server patch, built offline as `kubectl kustomize argocd/`.
#[test]
#[ignore = "needs kubectl on PATH: run by `make test` (`make tools` checks for it)"]
fn kustomize_adds_the_plugin_sidecar_to_the_repo_server() {
    let o = Command::new("kubectl").args(["kustomize"]).arg(repo_root().join("argocd")).output().expect("kubectl on PATH");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let objects: Vec<Value> = syntax::parse_documents(&text(&o.stdout), Limits::DEFAULT).unwrap().iter().map(|n| n.to_json()).collect();
    let cm = objects.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    assert_eq!(cm["metadata"]["name"], "mesh-render-cmp-plugin");
    assert_eq!(cm["metadata"]["namespace"], "argocd");
    let shipped = std::fs::read_to_string(repo_root().join("argocd/plugin.yaml")).unwrap();
    assert_eq!(cm["data"]["plugin.yaml"], shipped.as_str(), "the ConfigMap holds plugin.yaml byte for byte");

    let deploy = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
    assert_eq!(deploy["metadata"]["name"], "argocd-repo-server");
    let pod = &deploy["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().unwrap();
    assert!(containers.iter().any(|c| c["name"] == "argocd-repo-server"), "the repo-server itself stays");
    let sidecar = containers.iter().find(|c| c["name"] == "mesh-render").unwrap();
    assert_eq!(sidecar["command"], serde_json::json!(["/var/run/argocd/argocd-cmp-server"]));
    assert_eq!(sidecar["securityContext"]["runAsNonRoot"], true);
    assert_eq!(sidecar["securityContext"]["runAsUser"], 999);
    let mount = |path: &str| {
        sidecar["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["mountPath"] == path)
            .unwrap_or_else(|| panic!("no mount at {path}"))
            .clone()
    };
    let volume = |name: &Value| pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == *name).unwrap().clone();
    let config = mount("/home/argocd/cmp-server/config/plugin.yaml");
    assert_eq!(config["subPath"], "plugin.yaml");
    assert_eq!(volume(&config["name"])["configMap"]["name"], "mesh-render-cmp-plugin");
    assert!(volume(&mount("/tmp")["name"])["emptyDir"].is_object(), "a private /tmp");
    assert_eq!(mount("/var/run/argocd")["name"], "var-files");
    assert_eq!(mount("/home/argocd/cmp-server/plugins")["name"], "plugins");
    // The binary: copied by an init container from the mesh-render image into a shared emptyDir.
    let binary = mount("/usr/local/bin/mesh-render");
    let init = pod["initContainers"].as_array().unwrap().iter().find(|c| c["name"] == "install-mesh-render").unwrap();
    assert_eq!(init["image"], "ghcr.io/example/mesh-render:0.1.0");
    assert_eq!(init["securityContext"]["runAsUser"], 999);
    assert!(init["volumeMounts"].as_array().unwrap().iter().any(|m| m["name"] == binary["name"]));
    assert_eq!(command_of(&init["command"]).last().unwrap(), &format!("/custom-tools/{}", binary["subPath"].as_str().unwrap()));
}
