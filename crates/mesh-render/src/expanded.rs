//! The expanded control plane: `helm template` output of the wrapper chart, split into one file per
//! object for review. Running Helm is the CLI's job; this module only turns its output into files.

use std::collections::BTreeMap;

use crate::config::syntax::{self, Limits};
use crate::emit;

/// Folder of the expanded objects inside the rendered tree.
pub const DIR: &str = "expanded";

/// Helm's output is large (the base chart's CRDs) and deep.
const LIMITS: Limits = Limits { max_bytes: 64 * 1024 * 1024, max_depth: 256, max_nodes: 5_000_000 };

/// Splits `helm template` output into `expanded/<chart>/<kind>-<name>.yaml` files.
///
/// Each object is re-emitted by mesh-render's own YAML writer with sorted keys, so the files do not
/// depend on Helm's formatting (Helm 3 and 4 differ) and kubectl reads them back unchanged.
/// Comment-only documents (empty templates) are dropped. `chart_name` is the wrapper chart's name.
/// The error says what Helm printed wrong and what to check.
pub fn split(helm_output: &str, chart_name: &str) -> Result<BTreeMap<String, String>, String> {
    let mut files = BTreeMap::new();
    let mut source = String::new();
    for (index, doc) in documents(helm_output).into_iter().enumerate() {
        if let Some(s) = doc.lines().find_map(|l| l.strip_prefix("# Source: ")) {
            source = s.trim().to_string();
        }
        let nodes = syntax::parse_documents(&doc, LIMITS).map_err(|d| {
            let first = d.into_iter().next().map(|d| d.message).unwrap_or_default();
            format!("helm template printed a document (#{index}) that is not YAML: {first}; check the chart and values")
        })?;
        for node in nodes {
            let object = node.to_json();
            let (Some(kind), Some(name)) = (object["kind"].as_str(), object["metadata"]["name"].as_str()) else {
                return Err(format!("helm template printed a document without kind or name (from {source}); check the chart"));
            };
            // `istio-mesh/charts/istiod/templates/x.yaml` → `istiod`; the wrapper's own templates → the chart name.
            let chart = source.strip_prefix(&format!("{chart_name}/charts/")).and_then(|rest| rest.split('/').next()).unwrap_or(chart_name);
            let stem = format!("{}-{}", kind.to_ascii_lowercase(), name);
            let mut path = format!("{DIR}/{chart}/{stem}.yaml");
            if files.contains_key(&path) {
                let ns = object["metadata"]["namespace"].as_str().unwrap_or("cluster");
                path = format!("{DIR}/{chart}/{stem}.{ns}.yaml");
            }
            files.insert(path, emit::yaml_value(&object));
        }
    }
    if files.is_empty() {
        return Err("helm template printed no objects; check that the charts are the Istio base and istiod charts".to_string());
    }
    Ok(files)
}

/// The text of each `---`-separated document.
fn documents(stream: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in stream.lines() {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else if let Some(last) = docs.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    docs.retain(|d| d.lines().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')));
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_by_chart_and_object_and_drops_empty_templates() {
        let out = "---\n# Source: istio-mesh/charts/istiod/templates/empty.yaml\n---\n# Source: istio-mesh/charts/istiod/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: istiod\n  namespace: istio-system\nspec: {replicas: 1}\n---\n# Source: istio-mesh/charts/base/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: istio-reader-service-account, namespace: istio-system}\n";
        let files = split(out, "istio-mesh").unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            ["expanded/base/serviceaccount-istio-reader-service-account.yaml", "expanded/istiod/deployment-istiod.yaml"]
        );
        assert_eq!(
            files["expanded/istiod/deployment-istiod.yaml"],
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: istiod\n  namespace: istio-system\nspec:\n  replicas: 1\n"
        );
    }

    #[test]
    fn no_objects_is_an_error() {
        assert!(split("---\n# Source: x\n", "istio-mesh").is_err());
    }
}
