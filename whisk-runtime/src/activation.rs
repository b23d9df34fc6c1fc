//! The activation core shared by every transport: decode the request, call the
//! action, encode the result, map errors. Transports only move bytes.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll};

use axum::body::Bytes;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::action::{Action, Here, Invocation, Work};
use crate::busy::Responder;
use crate::context::Context;
use crate::error::IntoErrorValue;
use crate::export::{Exports, MAX_EXPORTED};
use crate::metadata::Metadata;
use crate::params;
use crate::trace;

/// The body every runtime answers for a result that is not an object or array.
pub(crate) const NOT_A_DICTIONARY: &str = "The action did not return a dictionary or array.";
/// The body for a `value` that is neither an object nor an array.
pub(crate) const NOT_A_DICTIONARY_ARGUMENT: &str =
    "The action did not receive a dictionary or array as an argument.";
/// The body and log line for a second `/init`.
pub(crate) const SECOND_INIT: &str = "Cannot initialize the action more than once.";
/// The body for an overlapping `/run` when concurrency is off.
pub(crate) const BUSY: &str = "System not ready, status is running.";

/// How an activation ended; each transport maps it to its own signal
/// (an HTTP status, an exit code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The action returned an object or an array.
    Success,
    /// The action returned `Err`, or its parameters did not deserialize:
    /// `{"error": ...}` with HTTP 200, the container stays warm.
    ApplicationError,
    /// The action panicked or returned a non-object: HTTP 502.
    DeveloperError,
    /// The request itself was malformed: HTTP 400.
    BadRequest,
    /// The request is refused in the current state: HTTP 403.
    Rejected,
}

/// The answer to one request: its kind and its compact JSON body.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) kind: Kind,
    pub(crate) body: Vec<u8>,
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}", self.kind, String::from_utf8_lossy(&self.body))
    }
}

impl Outcome {
    /// `{"error": <value>}` of the given kind.
    pub(crate) fn error_value(kind: Kind, value: &Value) -> Self {
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(b"{\"error\":");
        // Writing a `Value` into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut body, value);
        body.push(b'}');
        Outcome { kind, body }
    }

    /// `{"error": "<message>"}` of the given kind.
    pub(crate) fn error(kind: Kind, message: impl Into<String>) -> Self {
        Outcome::error_value(kind, &Value::String(message.into()))
    }

    /// The error's message (the text of `error`, or its JSON), for a
    /// failure the answer cannot carry; `None` for a success or an
    /// application error, which the answer is.
    pub(crate) fn failure(&self) -> Option<String> {
        if matches!(self.kind, Kind::Success | Kind::ApplicationError) {
            return None;
        }
        let body: Value = serde_json::from_slice(&self.body).unwrap_or_default();
        Some(match &body["error"] {
            Value::String(message) => message.clone(),
            other => other.to_string(),
        })
    }

    /// The result line for OpenWhisk's proxies (ActionLoop: fd 3; exec: the
    /// last line of stdout), without its `\n`. A success or an application
    /// error is the body, which both answer `200` as it is. Anything the
    /// HTTP mode answers with another status (a developer error, a bad
    /// request) is the message as a JSON string, not an object: the Go
    /// proxy and the dockerskeleton then answer `502` `{"error":"The action
    /// did not return a dictionary or array."}`, so that the invoker sees a
    /// developer error there too, not an application error.
    pub(crate) fn proxy_line(&self) -> Vec<u8> {
        match self.failure() {
            None => self.body.clone(),
            Some(message) => Value::String(message).to_string().into_bytes(),
        }
    }
}

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

/// Encodes what the action returned.
pub(crate) fn encode<O: Serialize, E: IntoErrorValue>(result: Result<O, E>) -> Outcome {
    match result {
        Ok(out) => {
            let mut body = Vec::with_capacity(128);
            match serde_json::to_writer(&mut body, &out) {
                Ok(()) if matches!(body.first(), Some(b'{' | b'[')) => Outcome {
                    kind: Kind::Success,
                    body,
                },
                Ok(()) => Outcome::error(Kind::DeveloperError, NOT_A_DICTIONARY),
                Err(e) => Outcome::error(
                    Kind::DeveloperError,
                    format!("The action's result could not be serialized to JSON: {e}"),
                ),
            }
        }
        Err(e) => Outcome::error_value(Kind::ApplicationError, &e.into_error_value()),
    }
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
fn is_blank(input: &[u8]) -> bool {
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
fn parse_direct<P: DeserializeOwned>(body: &Bytes, metadata: bool) -> Option<(P, Metadata)> {
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
                other => other.to_string(),
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

/// The protocol state of one action: whether it is initialized, whether an
/// activation is running, which `__OW_*` variables the last one exported.
pub(crate) struct Core<A> {
    action: A,
    concurrent: bool,
    /// Whether `/init` succeeded; held across `/init` so two cannot race.
    initialized: tokio::sync::Mutex<bool>,
    busy: AtomicBool,
    exports: Mutex<Exports>,
    /// Refuses requests while a sync action holds the server's thread.
    responder: Option<Responder>,
}

/// Held while a non-concurrent activation runs.
pub(crate) struct Busy<'a>(&'a AtomicBool);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Busy<'_> {
    /// Keeps the slot claimed past this guard: whoever takes it over (a
    /// task that outlives the borrow) must call [`Core::end_busy`].
    pub(crate) fn hand_over(self) {
        std::mem::forget(self);
    }
}

/// How far [`Core::begin`] got with an activation without waiting.
pub(crate) enum Begun {
    /// Answered: the usual request to a sync action, run in place.
    Done(Outcome),
    /// The action has been called and left work to wait for (an async
    /// action, the blocking pool).
    Waiting(Started),
    /// Not the usual request: the general path, from the body.
    General,
}

impl<A: Action> Core<A> {
    pub(crate) fn new(action: A, concurrent: bool) -> Self {
        Core {
            action,
            concurrent,
            initialized: tokio::sync::Mutex::new(false),
            busy: AtomicBool::new(false),
            exports: Mutex::new(Exports::default()),
            responder: None,
        }
    }

    /// Sets the thread that answers `403` while a sync action runs in place.
    pub(crate) fn set_responder(&mut self, responder: Responder) {
        self.responder = Some(responder);
    }

    /// Claims the single activation slot when concurrency is off; `None`
    /// when another activation is running.
    pub(crate) fn try_begin(&self) -> Option<Option<Busy<'_>>> {
        if self.concurrent {
            return Some(None);
        }
        self.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| Some(Busy(&self.busy)))
    }

    /// Releases the slot of a [`Busy`] that was handed over.
    pub(crate) fn end_busy(&self) {
        self.busy.store(false, Ordering::Release);
    }

    /// Handles `/init`: applies `env` once, then prepares the action (builds
    /// its state). A second call after a success is refused; after a failure
    /// it may try again.
    pub(crate) async fn init(&self, body: &[u8]) -> Outcome {
        let mut initialized = self.initialized.lock().await;
        if *initialized {
            eprintln!("{SECOND_INIT}");
            return Outcome::error(Kind::Rejected, SECOND_INIT);
        }
        let env = match parse_init(body) {
            Ok(env) => env,
            Err(outcome) => return outcome,
        };
        // `/init` runs before any activation (they wait for the action to
        // be prepared), and the runtime's own threads never read the
        // environment.
        crate::export::set_all(&env);
        if let Err(outcome) = self.prepare().await {
            return outcome;
        }
        *initialized = true;
        Outcome {
            kind: Kind::Success,
            body: br#"{"ok":true}"#.to_vec(),
        }
    }

    /// Builds what the action needs before its first activation, once. A
    /// failure is logged to stderr and is a developer error.
    pub(crate) async fn prepare(&self) -> Result<(), Outcome> {
        let Some(work) = self.action.prepare() else {
            return Ok(());
        };
        let failure = match CatchUnwind(work).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(value)) => value,
            Err(panic) => Value::String(panic_message(&panic)),
        };
        let text = match &failure {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        eprintln!("The action failed to initialize: {text}");
        Err(Outcome::error_value(Kind::DeveloperError, &failure))
    }

    /// Runs one activation from a `/run` body (HTTP and ActionLoop).
    pub(crate) async fn run_envelope(&self, body: &Bytes) -> Outcome {
        let begun = self.begin(body);
        self.finish(begun, body).await
    }

    /// Does as much of a `/run` as it can without waiting; the HTTP
    /// transport so needs no box and no task for an activation that ends
    /// here, the usual one.
    ///
    /// The usual request, to an action that is ready: `value` decoded into
    /// the parameters in the pass that reads the envelope, rather than kept
    /// as text and read again; then the action is called, and a sync one
    /// that runs in place finishes. Anything unusual, from a bad body to
    /// parameters that do not fit, is left to the general path, which gives
    /// the exact answer (a request that fails here would fail there too, or
    /// succeed the same way).
    ///
    /// The metadata is read only for whoever needs it: the `__OW_*`
    /// variables (concurrency off), an action that takes a [`Context`], the
    /// activation's `tracing` span. Otherwise, as for an action without a
    /// `Context` under concurrency, the action gets an empty one, and the
    /// body's other keys are only checked to be JSON: some 570 instructions
    /// fewer per activation (BENCHMARKS.md, tenth round).
    pub(crate) fn begin(&self, body: &Bytes) -> Begun {
        let metadata = !self.concurrent || self.action.reads_context() || trace::needs_id();
        let direct = match self.action.prepare() {
            None => parse_direct::<A::Params>(body, metadata),
            Some(_) => None,
        };
        let Some((params, metadata)) = direct else {
            return Begun::General;
        };
        if let Err(outcome) = self.export(&metadata) {
            return Begun::Done(outcome);
        }
        let started = self.start(|| Ok(params), Context::from_compact(metadata));
        match self.complete_now(started) {
            Ok(outcome) => Begun::Done(outcome),
            Err(started) => Begun::Waiting(started),
        }
    }

    /// Finishes what [`Core::begin`] began, `body` being the same.
    pub(crate) async fn finish(&self, begun: Begun, body: &[u8]) -> Outcome {
        match begun {
            Begun::Done(outcome) => outcome,
            Begun::Waiting(started) => self.complete(started).await,
            Begun::General => self.run_checked(body).await,
        }
    }

    /// The general path of [`Core::run_envelope`]: every check in the
    /// protocol's order, then `value` decoded from its text.
    async fn run_checked(&self, body: &[u8]) -> Outcome {
        let envelope = match parse_envelope(body) {
            Ok(envelope) => envelope,
            Err(outcome) => return outcome,
        };
        let value = match checked_value(envelope.value) {
            Ok(value) => value,
            Err(outcome) => return outcome,
        };
        if let Err(outcome) = self.prepare().await {
            return outcome;
        }
        if let Err(outcome) = self.export(&envelope.metadata) {
            return outcome;
        }
        self.call(|| decode(value), Context::from_compact(envelope.metadata))
            .await
    }

    /// Without concurrency, sets the `__OW_*` variables for the activation;
    /// `400` for a request with more keys than can be exported.
    fn export(&self, metadata: &Metadata) -> Result<(), Outcome> {
        if self.concurrent {
            return Ok(());
        }
        let mut exports = self.exports.lock().unwrap_or_else(|e| e.into_inner());
        exports.update(metadata).map_err(|keys| {
            Outcome::error(
                Kind::BadRequest,
                format!(
                    "The request has {keys} keys besides `value`; at most {MAX_EXPORTED} are \
                     accepted (each becomes an __OW_* environment variable)."
                ),
            )
        })
    }

    /// Runs one activation from a bare `value` and a context (exec mode).
    pub(crate) async fn run_value(&self, value: &[u8], ctx: Context) -> Outcome {
        let text = if is_blank(value) {
            "{}".as_bytes()
        } else {
            value
        };
        let raw = match serde_json::from_slice::<&RawValue>(text) {
            Ok(raw) => raw,
            Err(e) => {
                return Outcome::error(
                    Kind::BadRequest,
                    format!(
                        "The input is not valid JSON: {}.",
                        params::message(&e, true)
                    ),
                );
            }
        };
        let value = match checked_value(Some(raw)) {
            Ok(value) => value,
            Err(outcome) => return outcome,
        };
        if let Err(outcome) = self.prepare().await {
            return outcome;
        }
        self.call(|| decode(value), ctx).await
    }

    /// Calls the action with the parameters `params` gives, then
    /// completes the activation; see [`Core::start`] and
    /// [`Core::complete`].
    async fn call(
        &self,
        params: impl FnOnce() -> Result<A::Params, Outcome>,
        ctx: Context,
    ) -> Outcome {
        let started = self.start(params, ctx);
        self.complete(started).await
    }

    /// Decodes the parameters (`params`) and calls the action, inside the
    /// activation's span: a sync function that runs on the server's thread
    /// runs to its end here ([`Here`]). Not async: the parameters never
    /// cross an `.await`, so they need not be `Send`.
    fn start(&self, params: impl FnOnce() -> Result<A::Params, Outcome>, ctx: Context) -> Started {
        let span = trace::activation(ctx.activation_id());
        let here = Here {
            concurrent: self.concurrent,
            responder: self.responder.as_ref(),
        };
        let invoke = || {
            catch_unwind(AssertUnwindSafe(|| match params() {
                Ok(params) => self.action.invoke(params, ctx, here),
                Err(outcome) => Invocation::ready(outcome),
            }))
        };
        let work = match span.in_scope(invoke) {
            Ok(invocation) => invocation.0,
            Err(panic) => Work::Ready(panicked(panic)),
        };
        Started { span, work }
    }

    /// Runs what [`Core::start`] left to do; a panic, in decoding, in a
    /// sync function or while a future is polled, becomes a developer
    /// error.
    async fn complete(&self, started: Started) -> Outcome {
        let Started { span, work } = match self.complete_now(started) {
            Ok(outcome) => return outcome,
            Err(started) => started,
        };
        match work {
            Work::Future(future) => match trace::instrument(span, CatchUnwind(future)).await {
                Ok(outcome) => outcome,
                Err(panic) => panicked(panic),
            },
            Work::Sync(call) => {
                // Overlapping activations: a slow sync action must not hold
                // the server's thread.
                let call = move || span.in_scope(|| catch_unwind(AssertUnwindSafe(call)));
                match tokio::task::spawn_blocking(call).await {
                    Ok(Ok(outcome)) => outcome,
                    Ok(Err(panic)) => panicked(panic),
                    Err(e) => Outcome::error(
                        Kind::DeveloperError,
                        format!("The action was cancelled: {e}"),
                    ),
                }
            }
            // Answered by `complete_now`.
            Work::Ready(outcome) => outcome,
        }
    }

    /// The outcome of a started activation when it needs no waiting (an
    /// answer, or a sync function that ran in place); `Err` gives it back
    /// otherwise.
    fn complete_now(&self, Started { span, work }: Started) -> Result<Outcome, Started> {
        match work {
            Work::Ready(outcome) => Ok(outcome),
            work => Err(Started { span, work }),
        }
    }
}

/// An activation whose action has been called: what is left to do, and the
/// span to do it in.
pub(crate) struct Started {
    span: trace::Span,
    work: Work,
}

/// The developer error for a panic, with its message when it has one.
fn panicked(panic: Box<dyn std::any::Any + Send>) -> Outcome {
    Outcome::error(
        Kind::DeveloperError,
        format!("The action panicked: {}", panic_message(&panic)),
    )
}

/// The text of a panic's payload.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Polls a future, turning a panic into `Err` (like `futures`'
/// `catch_unwind`, without the dependency).
pub(crate) struct CatchUnwind<F>(pub(crate) F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

impl Invocation {
    /// Work that is already done.
    pub(crate) fn ready(outcome: Outcome) -> Self {
        Invocation(Work::Ready(outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(s: &str) -> &RawValue {
        serde_json::from_str(s).unwrap()
    }

    fn body(o: &Outcome) -> Value {
        serde_json::from_slice(&o.body).unwrap()
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Params {
        payload: String,
        nested: Option<Nested>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Nested {
        count: u32,
    }

    #[test]
    fn the_usual_path_reads_plain_metadata_in_place_and_copies_escaped() {
        let body = Bytes::from(
            r#"{"value": {}, "activation_id": "abc", "deadline": 12, "k\u0065y": "v", "escaped": "a\"b", "": ""}"#,
        );
        let (_, metadata) = parse_direct::<Value>(&body, true).unwrap();
        assert!(metadata.keeps_body());
        // Only what had escapes was copied: the key "key", the value a"b.
        assert_eq!(metadata.copied(), "keya\"b");
        let expected =
            json!({"activation_id": "abc", "deadline": 12, "key": "v", "escaped": "a\"b", "": ""});
        assert_eq!(metadata.to_map(), *expected.as_object().unwrap());
        // The same as the general path reads.
        assert_eq!(
            parse_envelope(&body).unwrap().metadata.to_map(),
            metadata.to_map()
        );
        // What becomes of the body's other handles does not matter.
        let copy = metadata.clone();
        drop((metadata, body));
        assert_eq!(copy.get_str("activation_id"), Some("abc"));
    }

    #[test]
    fn the_usual_path_can_skip_the_metadata_and_still_checks_it_is_json() {
        let body = Bytes::from(
            r#"{"activation_id": "abc", "value": {"payload": "x"}, "deadline": 12, "o": {"k": [1, "s"]}}"#,
        );
        let (value, metadata) = parse_direct::<Value>(&body, false).unwrap();
        assert_eq!(value, json!({"payload": "x"}));
        assert_eq!(metadata.len(), 0);
        assert!(!metadata.keeps_body());
        // Metadata that is not JSON, or that the metadata reader refuses, is
        // refused either way (the general path then answers 400).
        let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
        for bad in [
            r#"{"value": {}, "deadline": 12x}"#,
            r#"{"value": {}, "o": {"k": [1,]}}"#,
            r#"{"value": {}, "s": "a\qb"}"#,
            r#"{"value": {}, "n": nul}"#,
            r#"{"value": {}, "n": 1e400}"#,
            &format!(r#"{{"value": {{}}, "deep": {deep}}}"#),
        ] {
            let bad = Bytes::copy_from_slice(bad.as_bytes());
            assert!(parse_direct::<Value>(&bad, false).is_none(), "{bad:?}");
            assert!(parse_direct::<Value>(&bad, true).is_none(), "{bad:?}");
        }
    }

    /// Under concurrency the metadata is read for an action that takes a
    /// `Context` (or for a `tracing` subscriber), and not for one without.
    /// (Without concurrency it is always read, for the `__OW_*` variables:
    /// `tests/http_kit.rs`, which does not change this process's
    /// environment.)
    #[test]
    fn the_metadata_is_read_only_when_someone_needs_it() {
        let request = Bytes::from(r#"{"value": {}, "activation_id": "abc"}"#);
        let seen = |reads_context: bool| {
            let action = crate::sync_fn(|_: Value, ctx: Context| {
                Ok::<_, String>(json!({"id": ctx.activation_id(), "keys": ctx.metadata().len()}))
            })
            .inline()
            .reading_context(reads_context);
            let core = Core::new(action, true);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            body(&runtime.block_on(core.run_envelope(&request)))
        };
        let read = json!({"id": "abc", "keys": 1});
        assert_eq!(seen(true), read);
        let skipped = if trace::needs_id() {
            read.clone()
        } else {
            json!({"id": "", "keys": 0})
        };
        assert_eq!(seen(false), skipped);
    }

    #[test]
    fn the_metadata_of_a_large_body_is_copied_and_the_body_not_kept() {
        let pad = "x".repeat(crate::metadata::SHARED_BODY_MAX);
        let body = Bytes::from(format!(r#"{{"value": {{}}, "pad": "{pad}", "id": "abc"}}"#));
        let (_, metadata) = parse_direct::<Value>(&body, true).unwrap();
        assert!(!metadata.keeps_body());
        assert_eq!(metadata.get_str("id"), Some("abc"));
        assert_eq!(metadata.get_str("pad"), Some(pad.as_str()));
    }

    #[test]
    fn decode_names_the_failing_field() {
        let err = decode::<Params>(raw(r#"{"payload":5}"#)).unwrap_err();
        assert_eq!(err.kind, Kind::ApplicationError);
        assert_eq!(
            body(&err),
            json!({"error": "Invalid parameter `payload`: invalid type: integer `5`, expected a string. The action was not called."})
        );
        let err = decode::<Params>(raw(r#"{"payload":"x","nested":{"count":-1}}"#)).unwrap_err();
        assert_eq!(
            body(&err),
            json!({"error": "Invalid parameter `nested.count`: invalid value: integer `-1`, expected u32. The action was not called."})
        );
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = decode::<Value>(raw(&deep)).unwrap_err();
        assert_eq!(
            body(&err),
            json!({"error": format!("Invalid parameter `{}…`: recursion limit exceeded. The action was not called.", "[0]".repeat(20))})
        );
        let err = decode::<Params>(raw(r#"{}"#)).unwrap_err();
        assert_eq!(
            body(&err),
            json!({"error": "Invalid parameters: missing field `payload`. The action was not called."})
        );
    }

    #[test]
    fn encode_maps_results() {
        let ok = encode::<_, String>(Ok(json!({"a": 1})));
        assert_eq!(
            (ok.kind, ok.body.as_slice()),
            (Kind::Success, &br#"{"a":1}"#[..])
        );
        let arr = encode::<_, String>(Ok(vec![1, 2]));
        assert_eq!(
            (arr.kind, arr.body.as_slice()),
            (Kind::Success, &b"[1,2]"[..])
        );
        let s = encode::<_, String>(Ok("hello"));
        assert_eq!(s.kind, Kind::DeveloperError);
        assert_eq!(body(&s), json!({"error": NOT_A_DICTIONARY}));
        let e = encode::<Value, _>(Err("boom"));
        assert_eq!(
            (e.kind, body(&e)),
            (Kind::ApplicationError, json!({"error": "boom"}))
        );
        let mut bad = std::collections::HashMap::new();
        bad.insert(vec![1u8], 1);
        let unserializable = encode::<_, String>(Ok(bad));
        assert_eq!(unserializable.kind, Kind::DeveloperError);
    }

    #[test]
    fn proxy_lines_are_objects_only_for_what_http_answers_200() {
        let ok = encode::<_, String>(Ok(json!({"a": 1})));
        assert_eq!(ok.proxy_line(), br#"{"a":1}"#);
        let app = encode::<Value, _>(Err("boom"));
        assert_eq!(app.proxy_line(), br#"{"error":"boom"}"#);
        let dev = encode::<_, String>(Ok("text"));
        assert_eq!(
            String::from_utf8(dev.proxy_line()).unwrap(),
            format!("\"{NOT_A_DICTIONARY}\"")
        );
        let bad = Outcome::error(Kind::BadRequest, "a \"quoted\"\nline");
        assert_eq!(bad.proxy_line(), br#""a \"quoted\"\nline""#);
        let structured = Outcome::error_value(Kind::DeveloperError, &json!({"k": [1]}));
        assert_eq!(structured.proxy_line(), br#""{\"k\":[1]}""#);
    }

    #[test]
    fn envelope_keeps_value_raw_and_metadata() {
        let e =
            parse_envelope(br#"{"value":{"x":[1, 2]},"deadline":123,"new_key":{"a":1}}"#).unwrap();
        assert_eq!(e.value.unwrap().get(), r#"{"x":[1, 2]}"#);
        let metadata = e.metadata.to_map();
        assert_eq!(metadata["deadline"], json!(123));
        assert_eq!(metadata["new_key"], json!({"a": 1}));
        // Escaped keys mean what they spell.
        let e = parse_envelope(br#"{"val\u0075e":[1],"n\u0061me":"x"}"#).unwrap();
        assert_eq!(e.value.unwrap().get(), "[1]");
        assert_eq!(
            e.metadata.to_map(),
            *json!({"name": "x"}).as_object().unwrap()
        );
        assert!(parse_envelope(b"").unwrap().value.is_none());
        let bad = parse_envelope(b"[1]").unwrap_err();
        assert_eq!(bad.kind, Kind::BadRequest);
        // A body that is a string is not quoted back.
        let bad = parse_envelope(br#""api_key=23bc46b1-71f6-4ed5""#).unwrap_err();
        assert_eq!(
            body(&bad),
            json!({"error": "The request body is not a valid activation: invalid type: string, expected a JSON object such as {\"value\":{...}} at line 1 column 28."})
        );
    }

    #[test]
    fn envelope_text_is_utf8_checked_once_and_errors_say_where() {
        let e =
            parse_envelope("{\"value\":{\"s\":\"ÆØÅ ✓\"},\"namespace\":\"é\"}".as_bytes()).unwrap();
        assert_eq!(e.value.unwrap().get(), r#"{"s":"ÆØÅ ✓"}"#);
        assert_eq!(e.metadata.to_map()["namespace"], json!("é"));
        // Not UTF-8, in metadata or in `value`: serde_json's own message,
        // with the position, as before the single check.
        for (input, column) in [
            (&b"{\"namespace\":\"\xff\"}"[..], 15),
            (&b"{\"value\":{\"a\":\"\xc3\"}}"[..], 16),
        ] {
            let bad = parse_envelope(input).unwrap_err();
            assert_eq!(
                body(&bad),
                json!({"error": format!(
                    "The request body is not a valid activation: invalid unicode code point at line 1 column {column}."
                )})
            );
        }
    }

    #[test]
    fn value_must_be_an_object_or_array() {
        assert_eq!(checked_value(None).unwrap().get(), "{}");
        assert_eq!(checked_value(Some(raw("null"))).unwrap().get(), "{}");
        assert_eq!(checked_value(Some(raw("[1]"))).unwrap().get(), "[1]");
        let err = checked_value(Some(raw("5"))).unwrap_err();
        assert_eq!(body(&err), json!({"error": NOT_A_DICTIONARY_ARGUMENT}));
    }

    #[test]
    fn init_env_is_stringified() {
        let env = parse_init(
            br#"{"value":{"code":null,"env":{"A":"x","B":"","C":null,"D":5,"E":true,"F":{"k":[1]}}}}"#,
        )
        .unwrap();
        let expected = [
            ("A", "x"),
            ("B", ""),
            ("C", ""),
            ("D", "5"),
            ("E", "true"),
            ("F", r#"{"k":[1]}"#),
        ];
        let got: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, expected);
        assert!(parse_init(b"{}").unwrap().is_empty());
        assert!(parse_init(br#"{"value":null}"#).unwrap().is_empty());
        assert!(parse_init(br#"{"value":{"env":null}}"#).unwrap().is_empty());
        assert_eq!(
            parse_init(br#"{"value":5}"#).unwrap_err().kind,
            Kind::BadRequest
        );
        assert!(parse_init(br#"{"value":{"code":"x"}}"#).unwrap().is_empty());
        assert_eq!(
            parse_init(br#"{"value":{"env":{"A=B":"x"}}}"#)
                .unwrap_err()
                .kind,
            Kind::BadRequest
        );
    }

    /// Whatever shape the `/init` body has, the error names the field and
    /// the JSON type, never a value (`env` holds secrets).
    #[test]
    fn init_errors_never_quote_a_value() {
        for (input, message) in [
            (
                r#"{"value":{"env":"DB_PASSWORD=hunter2"}}"#,
                "`value.env` is a string, expected an object of environment variables",
            ),
            (
                r#"{"value":{"env":["DB_PASSWORD=hunter2"]}}"#,
                "`value.env` is an array, expected an object of environment variables",
            ),
            (
                r#"{"value":"DB_PASSWORD=hunter2"}"#,
                "`value` is a string, expected an object with the action's name, main, code and env",
            ),
            (
                r#""DB_PASSWORD=hunter2""#,
                r#"it is a string, expected a JSON object such as {"value":{...}}"#,
            ),
            (
                r#"{"value":{"env":{"K":"hunter2"},}}"#,
                "trailing comma at line 1 column 33",
            ),
            (
                r#"{"value":{"env":{"K":"hunter2\q"}}}"#,
                "invalid escape at line 1 column 31",
            ),
        ] {
            let err = parse_init(input.as_bytes()).unwrap_err();
            assert_eq!(err.kind, Kind::BadRequest);
            assert_eq!(
                body(&err),
                json!({"error": format!("The /init body is not valid: {message}.")}),
                "{input}"
            );
            assert!(!String::from_utf8_lossy(&err.body).contains("hunter2"));
        }
    }

    /// The one-pass decode (`run_envelope`'s usual path) against the
    /// general path alone (`run_checked`): for many bodies and parameter
    /// types, the same answer every time, and the one-pass path taken where
    /// it should be (so that this cannot pass with it never used).
    #[test]
    fn one_pass_decode_answers_as_the_general_path() {
        use serde::{Deserialize, Serialize};
        use std::collections::BTreeMap;

        #[derive(Serialize, Deserialize)]
        struct Payload {
            payload: String,
            #[serde(default)]
            count: Option<i64>,
        }
        #[derive(Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Strict {
            payload: String,
        }
        #[derive(Serialize, Deserialize)]
        struct Flat {
            count: i64,
            #[serde(flatten)]
            rest: BTreeMap<String, Value>,
        }
        #[derive(Serialize, Deserialize)]
        enum External {
            A(i64),
            B { payload: String },
        }
        #[derive(Serialize, Deserialize)]
        #[serde(tag = "type")]
        enum Internal {
            A { count: i64 },
            B,
        }
        #[derive(Serialize, Deserialize)]
        #[serde(untagged)]
        enum Untagged {
            Payload(Payload),
            List(Vec<i64>),
        }
        #[derive(Serialize, Deserialize)]
        struct Unit;
        #[derive(Serialize, Deserialize)]
        struct Pair(i64, String);

        // A fixed-seed generator (xorshift), so a failure repeats.
        let mut seed = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        fn random_value(next: &mut impl FnMut(u64) -> u64, depth: u32) -> Value {
            const KEYS: [&str; 7] = ["payload", "count", "type", "A", "B", "x", "é\"k"];
            let scalar = |next: &mut dyn FnMut(u64) -> u64| match next(7) {
                0 => Value::Null,
                1 => json!(next(2) == 0),
                2 => json!(next(1000) as i64 - 500),
                3 => json!(next(1000) as f64 / 7.0),
                4 => json!(u64::MAX - next(3)),
                5 => json!("A"),
                _ => json!(format!("s\u{e9}\n\"{}", next(100))),
            };
            match (depth, next(4)) {
                (0, _) | (_, 0) => scalar(next),
                (_, 1) => (0..next(4))
                    .map(|_| random_value(next, depth - 1))
                    .collect(),
                _ => Value::Object(
                    (0..next(4))
                        .map(|_| {
                            let key = KEYS[next(KEYS.len() as u64) as usize].to_owned();
                            (key, random_value(next, depth - 1))
                        })
                        .collect(),
                ),
            }
        }
        // Bodies written by hand (a `Map` would sort the keys): the value
        // random, or one that fits the types above; first, last, absent or
        // twice; the metadata of the invoker, or of other types.
        let mut bodies: Vec<Vec<u8>> = Vec::new();
        for i in 0..600 {
            let value = match next(6) {
                0 => json!({"payload": format!("p{i}"), "count": i}),
                1 => json!({"type": "A", "count": i}),
                2 => json!({"B": {"payload": "q"}}),
                3 => json!([i, "s"]),
                _ => random_value(&mut next, 4),
            };
            let mut fields = vec![
                r#""namespace":"guest""#.to_owned(),
                format!(r#""activation_id":"{i:032x}""#),
                r#""deadline":"4102444800000""#.to_owned(),
            ];
            if next(5) == 0 {
                fields.push(format!(r#""extra":{}"#, random_value(&mut next, 2)));
            }
            match next(8) {
                0 => {}
                1 => {
                    fields.insert(0, format!(r#""value":{}"#, random_value(&mut next, 2)));
                    fields.push(format!(r#""value":{value}"#));
                }
                2 => fields.push(format!(r#""value":{value}"#)),
                _ => fields.insert(0, format!(r#""value":{value}"#)),
            }
            bodies.push(format!("{{{}}}", fields.join(",")).into_bytes());
        }
        let deep = format!("{}{}", "[".repeat(127), "]".repeat(127));
        for special in [
            String::new(),
            " \n".to_owned(),
            "[1]".to_owned(),
            r#"{"value":{"payload":"x"}} trailing"#.to_owned(),
            r#"{"value":{"payload":"x"},}"#.to_owned(),
            r#"{"val\u0075e":{"payload":"escaped key"}}"#.to_owned(),
            r#"{"value":{"payload":"x"},"deadline":12x}"#.to_owned(),
            r#"{"value":{"payload":"x"},"extra":{"k":[1,]}}"#.to_owned(),
            format!(r#"{{"value":{deep}}}"#),
            format!(r#"{{"value":{{"payload":"x"}},"extra":{deep}}}"#),
            format!(r#"{{"value":{{"payload":"x"}},"extra":[{deep}]}}"#),
        ] {
            bodies.push(special.into_bytes());
        }
        bodies.push(b"{\"value\":{\"payload\":\"\xff\"}}".to_vec());

        fn one_pass_count<P>(bodies: &[Vec<u8>]) -> usize
        where
            P: DeserializeOwned + Serialize + Send + 'static,
        {
            // The usual path reads the metadata for an action that takes a
            // `Context`, and only checks it for one that does not.
            let cores = [true, false].map(|reads_context| {
                let action = crate::sync_fn(|p: P, _: Context| Ok::<_, String>(json!({"got": p})));
                Core::new(action.reading_context(reads_context), true)
            });
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let mut one_pass = 0;
            for body in bodies {
                let body = &Bytes::copy_from_slice(body);
                for core in &cores {
                    let usual = runtime.block_on(core.run_envelope(body));
                    let general = runtime.block_on(core.run_checked(body));
                    assert_eq!(
                        usual,
                        general,
                        "{}: {}",
                        std::any::type_name::<P>(),
                        String::from_utf8_lossy(body)
                    );
                }
                let direct = parse_direct::<P>(body, true).is_some();
                assert_eq!(
                    direct,
                    parse_direct::<P>(body, false).is_some(),
                    "{}",
                    String::from_utf8_lossy(body)
                );
                one_pass += usize::from(direct);
            }
            one_pass
        }
        // How many bodies each type took in one pass: some for every type
        // that an object or an array can be, none for the last three (an
        // `Option` and a unit struct read a map differently through serde's
        // adapters, and an `i64` is never a map).
        let counts = [
            one_pass_count::<Value>(&bodies),
            one_pass_count::<Payload>(&bodies),
            one_pass_count::<Strict>(&bodies),
            one_pass_count::<Flat>(&bodies),
            one_pass_count::<BTreeMap<String, Value>>(&bodies),
            one_pass_count::<Vec<Value>>(&bodies),
            one_pass_count::<Pair>(&bodies),
            one_pass_count::<External>(&bodies),
            one_pass_count::<Internal>(&bodies),
            one_pass_count::<Untagged>(&bodies),
            one_pass_count::<Option<Payload>>(&bodies),
            one_pass_count::<Unit>(&bodies),
            one_pass_count::<i64>(&bodies),
        ];
        let (some, none) = counts.split_at(10);
        assert!(some.iter().all(|&n| n > 0), "{counts:?}");
        assert_eq!(none, [0, 0, 0]);
    }
}
