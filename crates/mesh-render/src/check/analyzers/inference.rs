//! Gateway API Inference Extension objects.

use super::{Diagnostic, Input, Rule};
use crate::diagnostics::Severity;

pub(super) const SWITCH_OFF: Rule = Rule {
    code: "MR111",
    name: "inference-switch-off",
    severity: Severity::Error,
    summary: "InferencePools exist while istiod's Inference Extension support is off",
    explanation: "Istio 1.29 routes to an InferencePool only with the istiod environment variable \
        `ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true` (beta, off by default). Without it, HTTPRoutes whose \
        backend is an InferencePool get no endpoints. mesh-render sets it whenever aiServing declares a pool.",
};

pub(super) fn switch_off(input: &Input) -> Vec<Diagnostic> {
    let Some(values) = input.values else { return Vec::new() };
    let on = super::istiod_values(values)["env"]["ENABLE_GATEWAY_API_INFERENCE_EXTENSION"].as_str() == Some("true");
    input
        .of_kind("InferencePool")
        .filter(|_| !on)
        .map(|p| {
            Diagnostic::new(
                &SWITCH_OFF,
                "istiod does not watch InferencePools (ENABLE_GATEWAY_API_INFERENCE_EXTENSION is not \"true\")",
                "set components.istio.controlPlane.inferenceExtension: true",
            )
            .on(p)
            .key("components.istio.controlPlane.inferenceExtension")
        })
        .collect()
}

pub(super) const INFERENCE_MODEL: Rule = Rule {
    code: "MR112",
    name: "inference-model",
    severity: Severity::Error,
    summary: "An InferenceModel object: the kind no longer exists",
    explanation: "InferenceModel was replaced by InferenceObjective (`inference.networking.x-k8s.io/v1alpha2`, \
        `spec.priority`, `spec.poolRef`), which only the endpoint picker reads; from Inference Extension \
        v1.6.0 InferenceObjective lives in the llm-d project. No CRD serves InferenceModel any more, so \
        applying it fails.",
};

pub(super) fn inference_model(input: &Input) -> Vec<Diagnostic> {
    input
        .of_kind("InferenceModel")
        .map(|m| {
            Diagnostic::new(
                &INFERENCE_MODEL,
                "InferenceModel no longer exists",
                "replace it with an InferenceObjective (components.istio.aiServing.pools[].objectives)",
            )
            .on(m)
        })
        .collect()
}
