//! Issue 20, point 3: the mesh Application's sync waves reach STRICT on a cluster without a
//! LoadBalancer implementation (kind, minikube).
//!
//! There istiod leaves a LoadBalancer Gateway at `Programmed=False`, reason `AddressNotAssigned`
//! (istio 1.29.6 `pilot/pkg/config/kube/gateway/context.go:99-101`, `conversion.go:1917-1946`), and
//! Argo CD's built-in Gateway health check calls it `Progressing` for good (argo-cd v3.5.1
//! `resource_customizations/gateway.networking.k8s.io/Gateway/health.lua:33-43`; the Go harness in
//! `oracle/argocd-health/` runs that Lua on such a status). [`sync`] is gitops-engine's wave loop
//! (argo-cd v3.5.1 `gitops-engine/pkg/sync/sync_context.go`) reduced to what decides whether a wave
//! is reached.

mod common;

use std::collections::BTreeMap;

use mesh_render::api::argocd::SYNC_WAVE;
use mesh_render::config::syntax::Limits;

const HOOK: &str = "argocd.argoproj.io/hook";

/// `(wave, kind, namespace/name, is a hook)` of every object a sync of the mesh Application applies
/// (the `PreDelete` hook runs only on deletion, outside the sync's waves).
fn mesh_objects(text: &str) -> Vec<(i32, String, String, bool)> {
    let loaded = mesh_render::load(text, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{:#?}", e.diagnostics));
    mesh_render::render(&loaded)
        .manifests
        .iter()
        .map(|m| serde_json::to_value(&m.object).unwrap())
        .filter(|o| o["metadata"]["annotations"][HOOK] != "PreDelete")
        .map(|o| {
            let a = &o["metadata"]["annotations"];
            let wave = a[SYNC_WAVE].as_str().unwrap_or_else(|| panic!("no wave: {o}")).parse().unwrap();
            let id = format!("{}/{}", o["metadata"]["namespace"].as_str().unwrap_or(""), o["metadata"]["name"].as_str().unwrap());
            (wave, o["kind"].as_str().unwrap().to_string(), id, a[HOOK].is_string())
        })
        .collect()
}

fn app_of_apps() -> String {
    std::fs::read_to_string(common::repo_root().join("golden/argocd-app-of-apps/config.yaml")).unwrap()
}

fn wave_of(objects: &[(i32, String, String, bool)], kind: &str, id: &str) -> i32 {
    objects.iter().find(|(_, k, i, _)| k == kind && i == id).unwrap_or_else(|| panic!("no {kind} {id}")).0
}

/// What a sync of these objects reaches when `stuck` stay `Progressing` for ever: `Ok(())` if the
/// operation succeeds, `Err(wave)` with the wave it waits in otherwise.
///
/// gitops-engine applies the lowest pending wave (`sync_context.go:659-669`); a non-hook task ends
/// only on `Healthy` or `Degraded` (`:556-567`), and while any task of a multi-step sync runs, the
/// next wave waits (`:573-596`). The last wave is the exception: once its objects are applied and it
/// holds no hook, the operation succeeds "EVEN if those objects subsequently degrades" (`:703-712`).
fn sync(objects: &[(i32, String, String, bool)], stuck: &dyn Fn(&str, &str) -> bool) -> Result<(), i32> {
    let mut waves: BTreeMap<i32, Vec<&(i32, String, String, bool)>> = BTreeMap::new();
    for o in objects {
        waves.entry(o.0).or_default().push(o);
    }
    let last = *waves.keys().next_back().unwrap();
    for (wave, tasks) in &waves {
        if *wave == last && !tasks.iter().any(|t| t.3) {
            return Ok(());
        }
        if tasks.iter().any(|t| stuck(&t.1, &t.2)) {
            return Err(*wave);
        }
    }
    Ok(())
}

/// On kind: the Gateways whose Service is a LoadBalancer never get an address.
fn no_load_balancer<'a>(lb: &'a [&'a str]) -> impl Fn(&str, &str) -> bool + 'a {
    move |kind, id| kind == "Gateway" && lb.contains(&id)
}

/// Rule (point 3): the external Gateway (a LoadBalancer by default: istio 1.29.6
/// `deploymentcontroller.go:182`) is in the last wave, alone with nothing that waits on it, after the
/// Knative patch and STRICT; the cluster-internal Gateway stays with the other routing objects.
#[test]
fn a_load_balancer_gateway_is_the_last_wave_after_strict() {
    let objects = mesh_objects(&app_of_apps());
    let external = wave_of(&objects, "Gateway", "istio-system/knative-gateway");
    let local = wave_of(&objects, "Gateway", "istio-system/knative-local-gateway");
    let strict = wave_of(&objects, "PeerAuthentication", "istio-system/default");
    let knative = wave_of(&objects, "ConfigMap", "knative-serving/config-gateway");
    assert_eq!((local, knative, strict, external), (2, 3, 4, 5));
    let in_last: Vec<&str> = objects.iter().filter(|o| o.0 == external).map(|o| o.2.as_str()).collect();
    assert_eq!(in_last, ["istio-system/knative-gateway"], "nothing else, and no hook, in the last wave");
}

/// Rule (point 3): on a cluster without a LoadBalancer the sync succeeds with every wave applied,
/// STRICT included; had the Gateway stayed in any earlier wave, the sync would wait there for ever.
#[test]
fn without_a_load_balancer_the_sync_reaches_strict() {
    let objects = mesh_objects(&app_of_apps());
    let lb = ["istio-system/knative-gateway"];
    assert_eq!(sync(&objects, &no_load_balancer(&lb)), Ok(()));
    // The same objects with the Gateway back in wave 2 (where it was before issue 20): stuck there,
    // so the Knative patch (3) and STRICT (4) never apply.
    let before: Vec<_> = objects.iter().map(|o| if o.1 == "Gateway" { (2, o.1.clone(), o.2.clone(), o.3) } else { o.clone() }).collect();
    assert_eq!(sync(&before, &no_load_balancer(&lb)), Err(2));
    // A hook in the last wave would make it wait too: the exception holds only without one.
    let mut with_hook = objects.clone();
    with_hook.push((5, "Job".into(), "istio-system/a-hook".into(), true));
    assert_eq!(sync(&with_hook, &no_load_balancer(&lb)), Err(5));
}

/// Rule (point 3): a NodePort or ClusterIP external Gateway gets its address from its Service
/// (istiod reports an address pending only for a LoadBalancer, `context.go:99-101`), so it is
/// `Programmed` and stays in wave 2, before the Knative patch that points at it.
#[test]
fn a_node_port_gateway_stays_before_the_knative_patch() {
    let text = app_of_apps()
        .replace("    argocd:\n      repoURL", "    gateways:\n      external: {serviceType: NodePort}\n    argocd:\n      repoURL");
    let objects = mesh_objects(&text);
    assert_eq!(wave_of(&objects, "Gateway", "istio-system/knative-gateway"), 2);
    assert!(objects.iter().all(|o| o.0 <= 4), "STRICT is the last wave again: {objects:#?}");
    assert_eq!(sync(&objects, &no_load_balancer(&[])), Ok(()));
}

/// Rule (point 3): the AI serving Gateway has no options ConfigMap, so istiod gives it a
/// LoadBalancer too: it goes to the last wave with the external one.
#[test]
fn the_inference_gateway_is_a_load_balancer_and_goes_last_too() {
    let ai = std::fs::read_to_string(common::repo_root().join("golden/ai-serving-one-pool/config.yaml")).unwrap();
    let text = ai.replace(
        "    aiServing:",
        "    argocd:\n      repoURL: https://github.com/example/playground.git\n      targetRevision: main\n    aiServing:",
    );
    let objects = mesh_objects(&text);
    let last: Vec<(&str, &str)> = objects.iter().filter(|o| o.0 == 5).map(|o| (o.1.as_str(), o.2.as_str())).collect();
    assert_eq!(last.len(), 2, "{last:?}");
    assert!(last.iter().all(|(kind, _)| *kind == "Gateway") && last.contains(&("Gateway", "istio-system/knative-gateway")), "{last:?}");
    let lb: Vec<&str> = last.iter().map(|(_, id)| *id).collect();
    assert_eq!(sync(&objects, &no_load_balancer(&lb)), Ok(()));
    assert!(objects.iter().filter(|o| o.1 == "InferencePool").all(|o| o.0 == 2));
}
