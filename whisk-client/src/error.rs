//! [`Error`]: what a call can fail with.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::types::Activation;

/// Why a call failed. No variant holds the api key: `Debug` and `Display`
/// are safe to log.
///
/// ```
/// # async fn demo(client: whisk::client::Client) {
/// use whisk::client::Error;
/// match client.invoke("pkg/slow", serde_json::json!({})).await {
///     Ok(result) => println!("{result}"),
///     // Still running after OpenWhisk's blocking wait (60 s at most).
///     Err(Error::Accepted { activation_id }) => println!("poll {activation_id}"),
///     // The action ran and returned an error.
///     Err(Error::Application { error, .. }) => println!("failed: {error}"),
///     Err(Error::Api { status: 404, .. }) => println!("no such action"),
///     Err(other) => println!("{other}"),
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is incomplete or malformed (no api key, no api
    /// host, an api host that is not a URL, ...). The message says what to set.
    Config(String),
    /// An entity name that cannot be turned into a path.
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The controller answered with an error status and (usually)
    /// OpenWhisk's error body `{"error": "...", "code": "..."}`.
    Api {
        /// The HTTP status, e.g. 401, 404, 409.
        status: u16,
        /// The request, `METHOD /api/v1/...` (no query, no credentials).
        request: String,
        /// The body's `error` message.
        error: Option<String>,
        /// The body's `code`: the controller's transaction id of the request
        /// (older controllers sent a number), to quote to an operator.
        code: Option<String>,
        /// The whole body as JSON, or as a JSON string when it was not JSON.
        body: Value,
    },
    /// A blocking invoke that did not finish within OpenWhisk's blocking
    /// wait (at most 60 s): the activation goes on, poll it with
    /// [`Client::activation`](crate::Client::activation).
    Accepted {
        /// The activation still running.
        activation_id: String,
    },
    /// The action ran and its result is an error (HTTP 502: an application
    /// or developer error).
    Application {
        /// The activation id (from the activation, or from the controller's
        /// `x-openwhisk-activation-id` header).
        activation_id: Option<String>,
        /// The error value: `result.error` of the activation (the `error`
        /// the action returned), or the whole result when it has none.
        error: Value,
        /// The whole activation, when the call asked for it (not with
        /// [`Client::invoke`](crate::Client::invoke), which asks for the
        /// result only).
        activation: Option<Box<Activation>>,
    },
    /// The call did not complete within its timeout (retries included).
    Timeout {
        /// The request, `METHOD /api/v1/...`.
        request: String,
        /// The timeout in force.
        after: Duration,
    },
    /// The controller's TLS certificate was refused (or another TLS
    /// failure). Certificates are verified by default.
    Tls {
        /// The controller, `https://host:port`.
        host: String,
        /// What rustls said.
        reason: String,
    },
    /// No connection, or the connection broke (after the retries allowed).
    Connect {
        /// The controller, `scheme://host:port`.
        host: String,
        /// What failed.
        reason: String,
    },
    /// A response that is not what OpenWhisk's API documents.
    Decode {
        /// The request, `METHOD /api/v1/...`.
        request: String,
        /// The HTTP status.
        status: u16,
        /// What did not fit.
        reason: String,
    },
    /// The request body could not be serialized as JSON.
    Serialize(serde_json::Error),
}

impl Error {
    /// The HTTP status the controller answered with, if it answered.
    ///
    /// ```
    /// let err = whisk::client::Error::Accepted { activation_id: "a1".into() };
    /// assert_eq!(err.status(), Some(202));
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            Error::Accepted { .. } => Some(202),
            Error::Application { .. } => Some(502),
            _ => None,
        }
    }

    /// The activation id this error is about, if any (202 and 502).
    ///
    /// ```
    /// let err = whisk::client::Error::Accepted { activation_id: "a1".into() };
    /// assert_eq!(err.activation_id(), Some("a1"));
    /// ```
    pub fn activation_id(&self) -> Option<&str> {
        match self {
            Error::Accepted { activation_id } => Some(activation_id),
            Error::Application { activation_id, .. } => activation_id.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(message) => write!(f, "OpenWhisk client configuration: {message}"),
            Error::InvalidName { name, reason } => {
                write!(f, "invalid OpenWhisk entity name {name:?}: {reason}")
            }
            Error::Api {
                status,
                request,
                error,
                code,
                ..
            } => {
                write!(f, "{request} returned HTTP {status}")?;
                if let Some(error) = error {
                    write!(f, ": {error}")?;
                }
                if let Some(code) = code {
                    write!(f, " (code {code})")?;
                }
                Ok(())
            }
            Error::Accepted { activation_id } => write!(
                f,
                "the action is still running after the blocking wait (HTTP 202): activation {activation_id}"
            ),
            Error::Application {
                activation_id,
                error,
                ..
            } => {
                write!(f, "the action failed (HTTP 502)")?;
                if let Some(id) = activation_id {
                    write!(f, " in activation {id}")?;
                }
                write!(f, ": {error}")
            }
            Error::Timeout { request, after } => {
                write!(f, "{request} timed out after {after:?}")
            }
            Error::Tls { host, reason } => write!(
                f,
                "TLS with {host} failed: {reason} (for a controller with a self-signed certificate, \
                 set __OW_IGNORE_CERTS=true or Config::ignore_certs(true))"
            ),
            Error::Connect { host, reason } => write!(f, "could not reach {host}: {reason}"),
            Error::Decode {
                request,
                status,
                reason,
            } => write!(
                f,
                "{request} returned HTTP {status} with an unexpected body: {reason}"
            ),
            Error::Serialize(e) => write!(f, "the request body is not serializable as JSON: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Serialize(e) => Some(e),
            _ => None,
        }
    }
}
