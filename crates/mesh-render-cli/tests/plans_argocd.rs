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
/// the labelled namespaces' workloads (Sync hook, wave 1), then the local Gateway (2), the Knative
/// patch (3), STRICT with the policies (4), and the LoadBalancer Gateway last (5); the hook restarts
/// exactly what the plan restarts.
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
    assert_eq!(wave_of("Gateway istio-system/knative-local-gateway"), BTreeSet::from([2]));
    // A LoadBalancer Gateway goes last, after STRICT (issue 20 point 3; tests/argocd_waves.rs).
    assert_eq!(wave_of("Gateway istio-system/knative-gateway"), BTreeSet::from([5]));
    assert_eq!(wave_of("ConfigMap knative-serving/config-"), BTreeSet::from([3]), "Knative switches after the Gateways");
    let security: BTreeSet<i64> =
        wave_of("PeerAuthentication ").union(&wave_of("AuthorizationPolicy ")).chain(&wave_of("NetworkPolicy ")).copied().collect();
    let highest_other = waves
        .iter()
        .filter(|(id, _, _)| {
            !id.starts_with("PeerAuthentication")
                && !id.starts_with("AuthorizationPolicy")
                && !id.starts_with("NetworkPolicy")
                && id != "Gateway istio-system/knative-gateway"
        })
        .map(|(_, w, _)| *w)
        .max()
        .unwrap();
    assert_eq!(security, BTreeSet::from([4]), "STRICT and the policies in one wave");
    assert!(highest_other < 4, "STRICT last: {waves:#?}");

    // The hook's restarts on a real sequence of waves: `plans_cluster.rs`.
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
        // Each kind by its own resource: the NetworkPolicy of the local gateway is networking.k8s.io's.
        let resource = match o["kind"].as_str().unwrap() {
            "PeerAuthentication" => "peerauthentications.security.istio.io",
            "NetworkPolicy" => "networkpolicies.networking.k8s.io",
            _ => "authorizationpolicies.security.istio.io",
        };
        let call = format!(
            "kubectl delete {resource}/{} --namespace {} --ignore-not-found --wait=false",
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
