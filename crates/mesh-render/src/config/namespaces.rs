//! `components.istio.namespaces`: the app namespaces the mesh secures.

use super::codes;
use std::collections::HashMap;

use super::decode::{dns_label_problem, Decoder};
use super::knative::Knative;
use crate::config::syntax::{Node, Value};
use crate::diagnostics::Pos;

/// The app namespaces, sorted and unique; none of them a system namespace (Istio's, Kubernetes',
/// Knative's).
pub(super) fn read_namespaces(
    node: Option<&Node>,
    path: &str,
    root_ns: &str,
    knative: Option<&Knative>,
    dec: &mut Decoder,
) -> Option<Vec<String>> {
    let Some(node) = node else { return Some(Vec::new()) };
    let f = dec.map(node, path, Some(&["apps"]))?;
    let Some(apps) = f.get("apps") else { return Some(Vec::new()) };
    let apath = f.path("apps");
    let items = dec.seq(apps, &apath)?;
    // By name, the position of its first entry: a config may list thousands of apps.
    let mut seen: HashMap<&str, Pos> = HashMap::with_capacity(items.len());
    let mut apps: Vec<String> = Vec::with_capacity(items.len());
    let mut reserved = vec![root_ns.to_string(), "kube-system".into(), "kube-public".into(), "kube-node-lease".into()];
    if let Some(k) = knative {
        reserved.push(k.serving_namespace.clone());
        reserved.extend(k.eventing_namespace.clone());
    }
    for (i, item) in items.iter().enumerate() {
        let ipath = || format!("{apath}[{i}]");
        let name = match &item.value {
            Value::Scalar { text, .. } if dns_label_problem(text).is_none() => text.as_str(),
            // Not a name: reported there.
            _ => {
                dec.dns_label(item, &ipath());
                continue;
            }
        };
        if reserved.iter().any(|r| r == name) {
            dec.report(
                &codes::INVALID_VALUE,
                item.pos,
                &ipath(),
                format!("`{name}` is a system namespace, not an app namespace"),
                "list only the namespaces where your Knative Services and event consumers run",
            );
        } else if let Some(first) = seen.get(name) {
            dec.report(
                &codes::INVALID_VALUE,
                item.pos,
                &ipath(),
                format!("`{name}` is listed twice (first at line {}, column {})", first.line, first.column),
                "remove the duplicate",
            );
        } else {
            seen.insert(name, item.pos);
            apps.push(name.to_string());
        }
    }
    // Usually listed in order already, which the sort only checks.
    apps.sort_unstable();
    Some(apps)
}
