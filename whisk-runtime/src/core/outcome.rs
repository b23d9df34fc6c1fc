//! What an activation answers: its [`Kind`], its JSON body, and every
//! message the protocol fixes.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::error::IntoErrorValue;

/// The body every runtime answers for a result that is not an object or array.
pub(crate) const NOT_A_DICTIONARY: &str = "The action did not return a dictionary or array.";
/// The body for a `value` that is neither an object nor an array.
pub(crate) const NOT_A_DICTIONARY_ARGUMENT: &str =
    "The action did not receive a dictionary or array as an argument.";
/// The body and log line for a second `/init`.
pub(crate) const SECOND_INIT: &str = "Cannot initialize the action more than once.";
/// The body for an overlapping `/run` when concurrency is off.
pub(crate) const BUSY: &str = "System not ready, status is running.";

/// A JSON value's compact text. Written into a `Vec` as every answer is,
/// not through `Value`'s `Display`, whose second copy of the serializer
/// (for a `fmt::Write`) costs the static binary about 6 KB.
pub(crate) fn json_text(value: &Value) -> String {
    let mut text = Vec::with_capacity(64);
    // Writing a `Value` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut text, value);
    // serde_json writes UTF-8.
    String::from_utf8(text).unwrap_or_default()
}

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

    /// The `403` for a `/run` that overlaps another while concurrency is
    /// off, logged on stderr as OpenWhisk's own runtimes log it.
    pub(crate) fn busy() -> Self {
        eprintln!("Internal system error: {BUSY}");
        Outcome::error(Kind::Rejected, BUSY)
    }

    /// The HTTP status of this answer (the HTTP transport's mapping; exec
    /// and ActionLoop have their own signals).
    pub(crate) fn status(&self) -> u16 {
        match self.kind {
            Kind::Success | Kind::ApplicationError => 200,
            Kind::DeveloperError => 502,
            Kind::BadRequest => 400,
            Kind::Rejected => 403,
        }
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
            other => json_text(other),
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
    /// Borrowed for a success: the ActionLoop loop writes it per activation
    /// and needs no copy.
    pub(crate) fn proxy_line(&self) -> Cow<'_, [u8]> {
        match self.failure() {
            None => Cow::Borrowed(&self.body),
            Some(message) => Cow::Owned(json_text(&Value::String(message)).into_bytes()),
        }
    }
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
