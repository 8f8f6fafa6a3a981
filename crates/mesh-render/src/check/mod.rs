//! Checks: the analyzers (stable codes, what breaks Knative under Istio), the traffic flows they
//! evaluate, and validation of rendered objects against the upstream schemas with their CEL rules.

pub mod analyzers;
pub mod flows;
pub mod schema;
