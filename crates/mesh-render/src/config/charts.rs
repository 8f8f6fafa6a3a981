//! `components.istio.chartRepository` (where the Istio charts come from) and the retired Istio hosts
//! that any string of the config file may still name.

use super::codes;
use super::decode::{self, Decoder};
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
    match &node.value {
        Value::Scalar { text, .. } if RETIRED_HOSTS.iter().any(|h| text.contains(h)) => vec![(path.to_string(), text.clone())],
        Value::Seq(items) => items.iter().enumerate().flat_map(|(i, n)| retired_references(n, &format!("{path}[{i}]"))).collect(),
        Value::Map(entries) => entries
            .iter()
            .flat_map(|(k, v)| {
                let key = k.as_scalar().unwrap_or_default();
                let mut out = retired_references(k, path);
                out.extend(retired_references(v, &decode::join(path, key)));
                out
            })
            .collect(),
        _ => Vec::new(),
    }
}
