//! Checks: the analyzers (stable codes, what breaks Knative under Istio), the traffic flows they
//! evaluate, and validation of rendered objects against the upstream schemas with their CEL rules.
//! [`rules`] is the one registry of codes, config problems and analyzer findings together.

pub mod analyzers;
pub mod flows;
pub mod schema;

use crate::diagnostics::Rule;

/// Every rule, by code: the config's (MR001–MR099) then the analyzers' (MR101 and up).
pub fn rules() -> impl Iterator<Item = &'static Rule> {
    crate::config::codes::RULES.iter().chain(analyzers::RULES.iter().copied())
}

/// The rule with this code (case-insensitive).
pub fn rule(code: &str) -> Option<&'static Rule> {
    rules().find(|r| r.code.eq_ignore_ascii_case(code))
}

/// Whether `rule` is a config error: the config is not read past one, so it cannot be ignored.
pub fn is_config_error(rule: &Rule) -> bool {
    rule.severity == crate::diagnostics::Severity::Error && crate::config::codes::RULES.contains(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_well_formed() {
        let codes: Vec<&str> = rules().map(|r| r.code).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(codes, sorted);
        for r in rules() {
            assert!(r.code.len() == 5 && r.code.starts_with("MR") && r.code[2..].bytes().all(|b| b.is_ascii_digit()), "{}", r.code);
            assert!(!r.summary.ends_with('.') && !r.explanation.is_empty(), "{}", r.code);
        }
        assert_eq!(rule("mr104").map(|r| r.code), Some("MR104"));
        assert_eq!(rule("mr004").map(|r| r.name), Some("unknown-key"));
    }

    /// Config codes stay below MR100 and analyzer codes above it; MR100, the old single config
    /// code, is never given to another rule.
    #[test]
    fn config_and_analyzer_codes_keep_their_ranges() {
        assert!(crate::config::codes::RULES.iter().all(|r| r.code < "MR100"));
        assert!(analyzers::RULES.iter().all(|r| r.code > "MR100"));
        assert!(rule("MR100").is_none());
    }
}
