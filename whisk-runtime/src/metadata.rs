//! The activation metadata (the non-`value` keys of a `/run` body), kept
//! compactly: every key and every string value in one string, found by
//! range; a value of another type (rare: the invoker sends strings) as the
//! `Value` serde_json read, so that it is exactly what a direct parse gives.
//!
//! A `Map<String, Value>` of the seven keys the invoker sends costs some
//! twenty allocations and as many frees per activation (BENCHMARKS.md,
//! decisions). Here a `/run` body costs one: read from a shared body ([`Metadata::reading`], HTTP), a key
//! or string written without escapes (all the invoker sends) is not even
//! copied, but read in place. [`Context`](crate::Context) builds the `Map`
//! only when an action asks for one.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use axum::body::Bytes;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The metadata of one activation, in the order it was sent.
#[derive(Clone, Default)]
pub(crate) struct Metadata {
    /// The body the metadata was read from, when it is shared: keys and
    /// string values that it holds as they are (no escapes) are read there.
    source: Bytes,
    /// Every other key, and the unescaped text of every other string value.
    text: String,
    /// Every value that is not a string.
    values: Vec<Value>,
    entries: Vec<Entry>,
    /// Whether some string value holds a NUL character.
    nul: bool,
}

#[derive(Clone)]
struct Entry {
    key: Span,
    value: Slot,
}

#[derive(Clone)]
enum Slot {
    /// A string.
    Str(Span),
    /// Anything else, in `values`.
    Value(usize),
}

/// Where a key or a string value is: in `source` or in `text`.
#[derive(Clone)]
struct Span {
    in_source: bool,
    range: Range<usize>,
}

/// The largest body whose metadata is read in place ([`Metadata::reading`]):
/// a context an action keeps (in a task it spawns, say) keeps the body
/// with it, so a larger one is not kept for the sake of a few short strings.
pub(crate) const SHARED_BODY_MAX: usize = 64 * 1024;

/// One metadata value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum MetaValue<'a> {
    /// A JSON string, unescaped.
    Str(&'a str),
    /// Anything else.
    Value(&'a Value),
}

impl<'a> MetaValue<'a> {
    /// The value as a `Value`.
    pub(crate) fn to_value(self) -> Value {
        match self {
            MetaValue::Str(s) => Value::String(s.to_owned()),
            MetaValue::Value(v) => v.clone(),
        }
    }

    /// The value as an environment variable holds it: a string as is,
    /// anything else as its compact JSON text.
    pub(crate) fn to_env(self) -> Cow<'a, str> {
        match self {
            MetaValue::Str(s) => Cow::Borrowed(s),
            MetaValue::Value(v) => Cow::Owned(crate::core::outcome::json_text(v)),
        }
    }
}

impl Metadata {
    /// Room for the keys the invoker sends.
    pub(crate) fn with_capacity(text: usize) -> Self {
        Metadata {
            source: Bytes::new(),
            text: String::with_capacity(text),
            values: Vec::new(),
            entries: Vec::with_capacity(8),
            nul: false,
        }
    }

    /// Room for the keys the invoker sends, to be read from `body` (which
    /// it keeps, unless it is larger than 64 KiB): the keys and string
    /// values that `body` holds as they are are not copied.
    pub(crate) fn reading(body: &Bytes) -> Self {
        let source = if body.len() <= SHARED_BODY_MAX {
            body.clone()
        } else {
            Bytes::new()
        };
        Metadata {
            source,
            ..Metadata::with_capacity(0)
        }
    }

    /// Reads the value of `key` from a deserializer straight into the
    /// buffer: a string as its text, anything else as the `Value` read.
    /// Nesting is bounded by the deserializer, as for any value.
    ///
    /// The deserializer reads JSON text (serde_json's): a string it lends
    /// (`visit_borrowed_str`) is then one written without escapes, which
    /// cannot hold a NUL, and is not searched for one.
    pub(crate) fn entry<'m>(&'m mut self, key: &'m str) -> EntrySeed<'m> {
        EntrySeed {
            metadata: self,
            key,
        }
    }

    /// Adds a key with a value of another type than string.
    pub(crate) fn push_value(&mut self, key: &str, value: Value) {
        let key = self.place(key);
        self.values.push(value);
        let value = Slot::Value(self.values.len() - 1);
        self.entries.push(Entry { key, value });
    }

    /// Adds a key with a string value.
    pub(crate) fn push_str(&mut self, key: &str, value: &str) {
        self.nul |= value.contains('\0');
        self.push_str_without_nul(key, value);
    }

    /// Adds a key with a string value known to hold no NUL character: one
    /// that a JSON text held as is, unescaped (JSON has no raw control
    /// characters in a string; a NUL can only come from `\u0000`).
    fn push_str_without_nul(&mut self, key: &str, value: &str) {
        let key = self.place(key);
        let value = Slot::Str(self.place(value));
        self.entries.push(Entry { key, value });
    }

    /// Where `text` is kept: in place when it lies within `source` (a string
    /// the deserializer lent from the body), otherwise copied into `text`.
    fn place(&mut self, text: &str) -> Span {
        // The offset of `text` in `source` (huge when it starts before).
        let at = (text.as_ptr() as usize).wrapping_sub(self.source.as_ptr() as usize);
        let len = self.source.len();
        if at <= len && text.len() <= len - at {
            return Span {
                in_source: true,
                range: at..at + text.len(),
            };
        }
        let start = self.text.len();
        self.text.push_str(text);
        Span {
            in_source: false,
            range: start..self.text.len(),
        }
    }

    /// What was copied rather than read in place: every key and string
    /// value taken from elsewhere than `source`.
    #[cfg(test)]
    pub(crate) fn copied(&self) -> &str {
        &self.text
    }

    /// Whether the body is kept, to read keys and values in place.
    #[cfg(test)]
    pub(crate) fn keeps_body(&self) -> bool {
        !self.source.is_empty()
    }

    /// The text of a key or a string value.
    fn str(&self, span: &Span) -> &str {
        if span.in_source {
            // `place` keeps a range in `source` only for a `&str` whose
            // bytes are exactly those bytes of `source`, which never change
            // (`Bytes` is immutable): checked again, it is valid UTF-8 (the
            // check costs a few strings per activation: noise).
            std::str::from_utf8(&self.source[span.range.clone()]).unwrap_or_default()
        } else {
            &self.text[span.range.clone()]
        }
    }

    /// The value of `key`; the last one when a body repeats a key.
    pub(crate) fn get(&self, key: &str) -> Option<MetaValue<'_>> {
        self.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The value of `key` when it is a string.
    pub(crate) fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            MetaValue::Str(s) => Some(s),
            MetaValue::Value(_) => None,
        }
    }

    /// Whether some string value holds a NUL character (no environment
    /// variable can have it: see [`Exports`](crate::os::export::Exports)).
    pub(crate) fn has_nul(&self) -> bool {
        self.nul
    }

    /// How many keys were sent (a repeated key counts each time).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every key and value, in the order sent.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, MetaValue<'_>)> {
        self.entries.iter().map(|e| {
            let value = match &e.value {
                Slot::Str(span) => MetaValue::Str(self.str(span)),
                Slot::Value(i) => MetaValue::Value(&self.values[*i]),
            };
            (self.str(&e.key), value)
        })
    }

    /// The metadata as a `Map` (a repeated key keeps its last value).
    pub(crate) fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_value()))
            .collect()
    }
}

/// Deserializes one metadata value into a [`Metadata`]; made by
/// [`Metadata::entry`].
pub(crate) struct EntrySeed<'m> {
    metadata: &'m mut Metadata,
    key: &'m str,
}

impl EntrySeed<'_> {
    fn value<E>(self, value: Value) -> Result<(), E> {
        self.metadata.push_value(self.key, value);
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for EntrySeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        // Unescaped, or from another deserializer than serde_json's.
        self.metadata.push_str(self.key, v);
        Ok(())
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        // serde_json lends a string only when it held no escape: the usual
        // case, and one that needs no search for a NUL.
        self.metadata.push_str_without_nul(self.key, v);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.value(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.value(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.value(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.value(Value::from(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.value(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.value(Value::deserialize(de::value::SeqAccessDeserializer::new(
            seq,
        ))?)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.value(Value::deserialize(de::value::MapAccessDeserializer::new(
            map,
        ))?)
    }
}

/// Keys and values; the API key (a secret) as `<redacted>`.
impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in self.iter() {
            match value {
                _ if key == "api_key" => map.entry(&key, &format_args!("<redacted>")),
                MetaValue::Str(s) => map.entry(&key, &s),
                MetaValue::Value(v) => map.entry(&key, &format_args!("{v}")),
            };
        }
        map.finish()
    }
}

impl From<&Map<String, Value>> for Metadata {
    fn from(map: &Map<String, Value>) -> Self {
        let mut metadata = Metadata::default();
        for (key, value) in map {
            match value {
                Value::String(s) => metadata.push_str(key, s),
                other => metadata.push_value(key, other.clone()),
            }
        }
        metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The metadata of a JSON object's keys, read as a `/run` body's are.
    fn read(json: &str) -> Metadata {
        struct Reader;
        impl<'de> Visitor<'de> for Reader {
            type Value = Metadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Metadata, A::Error> {
                let mut metadata = Metadata::with_capacity(64);
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value_seed(metadata.entry(&key))?;
                }
                Ok(metadata)
            }
        }
        let mut de = serde_json::Deserializer::from_str(json);
        de.deserialize_map(Reader).unwrap()
    }

    #[test]
    fn a_nul_is_noted_only_where_a_string_has_one() {
        // Escapes, a NUL in a key or nested, but no string value with one.
        let m = read(r#"{"a": "x\"y\u00e9", "k\u0000": "z", "n": ["\u0000"], "b": "plain"}"#);
        assert!(!m.has_nul());
        assert!(read(r#"{"a": "plain", "b": "x\u0000y"}"#).has_nul());
        assert!(Metadata::from(json!({"a": "\u{0}"}).as_object().unwrap()).has_nul());
        assert!(!Metadata::from(json!({"a": "b", "c": 1}).as_object().unwrap()).has_nul());
    }

    #[test]
    fn strings_numbers_objects_and_escapes() {
        let m = read(
            r#"{"activation_id": "abc", "deadline": 123, "nested": {"a": [1, "x"]},
                "escaped": "a\"b\u00e9\n", "empty": "", "f": 1.5, "t": true, "z": null}"#,
        );
        assert_eq!(m.get_str("activation_id"), Some("abc"));
        assert_eq!(m.get("deadline"), Some(MetaValue::Value(&json!(123))));
        assert_eq!(m.get_str("deadline"), None);
        assert_eq!(m.get_str("escaped"), Some("a\"bé\n"));
        assert_eq!(m.get_str("empty"), Some(""));
        assert_eq!(m.get("missing"), None);
        assert_eq!(
            m.to_map(),
            *json!({"activation_id": "abc", "deadline": 123, "nested": {"a": [1, "x"]},
                    "escaped": "a\"bé\n", "empty": "", "f": 1.5, "t": true, "z": null})
            .as_object()
            .unwrap()
        );
        // Compact JSON text, whatever the spacing of the body.
        assert_eq!(m.get("nested").unwrap().to_env(), r#"{"a":[1,"x"]}"#);
        assert_eq!(m.get("f").unwrap().to_env(), "1.5");
        let keys: Vec<_> = m.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "activation_id",
                "deadline",
                "nested",
                "escaped",
                "empty",
                "f",
                "t",
                "z"
            ]
        );
    }

    #[test]
    fn a_number_is_exactly_what_serde_json_reads() {
        // Found by the fuzzer (against a first version that kept numbers as
        // text): serde_json's default float parsing does not round-trip
        // every value through its own output, so numbers are kept as read.
        let text = r#"{"n": 2111111111112111.19, "big": 123456789012345678901234567890}"#;
        let direct: Map<String, Value> = serde_json::from_str(text).unwrap();
        assert_eq!(read(text).to_map(), direct);
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let m = read(r#"{"k": "first", "k": "last"}"#);
        assert_eq!(m.get_str("k"), Some("last"));
        assert_eq!(m.to_map(), *json!({"k": "last"}).as_object().unwrap());
    }

    #[test]
    fn debug_redacts_the_api_key() {
        let mut m = Metadata::default();
        m.push_str("api_key", "uuid:secret");
        m.push_value("deadline", json!(12));
        m.push_str("namespace", "ns");
        assert_eq!(
            format!("{m:?}"),
            r#"{"api_key": <redacted>, "deadline": 12, "namespace": "ns"}"#
        );
    }

    #[test]
    fn from_a_map_and_back() {
        let map = json!({"s": "x", "n": 1.5, "b": true, "z": null});
        let map = map.as_object().unwrap();
        assert_eq!(Metadata::from(map).to_map(), *map);
    }
}
