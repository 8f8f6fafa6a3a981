//! Generated documentation: `docs/architecture.md`, `docs/ai-serving.md` and
//! `docs/upgrade-notes.md`, rendered with minijinja from the templates in `templates/docs/` and the
//! actual config. Pure: a loaded config in, file name → Markdown out (`mesh-render docs --out docs`
//! writes them; a test fails when the committed ones are stale).
//!
//! `context.rs` gathers the facts every template reads, `upgrade_notes.rs` the judged upgrade notes,
//! `diagram.rs` draws the architecture diagram, and `check_codes.rs` keeps the table of
//! `docs/check-codes.md`, a hand-written page, in step with the analyzers.

mod check_codes;
mod context;
mod diagram;
mod fleet;
mod upgrade_notes;

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::config::Loaded;
use context::Context;

pub use check_codes::{check_codes_table, with_check_codes_table, CHECK_CODES_END, CHECK_CODES_START};
pub use diagram::diagram;
pub use fleet::fleet_page;

/// The templates, by the name of the file they render.
const TEMPLATES: &[(&str, &str)] = &[
    ("architecture.md", include_str!("../../templates/docs/architecture.md.j2")),
    ("ai-serving.md", include_str!("../../templates/docs/ai-serving.md.j2")),
    ("upgrade-notes.md", include_str!("../../templates/docs/upgrade-notes.md.j2")),
];

/// Renders every document for the selected settings of `loaded`: file name → contents.
pub fn docs(loaded: &Loaded) -> BTreeMap<String, String> {
    let context = Context::new(loaded);
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    for (name, source) in TEMPLATES {
        env.add_template(name, source).unwrap_or_else(|e| unreachable!("template {name} parses: {e:#}"));
    }
    TEMPLATES
        .iter()
        .map(|(name, _)| {
            let template = env.get_template(name).unwrap_or_else(|e| unreachable!("template {name} was added: {e}"));
            let text = template.render(&context).unwrap_or_else(|e| unreachable!("template {name} renders: {e:#}"));
            (name.to_string(), tidy(&text))
        })
        .collect()
}

/// At most one blank line in a row, no trailing spaces, exactly one final newline: templates with
/// optional sections stay readable and the output stays stable.
fn tidy(text: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
