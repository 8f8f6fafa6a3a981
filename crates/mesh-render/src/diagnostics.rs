//! Problems found in a config, each pointing at a place in it.

use std::fmt;

/// A position in the config: 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// The start of the file, for problems with the file as a whole.
    pub const START: Pos = Pos { line: 1, column: 1 };
}

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem: where, what, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub pos: Pos,
    /// Dotted key path, e.g. `components.istio.mtls.mode`; empty for the document itself.
    pub path: String,
    pub message: String,
    pub hint: String,
}

impl Diagnostic {
    pub fn error(pos: Pos, path: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, pos, path: path.into(), message: message.into(), hint: hint.into() }
    }

    pub fn warning(pos: Pos, path: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, pos, path: path.into(), message: message.into(), hint: hint.into() }
    }

    /// The message as printed for a config file named `file`.
    pub fn to_string_in(&self, file: &str) -> String {
        let mut out = format!("{file}:{}:{}: {}: ", self.pos.line, self.pos.column, self.severity);
        if !self.path.is_empty() {
            out.push_str(&self.path);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        if !self.hint.is_empty() {
            out.push_str("\n  hint: ");
            out.push_str(&self.hint);
        }
        out
    }
}

/// Sorts problems by position so that output is stable and reads top to bottom.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| (a.pos, a.severity, &a.path, &a.message).cmp(&(b.pos, b.severity, &b.path, &b.message)));
}
