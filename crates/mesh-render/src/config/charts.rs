//! `components.istio.chartRepository` (where the Istio charts come from) and the retired Istio hosts
//! that any string of the config file may still name.

use super::codes;
use super::decode::Decoder;
use crate::api::helm::{ChartRepository, CHART_REPOSITORY, DEFAULT_HUB, OCI_CHART_REPOSITORY, RETIRED_HOSTS};
use crate::config::syntax::{Node, Value};

/// `chartRepository`: an `https://` chart repository or an `oci://` registry path (a private
/// mirror, or Istio's own: [`CHART_REPOSITORY`], [`OCI_CHART_REPOSITORY`]).
pub(super) fn read_chart_repository(node: &Node, path: &str, dec: &mut Decoder) -> Option<ChartRepository> {
    let text = dec.string(node, path)?;
    let url = text.trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("oci://")).or_else(|| url.strip_prefix("http://"));
    match rest {
        // Plans put the URL in shell commands unquoted: only characters that need no quoting.
        Some(r) if !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || "-._~:/@%+".contains(c)) => {
            Some(ChartRepository { url: url.to_string() })
        }
        _ => {
            dec.report(&codes::INVALID_VALUE,
                node.pos,
                path,
                format!("`{text}` is not a chart repository URL"),
                format!("write an `https://` chart repository or an `oci://` registry path, e.g. `{CHART_REPOSITORY}` (the default) or `{OCI_CHART_REPOSITORY}`"),
            );
            None
        }
    }
}

/// `hub`: an image registry path without scheme, tag or trailing slash (`docker.io/istio`, or a
/// pull-through cache such as `registry.example.com/istio`); Istio appends `/pilot:<tag>` and
/// `/proxyv2:<tag>` to it (istiod chart `templates/deployment.yaml:101`, `files/injection-template.yaml`).
pub(super) fn read_hub(node: &Node, path: &str, dec: &mut Decoder) -> Option<String> {
    let text = dec.string(node, path)?;
    let ok = !text.is_empty()
        && !text.contains("://")
        && !text.ends_with('/')
        && !text.starts_with('/')
        && !text.contains("//")
        && !text.contains('@')
        && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._/:".contains(c))
        && !text.rsplit('/').next().unwrap_or_default().contains(':');
    if ok {
        return Some(text);
    }
    dec.report(
        &codes::INVALID_VALUE,
        node.pos,
        path,
        format!("`{text}` is not an image registry path"),
        format!("write a registry and path without scheme, tag or trailing slash, e.g. `{DEFAULT_HUB}` (the default) or `registry.example.com/istio`"),
    );
    None
}

/// Scalars anywhere in the document that name a retired Istio host, with their dotted key paths.
pub(super) fn retired_references(node: &Node, path: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    // The path of the node being read, built as the walk goes down: a path is only copied for a hit.
    let mut at = path.to_string();
    walk(node, &mut at, &mut out);
    out
}

/// The shortest retired host: a shorter scalar names none.
const SHORTEST_HOST: usize = {
    let (mut i, mut min) = (0, usize::MAX);
    while i < RETIRED_HOSTS.len() {
        if RETIRED_HOSTS[i].len() < min {
            min = RETIRED_HOSTS[i].len();
        }
        i += 1;
    }
    min
};

fn walk(node: &Node, path: &mut String, out: &mut Vec<(String, String)>) {
    match &node.value {
        Value::Scalar { text, .. } if text.len() >= SHORTEST_HOST && RETIRED_HOSTS.iter().any(|h| text.contains(h)) => {
            out.push((path.clone(), text.clone()));
        }
        Value::Seq(items) => {
            let len = path.len();
            for (i, n) in items.iter().enumerate() {
                // A list of short scalars (names) is most of a large config: no path for those.
                if matches!(&n.value, Value::Scalar { text, .. } if text.len() < SHORTEST_HOST) {
                    continue;
                }
                use std::fmt::Write as _;
                let _ = write!(path, "[{i}]");
                walk(n, path, out);
                path.truncate(len);
            }
        }
        Value::Map(entries) => {
            let len = path.len();
            for (k, v) in entries {
                walk(k, path, out);
                let key = k.as_scalar().unwrap_or_default();
                if len > 0 {
                    path.push('.');
                }
                path.push_str(key);
                walk(v, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}
