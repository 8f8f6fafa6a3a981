//! Classes of alike app namespaces: two app namespaces are alike when their own objects are the same
//! typed values once the namespace's name is replaced by a placeholder.
//!
//! The objects are compared as they serialize (every field, map entry and list item, in order), but
//! into a compact byte form instead of JSON text: a tag per value; struct fields by the address of
//! their name; strings as their bytes, with every mention of the namespace's name (the whole string,
//! a `.ns.` host part, a `/ns/<ns>/` principal part) written as the byte `0xFF`, and ended by `0xFE`
//! (UTF-8 text holds neither byte). The form is injective, so equal bytes are equal objects up to the
//! name: a class is exact, not a hash. One buffer is reused for every namespace, and only the first
//! namespace of each class keeps its bytes.

use std::collections::HashMap;

use serde::ser::{self, Serialize};

use crate::Object;

/// The app namespaces and which one each object belongs to.
pub(super) struct Owners<'a> {
    /// App namespace → its index in `apps`.
    pub(super) index: HashMap<&'a str, usize>,
    /// Per object (same index), the app namespace it belongs to, if any.
    pub(super) owner: Vec<Option<usize>>,
}

impl<'a> Owners<'a> {
    pub(super) fn of(apps: &'a [String], objects: &[&Object]) -> Self {
        let index: HashMap<&str, usize> = apps.iter().enumerate().map(|(i, a)| (a.as_str(), i)).collect();
        let owner = objects.iter().map(|o| index.get(namespace_of(o)).copied()).collect();
        Owners { index, owner }
    }
}

/// The class of each app namespace of `apps` (same index): equal numbers for alike namespaces,
/// numbered in order of first appearance. `objects` may hold any objects; those of other namespaces
/// are left out.
pub fn app_classes(apps: &[String], objects: &[&Object]) -> Vec<usize> {
    classes_of(apps, objects, &Owners::of(apps, objects).owner)
}

pub(super) fn classes_of(apps: &[String], objects: &[&Object], owner: &[Option<usize>]) -> Vec<usize> {
    // The objects of each app namespace, grouped without a list per namespace: count, then place.
    let mut start = vec![0usize; apps.len() + 1];
    for i in owner.iter().flatten() {
        start[i + 1] += 1;
    }
    for i in 0..apps.len() {
        start[i + 1] += start[i];
    }
    let mut next = start.clone();
    let mut grouped: Vec<usize> = vec![0; start[apps.len()]];
    for (o, i) in owner.iter().enumerate() {
        if let Some(i) = *i {
            grouped[next[i]] = o;
            next[i] += 1;
        }
    }

    let mut classes: HashMap<Vec<u8>, usize> = HashMap::new();
    let (mut buffer, mut sorted, mut previous) = (Vec::new(), Vec::new(), Vec::new());
    let mut previous_class = usize::MAX;
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    apps.iter()
        .enumerate()
        .map(|(i, app)| {
            buffer.clear();
            ranges.clear();
            for &o in &grouped[start[i]..start[i + 1]] {
                let at = buffer.len();
                encode(&mut buffer, app, objects[o]);
                ranges.push(at..buffer.len());
            }
            // The objects in a canonical order: the bytes of each, sorted.
            let key = if ranges.windows(2).all(|w| buffer[w[0].clone()] <= buffer[w[1].clone()]) {
                &mut buffer
            } else {
                ranges.sort_by(|a, b| buffer[a.clone()].cmp(&buffer[b.clone()]));
                sorted.clear();
                for r in &ranges {
                    sorted.extend_from_slice(&buffer[r.clone()]);
                }
                &mut sorted
            };
            // Alike namespaces come in runs: the previous one's class is tried first.
            if *key != previous {
                let next = classes.len();
                previous_class = *classes.entry(key.clone()).or_insert(next);
                std::mem::swap(key, &mut previous);
            }
            previous_class
        })
        .collect()
}

/// The namespace an object belongs to: a Namespace's own name, else `metadata.namespace`.
fn namespace_of(o: &Object) -> &str {
    let m = o.metadata();
    let ns = if o.kind() == "Namespace" { m.name.as_deref() } else { m.namespace.as_deref() };
    ns.unwrap_or_default()
}

/// Appends the byte form of `object` with `ns` replaced (module docs).
fn encode(out: &mut Vec<u8>, ns: &str, object: &Object) {
    if let Err(e) = object.serialize(&mut Encoder { out, ns }) {
        unreachable!("an object always serializes: {e}");
    }
}

/// The placeholder of the namespace's name, and the end of a string: bytes no UTF-8 text holds.
const NAME: u8 = 0xFF;
const STR_END: u8 = 0xFE;

mod tag {
    pub(super) const NULL: u8 = 0;
    pub(super) const FALSE: u8 = 1;
    pub(super) const TRUE: u8 = 2;
    pub(super) const INT: u8 = 3;
    pub(super) const UINT: u8 = 4;
    pub(super) const FLOAT: u8 = 5;
    pub(super) const STR: u8 = 6;
    pub(super) const SOME: u8 = 7;
    pub(super) const SEQ: u8 = 8;
    pub(super) const MAP: u8 = 9;
    pub(super) const STRUCT: u8 = 10;
    pub(super) const VARIANT: u8 = 11;
    pub(super) const END: u8 = 12;
    pub(super) const BYTES: u8 = 13;
    pub(super) const FIELD: u8 = 14;
}

struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    ns: &'a str,
}

impl Encoder<'_> {
    fn str(&mut self, s: &str) {
        self.out.push(tag::STR);
        if s == self.ns {
            self.out.push(NAME);
        } else {
            write_replaced(self.out, s, self.ns);
        }
        self.out.push(STR_END);
    }

    /// A struct field's or variant's name: a string of the program, not of the object, which never
    /// names the namespace. Written as its address and length: equal names of one type are one
    /// string, and the same address and length are the same text.
    fn name(&mut self, tag: u8, name: &'static str) {
        let mut bytes = [0; 17];
        bytes[0] = tag;
        bytes[1..9].copy_from_slice(&(name.as_ptr() as usize as u64).to_le_bytes());
        bytes[9..].copy_from_slice(&(name.len() as u64).to_le_bytes());
        self.out.extend_from_slice(&bytes);
    }

    /// Writes `tag`, then goes on with what follows it.
    fn tagged(&mut self, tag: u8) -> Result<&mut Self, Error> {
        self.out.push(tag);
        Ok(self)
    }

    fn variant(&mut self, variant: &'static str) {
        self.name(tag::VARIANT, variant);
    }
}

/// `s` with each `.ns.` written `.<NAME>.` and each `/ns/<ns>/` written `/ns/<NAME>/`, as the JSON
/// text's `str::replace` did: left to right, and a part's closing `.` or `/` is not the opening of
/// the next.
fn write_replaced(out: &mut Vec<u8>, s: &str, ns: &str) {
    let (bytes, name) = (s.as_bytes(), ns.as_bytes());
    if name.is_empty() || bytes.len() < name.len() + 2 {
        out.extend_from_slice(bytes);
        return;
    }
    // Bytes before `written` are out; those before `free` belong to a replaced part. Only a name
    // right after a `.` or `/` can be replaced: the scan jumps from one to the next.
    let (mut written, mut free, mut at) = (0, 0, 0);
    while let Some(separator) = next_separator(bytes, at) {
        let start = separator + 1;
        if start + name.len() >= bytes.len() {
            break;
        }
        if bytes[start] == name[0] && bytes[start..].starts_with(name) {
            let (opening, closing) = (bytes[separator], bytes[start + name.len()]);
            let host = opening == b'.' && closing == b'.' && separator >= free;
            let principal = opening == b'/' && closing == b'/' && start >= free + 4 && bytes[..start].ends_with(b"/ns/");
            if host || principal {
                out.extend_from_slice(&bytes[written..start]);
                out.push(NAME);
                written = start + name.len();
                free = written + 1;
                at = free;
                continue;
            }
        }
        at = start;
    }
    out.extend_from_slice(&bytes[written..]);
}

/// The index of the first `.` or `/` at or after `from`, eight bytes at a time: `.` (0x2E) and `/`
/// (0x2F) are the bytes that become 0x2F when their lowest bit is set.
fn next_separator(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut at = from;
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let x = (u64::from_le_bytes(*chunk) | ONES) ^ (u64::from(b'/') * ONES);
        // The lowest byte that is zero sets the lowest high bit here (the classic zero-byte test).
        let zero = x.wrapping_sub(ONES) & !x & (ONES << 7);
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes.get(at..)?.iter().position(|&b| b | 1 == b'/').map(|p| at + p)
}

#[derive(Debug)]
struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl<'e, 'a> ser::Serializer for &'e mut Encoder<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.push(if v { tag::TRUE } else { tag::FALSE });
        Ok(())
    }
    crate::emit::widen_integers!();
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.out.push(tag::INT);
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.out.push(tag::UINT);
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.out.push(tag::FLOAT);
        self.out.extend_from_slice(&v.to_bits().to_le_bytes());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.str(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.str(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.out.push(tag::BYTES);
        self.out.extend_from_slice(&u32::try_from(v.len()).unwrap_or(u32::MAX).to_le_bytes());
        self.out.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.tagged(tag::NULL).map(drop)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self.tagged(tag::SOME)?)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.tagged(tag::NULL).map(drop)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.tagged(tag::NULL).map(drop)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Error> {
        self.variant(variant);
        Ok(())
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
        self.variant(variant);
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Error> {
        self.tagged(tag::SEQ)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Error> {
        self.tagged(tag::SEQ)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Error> {
        self.tagged(tag::SEQ)
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Self, Error> {
        self.variant(variant);
        self.tagged(tag::SEQ)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Error> {
        self.tagged(tag::MAP)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Error> {
        self.tagged(tag::STRUCT)
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Self, Error> {
        self.variant(variant);
        self.tagged(tag::STRUCT)
    }
}

/// Lists, maps and structs: their entries, self-delimiting, then an end tag.
macro_rules! compound {
    ($($trait:ident :: $method:ident ($($key:ident)?)),* $(,)?) => {$(
        impl ser::$trait for &mut Encoder<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, $($key: &'static str,)? value: &T) -> Result<(), Error> {
                $(self.name(tag::FIELD, $key);)?
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Error> {
                self.out.push(tag::END);
                Ok(())
            }
        }
    )*};
}

compound! {
    SerializeSeq::serialize_element(),
    SerializeTuple::serialize_element(),
    SerializeTupleStruct::serialize_field(),
    SerializeTupleVariant::serialize_field(),
    SerializeStruct::serialize_field(key),
    SerializeStructVariant::serialize_field(key),
}

impl ser::SerializeMap for &mut Encoder<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Error> {
        self.out.push(tag::END);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_separator_finds_the_first_dot_or_slash() {
        let text = b"abcdefghij.klmnopqrstu/vw";
        for from in 0..text.len() {
            let expected = text[from..].iter().position(|&b| b == b'.' || b == b'/').map(|p| from + p);
            assert_eq!(next_separator(text, from), expected, "from {from}");
        }
        // Every byte, in the eight-byte part and in the tail.
        for b in 0..=u8::MAX {
            let expected = matches!(b, b'.' | b'/').then_some(3);
            assert_eq!(next_separator(&[b'a', b'a', b'a', b, b'a', b'a', b'a', b'a', b'a'], 0), expected, "byte {b:#x}");
            assert_eq!(next_separator(&[b'a', b'a', b'a', b], 0), expected, "byte {b:#x} in the tail");
        }
    }

    fn replaced(s: &str, ns: &str) -> String {
        let mut out = Vec::new();
        write_replaced(&mut out, s, ns);
        String::from_utf8_lossy(&out).replace('\u{FFFD}', "<NS>")
    }

    #[test]
    fn host_and_principal_parts_are_replaced_like_the_json_text_was() {
        assert_eq!(replaced("svc.demo.svc.cluster.local", "demo"), "svc.<NS>.svc.cluster.local");
        assert_eq!(replaced("cluster.local/ns/demo/sa/default", "demo"), "cluster.local/ns/<NS>/sa/default");
        // `str::replace` leaves the second of two adjacent parts, whose dot or slash it used.
        assert_eq!(replaced("a.demo.demo.b", "demo"), "a.<NS>.demo.b");
        assert_eq!(replaced("/ns/demo/ns/demo/", "demo"), "/ns/<NS>/ns/demo/");
        assert_eq!(replaced("a.demo.x.demo.b", "demo"), "a.<NS>.x.<NS>.b");
        // Past the first eight bytes, and in the tail after the last full eight.
        assert_eq!(replaced("0123456789.demo.x", "demo"), "0123456789.<NS>.x");
        assert_eq!(replaced("cluster.local/ns/demo/sa/default", "demo"), "cluster.local/ns/<NS>/sa/default");
        for kept in ["demo", "demo.svc", "x.demo", "demo-2.x", "a.demos.b", "ns/demo/", "/ns/demox/", "/ns/demo"] {
            assert_eq!(replaced(kept, "demo"), kept, "{kept}");
        }
    }
}
