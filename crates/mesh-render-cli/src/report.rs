//! Printing problems (config warnings and errors, analyzer findings): for people on stderr, for
//! machines (JSON, SARIF) on stdout.

use crate::error::ExitStatus;

use mesh_render::emit::diagnostics::{to_json, to_sarif};
use mesh_render::{Diagnostic, Severity};

use crate::args::ReportFormat;
use crate::error::Error;

/// Prints problems; returns whether they fail the check (errors, or warnings with `strict`).
pub fn findings(findings: &[Diagnostic], file: &str, format: ReportFormat, strict: bool) -> Result<bool, Error> {
    match format {
        ReportFormat::Human => crate::input::print_warnings(file, findings),
        ReportFormat::Json => crate::print(&to_json(findings, file))?,
        ReportFormat::Sarif => crate::print(&to_sarif(findings, file))?,
    }
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = findings.len() - errors;
    Ok(errors > 0 || (strict && warnings > 0))
}

/// One line summing findings up.
pub fn summary(findings: &[Diagnostic]) -> String {
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    format!("{errors} error(s), {} warning(s) from the mesh analyzers", findings.len() - errors)
}

/// `mesh-render explain`.
pub fn explain(code: Option<&str>, list: bool) -> Result<ExitStatus, Error> {
    if list || code.is_none() {
        let mut out = String::new();
        for r in mesh_render::check::rules() {
            out.push_str(&format!("{}  {:<7}  {:<34} {}\n", r.code, r.severity.to_string(), r.name, r.summary));
        }
        crate::print(&out)?;
        return Ok(ExitStatus::Success);
    }
    let code = code.unwrap_or_default();
    match mesh_render::check::rule(code) {
        Some(r) => {
            crate::print(&format!("{} {} ({})\n\n{}.\n\n{}\n", r.code, r.name, r.severity, r.summary, r.explanation))?;
            Ok(ExitStatus::Success)
        }
        None => Err(Error::ConfigUnreadable {
            path: code.to_string(),
            message: "no such check code".into(),
            hint: "`mesh-render explain --list` lists them".into(),
        }),
    }
}
