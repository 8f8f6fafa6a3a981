//! Scalars and map keys: written plain when plain beyond doubt, else exactly as serde-saphyr writes them.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{saphyr_options, At};

/// YAML 1.1 and 1.2 words that must not be written plain, in any letter case.
const KEYWORDS: &[&str] = &["y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf", "infinity"];

/// What a byte may be in a string that is plain beyond doubt: [`FIRST`] (a letter or `/`) starts one,
/// [`INNER`] (letters, digits, `._/-;,` and space) continues one, [`KEY`] is an inner byte that needs
/// no quotes in a key either (not `,`, which serde-saphyr quotes in keys). One table lookup per byte.
const FIRST: u8 = 1;
const INNER: u8 = 2;
const KEY: u8 = 4;
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let letter = c.is_ascii_alphabetic();
        let inner = c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'/' | b'-' | b';' | b',' | b' ');
        t[b] = if letter || c == b'/' { FIRST } else { 0 } | if inner { INNER } else { 0 } | if inner && c != b',' { KEY } else { 0 };
        b += 1;
    }
    t
};

/// Whether `s` is plain YAML beyond doubt, in block context, as a value; as a key too with `need = KEY`.
fn plain_as(s: &str, need: u8) -> bool {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else { return false };
    // What every byte may be, without a branch per byte: most strings are plain.
    let every = bytes.iter().fold(u8::MAX, |every, &b| every & CLASS[usize::from(b)]);
    CLASS[usize::from(first)] & FIRST != 0 && last != b' ' && every & need != 0 && !keyword(bytes)
}

/// Whether `bytes` is one of [`KEYWORDS`] in any letter case.
fn keyword(bytes: &[u8]) -> bool {
    // Only a short word that starts like one can be one: most keys and values are not even looked up.
    let Some(&first) = bytes.first() else { return false };
    if bytes.len() > 8 || !matches!(first | 0x20, b'y' | b'n' | b't' | b'f' | b'o' | b'i') {
        return false;
    }
    let mut lower = [0u8; 8];
    for (l, b) in lower.iter_mut().zip(bytes) {
        *l = b.to_ascii_lowercase();
    }
    KEYWORDS.iter().any(|k| k.as_bytes() == &lower[..bytes.len()])
}

/// Whether `s` is plain YAML beyond doubt, in block context, as key and as value.
fn plain_beyond_doubt(s: &str) -> bool {
    plain_as(s, INNER)
}

/// serde-saphyr's form of a scalar at the document root, without the final newline.
pub(crate) fn saphyr_scalar<T: Serialize>(value: &T) -> String {
    let mut text = String::new();
    if let Err(e) = serde_saphyr::to_fmt_writer_with_options(&mut text, value, saphyr_options()) {
        unreachable!("a scalar always serializes: {e}");
    }
    if text.ends_with('\n') {
        text.pop();
    }
    text
}

/// A string in value position: plain, quoted, or a literal block re-indented for where it goes.
pub(crate) fn write_str_value(out: &mut String, s: &str, at: At) {
    if plain_beyond_doubt(s) {
        out.push_str(s);
    } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        // Port numbers as strings ("8022"): serde-saphyr double-quotes them.
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        let text = saphyr_scalar(&s);
        let mut lines = text.split('\n');
        out.push_str(lines.next().unwrap_or_default());
        // A block scalar: serde-saphyr indents its content for the root; move it under `at`.
        let pad = at.block_indent();
        for line in lines {
            out.push('\n');
            if !line.is_empty() {
                out.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(line);
        }
    }
}

/// A map key, as serde-saphyr writes it as the key of a one-entry map.
pub(crate) fn write_key(out: &mut String, key: &str) {
    // Commas are flow indicators, which serde-saphyr quotes in keys.
    if plain_as(key, KEY) {
        out.push_str(key);
        return;
    }
    let mut one = BTreeMap::new();
    one.insert(key, ());
    let entry = saphyr_scalar(&one);
    match entry.strip_suffix(": null") {
        Some(k) if !k.contains('\n') => out.push_str(k),
        // A key serde-saphyr writes over several lines: a JSON string is a valid double-quoted
        // YAML scalar on one line.
        _ => out.push_str(&serde_json::to_string(key).unwrap_or_else(|e| unreachable!("a string is JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_beyond_doubt_refuses_keywords_and_indicators() {
        for s in ["istio-system", "app.kubernetes.io/part-of", "/healthz", "a b;c,d", "Yesterday"] {
            assert!(plain_beyond_doubt(s), "{s}");
        }
        for s in ["", "yes", "No", "ON", "null", "NaN", "Inf", "8022", "-a", " a", "a ", "a: b", "a#b", ".inf", "x:y"] {
            assert!(!plain_beyond_doubt(s), "{s}");
        }
    }
}
