//! The config's YAML, read into a tree that remembers where every node came from.
//!
//! serde gives up at the first problem and forgets positions; a config reader must report every
//! problem with file, line and column, so the config is read event by event (saphyr-parser) into
//! [`Node`]s and decoded by hand in [`crate::config`]. The limits below are explicit because
//! mesh-render runs unattended inside Argo CD's repo-server: no input may make it hang or blow up.

use super::codes;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::diagnostics::{Diagnostic, Pos, Rule};

/// Hard limits on what the reader accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest config accepted, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most nodes the document may hold once every alias is expanded ("billion laughs" guard).
    pub max_nodes: usize,
}

impl Limits {
    /// The limits used by the CLI: far above any real config, far below any harm.
    pub const DEFAULT: Limits = Limits { max_bytes: 4 * 1024 * 1024, max_depth: 64, max_nodes: 200_000 };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// A YAML node with the position of its first character.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

/// The shape of a node. Scalars stay text: the decoder decides what type a key wants.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A plain `~`, `null`, `Null`, `NULL` or empty scalar.
    Null,
    /// Any other scalar; `quoted` is false for plain scalars, which alone may be read as numbers or booleans.
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    /// Entries in document order; keys are unique (duplicates are reported while reading).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text of a node, if it is a scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Looks a key up in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.as_scalar() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// What the node is, for "expected X, found Y" messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Number of nodes in this subtree.
    fn size(&self) -> usize {
        1 + match &self.value {
            Value::Seq(items) => items.iter().map(Node::size).sum(),
            Value::Map(entries) => entries.iter().map(|(k, v)| k.size() + v.size()).sum(),
            _ => 0,
        }
    }
}

/// Reads every document of a YAML stream (comment-only and empty documents are dropped).
pub fn parse_documents(text: &str, limits: Limits) -> Result<Vec<Node>, Vec<Diagnostic>> {
    Ok(read_documents(text, limits)?.into_iter().map(|(node, _)| node).filter(|d| d.value != Value::Null).collect())
}

/// Every document with the position of its start, null documents included.
fn read_documents(text: &str, limits: Limits) -> Result<Vec<(Node, Pos)>, Vec<Diagnostic>> {
    if text.len() > limits.max_bytes {
        return Err(vec![Diagnostic::in_config(
            &codes::INPUT_LIMIT,
            Pos::START,
            "",
            format!("the input is {} bytes, more than the limit of {} bytes", text.len(), limits.max_bytes),
            "a mesh config is a few kilobytes; check that the right file was given",
        )]);
    }
    let mut reader = Reader { limits, anchors: HashMap::new(), nodes: 0, depth: 0, errors: Vec::new() };
    let mut parser = Parser::new_from_str(text);
    let mut documents = Vec::new();
    loop {
        match reader.next(&mut parser) {
            Err(diag) => {
                reader.errors.push(*diag);
                return Err(reader.errors);
            }
            Ok(None) => break,
            Ok(Some((Event::DocumentStart(_), span))) => {
                // Anchors are scoped to their document.
                reader.anchors.clear();
                match reader.node(&mut parser, None) {
                    Ok(node) => documents.push((node, pos_of(span))),
                    Err(diag) => {
                        reader.errors.push(*diag);
                        return Err(reader.errors);
                    }
                }
            }
            Ok(Some(_)) => {}
        }
    }
    if !reader.errors.is_empty() {
        return Err(reader.errors);
    }
    Ok(documents)
}

/// Reads a config: exactly one YAML document that is not empty.
pub fn parse(text: &str, limits: Limits) -> Result<Node, Vec<Diagnostic>> {
    let mut documents = read_documents(text, limits).map_err(|mut e| {
        for d in &mut e {
            d.message = d.message.replace("the input is", "the config is");
        }
        e
    })?;
    match documents.len() {
        1 if documents[0].0.value == Value::Null => Err(vec![Diagnostic::in_config(
            &codes::YAML_SYNTAX,
            documents[0].0.pos,
            "",
            "the config holds no settings (the document is null)",
            "start from `mesh-render example`, which prints a documented config",
        )]),
        0 => Err(vec![Diagnostic::in_config(
            &codes::YAML_SYNTAX,
            Pos::START,
            "",
            "the config is empty",
            "start from `mesh-render example`, which prints a documented config",
        )]),
        1 => Ok(documents.remove(0).0),
        n => Err(vec![Diagnostic::in_config(
            &codes::YAML_SYNTAX,
            documents[1].1,
            "",
            format!("the config holds {n} YAML documents; exactly one is expected"),
            "remove the `---` separators and merge the documents into one",
        )]),
    }
}

impl Node {
    /// The node as JSON, resolving plain scalars by the YAML 1.2 core schema (what a config or a
    /// rendered manifest means), quoted scalars always as strings.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Scalar { text, quoted: true } => J::String(text.clone()),
            Value::Scalar { text, quoted: false } => match text.as_str() {
                "true" | "True" | "TRUE" => J::Bool(true),
                "false" | "False" | "FALSE" => J::Bool(false),
                t => {
                    let numeric = t.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'-' || b == b'+' || b == b'.');
                    if let (true, Ok(i)) = (numeric, t.parse::<i64>()) {
                        J::from(i)
                    } else if let (true, Some(f)) = (numeric, t.parse::<f64>().ok().filter(|f| f.is_finite())) {
                        J::from(f)
                    } else {
                        J::String(t.to_string())
                    }
                }
            },
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                J::Object(entries.iter().map(|(k, v)| (k.as_scalar().unwrap_or_default().to_string(), v.to_json())).collect())
            }
        }
    }
}

/// A problem that stops the read, boxed: the reader's results stay small on the hot path.
fn fail(rule: &Rule, pos: Pos, message: impl Into<String>, hint: impl Into<String>) -> Box<Diagnostic> {
    Box::new(Diagnostic::in_config(rule, pos, "", message, hint))
}

struct Reader {
    limits: Limits,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    depth: usize,
    errors: Vec<Diagnostic>,
}

type Ev<'a> = (Event<'a>, Span);

fn pos_of(span: Span) -> Pos {
    Pos { line: span.start.line(), column: span.start.col() + 1 }
}

impl Reader {
    fn next<'a>(&mut self, parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>) -> Result<Option<Ev<'a>>, Box<Diagnostic>> {
        match parser.next_event() {
            None => Ok(None),
            Some(Ok(ev)) => Ok(Some(ev)),
            Some(Err(e)) => {
                let hint = if e.info().contains("recursion limit") {
                    "the config nests far too deep; a mesh config is a few levels deep"
                } else {
                    "fix the YAML syntax at this position (indentation, an unclosed quote or bracket, a tab)"
                };
                Err(fail(
                    &codes::YAML_SYNTAX,
                    Pos { line: e.marker().line(), column: e.marker().col() + 1 },
                    format!("the config is not valid YAML: {}", e.info()),
                    hint,
                ))
            }
        }
    }

    fn count(&mut self, pos: Pos, added: usize) -> Result<(), Box<Diagnostic>> {
        self.nodes += added;
        if self.nodes > self.limits.max_nodes {
            return Err(fail(
                &codes::INPUT_LIMIT,
                pos,
                format!("the config expands to more than {} YAML nodes", self.limits.max_nodes),
                "aliases that refer to aliases multiply (a \"billion laughs\" document); write the values out",
            ));
        }
        Ok(())
    }

    /// Reads the node that starts with the next event. `first` is an event already taken.
    fn node<'a>(&mut self, parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>, first: Option<Ev<'a>>) -> Result<Node, Box<Diagnostic>> {
        let (event, span) = match first {
            Some(ev) => ev,
            None => self.next(parser)?.ok_or_else(|| {
                fail(&codes::YAML_SYNTAX, Pos::START, "the config ends in the middle of a value", "complete the YAML document")
            })?,
        };
        let pos = pos_of(span);
        match event {
            Event::Scalar(text, style, anchor, _tag) => {
                self.count(pos, 1)?;
                let quoted = style != ScalarStyle::Plain;
                let value = if !quoted && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL") {
                    Value::Null
                } else {
                    Value::Scalar { text: text.into_owned(), quoted }
                };
                let node = Node { pos, value };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| {
                    fail(&codes::YAML_SYNTAX, pos, "an alias refers to an unknown anchor", "define the `&anchor` before using `*anchor`")
                })?;
                self.count(pos, node.size())?;
                Ok(Node { pos, value: node.value })
            }
            Event::SequenceStart(anchor, _) => {
                self.enter(pos)?;
                self.count(pos, 1)?;
                let mut items = Vec::new();
                loop {
                    let ev = self.expect_next(parser, pos)?;
                    if matches!(ev.0, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(parser, Some(ev))?);
                }
                self.depth -= 1;
                let node = Node { pos, value: Value::Seq(items) };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::MappingStart(anchor, _) => {
                self.enter(pos)?;
                self.count(pos, 1)?;
                let mut entries: Vec<(Node, Node)> = Vec::new();
                // Key → index in `entries`: a linear search made a mapping of 100,000 keys take minutes.
                let mut index: HashMap<String, usize> = HashMap::new();
                loop {
                    let ev = self.expect_next(parser, pos)?;
                    if matches!(ev.0, Event::MappingEnd) {
                        break;
                    }
                    let key = self.node(parser, Some(ev))?;
                    let value = self.node(parser, None)?;
                    if key.as_scalar().is_none() {
                        self.errors.push(Diagnostic::in_config(
                            &codes::YAML_SYNTAX,
                            key.pos,
                            "",
                            format!("a mapping key is {}; keys must be plain strings", key.kind_name()),
                            "write the key as a string",
                        ));
                        continue;
                    }
                    let text = key.as_scalar().unwrap_or_default().to_string();
                    if let Some((first, _)) = index.get(&text).map(|&i| &entries[i]) {
                        self.errors.push(Diagnostic::in_config(
                            &codes::DUPLICATE_KEY,
                            key.pos,
                            "",
                            format!("duplicate key `{text}` (first defined at line {}, column {})", first.pos.line, first.pos.column),
                            "YAML keeps only one of them; remove or merge the duplicate",
                        ));
                        continue;
                    }
                    index.insert(text, entries.len());
                    entries.push((key, value));
                }
                self.depth -= 1;
                let node = Node { pos, value: Value::Map(entries) };
                self.remember(anchor, &node);
                Ok(node)
            }
            other => {
                Err(fail(&codes::YAML_SYNTAX, pos, format!("unexpected YAML event {other:?}"), "the config must be a single YAML document"))
            }
        }
    }

    fn expect_next<'a>(&mut self, parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>, pos: Pos) -> Result<Ev<'a>, Box<Diagnostic>> {
        self.next(parser)?
            .ok_or_else(|| fail(&codes::YAML_SYNTAX, pos, "the config ends inside this collection", "close the mapping or list"))
    }

    fn enter(&mut self, pos: Pos) -> Result<(), Box<Diagnostic>> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(fail(
                &codes::INPUT_LIMIT,
                pos,
                format!("the config nests deeper than {} levels", self.limits.max_depth),
                "a mesh config is a few levels deep; check that the right file was given",
            ));
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        parse(text, Limits::DEFAULT).expect_err("should fail").iter().map(|d| d.to_string_in("c.yaml")).collect()
    }

    #[test]
    fn positions_are_one_based() {
        let node = parse("a:\n  b: [1, x]\n", Limits::DEFAULT).unwrap();
        let b = node.get("a").unwrap().get("b").unwrap();
        assert_eq!(b.pos, Pos { line: 2, column: 6 });
        match &b.value {
            Value::Seq(items) => assert_eq!(items[1].pos, Pos { line: 2, column: 10 }),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn quoted_scalars_are_marked() {
        let node = parse("a: 'on'\nb: on\nc: ~\n", Limits::DEFAULT).unwrap();
        assert_eq!(node.get("a").unwrap().value, Value::Scalar { text: "on".into(), quoted: true });
        assert_eq!(node.get("b").unwrap().value, Value::Scalar { text: "on".into(), quoted: false });
        assert_eq!(node.get("c").unwrap().value, Value::Null);
    }

    #[test]
    fn duplicate_keys_are_reported_with_both_positions() {
        assert_eq!(
            errors("a: 1\nb: 2\na: 3\n"),
            ["c.yaml:3:1: error[MR002]: duplicate key `a` (first defined at line 1, column 1)\n  hint: YAML keeps only one of them; remove or merge the duplicate"]
        );
    }

    #[test]
    fn empty_and_multi_document_input_is_refused() {
        assert!(errors("")[0].contains("the config is empty"));
        assert!(errors("# only a comment\n")[0].contains("the config is empty"));
        assert!(errors("~\n")[0].contains("the document is null"));
        assert!(errors("a: 1\n---\nb: 2\n")[0].starts_with("c.yaml:2:1: error[MR001]: the config holds 2 YAML documents"));
    }

    #[test]
    fn syntax_errors_point_at_the_problem() {
        let e = errors("a: [1, 2\nb: 3\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("error[MR001]: the config is not valid YAML"), "{e:?}");
    }

    #[test]
    fn depth_limit_is_enforced() {
        // Flow style: the scanner's own recursion guard stops first.
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(errors(&deep)[0].contains("recursion limit exceeded\n  hint: the config nests far too deep"), "{:?}", errors(&deep));
        // Block style: mesh-render's limit.
        let block: String = (0..100).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        assert!(
            errors(&block)[0].starts_with("c.yaml:65:65: error[MR003]: the config nests deeper than 64 levels"),
            "{:?}",
            errors(&block)
        );
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            doc.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        assert!(errors(&doc)[0].contains("expands to more than 200000 YAML nodes"));
    }

    #[test]
    fn aliases_expand_within_budget() {
        let node = parse("base: &b {x: 1}\nother: *b\n", Limits::DEFAULT).unwrap();
        assert_eq!(node.get("other").unwrap().get("x").unwrap().as_scalar(), Some("1"));
    }

    #[test]
    fn size_limit_is_enforced() {
        let limits = Limits { max_bytes: 10, ..Limits::DEFAULT };
        let e = parse("a: 12345678901\n", limits).unwrap_err();
        assert!(e[0].message.contains("more than the limit of 10 bytes"));
    }
}
