//! One model for every problem mesh-render reports: a config that cannot be read (codes MR001 and
//! up, `config/codes.rs`) and an analyzer finding (MR101 and up, [`crate::check::analyzers`]).
//! Both carry a stable code from one registry ([`crate::check::rules`]), so `--ignore`, `explain`,
//! JSON and SARIF treat them alike.

use std::fmt;

use serde::Serialize;

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

/// A rule of the registry: a stable code and what it means. A code is never reused for another rule.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// `MR` + three digits: MR001–MR099 for the config, MR101 and up for the analyzers.
    pub code: &'static str,
    /// Short kebab-case name.
    pub name: &'static str,
    pub severity: Severity,
    /// One line.
    pub summary: &'static str,
    /// What goes wrong, and how to fix it (`mesh-render explain CODE`).
    pub explanation: &'static str,
}

/// One problem: which rule, how bad, what and how to fix it, and where (a config position and key,
/// an object, or the file an object was read from).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    pub code: &'static str,
    #[serde(serialize_with = "severity_name")]
    pub severity: Severity,
    pub message: String,
    pub hint: String,
    /// `Kind namespace/name` of the object concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Where that object came from (`file#doc`), if read from files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The dotted config key concerned, if any (`components.istio.mtls.mode`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
    /// Its position in the config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pos: Option<Pos>,
}

fn severity_name<S: serde::Serializer>(s: &Severity, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(&s.to_string())
}

impl Diagnostic {
    /// A problem of `rule`, at its default severity, not yet placed anywhere.
    pub fn new(rule: &Rule, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Diagnostic {
            code: rule.code,
            severity: rule.severity,
            message: message.into(),
            hint: hint.into(),
            object: None,
            origin: None,
            config_path: None,
            pos: None,
        }
    }

    /// A problem in the config at `pos`, under the key `path` (empty: the document itself).
    pub fn in_config(rule: &Rule, pos: Pos, path: &str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Diagnostic::new(rule, message, hint).at(pos).key(path)
    }

    /// Placed at a config position.
    pub fn at(mut self, pos: Pos) -> Self {
        self.pos = Some(pos);
        self
    }

    /// About a config key (an empty path names nothing).
    pub fn key(mut self, path: &str) -> Self {
        self.config_path = (!path.is_empty()).then(|| path.to_string());
        self
    }

    /// At another severity than the rule's default.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The problem as printed for a config named `file`:
    /// `file:line:column: severity[CODE]: key: message`, then the object and the hint.
    pub fn to_string_in(&self, file: &str) -> String {
        let mut out = String::new();
        match (&self.pos, &self.origin) {
            (Some(p), _) => out.push_str(&format!("{file}:{}:{}: ", p.line, p.column)),
            (None, Some(origin)) => out.push_str(&format!("{origin}: ")),
            (None, None) => {}
        }
        out.push_str(&format!("{}[{}]: ", self.severity, self.code));
        if let Some(path) = &self.config_path {
            out.push_str(path);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        if let Some(o) = &self.object {
            out.push_str(&format!("\n  object: {o}"));
        }
        if !self.hint.is_empty() {
            out.push_str("\n  hint: ");
            out.push_str(&self.hint);
        }
        out
    }
}

/// Sorts config problems by position so that output is stable and reads top to bottom.
pub(crate) fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (a.pos, a.severity, &a.config_path, &a.message, a.code).cmp(&(b.pos, b.severity, &b.config_path, &b.message, b.code))
    });
}
