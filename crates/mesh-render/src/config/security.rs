//! `components.istio.security`: opt-in additions to the app namespaces' authorization.

use super::codes;
use super::decode::Decoder;
use crate::config::syntax::Node;

/// Keys of `components.istio.security`.
pub const KEYS: &[&str] = &["prometheus"];
const PROMETHEUS_KEYS: &[&str] = &["principals", "ports"];

/// queue-proxy's admin port (knative/serving knative-v1.23.0 `pkg/networking/constants.go`,
/// `QueueAdminPort = 8022`): health checks and the drain hook. Never opened to a scraper.
pub const QUEUE_ADMIN_PORT: u16 = 8022;

/// Settings of `components.istio.security`; the default adds nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Security {
    /// A Prometheus that scrapes app pods with its mesh certificate (off when absent).
    pub prometheus: Option<PrometheusScrape>,
}

/// Who scrapes, and which ports of the app pods it may call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrometheusScrape {
    /// Mesh identities (`<trust domain>/ns/<namespace>/sa/<service account>`), as written.
    pub principals: Vec<String>,
    /// Sorted, unique.
    pub ports: Vec<u16>,
}

/// Reads the section; problems are reported on `dec` and the default is returned in their place.
pub fn read(node: Option<&Node>, path: &str, dec: &mut Decoder) -> Security {
    let mut out = Security::default();
    let Some(node) = node else { return out };
    let Some(f) = dec.map(node, path, Some(KEYS)) else { return out };
    if let Some(n) = f.get("prometheus") {
        out.prometheus = read_prometheus(n, &f.path("prometheus"), dec);
    }
    out
}

fn read_prometheus(node: &Node, path: &str, dec: &mut Decoder) -> Option<PrometheusScrape> {
    let f = dec.map(node, path, Some(PROMETHEUS_KEYS))?;
    let (Some(principals_node), Some(ports_node)) = (f.get("principals"), f.get("ports")) else {
        dec.report(
            &codes::MISSING_SETTING,
            node.pos,
            path,
            "`prometheus` needs both `principals` and `ports`",
            "e.g. `{principals: [cluster.local/ns/monitoring/sa/prometheus], ports: [9091]}`",
        );
        return None;
    };
    let mut principals = Vec::new();
    let ppath = f.path("principals");
    let principal_items = dec.seq(principals_node, &ppath)?;
    for (i, item) in principal_items.iter().enumerate() {
        let ipath = format!("{ppath}[{i}]");
        let Some(p) = dec.string(item, &ipath) else { continue };
        if principal_problem(&p) {
            dec.report(
                &codes::INVALID_VALUE,
                item.pos,
                &ipath,
                format!("`{p}` is not a mesh identity"),
                "write `<trust domain>/ns/<namespace>/sa/<service account>`, e.g. `cluster.local/ns/monitoring/sa/prometheus`",
            );
            continue;
        }
        principals.push(p);
    }
    let mut ports = Vec::new();
    let portspath = f.path("ports");
    let port_items = dec.seq(ports_node, &portspath)?;
    for (i, item) in port_items.iter().enumerate() {
        let ipath = format!("{portspath}[{i}]");
        let Some(port) = dec.int(item, &ipath, 1, 65535).map(|p| p as u16) else { continue };
        if port == QUEUE_ADMIN_PORT {
            dec.report(
                &codes::INVALID_VALUE,
                item.pos,
                &ipath,
                format!("port {port} is queue-proxy's admin port (health checks and the drain hook), not a metrics port"),
                "scrape queue-proxy's user metrics on 9091 (or your app's metrics port) instead",
            );
            continue;
        }
        ports.push(port);
    }
    // A list whose entries were all refused has been reported entry by entry already.
    if principal_items.is_empty() || port_items.is_empty() {
        dec.report(
            &codes::INVALID_VALUE,
            node.pos,
            path,
            "`principals` and `ports` must each list at least one entry",
            "an empty list would match nothing",
        );
        return None;
    }
    if principals.is_empty() || ports.is_empty() {
        return None;
    }
    ports.sort_unstable();
    ports.dedup();
    Some(PrometheusScrape { principals, ports })
}

/// An Istio principal: `<trust domain>/ns/<namespace>/sa/<service account>`. A wildcard (`*`) is
/// refused: the point of the rule is to name the scraper.
fn principal_problem(p: &str) -> bool {
    let parts: Vec<&str> = p.split('/').collect();
    !(parts.len() == 5
        && parts[1] == "ns"
        && parts[3] == "sa"
        && parts.iter().all(|s| !s.is_empty() && !s.contains('*') && !s.contains(char::is_whitespace)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_must_name_one_service_account() {
        assert!(!principal_problem("cluster.local/ns/monitoring/sa/prometheus"));
        for bad in ["prometheus", "cluster.local/ns/monitoring", "*/ns/monitoring/sa/prometheus", "cluster.local/ns/x/sa/", "a/ns/b/sa/c d"]
        {
            assert!(principal_problem(bad), "{bad}");
        }
    }
}
