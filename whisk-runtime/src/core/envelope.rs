//! Decoding requests: the `/run` envelope (the general decoder, and the
//! one-pass decoder of the usual request), the action's parameters, and
//! the `/init` body.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::panic::catch_unwind;

use axum::body::Bytes;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{
    Deserialize, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;
use serde_json::value::RawValue;

use super::outcome::{Kind, NOT_A_DICTIONARY_ARGUMENT, Outcome};
use crate::metadata::Metadata;
use crate::params;

/// Decodes the action's parameters from the `value` text, naming the failing
/// field path when they do not fit the type.
pub(crate) fn decode<P: DeserializeOwned>(value: &RawValue) -> Result<P, Outcome> {
    // A `RawValue` holds exactly one JSON value, so no trailing-input check.
    // The fast path tracks no path; only when it fails is the value decoded
    // again, with `serde_path_to_error`, to say where (the same input gives
    // the same error).
    if value.get().starts_with('[') {
        if let Some((name, fields)) = params::struct_fields::<P>() {
            let message = params::array_for_struct(name, fields);
            return Err(Outcome::error(
                Kind::ApplicationError,
                format!("Invalid parameters: {message}. The action was not called."),
            ));
        }
    }
    let mut de = serde_json::Deserializer::from_str(value.get());
    if let Ok(params) = P::deserialize(&mut de) {
        return Ok(params);
    }
    let mut de = serde_json::Deserializer::from_str(value.get());
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let mut path = err.path().to_string();
        if path.len() > 64 {
            // Deeply nested input: the start of the path says enough.
            let cut = (0..=60)
                .rev()
                .find(|&i| path.is_char_boundary(i))
                .unwrap_or(0);
            path.truncate(cut);
            path.push('…');
        }
        let inner = err.into_inner();
        // The position is in the `value` text, which the caller never saw
        // as such.
        let message = params::message(&inner, false);
        let text = if path == "." {
            format!("Invalid parameters: {message}. The action was not called.")
        } else {
            format!("Invalid parameter `{path}`: {message}. The action was not called.")
        };
        Outcome::error(Kind::ApplicationError, text)
    })
}

/// The `/run` request: `value` as `V`, every other key as metadata.
///
/// `V` is `&RawValue` on the general path (the text, decoded into the
/// action's parameters once the request has been checked), or [`Direct`]
/// on the usual one (decoded in the same pass).
#[derive(Debug)]
pub(crate) struct Envelope<V> {
    pub(crate) value: Option<V>,
    pub(crate) metadata: Metadata,
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Envelope<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        EnvelopeSeed::<V> {
            body: None,
            metadata: true,
            value: PhantomData,
        }
        .deserialize(deserializer)
    }
}

/// Reads an [`Envelope`]; from `body` when it is given, the metadata then
/// read in place where it can be ([`Metadata::reading`]). Without
/// `metadata`, the other keys' values are only [`Checked`], and the
/// envelope's metadata is empty.
struct EnvelopeSeed<'b, V> {
    body: Option<&'b Bytes>,
    metadata: bool,
    value: PhantomData<V>,
}

impl<'de, V: Deserialize<'de>> DeserializeSeed<'de> for EnvelopeSeed<'_, V> {
    type Value = Envelope<V>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Envelope<V>, D::Error> {
        // `any`, not `map`: for a body that is not an object, serde_json's
        // `deserialize_map` writes the message itself, quoting a string;
        // `any` leaves it to the visitor (`visit_str`).
        deserializer.deserialize_any(self)
    }
}

impl<'de, V: Deserialize<'de>> Visitor<'de> for EnvelopeSeed<'_, V> {
    type Value = Envelope<V>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object such as {\"value\":{...}}")
    }
    /// A body that is one string: said without quoting it (serde's default
    /// message would, and the text may be anything, an API key included).
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Envelope<V>, E> {
        Err(E::invalid_type(
            serde::de::Unexpected::Other("string"),
            &self,
        ))
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Envelope<V>, M::Error> {
        let mut value = None;
        let mut metadata = match self.body {
            _ if !self.metadata => Metadata::default(),
            Some(body) => Metadata::reading(body),
            None => Metadata::with_capacity(256),
        };
        while let Some(Key(key)) = map.next_key()? {
            if key == "value" {
                // A repeated `value`: the last one counts.
                value = Some(map.next_value::<V>()?);
            } else if self.metadata {
                map.next_value_seed(metadata.entry(&key))?;
            } else {
                map.next_value::<Checked>()?;
            }
        }
        Ok(Envelope { value, metadata })
    }
}

/// A `value` decoded straight into the action's parameters `P`, in the pass
/// that reads the envelope: only an object or an array, as
/// [`checked_value`] requires. Anything else (a scalar, `null`) is an error
/// here, and the general path then gives the protocol's answer.
///
/// `P` reads the object (array) through serde's `MapAccessDeserializer`
/// (`SeqAccessDeserializer`), which hands every field's value to
/// serde_json as it is: what `P` gets is what it gets from the `value` text
/// on its own. Where the two could differ (`Option<P>`, `RawValue`), `P`
/// fails here and the general path decodes it as before.
#[derive(Debug)]
pub(crate) struct Direct<P>(P);

impl<'de, P: DeserializeOwned> Deserialize<'de> for Direct<P> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Container<P>(PhantomData<P>);
        impl<'de, P: DeserializeOwned> Visitor<'de> for Container<P> {
            type Value = P;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object or an array")
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<P, M::Error> {
                P::deserialize(MapAccessDeserializer::new(map))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<P, S::Error> {
                // Refused by `decode`, which says why.
                if params::struct_fields::<P>().is_some() {
                    return Err(serde::de::Error::custom("an array for a struct"));
                }
                P::deserialize(SeqAccessDeserializer::new(seq))
            }
        }
        deserializer
            .deserialize_any(Container(PhantomData))
            .map(Direct)
    }
}

/// A metadata value read and dropped: checked as the metadata reader
/// checks it (`deserialize_any` at every level, so a number out of range or
/// nesting deeper than serde_json's limit is refused the same way), and
/// nothing kept. serde's `IgnoredAny` would not do: serde_json skips it
/// without a depth limit, so a request would be refused or not depending
/// on whether the action takes a `Context`.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Checked)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = Checked;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Checked, S::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Checked, M::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

/// An object key, borrowed from the body unless it has escapes (serde's
/// `Cow<str>` always allocates).
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Whether a request carries nothing. Every input (a `/run` or `/init` body,
/// an exec argument) that is empty or only whitespace counts as `{}`, so
/// `curl -X POST .../init` and an argument-less exec just work.
pub(crate) fn is_blank(input: &[u8]) -> bool {
    input.iter().all(u8::is_ascii_whitespace)
}

/// Parses a `/run` body (a blank body counts as `{}`).
pub(crate) fn parse_envelope(body: &[u8]) -> Result<Envelope<&RawValue>, Outcome> {
    if is_blank(body) {
        return Ok(Envelope {
            value: None,
            metadata: Metadata::default(),
        });
    }
    // Validated as UTF-8 once, the body parses as `str`: serde_json then
    // checks no string on its own (the envelope has a dozen). A body that is
    // not UTF-8 takes the byte parser, which names where it goes wrong.
    let parsed = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    };
    parsed.map_err(|e| {
        Outcome::error(
            Kind::BadRequest,
            format!(
                "The request body is not a valid activation: {}.",
                params::message(&e, true)
            ),
        )
    })
}

/// Parses a usual `/run` body in one pass, `value` straight into `P` (see
/// [`Direct`]): `None` for anything else (a blank or non-UTF-8 body, no
/// `value` or a `null` one, any error, a panic in `P`'s `Deserialize`),
/// which the general path then answers. The metadata is read only when
/// `metadata` is true (empty otherwise).
pub(crate) fn parse_direct<P: DeserializeOwned>(
    body: &Bytes,
    metadata: bool,
) -> Option<(P, Metadata)> {
    let text = std::str::from_utf8(body).ok()?;
    // A panic here repeats on the general path, which reports it.
    let parsed = catch_unwind(|| {
        // What `serde_json::from_str` does, the metadata read from `body`.
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let seed = EnvelopeSeed::<Direct<P>> {
            body: Some(body),
            metadata,
            value: PhantomData,
        };
        let envelope = seed.deserialize(&mut deserializer)?;
        deserializer.end().map(|()| envelope)
    });
    let Envelope { value, metadata } = parsed.ok()?.ok()?;
    value.map(|Direct(params)| (params, metadata))
}

/// The `value` to give the action: `null` or absent is `{}`, an object or
/// array as is, anything else is refused.
pub(crate) fn checked_value(value: Option<&RawValue>) -> Result<&RawValue, Outcome> {
    let value = match value {
        None => return Ok(empty_object()),
        Some(v) => v,
    };
    match value.get().as_bytes().first() {
        Some(b'{' | b'[') => Ok(value),
        Some(b'n') => Ok(empty_object()),
        _ => Err(Outcome::error(Kind::BadRequest, NOT_A_DICTIONARY_ARGUMENT)),
    }
}

fn empty_object() -> &'static RawValue {
    // A constant, valid JSON text.
    serde_json::from_str("{}").expect("`{}` is JSON")
}

/// Parses the `/init` body and returns its `env` as `(name, value)` pairs,
/// stringified the way the invoker does.
///
/// The body is read as JSON first (serde_json's syntax errors name a
/// position, never the text), then its shape checked here: a type error
/// from serde would quote the value it met, and `env` holds secrets
/// (`"env": "DB_PASSWORD=..."` would come back in the answer). So no
/// message says more of a value than its JSON type.
pub(crate) fn parse_init(body: &[u8]) -> Result<Vec<(String, String)>, Outcome> {
    let invalid = |what: String| {
        Outcome::error(
            Kind::BadRequest,
            format!("The /init body is not valid: {what}."),
        )
    };
    if is_blank(body) {
        return Ok(Vec::new());
    }
    let request: Value =
        serde_json::from_slice(body).map_err(|e| invalid(params::message(&e, true)))?;
    let Value::Object(mut request) = request else {
        return Err(invalid(format!(
            "it is {}, expected a JSON object such as {{\"value\":{{...}}}}",
            json_type(&request)
        )));
    };
    let env = match request.remove("value") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(mut value)) => value.remove("env"),
        Some(other) => {
            return Err(invalid(format!(
                "`value` is {}, expected an object with the action's name, main, code and env",
                json_type(&other)
            )));
        }
    };
    let env = match env {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(env)) => env,
        Some(other) => {
            return Err(invalid(format!(
                "`value.env` is {}, expected an object of environment variables",
                json_type(&other)
            )));
        }
    };
    env.into_iter()
        .map(|(name, value)| {
            let value = match value {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => super::outcome::json_text(&other),
            };
            if name.is_empty() || name.contains(['=', '\0']) || value.contains('\0') {
                return Err(Outcome::error(
                    Kind::BadRequest,
                    format!(
                        "Cannot set the environment variable {name:?}: a name must be non-empty \
                         without '=' or NUL, and a value must not contain NUL."
                    ),
                ));
            }
            Ok((name, value))
        })
        .collect()
}

/// A JSON value's type, with its article, for messages that must not quote
/// the value itself.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
