//! `plan apply` against fake `kubectl` and `helm` (`support/bench.rs`): the exact order and arguments
//! of its calls, the checks it makes first, and that a failing step stops it.

mod support;

use support::bench::{apply_calls, Bench, HEALTHY, R};
use support::playground;

#[test]
fn apply_runs_every_step_in_order_with_exact_arguments() {
    let bench = Bench::new(&playground(), None);
    let plan = bench.plan("apply", None);
    let (out, calls) = bench.run_plan(&plan, None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(calls, apply_calls());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The reminder to remove Envoy Gateway comes only after the Gateways are Programmed.
    let reminder = stderr.find("next: remove Envoy Gateway").expect("a reminder to remove Envoy Gateway");
    assert!(stderr.find("wait for the Gateways").unwrap() < reminder, "{stderr}");
    assert!(!stderr.contains("warning"), "a healthy cluster gives no warning: {stderr}");
    assert!(stderr.contains("eg-external/eg-external and eg-internal/eg-internal"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// With `aiServing.installCRDs: false` the InferencePool CRD is someone else's to install: `plan apply`
/// asks for it together with the Gateway API CRDs, before any Helm release, and stops when it is missing.
/// With `installCRDs: true` the plan applies the CRDs itself and does not ask.
#[test]
fn apply_checks_the_inference_pool_crd_when_the_config_does_not_install_it() {
    let config = "components:\n  istio:\n    enabled: true\n    version: \"1.29.6\"\n    aiServing:\n      installCRDs: false\n      pools:\n        - {name: llm, namespace: ai, selector: {app: vllm}, targetPorts: [8000]}\n";
    let gateway_api = "gatewayclasses.gateway.networking.k8s.io gateways.gateway.networking.k8s.io httproutes.gateway.networking.k8s.io";
    let check = format!("kubectl get crd {gateway_api} inferencepools.inference.networking.k8s.io");
    let bench = Bench::new(config, None);
    let plan = bench.plan("apply", None);
    let (out, calls) = bench.run_plan(&plan, None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(calls[0], check);
    let (out, calls) = bench.run_plan(&plan, Some(&check));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(calls, [check], "nothing runs after the failed check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("install the Gateway API standard-channel CRDs and the InferencePool CRD of Inference Extension v1.1.0 (or set aiServing.installCRDs: true) first"),
        "{stderr}"
    );

    let bench = Bench::new(&config.replace("installCRDs: false", "installCRDs: true"), None);
    let (out, calls) = bench.run_plan(&bench.plan("apply", None), None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(calls[0], format!("kubectl get crd {gateway_api}"));
    let (out, _) = bench.run_plan(&bench.plan("apply", None), Some(&format!("kubectl get crd {gateway_api}")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("install the Gateway API standard-channel CRDs first"), "{stderr}");
}

/// kind and minikube have no LoadBalancer implementation: the external Gateway stays
/// `Programmed=False` (AddressNotAssigned). The plan goes on, and says why and what to do.
#[test]
fn apply_does_not_wait_for_an_external_address_and_warns_instead() {
    let bench = Bench::new(&playground(), None);
    let no_address =
        HEALTHY.replace("get gateway knative-gateway --output=jsonpath\tTrue", "get gateway knative-gateway --output=jsonpath\tFalse");
    let (out, calls) = bench.run_plan_with(&bench.plan("apply", None), None, &no_address);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(calls, apply_calls(), "the same steps: nothing waits for Programmed on the external Gateway");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: gateway/knative-gateway has no address yet (Programmed=False)"), "{stderr}");
    assert!(stderr.contains("serviceType: NodePort"), "{stderr}");
}

/// Istio is built against one Gateway API bundle; older CRDs make istiod ignore kinds (TLSRoute
/// on 1.30: TLS passthrough breaks silently). The plans read the installed bundle and stop.
#[test]
fn apply_and_verify_stop_on_an_older_gateway_api_bundle() {
    let bench = Bench::new(&playground(), None);
    for (bundle, ok) in [("v1.4.0", false), ("", false), ("v1.4.1", true), ("v1.10.0", true)] {
        let responses = HEALTHY.replace("--output=jsonpath\tv1.6.1", &format!("--output=jsonpath\t{bundle}"));
        let (out, calls) = bench.run_plan_with(&bench.plan("apply", None), None, &responses);
        assert_eq!(out.status.code() == Some(0), ok, "bundle `{bundle}`: {}", String::from_utf8_lossy(&out.stderr));
        if !ok {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let shown = if bundle.is_empty() { "unknown" } else { bundle };
            assert!(
                stderr.contains(&format!("the installed Gateway API CRDs are bundle '{shown}'; Istio 1.29.6 needs v1.4.1 or newer")),
                "{stderr}"
            );
            assert!(stderr.contains("releases/download/v1.4.1/standard-install.yaml"), "{stderr}");
            assert!(!calls.iter().any(|c| c.starts_with("helm")), "nothing is installed: {calls:?}");
            let (out, _) = bench.run_plan_with(&bench.plan("verify", None), None, &responses);
            assert_ne!(out.status.code(), Some(0), "verify stops too");
        }
    }
}

#[test]
fn a_failing_step_stops_the_plan() {
    let bench = Bench::new(&playground(), None);
    let plan = bench.plan("apply", None);
    let (out, calls) = bench.run_plan(&plan, Some("helm upgrade --install istiod"));
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(calls, apply_calls()[..4], "nothing runs after the failed step");

    let (out, calls) = bench.run_plan(&plan, Some("kubectl --namespace istio-system wait --for=condition=Programmed"));
    assert_ne!(out.status.code(), Some(0));
    assert!(!calls.iter().any(|c| c.contains("40-knative-patch")), "Knative is not swapped to Gateways that are not Programmed");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("remove Envoy Gateway"));

    // A missing tree file stops the plan before any call.
    std::fs::remove_file(bench.path().join(R).join("lifecycle/istiod-values.yaml")).unwrap();
    let (out, calls) = bench.run_plan(&plan, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(calls.is_empty(), "{calls:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("deployment/rendered/lifecycle/istiod-values.yaml is missing"));
}
