//! `components.istio.flows`: the user's own expectations about traffic flows.

use super::codes;
use super::decode::Decoder;
use crate::config::syntax::Node;
use crate::diagnostics::Pos;

/// One side of an expected flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowEnd {
    pub namespace: String,
    /// A workload the flow catalogue knows in that namespace (`mesh-render flows` lists them), or
    /// any name for a plain pod labelled `app: <name>`; absent: any plain pod of the namespace.
    pub workload: Option<String>,
}

/// `{from, to, port, verdict}`: "a call from `from` to `to` on `port` is allowed (or denied)".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowExpectation {
    pub from: FlowEnd,
    pub to: FlowEnd,
    pub port: u16,
    /// `verdict: allow` (true) or `deny` (false).
    pub allow: bool,
    /// Where the entry is, for findings.
    pub pos: Pos,
}

/// Reads `components.istio.flows`; problems go to `dec`, bad entries are skipped.
pub fn read(node: &Node, path: &str, dec: &mut Decoder) -> Vec<FlowExpectation> {
    let mut out = Vec::new();
    let Some(f) = dec.map(node, path, Some(&["expect"])) else { return out };
    let Some(list) = f.get("expect") else { return out };
    let epath = f.path("expect");
    let Some(items) = dec.seq(list, &epath) else { return out };
    for (i, item) in items.iter().enumerate() {
        let ipath = format!("{epath}[{i}]");
        let Some(ef) = dec.map(item, &ipath, Some(&["from", "to", "port", "verdict"])) else { continue };
        let (Some(from), Some(to), Some(port), Some(verdict)) = (ef.get("from"), ef.get("to"), ef.get("port"), ef.get("verdict")) else {
            dec.report(
                &codes::MISSING_SETTING,
                item.pos,
                &ipath,
                "an expected flow needs `from`, `to`, `port` and `verdict`",
                "e.g. `{from: {namespace: event-demo}, to: {namespace: demo}, port: 8080, verdict: deny}`",
            );
            continue;
        };
        let from = end(from, &ef.path("from"), dec);
        let to = end(to, &ef.path("to"), dec);
        let port = dec.int(port, &ef.path("port"), 1, 65535);
        let verdict = dec.one_of(verdict, &ef.path("verdict"), &["allow", "deny"]);
        if let (Some(from), Some(to), Some(port), Some(verdict)) = (from, to, port, verdict) {
            out.push(FlowExpectation { from, to, port: port as u16, allow: verdict == "allow", pos: item.pos });
        }
    }
    out
}

fn end(node: &Node, path: &str, dec: &mut Decoder) -> Option<FlowEnd> {
    let f = dec.map(node, path, Some(&["namespace", "workload"]))?;
    let Some(ns) = f.get("namespace") else {
        dec.report(
            &codes::MISSING_SETTING,
            node.pos,
            path,
            "`namespace` is missing",
            "name the namespace of the workload, e.g. `{namespace: demo}`",
        );
        return None;
    };
    let namespace = dec.dns_label(ns, &f.path("namespace"))?;
    let workload = match f.get("workload") {
        Some(w) => Some(dec.string(w, &f.path("workload")).filter(|s| !s.is_empty())?),
        None => None,
    };
    Some(FlowEnd { namespace, workload })
}

#[cfg(test)]
mod tests {
    use crate::config::syntax::Limits;

    fn load(expect: &str) -> Result<crate::Loaded, crate::config::LoadError> {
        let text = format!("components:\n  istio:\n    enabled: true\n    flows:\n      expect:\n{expect}");
        crate::load(&text, None, Limits::DEFAULT)
    }

    /// Rule: each entry needs from, to, port and verdict; namespaces are DNS labels; verdict is allow or deny.
    #[test]
    fn expectations_are_read_with_positioned_errors() {
        let loaded = load("        - {from: {namespace: a, workload: web}, to: {namespace: b}, port: 8080, verdict: deny}\n").unwrap();
        let e = &loaded.selected().flow_expectations[0];
        assert_eq!((e.from.workload.as_deref(), e.to.workload.as_deref(), e.port, e.allow), (Some("web"), None, 8080, false));
        assert_eq!((e.pos.line, e.pos.column), (6, 11));

        let err = load(
            "        - {from: {namespace: a}, to: {namespace: B_}, port: 0, verdict: maybe, via: x}\n        - {from: {namespace: a}}\n",
        )
        .unwrap_err();
        let text: Vec<String> = err
            .diagnostics
            .iter()
            .map(|d| {
                format!(
                    "{}:{} {} {}",
                    d.pos.map_or(0, |p| p.line),
                    d.pos.map_or(0, |p| p.column),
                    d.config_path.as_deref().unwrap_or_default(),
                    d.message
                )
            })
            .collect();
        for needle in [
            "6:50 components.istio.flows.expect[0].to.namespace",
            "6:61 components.istio.flows.expect[0].port",
            "6:73 components.istio.flows.expect[0].verdict",
            "6:80 components.istio.flows.expect[0].via unknown key",
            "7:11 components.istio.flows.expect[1] an expected flow needs",
        ] {
            assert!(text.iter().any(|t| t.starts_with(needle)), "{needle}: {text:#?}");
        }
    }
}
