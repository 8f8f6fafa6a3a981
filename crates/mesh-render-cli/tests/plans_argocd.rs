//! The Argo CD path against fake `kubectl` (`support/bench.rs`): sync waves and hooks reach the state
//! `plan apply` reaches, the pre-delete hook undoes it like `plan destroy`, and the hooks' RBAC.

mod support;

use std::collections::BTreeSet;

use support::bench::{objects, shellcheck, Bench, HEALTHY, R};
use support::repo_root;

/// The shell script of a hook Job in the rendered `manifests/45-argocd-hooks.yaml`.
fn hook_script(bench: &Bench, job: &str) -> String {
    let hooks = objects(&bench.path().join(R).join("manifests/45-argocd-hooks.yaml"));
    let job = hooks.iter().find(|o| o["kind"] == "Job" && o["metadata"]["name"] == job).unwrap_or_else(|| panic!("no Job {job}"));
    let command = &job["spec"]["template"]["spec"]["containers"][0]["command"];
    assert_eq!((&command[0], &command[1]), (&serde_json::json!("/bin/sh"), &serde_json::json!("-c")));
    command[2].as_str().unwrap().to_string()
}

/// The Argo CD wave of every object of the mesh Application, by `Kind namespace/name`.
fn waves(bench: &Bench) -> Vec<(String, i64, Option<String>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(bench.path().join(R).join("manifests")).unwrap().flatten() {
        for o in objects(&entry.path()) {
            let a = &o["metadata"]["annotations"];
            let wave = a["argocd.argoproj.io/sync-wave"].as_str().map_or(0, |w| w.parse().unwrap());
            let id = format!(
                "{} {}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["namespace"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap()
            );
            out.push((id, wave, a["argocd.argoproj.io/hook"].as_str().map(str::to_string)));
        }
    }
    out
}

fn restarts(calls: &[String]) -> BTreeSet<String> {
    calls.iter().filter(|c| c.starts_with("kubectl rollout") || c.starts_with("kubectl get deployments,statefulsets")).cloned().collect()
}

/// Rule: the Argo CD path reaches the state `plan apply` reaches. Labels (wave 0), then a restart of
/// the labelled namespaces' workloads (Sync hook, wave 1), then Gateways (2), the Knative patch (3),
/// and STRICT with the policies last (4); the hook restarts exactly what the plan restarts.
#[test]
fn argocd_sync_reaches_the_state_plan_apply_reaches() {
    let config = std::fs::read_to_string(repo_root().join("golden/argocd-app-of-apps/config.yaml")).unwrap();
    let bench = Bench::new(&config, None);
    let waves = waves(&bench);
    let wave_of =
        |prefix: &str| -> BTreeSet<i64> { waves.iter().filter(|(id, _, _)| id.starts_with(prefix)).map(|(_, w, _)| *w).collect() };
    let restart_job = waves.iter().find(|(id, _, _)| id.ends_with("/mesh-render-sidecar-restart")).unwrap();
    assert_eq!((restart_job.1, restart_job.2.as_deref()), (1, Some("Sync")));
    assert_eq!(wave_of("Namespace "), BTreeSet::from([0]), "injection labels first");
    assert_eq!(wave_of("Gateway "), BTreeSet::from([2]));
    assert_eq!(wave_of("ConfigMap knative-serving/config-"), BTreeSet::from([3]), "Knative switches after the Gateways");
    let security: BTreeSet<i64> = wave_of("PeerAuthentication ").union(&wave_of("AuthorizationPolicy ")).copied().collect();
    let highest_other = waves
        .iter()
        .filter(|(id, _, _)| !id.starts_with("PeerAuthentication") && !id.starts_with("AuthorizationPolicy"))
        .map(|(_, w, _)| *w)
        .max()
        .unwrap();
    assert_eq!(security, BTreeSet::from([4]), "STRICT and the policies in one wave");
    assert!(highest_other < 4, "STRICT last: {waves:#?}");

    // The hook, on a cluster whose pods predate the labels, restarts what `plan apply` restarts.
    let (out, plan_calls) = bench.run_plan(&bench.plan("apply", None), None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let no_sidecars = format!("{HEALTHY}get pods --namespace\tpod-created-before-the-label\n");
    let (out, hook_calls) = bench.run_plan_with(&hook_script(&bench, "mesh-render-sidecar-restart"), None, &no_sidecars);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!restarts(&plan_calls).is_empty());
    assert_eq!(restarts(&hook_calls), restarts(&plan_calls), "the same workloads restarted and waited for");
    // Once every pod has its sidecar, a sync restarts nothing.
    let injected = format!("{HEALTHY}get pods --namespace\tpod\t{{\"containers\":[\"istio-proxy\"]}}\t\tdefault\n");
    let (out, hook_calls) = bench.run_plan_with(&hook_script(&bench, "mesh-render-sidecar-restart"), None, &injected);
    assert_eq!(out.status.code(), Some(0));
    assert!(restarts(&hook_calls).is_empty(), "{hook_calls:#?}");
}

/// Rule: after a revision tag moved (canary step 3), an Argo CD sync restarts the pods still on the
/// old revision, as the plan's restart does; pods on the tag's revision are left alone.
#[test]
fn argocd_sync_hook_restarts_pods_of_another_revision_after_a_tag_move() {
    let config = std::fs::read_to_string(repo_root().join("golden/canary-3-tag-moved/config.yaml")).unwrap();
    let bench = Bench::new(&config, None);
    let script = hook_script(&bench, "mesh-render-sidecar-restart");
    assert!(script.contains("$4 != \"1-30-3\""), "the stable tag's revision: {script}");
    let on = |rev: &str| format!("{HEALTHY}get pods --namespace\tpod\t{{\"containers\":[\"istio-proxy\"]}}\t\t{rev}\n");
    let (out, calls) = bench.run_plan_with(&script, None, &on("default"));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let restarted: BTreeSet<String> = restarts(&calls).into_iter().filter(|c| c.starts_with("kubectl rollout restart")).collect();
    let expected: BTreeSet<String> = ["knative-serving", "knative-eventing", "demo", "event-demo"]
        .iter()
        .map(|ns| format!("kubectl rollout restart deployment.apps/app --namespace {ns}"))
        .collect();
    assert_eq!(restarted, expected, "pods on the old revision `default` are restarted");
    let (_, calls) = bench.run_plan_with(&script, None, &on("1-30-3"));
    assert!(restarts(&calls).is_empty(), "pods on the tag's revision stay: {calls:#?}");
}

#[test]
#[ignore = "needs shellcheck: run by `make test` (`make tools` installs it)"]
fn shellcheck_passes_on_the_argocd_hook_scripts() {
    let config = std::fs::read_to_string(repo_root().join("golden/argocd-app-of-apps/config.yaml")).unwrap();
    let bench = Bench::new(&config, None);
    for job in ["mesh-render-sidecar-restart", "mesh-render-sidecar-teardown"] {
        let o = shellcheck(&["--shell=sh", "-"], Some(&hook_script(&bench, job)));
        assert!(o.status.success(), "{job}: {}", String::from_utf8_lossy(&o.stdout));
    }
}

/// Rule: deleting the mesh Application undoes what sidecars depend on as `plan destroy` does, before
/// Argo CD deletes the objects: the policies, then the labels, restarts and waits; and the hook does
/// nothing unless the Application is being deleted (applied by hand, it must not tear down the mesh).
#[test]
fn argocd_pre_delete_hook_tears_down_like_plan_destroy() {
    let config = std::fs::read_to_string(repo_root().join("golden/argocd-app-of-apps/config.yaml")).unwrap();
    let bench = Bench::new(&config, None);
    let script = hook_script(&bench, "mesh-render-sidecar-teardown");
    let (out, calls) = bench.run_plan(&script, None);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        calls,
        ["kubectl get applications.argoproj.io istio-mesh --namespace argocd --output=jsonpath={.metadata.deletionTimestamp}"]
    );

    let deleting = format!("{HEALTHY}get applications.argoproj.io istio-mesh\t2026-12-01T00:00:00Z\n");
    let (out, hook) = bench.run_plan_with(&script, None, &deleting);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, destroy) = bench.run_plan(&bench.plan("destroy", None), None);
    // Every policy of the security file, by name, STRICT before the exceptions.
    let deleted: Vec<String> = hook.iter().filter(|c| c.starts_with("kubectl delete ")).cloned().collect();
    let security = objects(&bench.path().join(R).join("manifests/10-security.yaml"));
    assert_eq!(deleted.len(), security.len());
    for o in &security {
        let resource = if o["kind"] == "PeerAuthentication" { "peerauthentications" } else { "authorizationpolicies" };
        let call = format!(
            "kubectl delete {resource}.security.istio.io/{} --namespace {} --ignore-not-found --wait=false",
            o["metadata"]["name"].as_str().unwrap(),
            o["metadata"]["namespace"].as_str().unwrap()
        );
        assert!(deleted.contains(&call), "{call} in {deleted:#?}");
    }
    let strict = deleted.iter().position(|c| c.contains("peerauthentications.security.istio.io/default --namespace istio-system")).unwrap();
    assert_eq!(strict, 0, "the mesh-wide STRICT goes first");
    let labels =
        |calls: &[String]| -> BTreeSet<String> { calls.iter().filter(|c| c.starts_with("kubectl label namespace")).cloned().collect() };
    assert_eq!(labels(&hook), labels(&destroy));
    assert_eq!(restarts(&hook), restarts(&destroy));
    let last_delete = hook.iter().rposition(|c| c.starts_with("kubectl delete ")).unwrap();
    let first_label = hook.iter().position(|c| c.starts_with("kubectl label")).unwrap();
    assert!(last_delete < first_label, "policies go before the labels: {hook:#?}");
}

/// Rule: the hooks' RBAC grants what their scripts call, and nothing wider: namespaces by name,
/// policies by name, the Application by name; workloads and pods only in labelled namespaces.
#[test]
fn argocd_hook_rbac_covers_exactly_the_hook_calls() {
    let config = std::fs::read_to_string(repo_root().join("golden/argocd-app-of-apps/config.yaml")).unwrap();
    let bench = Bench::new(&config, None);
    let hooks = objects(&bench.path().join(R).join("manifests/45-argocd-hooks.yaml"));
    // (namespace or "" for cluster, group, resource, verb, name or "")
    let mut grants: BTreeSet<(String, String, String, String, String)> = BTreeSet::new();
    for o in hooks.iter().filter(|o| o["kind"] == "Role" || o["kind"] == "ClusterRole") {
        let ns = o["metadata"]["namespace"].as_str().unwrap_or("").to_string();
        for rule in o["rules"].as_array().unwrap() {
            let names: Vec<String> = rule["resourceNames"]
                .as_array()
                .map_or(vec![String::new()], |a| a.iter().map(|n| n.as_str().unwrap().to_string()).collect());
            for g in rule["apiGroups"].as_array().unwrap() {
                for r in rule["resources"].as_array().unwrap() {
                    for v in rule["verbs"].as_array().unwrap() {
                        for n in &names {
                            grants.insert((
                                ns.clone(),
                                g.as_str().unwrap().into(),
                                r.as_str().unwrap().into(),
                                v.as_str().unwrap().into(),
                                n.clone(),
                            ));
                        }
                    }
                }
            }
        }
    }
    let allowed = |ns: &str, group: &str, resource: &str, verb: &str, name: &str| {
        grants.contains(&(ns.into(), group.into(), resource.into(), verb.into(), name.into()))
            || grants.contains(&(ns.into(), group.into(), resource.into(), verb.into(), String::new()))
    };
    let no_sidecars = format!("{HEALTHY}get pods --namespace\tpod\nget applications.argoproj.io istio-mesh\t2026-12-01T00:00:00Z\n");
    let mut calls = bench.run_plan_with(&hook_script(&bench, "mesh-render-sidecar-restart"), None, &no_sidecars).1;
    calls.extend(bench.run_plan_with(&hook_script(&bench, "mesh-render-sidecar-teardown"), None, &no_sidecars).1);
    let ns_of = |words: &[&str]| words.iter().position(|w| *w == "--namespace").map(|i| words[i + 1].to_string()).unwrap_or_default();
    for call in &calls {
        let w: Vec<&str> = call.split(' ').collect();
        let ns = ns_of(&w);
        let needed: Vec<(String, &str, &str, &str, String)> = match (w[1], w[2]) {
            ("get", "pods") => vec![(ns, "", "pods", "list", String::new())],
            ("get", "deployments,statefulsets,daemonsets") => {
                ["deployments", "statefulsets", "daemonsets"].map(|r| (ns.clone(), "apps", r, "list", String::new())).to_vec()
            }
            ("get", "applications.argoproj.io") => vec![(ns, "argoproj.io", "applications", "get", w[3].to_string())],
            ("rollout", "restart") | ("rollout", "status") => {
                let (kind, name) = w[3].split_once('/').unwrap();
                let resource = format!("{}s", kind.split('.').next().unwrap());
                let verbs: &[&str] = if w[2] == "restart" { &["patch"] } else { &["get", "watch"] };
                verbs.iter().map(|v| (ns.clone(), "apps", leak(&resource), *v, name.to_string())).collect()
            }
            ("label", "namespace") => ["get", "patch"].map(|v| (String::new(), "", "namespaces", v, w[3].to_string())).to_vec(),
            ("delete", object) => {
                let (resource, name) = object.split_once('/').unwrap();
                let (plural, group) = resource.split_once('.').unwrap();
                vec![(ns, leak(group), leak(plural), "delete", name.to_string())]
            }
            _ => panic!("a hook call the test does not know: {call}"),
        };
        for (ns, group, resource, verb, name) in needed {
            assert!(allowed(&ns, group, resource, verb, &name), "`{call}` needs {verb} {resource}.{group} {name} in `{ns}`: {grants:#?}");
        }
    }
    // Nothing cluster-wide beyond the labelled namespaces, and no wildcard.
    assert!(grants.iter().filter(|g| g.0.is_empty()).all(|g| g.2 == "namespaces" && !g.4.is_empty()));
    assert!(!grants.iter().any(|g| g.1 == "*" || g.2 == "*" || g.3 == "*"));
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}
