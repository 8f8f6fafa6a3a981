//! The check-code table of `docs/check-codes.md`, from the registry (config codes and analyzers).

/// Marks the start of the generated check-code table (in `docs/check-codes.md`).
pub const CHECK_CODES_START: &str = "<!-- check-codes:start -->";
/// Marks its end.
pub const CHECK_CODES_END: &str = "<!-- check-codes:end -->";

/// The registry of codes as a Markdown table: code, severity, summary.
pub fn check_codes_table() -> String {
    let mut out = String::from("| Code | Severity | Summary |\n|---|---|---|\n");
    for rule in crate::check::rules() {
        out.push_str(&format!("| `{}` | {} | {} |\n", rule.code, rule.severity, rule.summary.replace('|', "\\|")));
    }
    out
}

/// `page` with the text between the check-code markers replaced by [`check_codes_table`];
/// `None` when the markers are missing or out of order.
pub fn with_check_codes_table(page: &str) -> Option<String> {
    let start = page.find(CHECK_CODES_START)? + CHECK_CODES_START.len();
    let end = start + page[start..].find(CHECK_CODES_END)?;
    Some(format!("{}\n{}{}", &page[..start], check_codes_table(), &page[end..]))
}
