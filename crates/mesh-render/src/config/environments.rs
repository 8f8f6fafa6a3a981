//! `components.istio.environments`: named overlays deep-merged onto the base section, each read and
//! checked like the base.

use super::codes;
use std::collections::{BTreeMap, HashMap, HashSet};

use super::decode::{self, Decoder, Fields};
use super::envoy_gateway::EnvoyGateway;
use super::knative::Knative;
use super::Config;
use crate::config::syntax::{Node, Value};
use crate::diagnostics::{Diagnostic, Severity};

/// Deep merge of an environment onto the base section: mappings merge key by key, everything else
/// (scalars, lists, null) replaces. Positions stay those of the file, so problems point at the line
/// that set the value, in the base or in the environment.
pub fn merge(base: &Node, overlay: &Node) -> Node {
    match (&base.value, &overlay.value) {
        (Value::Map(base_entries), Value::Map(over_entries)) => {
            // Keys are unique per mapping (the reader refuses duplicates): index them, so that merging
            // stays linear in the number of keys.
            let over: HashMap<&str, &Node> = over_entries.iter().filter_map(|(k, v)| Some((k.as_scalar()?, v))).collect();
            let in_base: HashSet<&str> = base_entries.iter().filter_map(|(k, _)| k.as_scalar()).collect();
            let mut entries: Vec<(Node, Node)> = base_entries
                .iter()
                .filter(|(k, _)| k.as_scalar() != Some("environments"))
                .map(|(k, v)| match k.as_scalar().and_then(|name| over.get(name)) {
                    Some(ov) => (k.clone(), merge(v, ov)),
                    None => (k.clone(), v.clone()),
                })
                .collect();
            for (ok, ov) in over_entries {
                if !ok.as_scalar().is_some_and(|name| in_base.contains(name)) {
                    entries.push((ok.clone(), ov.clone()));
                }
            }
            Node { pos: base.pos, value: Value::Map(entries) }
        }
        _ => overlay.clone(),
    }
}

/// Every environment declared under `fields` (the base section `istio`'s keys), by name. Every
/// environment's errors count; only the `selected` one's warnings are kept. Selecting an environment
/// that is not declared is an error.
pub(super) fn read_environments(
    istio: &Node,
    fields: &Fields,
    selected: Option<&str>,
    knative: &Option<Knative>,
    envoy_gateway: &Option<EnvoyGateway>,
    dec: &mut Decoder,
) -> BTreeMap<String, Config> {
    let mut environments = BTreeMap::new();
    let mut env_names = Vec::new();
    let envs_path = fields.path("environments");
    let envs = fields.get("environments").and_then(|n| dec.map(n, &envs_path, None));
    let entries: &[(Node, Node)] = match envs.map(|f| &f.node.value) {
        Some(Value::Map(entries)) => entries,
        _ => &[],
    };
    for (key, overlay) in entries {
        let name = key.as_scalar().unwrap_or_default().to_string();
        let path = decode::join(&envs_path, &name);
        env_names.push(name.clone());
        if let Some(problem) = decode::dns_label_problem(&name) {
            dec.report(
                &codes::UNKNOWN_ENVIRONMENT,
                key.pos,
                &path,
                format!("`{name}` is not a valid environment name: {problem}"),
                "use lowercase letters, digits and `-`",
            );
            continue;
        }
        if dec.map(overlay, &path, None).is_none() {
            continue;
        }
        if let Some(nested) = overlay.get("environments") {
            dec.report(
                &codes::UNKNOWN_ENVIRONMENT,
                nested.pos,
                &decode::join(&path, "environments"),
                "environments cannot be nested",
                "move this environment up to `components.istio.environments`",
            );
            continue;
        }
        let merged = merge(istio, overlay);
        let mut env_dec = Decoder::default();
        let config = super::read_istio(&merged, Some(&name), knative.clone(), envoy_gateway.clone(), &mut env_dec);
        let is_selected = selected == Some(name.as_str());
        dec.diags.extend(env_dec.diags.into_iter().filter(|d| is_selected || d.severity == Severity::Error));
        if let Some(config) = config {
            environments.insert(name, config);
        }
    }
    if let Some(wanted) = selected {
        if !env_names.iter().any(|n| n == wanted) {
            let known: Vec<&str> = env_names.iter().map(String::as_str).collect();
            let hint = match decode::suggest(wanted, &known) {
                Some(s) => format!("did you mean `{s}`? Declared: {}", known.join(", ")),
                None if known.is_empty() => "declare it under `components.istio.environments`".to_string(),
                None => format!("declared: {}", known.join(", ")),
            };
            dec.report(&codes::UNKNOWN_ENVIRONMENT, istio.pos, &envs_path, format!("environment `{wanted}` is not declared"), hint);
        }
    }
    environments
}

/// Names the environment in its warnings, which are shown next to the base's.
pub(super) fn mark_warnings(diags: &mut [Diagnostic], environment: Option<&str>) {
    let Some(env) = environment else { return };
    for d in diags.iter_mut().filter(|d| d.severity == Severity::Warning) {
        d.message.push_str(&format!(" (in environment `{env}`)"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::syntax::{self, Limits};

    #[test]
    fn merge_keeps_base_order_overrides_deeply_and_appends_new_keys() {
        let base = syntax::parse("a: {x: 1, y: 2}\nl: [1, 2]\nenvironments: {e: {}}\nb: 3\n", Limits::DEFAULT).unwrap();
        let over = syntax::parse("b: 4\na: {y: 5, z: 6}\nl: [9]\nc: 7\n", Limits::DEFAULT).unwrap();
        let merged = merge(&base, &over);
        assert_eq!(merged.to_json(), serde_json::json!({"a": {"x": 1, "y": 5, "z": 6}, "l": [9], "b": 4, "c": 7}));
        let keys: Vec<&str> = match &merged.value {
            Value::Map(entries) => entries.iter().filter_map(|(k, _)| k.as_scalar()).collect(),
            _ => Vec::new(),
        };
        assert_eq!(keys, ["a", "l", "b", "c"]);
    }
}
