//! `components.istio.analyzers`: checks the user has decided to silence (`ignore: [MR113]`), the
//! config's counterpart of `mesh-render check --ignore CODE`.

use super::codes;
use super::decode::{self, Decoder};
use crate::config::syntax::Node;
use crate::diagnostics::Severity;

/// The codes under `analyzers.ignore`, as the registry spells them. An unknown code is an error
/// (a typo would silence nothing); an error-severity check is ignored with a warning, because it
/// guards something that breaks or opens the mesh.
pub(super) fn read(node: Option<&Node>, path: &str, dec: &mut Decoder) -> Vec<&'static str> {
    let Some(node) = node else { return Vec::new() };
    let Some(f) = dec.map(node, path, Some(&["ignore"])) else { return Vec::new() };
    let Some(list) = f.get("ignore") else { return Vec::new() };
    let ipath = f.path("ignore");
    let Some(items) = dec.seq(list, &ipath) else { return Vec::new() };
    let mut out: Vec<&'static str> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{ipath}[{i}]");
        let Some(code) = dec.string(item, &item_path) else { continue };
        match crate::check::rule(&code) {
            // A config error stops the read before any check runs: there is nothing to let through.
            Some(rule) if crate::check::is_config_error(rule) => dec.report(
                &codes::INVALID_VALUE,
                item.pos,
                &item_path,
                format!("{} is a config error ({}): the config cannot be read past it, so it cannot be ignored", rule.code, rule.summary),
                format!("fix what {} reports (`mesh-render explain {}`)", rule.code, rule.code),
            ),
            Some(rule) => {
                if rule.severity == Severity::Error {
                    dec.report(
                        &codes::IGNORED_ERROR_CHECK,
                        item.pos,
                        &item_path,
                        format!("{} is an error check ({}); ignoring it lets that problem through to the cluster", rule.code, rule.summary),
                        format!(
                            "fix what {} reports instead (`mesh-render explain {}`), or keep the ignore deliberately",
                            rule.code, rule.code
                        ),
                    );
                }
                if !out.contains(&rule.code) {
                    out.push(rule.code);
                }
            }
            None => {
                let known: Vec<&str> = crate::check::rules().map(|r| r.code).collect();
                let hint = match decode::suggest(&code, &known) {
                    Some(s) => format!("did you mean `{s}`? `mesh-render explain --list` lists the codes"),
                    None => "`mesh-render explain --list` lists the codes".to_string(),
                };
                dec.report(&codes::INVALID_VALUE, item.pos, &item_path, format!("`{code}` is not a check code"), hint);
            }
        }
    }
    out
}
