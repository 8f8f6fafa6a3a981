//! The YAML writer: block-style YAML from any `Serialize` value, in the layout serde-saphyr writes.
//!
//! serde-saphyr decides, per string, whether it can stay plain or must be quoted (it quotes every
//! YAML 1.1 spelling that kubectl would read as a boolean, number or null). That decision was most
//! of a render's time: at 10,000 app namespaces, writing the stream through serde-saphyr took two
//! thirds of the process. This writer lays out maps and lists itself and writes the strings that
//! are plain beyond doubt (names, labels, paths: a letter or `/` first, then letters, digits and
//! `._/-;,` or inner spaces, and no YAML 1.1 keyword) directly; every other scalar is handed to
//! serde-saphyr, so quoting, escaping and block scalars stay exactly its own.
//!
//! Tests: `tests/yaml_emitter.rs` compares this writer with serde-saphyr byte for byte on every
//! golden render and on generated strings, and reads the output back with kubectl.

mod scalar;

use std::fmt::{self, Write as _};

use serde::ser::{self, Serialize};

use scalar::{saphyr_scalar, write_key, write_str_value};

/// Options for the scalars handed to serde-saphyr: long lines stay on one line, multi-line strings
/// are literal blocks.
pub(crate) fn saphyr_options() -> serde_saphyr::SerializerOptions {
    let mut opts = serde_saphyr::SerializerOptions::default();
    opts.folded_wrap_chars = usize::MAX;
    opts.min_fold_chars = usize::MAX;
    opts
}

/// Appends `value` as a YAML document body (no `---`) ending in a newline.
pub fn write<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result<(), Error> {
    value.serialize(Emitter { out, at: At::Top })
}

/// An error raised by a `Serialize` implementation.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Where the next value goes.
#[derive(Clone, Copy)]
enum At {
    /// The document root.
    Top,
    /// After `key:` written at this indent.
    Value(usize),
    /// After `- ` whose dash is at this indent.
    Item(usize),
}

impl At {
    /// Indent of the content of a block scalar written here.
    fn block_indent(self) -> usize {
        match self {
            At::Top => 0,
            At::Value(i) | At::Item(i) => i,
        }
    }
}

fn indent(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = n;
    while left > SPACES.len() {
        out.push_str(SPACES);
        left -= SPACES.len();
    }
    out.push_str(&SPACES[..left]);
}

struct Emitter<'o> {
    out: &'o mut String,
    at: At,
}

impl<'o> Emitter<'o> {
    /// Writes a scalar already in its YAML form.
    fn scalar(self, text: &str) -> Result<(), Error> {
        if let At::Value(_) = self.at {
            self.out.push(' ');
        }
        self.out.push_str(text);
        self.out.push('\n');
        Ok(())
    }

    /// Writes an integer, as Rust and serde-saphyr spell it.
    fn number(self, v: impl fmt::Display) -> Result<(), Error> {
        if let At::Value(_) = self.at {
            self.out.push(' ');
        }
        write!(self.out, "{v}").map_err(|e| Error(e.to_string()))?;
        self.out.push('\n');
        Ok(())
    }

    fn map(self) -> Compound<'o> {
        let (indent, first_inline) = match self.at {
            At::Top => (0, false),
            At::Value(i) => (i + 2, false),
            At::Item(i) => (i + 2, true),
        };
        Compound { out: self.out, at: self.at, indent, first_inline, count: 0, seq: false }
    }

    fn seq(self) -> Compound<'o> {
        let (indent, first_inline) = match self.at {
            At::Top => (0, false),
            // Lists under a key are not indented further (`rules:\n- from: …`).
            At::Value(i) => (i, false),
            At::Item(i) => (i + 2, true),
        };
        Compound { out: self.out, at: self.at, indent, first_inline, count: 0, seq: true }
    }
}

/// A map, struct or list being written.
struct Compound<'o> {
    out: &'o mut String,
    at: At,
    /// Indent of the entries (maps) or dashes (lists).
    indent: usize,
    /// The first entry continues the line of a `- `.
    first_inline: bool,
    count: usize,
    seq: bool,
}

impl Compound<'_> {
    /// Starts an entry or item: the line break after `key:`, then the indentation.
    fn start(&mut self) {
        if self.count == 0 {
            if let At::Value(_) = self.at {
                self.out.push('\n');
            }
        }
        if !(self.count == 0 && self.first_inline) {
            indent(self.out, self.indent);
        }
        self.count += 1;
        if self.seq {
            self.out.push_str("- ");
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.start();
        write_key(self.out, key);
        self.out.push(':');
        value.serialize(Emitter { out: self.out, at: At::Value(self.indent) })
    }

    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.start();
        value.serialize(Emitter { out: self.out, at: At::Item(self.indent) })
    }

    fn end(self) -> Result<(), Error> {
        if self.count == 0 {
            let empty = if self.seq { "[]" } else { "{}" };
            Emitter { out: self.out, at: self.at }.scalar(empty)?;
        }
        Ok(())
    }
}

impl<'o> ser::Serializer for Emitter<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'o>;
    type SerializeTuple = Compound<'o>;
    type SerializeTupleStruct = Compound<'o>;
    type SerializeTupleVariant = Compound<'o>;
    type SerializeMap = MapCompound<'o>;
    type SerializeStruct = Compound<'o>;
    type SerializeStructVariant = Compound<'o>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.scalar(if v { "true" } else { "false" })
    }
    crate::emit::widen_integers!();
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.scalar(&saphyr_scalar(&v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.scalar(&saphyr_scalar(&v))
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        if let At::Value(_) = self.at {
            self.out.push(' ');
        }
        write_str_value(self.out, v, self.at);
        self.out.push('\n');
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        ser::Serializer::collect_seq(self, v)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.scalar("null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.scalar("null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.scalar("null")
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut map = self.map();
        map.field(variant, value)?;
        map.end()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'o>, Error> {
        Ok(self.seq())
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'o>, Error> {
        Ok(self.seq())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'o>, Error> {
        Ok(self.seq())
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Compound<'o>, Error> {
        // `variant:` then the list under it.
        let mut map = self.map();
        map.start();
        write_key(map.out, variant);
        map.out.push(':');
        Ok(Emitter { out: map.out, at: At::Value(map.indent) }.seq())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapCompound<'o>, Error> {
        Ok(MapCompound { inner: self.map(), key: String::new() })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'o>, Error> {
        Ok(self.map())
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Compound<'o>, Error> {
        let mut map = self.map();
        map.start();
        write_key(map.out, variant);
        map.out.push(':');
        Ok(Emitter { out: map.out, at: At::Value(map.indent) }.map())
    }
}

/// The list-like and struct-like traits, all written by [`Compound`].
macro_rules! compound_impls {
    ($($trait:ident :: $method:ident ($($key:ident)?)),* $(,)?) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, $($key: &'static str,)? value: &T) -> Result<(), Error> {
                compound_impls!(@write self, value $(, $key)?)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self)
            }
        }
    )*};
    (@write $self:ident, $value:ident) => { $self.item($value) };
    (@write $self:ident, $value:ident, $key:ident) => { $self.field($key, $value) };
}

compound_impls! {
    SerializeSeq::serialize_element(),
    SerializeTuple::serialize_element(),
    SerializeTupleStruct::serialize_field(),
    SerializeTupleVariant::serialize_field(),
    SerializeStruct::serialize_field(key),
    SerializeStructVariant::serialize_field(key),
}

/// A map whose keys arrive separately from their values.
struct MapCompound<'o> {
    inner: Compound<'o>,
    key: String,
}

impl ser::SerializeMap for MapCompound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key.clear();
        key.serialize(KeyText(&mut self.key))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = std::mem::take(&mut self.key);
        let written = self.inner.field(&key, value);
        self.key = key;
        written
    }
    fn end(self) -> Result<(), Error> {
        self.inner.end()
    }
}

/// Map keys as text: strings, and numbers or booleans in their usual spelling.
struct KeyText<'k>(&'k mut String);

impl KeyText<'_> {
    fn text(self, v: impl fmt::Display) -> Result<(), Error> {
        write!(self.0, "{v}").map_err(|e| Error(e.to_string()))
    }
}

impl ser::Serializer for KeyText<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.0.push_str(v);
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(Error("a map key must be a string, number or boolean, not bytes".into()))
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.text("null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.text("null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.text("null")
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Error> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _: &'static str, _: u32, _: &'static str, _: &T) -> Result<(), Error> {
        Err(not_a_key())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(not_a_key())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(not_a_key())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(not_a_key())
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<Self::SerializeTupleVariant, Error> {
        Err(not_a_key())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_a_key())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(not_a_key())
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<Self::SerializeStructVariant, Error> {
        Err(not_a_key())
    }
}

fn not_a_key() -> Error {
    Error("a map key must be a string, number or boolean".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml<T: Serialize>(v: &T) -> String {
        let mut out = String::new();
        write(&mut out, v).unwrap();
        out
    }

    #[test]
    fn layout_of_nested_maps_and_lists() {
        let v = serde_json::json!({"a": {"b": ["x", {"c": 1, "d": [true]}], "e": {}, "f": []}, "g": null});
        assert_eq!(yaml(&v), "a:\n  b:\n  - x\n  - c: 1\n    d:\n    - true\n  e: {}\n  f: []\ng: null\n");
    }

    #[test]
    fn keys_are_quoted_as_serde_saphyr_quotes_them() {
        let v = serde_json::json!({"on": "on", "y": "8022", "a b": "c: d", "8443": "x"});
        assert_eq!(yaml(&v), "\"8443\": x\na b: \"c: d\"\n\"on\": \"on\"\n\"y\": \"8022\"\n");
    }
}
