//! `plan destroy` against fake `kubectl` and `helm` (`support/bench.rs`): it undoes everything
//! `plan apply` did, in the order sidecars need.

mod support;

use std::collections::BTreeSet;

use support::bench::{objects, Bench, R};
use support::playground;
use support::repo_root;

fn destroy_undoes_apply(config: &str, env: Option<&str>) {
    let bench = Bench::new(config, env);
    let (out, applied) = bench.run_plan(&bench.plan("apply", env), None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let (out, destroyed) = bench.run_plan(&bench.plan("destroy", env), None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let loaded = mesh_render::load(config, env, mesh_render::config::syntax::Limits::DEFAULT).unwrap();
    let cfg = loaded.selected();
    let ns = &cfg.namespace;
    let position = |needle: &str| destroyed.iter().position(|c| c == needle).unwrap_or_else(|| panic!("no `{needle}` in {destroyed:#?}"));

    // Helm releases: every one installed is uninstalled, in reverse order.
    let releases: Vec<&str> =
        applied.iter().filter_map(|c| c.strip_prefix("helm upgrade --install ")).map(|r| r.split(' ').next().unwrap()).collect();
    assert_eq!(releases, ["istio-base", "istiod"]);
    let uninstall = |r: &str| position(&format!("helm uninstall {r} --namespace {ns} --ignore-not-found --wait"));
    assert!(uninstall("istiod") < uninstall("istio-base"));

    // CRDs the base chart installed (and `keep` leaves), and the namespace helm created.
    let crd_call = &destroyed[position(&destroyed.iter().find(|c| c.starts_with("kubectl delete crd")).unwrap().clone())];
    let deleted_crds: BTreeSet<&str> = crd_call.split(' ').skip(4).collect();
    let reference = std::fs::read_to_string(repo_root().join(format!(
        "reference/istio-{}/charts/base/files/crd-all.gen.yaml",
        mesh_render::versions::reference_charts(cfg.release.version)
    )))
    .unwrap();
    for crd in reference.lines().filter_map(|l| l.strip_prefix("  name: ")).filter(|n| n.ends_with(".istio.io")) {
        assert!(deleted_crds.contains(crd), "CRD {crd} is left behind");
    }
    let ns_deleted = position(&format!("kubectl delete namespace {ns} --ignore-not-found --wait=true"));
    assert!(uninstall("istio-base") < ns_deleted);
    // The GatewayClasses istiod created, once istiod can no longer recreate them.
    assert!(uninstall("istiod") < position("kubectl delete gatewayclass istio istio-remote --ignore-not-found"));

    // Every object applied: owned ones deleted (their file, or the root namespace), partial ones
    // undone (injection labels removed, Knative's ConfigMaps restored).
    let restore_file = bench.path().join(R).join("lifecycle/knative-restore.yaml");
    let restore = if restore_file.is_file() { objects(&restore_file) } else { Vec::new() };
    // Istio's injection label: the revision label when the config names a revision.
    let label = if cfg.revisions.is_some() || cfg.revision.is_some() { "istio.io/rev" } else { "istio-injection" };
    for call in applied.iter().filter(|c| c.starts_with("kubectl apply")) {
        let file = call.rsplit(' ').next().unwrap();
        for object in objects(&bench.path().join(file)) {
            let kind = object["kind"].as_str().unwrap();
            let name = object["metadata"]["name"].as_str().unwrap();
            let partial = object["metadata"]["annotations"]["mesh-render/partial"].is_string();
            match (kind, partial) {
                ("Namespace", true) => {
                    let unlabel = position(&format!("kubectl label namespace {name} {label}-"));
                    // Labels go and the workloads restart while istiod still serves: no old sidecar
                    // runs on frozen config while its pod is replaced.
                    assert!(unlabel < uninstall("istiod"), "the label is removed before istiod is uninstalled");
                    let restart = position(&format!("kubectl rollout restart deployment.apps/app --namespace {name}"));
                    let rolled_out = position(&format!("kubectl rollout status deployment.apps/app --namespace {name} --timeout=300s"));
                    assert!(unlabel < restart && restart < rolled_out && rolled_out < uninstall("istiod"));
                }
                ("Namespace", false) => assert_eq!(name, ns),
                ("ConfigMap", true) => {
                    assert!(
                        restore
                            .iter()
                            .any(|r| r["metadata"]["name"] == name && r["metadata"]["namespace"] == object["metadata"]["namespace"]),
                        "{name} is not restored"
                    );
                    assert!(destroyed.contains(&format!(
                        "kubectl apply --server-side --field-manager=mesh-render --filename {R}/lifecycle/knative-restore.yaml"
                    )));
                }
                (_, false) => {
                    position(&format!("kubectl delete --ignore-not-found --wait=true --filename {file}"));
                }
                (_, true) => panic!("unexpected partial {kind} {name}"),
            }
        }
    }
}

#[test]
fn destroy_removes_everything_apply_created() {
    destroy_undoes_apply(&playground(), None);
    destroy_undoes_apply(&playground(), Some("shared"));
    for case in ["many-apps-eventing", "ai-serving-one-pool", "minimal", "permissive-no-tracing", "argocd-app-of-apps"] {
        let text = std::fs::read_to_string(repo_root().join(format!("golden/{case}/config.yaml"))).unwrap();
        destroy_undoes_apply(&text, None);
    }
}

#[test]
fn destroy_restores_envoy_gateway_or_knative_defaults() {
    let with_eg = Bench::new(&playground(), None);
    let restore = std::fs::read_to_string(with_eg.path().join(R).join("lifecycle/knative-restore.yaml")).unwrap();
    assert!(restore.contains("gateway: eg-external/eg-external\n      service: eg-external/knative-external"), "{restore}");
    assert!(restore.contains("gateway: eg-internal/eg-internal\n      service: eg-internal/knative-internal"), "{restore}");
    assert!(with_eg
        .plan("destroy", None)
        .contains("point Knative back at Envoy Gateway (eg-external/eg-external, eg-internal/eg-internal)"));

    let without = playground().replace("  envoyGateway:\n    # Knative's Gateway API controller before the swap to Istio; set false once it is removed.\n    enabled: true", "  envoyGateway:\n    enabled: false");
    assert_ne!(without, playground());
    let bench = Bench::new(&without, None);
    let objects = objects(&bench.path().join(R).join("lifecycle/knative-restore.yaml"));
    assert_eq!(objects.len(), 3);
    assert!(objects.iter().all(|o| o.get("data").is_none()), "no data: server-side apply removes mesh-render's keys");
    let plan = bench.plan("destroy", None);
    assert!(plan.contains("remove mesh-render's keys from Knative's ConfigMaps"));
    let apply = bench.plan("apply", None);
    assert!(!apply.contains("--force-conflicts") && !apply.contains("remove Envoy Gateway"), "{apply}");
}
