//! Typed reading of [`Node`]s that collects every problem instead of stopping at the first.

use super::codes;
use crate::config::syntax::{Node, Value};
use crate::diagnostics::{Diagnostic, Pos, Rule};

/// Collects problems while a config is decoded.
#[derive(Default)]
pub struct Decoder {
    pub diags: Vec<Diagnostic>,
}

/// The entries of a mapping whose keys were checked against a list of known keys.
pub struct Fields<'n> {
    pub node: &'n Node,
    pub path: String,
}

impl<'n> Fields<'n> {
    /// The value of `key`, unless absent or null (null means "use the default").
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.node.get(key).filter(|n| n.value != Value::Null)
    }

    /// The dotted path of `key` below this mapping.
    pub fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

/// `a.b` + `c` = `a.b.c`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The known key closest to `unknown`, if any is close enough to be a typo.
pub(crate) fn suggest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(&unknown.to_ascii_lowercase(), &k.to_ascii_lowercase()), *k))
        .filter(|(score, _)| *score >= 0.82)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

impl Decoder {
    /// Records a problem of `rule` (at its severity) at `pos`, under the key `path`.
    pub fn report(&mut self, rule: &Rule, pos: Pos, path: &str, message: impl Into<String>, hint: impl Into<String>) {
        self.diags.push(Diagnostic::in_config(rule, pos, path, message, hint));
    }

    /// Checks that `node` is a mapping; with `known`, every key must be one of them.
    pub fn map<'n>(&mut self, node: &'n Node, path: &str, known: Option<&[&str]>) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.report(
                &codes::WRONG_TYPE,
                node.pos,
                path,
                format!("expected a mapping, found {}", node.kind_name()),
                "write `key: value` pairs here",
            );
            return None;
        };
        if let Some(known) = known {
            for (key, _) in entries {
                let name = key.as_scalar().unwrap_or_default();
                if !known.contains(&name) {
                    let hint = match suggest(name, known) {
                        Some(s) => format!("did you mean `{s}`? Known keys here: {}", known.join(", ")),
                        None => format!("known keys here: {}", known.join(", ")),
                    };
                    self.report(&codes::UNKNOWN_KEY, key.pos, &join(path, name), format!("unknown key `{name}`"), hint);
                }
            }
        }
        Some(Fields { node, path: path.to_string() })
    }

    /// A list; `None` (with a problem reported) for anything else.
    pub fn seq<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            _ => {
                self.report(
                    &codes::WRONG_TYPE,
                    node.pos,
                    path,
                    format!("expected a list, found {}", node.kind_name()),
                    "write a YAML list (`- item` lines or `[a, b]`)",
                );
                None
            }
        }
    }

    /// Any scalar, as text. Numbers are accepted as their text.
    pub fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, .. } => Some(text.clone()),
            _ => {
                self.report(
                    &codes::WRONG_TYPE,
                    node.pos,
                    path,
                    format!("expected a string, found {}", node.kind_name()),
                    "write a single value here",
                );
                None
            }
        }
    }

    /// A YAML 1.2 boolean. The YAML 1.1 spellings are refused because kubectl would read them differently.
    pub fn bool(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.value {
            Value::Scalar { text, quoted: false } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                other => {
                    let hint = match other.to_ascii_lowercase().as_str() {
                        "yes" | "y" | "on" => "write `true`: `yes`/`on`/`y` are booleans only in YAML 1.1",
                        "no" | "n" | "off" => "write `false`: `no`/`off`/`n` are booleans only in YAML 1.1",
                        _ => "write `true` or `false`",
                    };
                    self.report(&codes::WRONG_TYPE, node.pos, path, format!("expected true or false, found `{other}`"), hint);
                    None
                }
            },
            Value::Scalar { text, quoted: true } => {
                self.report(
                    &codes::WRONG_TYPE,
                    node.pos,
                    path,
                    format!("expected true or false, found the quoted string \"{text}\""),
                    "remove the quotes",
                );
                None
            }
            _ => {
                self.report(
                    &codes::WRONG_TYPE,
                    node.pos,
                    path,
                    format!("expected true or false, found {}", node.kind_name()),
                    "write `true` or `false`",
                );
                None
            }
        }
    }

    /// An unquoted whole number within `min..=max`.
    pub fn int(&mut self, node: &Node, path: &str, min: i64, max: i64) -> Option<i64> {
        let text = match &node.value {
            Value::Scalar { text, quoted: false } => text,
            _ => {
                self.report(
                    &codes::WRONG_TYPE,
                    node.pos,
                    path,
                    format!("expected a whole number, found {}", describe(node)),
                    format!("write a number from {min} to {max}, without quotes"),
                );
                return None;
            }
        };
        match text.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            Ok(n) => {
                self.out_of_range(node, path, n, min, max);
                None
            }
            Err(_) => {
                self.report(
                    &codes::WRONG_TYPE,
                    node.pos,
                    path,
                    format!("expected a whole number, found `{text}`"),
                    format!("write a number from {min} to {max}"),
                );
                None
            }
        }
    }

    fn out_of_range(
        &mut self,
        node: &Node,
        path: &str,
        n: impl std::fmt::Display,
        min: impl std::fmt::Display,
        max: impl std::fmt::Display,
    ) {
        self.report(&codes::INVALID_VALUE, node.pos, path, format!("{n} is out of range"), format!("use a number from {min} to {max}"));
    }

    /// An unquoted decimal number within `min..=max`.
    pub fn number(&mut self, node: &Node, path: &str, min: f64, max: f64) -> Option<f64> {
        let parsed = match &node.value {
            Value::Scalar { text, quoted: false } => text.parse::<f64>().ok().filter(|n| n.is_finite()),
            _ => None,
        };
        match parsed {
            Some(n) if n >= min && n <= max => Some(n),
            Some(n) => {
                self.out_of_range(node, path, n, min, max);
                None
            }
            None => {
                self.report(
                    &codes::WRONG_TYPE,
                    node.pos,
                    path,
                    format!("expected a number, found {}", describe(node)),
                    format!("write a number from {min} to {max}, without quotes"),
                );
                None
            }
        }
    }

    /// One of a fixed set of spellings (exact case), with a suggestion on a near miss.
    pub fn one_of<'a>(&mut self, node: &Node, path: &str, options: &[&'a str]) -> Option<&'a str> {
        let text = self.string(node, path)?;
        if let Some(found) = options.iter().find(|o| **o == text) {
            return Some(found);
        }
        let hint = match options.iter().find(|o| o.eq_ignore_ascii_case(&text)).copied().or_else(|| suggest(&text, options)) {
            Some(s) => format!("did you mean `{s}`? Allowed: {}", options.join(", ")),
            None => format!("allowed: {}", options.join(", ")),
        };
        self.report(&codes::INVALID_VALUE, node.pos, path, format!("`{text}` is not allowed here"), hint);
        None
    }

    /// A DNS-1123 label (namespace and object names).
    pub fn dns_label(&mut self, node: &Node, path: &str) -> Option<String> {
        let hint = "use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit";
        self.checked_string(node, path, dns_label_problem, "name", hint)
    }

    /// A string `problem` finds nothing wrong with; otherwise "not a valid `what`" with the problem.
    fn checked_string(
        &mut self,
        node: &Node,
        path: &str,
        problem: fn(&str) -> Option<&'static str>,
        what: &str,
        hint: &str,
    ) -> Option<String> {
        let text = self.string(node, path)?;
        let Some(problem) = problem(&text) else { return Some(text) };
        self.report(&codes::INVALID_VALUE, node.pos, path, format!("`{text}` is not a valid {what}: {problem}"), hint);
        None
    }

    /// A label or annotation key (`[prefix/]name`), read from the key node of a mapping entry;
    /// `kind` (`label`, `annotation`) names it in the message.
    pub fn label_key(&mut self, key: &Node, path: &str, kind: &str) -> Option<String> {
        let text = key.as_scalar().unwrap_or_default();
        match qualified_name_problem(text) {
            None => Some(text.to_string()),
            Some(problem) => {
                self.report(
                    &codes::INVALID_VALUE,
                    key.pos,
                    path,
                    format!("`{text}` is not a valid {kind} key: {problem}"),
                    "use an optional DNS prefix and `/`, then at most 63 letters, digits, `-`, `_` or `.`",
                );
                None
            }
        }
    }

    /// A label value (at most 63 characters, possibly empty).
    pub fn label_value(&mut self, node: &Node, path: &str) -> Option<String> {
        let hint = "use at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit";
        self.checked_string(node, path, label_value_problem, "label value", hint)
    }

    /// A Kubernetes resource quantity such as `500m` or `2Gi`.
    pub fn quantity(&mut self, node: &Node, path: &str) -> Option<String> {
        let text = self.string(node, path)?;
        if is_quantity(&text) {
            return Some(text);
        }
        let hint = quantity_hint(&text);
        self.report(&codes::INVALID_VALUE, node.pos, path, format!("`{text}` is not a Kubernetes quantity"), hint);
        None
    }
}

fn describe(node: &Node) -> String {
    match &node.value {
        Value::Scalar { text, quoted: true } => format!("the quoted string \"{text}\""),
        Value::Scalar { text, .. } => format!("`{text}`"),
        _ => node.kind_name().to_string(),
    }
}

/// Why `name` is not a DNS-1123 label, if it is not one.
pub(crate) fn dns_label_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.len() > 63 {
        return Some("it is longer than 63 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Some("only lowercase letters, digits and `-` are allowed");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("it must start and end with a letter or digit");
    }
    None
}

/// Why `value` is not a label value, if it is not one.
pub(crate) fn label_value_problem(value: &str) -> Option<&'static str> {
    if value.len() > 63 {
        return Some("it is longer than 63 characters");
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        return Some("only letters, digits, `-`, `_` and `.` are allowed");
    }
    let bytes = value.as_bytes();
    if let (Some(first), Some(last)) = (bytes.first(), bytes.last()) {
        if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
            return Some("it must start and end with a letter or digit");
        }
    }
    None
}

/// Why `key` is not a label or annotation key (`[prefix/]name`), if it is not one.
pub(crate) fn qualified_name_problem(key: &str) -> Option<&'static str> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() || p.len() > 253 || p.split('.').any(|part| dns_label_problem(part).is_some()) {
            return Some("the prefix must be a DNS subdomain");
        }
    }
    if name.is_empty() {
        return Some("the name part is empty");
    }
    label_value_problem(name)
}

const QUANTITY_SUFFIXES: &[&str] = &["", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// Whether `text` is a quantity Kubernetes accepts (the canonical forms: number plus an SI or binary suffix).
pub(crate) fn is_quantity(text: &str) -> bool {
    let digits_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits_end);
    let valid_number =
        !number.is_empty() && number.matches('.').count() <= 1 && number != "." && number.bytes().any(|b| b.is_ascii_digit());
    let valid_suffix = QUANTITY_SUFFIXES.contains(&suffix) || is_exponent(suffix);
    valid_number && valid_suffix
}

fn is_exponent(suffix: &str) -> bool {
    let Some(rest) = suffix.strip_prefix(['e', 'E']) else { return false };
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())
}

fn quantity_hint(text: &str) -> String {
    let digits_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits_end);
    if let Some(fixed) = QUANTITY_SUFFIXES.iter().find(|s| !s.is_empty() && s.eq_ignore_ascii_case(suffix)) {
        if !number.is_empty() {
            return format!("did you mean `{number}{fixed}`? Suffixes are case-sensitive: m (milli), k, M, G, Ki, Mi, Gi, …");
        }
    }
    "write a number with an optional suffix, e.g. `500m` (CPU) or `512Mi` (memory)".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for ok in ["500m", "2", "0.5", "2048Mi", "1Gi", "1e3", "100k"] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["500mi", "", "m", "1.2.3", "2 Gi", "-1", "1x", "."] {
            assert!(!is_quantity(bad), "{bad}");
        }
        assert!(quantity_hint("500mi").starts_with("did you mean `500Mi`?"));
    }

    #[test]
    fn dns_labels() {
        assert_eq!(dns_label_problem("knative-serving"), None);
        assert_eq!(dns_label_problem("Demo"), Some("only lowercase letters, digits and `-` are allowed"));
        assert_eq!(dns_label_problem("-a"), Some("it must start and end with a letter or digit"));
        assert_eq!(dns_label_problem(&"a".repeat(64)), Some("it is longer than 63 characters"));
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(suggest("namespce", &["namespace", "version"]), Some("namespace"));
        assert_eq!(suggest("controlplane", &["controlPlane", "proxy"]), Some("controlPlane"));
        assert_eq!(suggest("zzz", &["namespace", "version"]), None);
    }
}
