//! Problems as machine-readable reports: a JSON array and SARIF 2.1.0, for config problems and
//! analyzer findings alike.

use serde::Serialize;
use serde_json::Value;

use crate::diagnostics::Diagnostic;

/// Problems as a JSON array, each with the config file it is about.
pub fn to_json(findings: &[Diagnostic], file: &str) -> String {
    #[derive(Serialize)]
    struct Out<'a> {
        file: &'a str,
        #[serde(flatten)]
        finding: &'a Diagnostic,
    }
    let items: Vec<Out> = findings.iter().map(|finding| Out { file, finding }).collect();
    serde_json::to_string_pretty(&items).unwrap_or_default() + "\n"
}

/// Problems as SARIF 2.1.0 for code-scanning UIs, with every rule of the registry. SARIF's levels
/// `error` and `warning` are the severities' own names.
pub fn to_sarif(findings: &[Diagnostic], file: &str) -> String {
    let rules: Vec<Value> = crate::check::rules()
        .map(|r| {
            serde_json::json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.explanation},
                "defaultConfiguration": {"level": r.severity.to_string()},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let uri = f.origin.as_deref().map_or(file, |o| o.split('#').next().unwrap_or(o));
            let region =
                f.pos.map_or(serde_json::json!({"startLine": 1}), |p| serde_json::json!({"startLine": p.line, "startColumn": p.column}));
            let text = match &f.object {
                Some(o) => format!("{} ({o}). {}", f.message, f.hint),
                None => format!("{}. {}", f.message, f.hint),
            };
            serde_json::json!({
                "ruleId": f.code,
                "level": f.severity.to_string(),
                "message": {"text": text},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}],
            })
        })
        .collect();
    let sarif = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "mesh-render", "version": env!("CARGO_PKG_VERSION"), "rules": rules}}, "results": results}],
    });
    serde_json::to_string_pretty(&sarif).unwrap_or_default() + "\n"
}
