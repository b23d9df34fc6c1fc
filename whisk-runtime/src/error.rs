//! Application errors: [`Error`] and the [`IntoErrorValue`] conversion.

use std::fmt::Display;

use serde_json::Value;

/// An application error that carries any JSON value.
///
/// Returning `Err(e)` from an action answers `200 {"error": <value>}`:
/// OpenWhisk records an *application error* and keeps the container warm.
/// `Error` lets the value be structured, e.g. the
/// `{"statusCode": 400, "body": "..."}` a web action uses to pick the HTTP
/// status. Any `std::error::Error` converts into it with `?`, as its message.
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use whisk::Error;
/// use serde_json::json;
///
/// let plain = Error::message("no such user");
/// assert_eq!(plain.value(), &json!("no such user"));
///
/// let web = Error::new(json!({"statusCode": 404, "body": "no such user"}));
/// assert_eq!(web.value()["statusCode"], 404);
///
/// fn parse(s: &str) -> Result<i64, Error> {
///     Ok(s.parse::<i64>()?) // ParseIntError -> Error::message
/// }
/// assert_eq!(parse("x").unwrap_err().value(), &json!("invalid digit found in string"));
/// ```
///
/// `Error` deliberately does not implement `Display`, so that actions may
/// return *any* `Display` error type as well (see [`IntoErrorValue`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    value: Value,
}

impl Error {
    /// An error whose `error` value is the given JSON.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// let e = whisk::Error::new(serde_json::json!({"code": 7}));
    /// assert_eq!(e.value()["code"], 7);
    /// ```
    pub fn new(value: impl Into<Value>) -> Self {
        Error {
            value: value.into(),
        }
    }

    /// An error whose `error` value is the given message as a JSON string.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// let e = whisk::Error::message(format_args!("{} is too big", 42));
    /// assert_eq!(e.value(), "42 is too big");
    /// ```
    pub fn message(message: impl Display) -> Self {
        Error::new(message.to_string())
    }

    /// The JSON value that is sent as `{"error": <value>}`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// assert!(whisk::Error::message("x").value().is_string());
    /// ```
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Takes the JSON value out.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// assert_eq!(whisk::Error::message("x").into_value(), "x");
    /// ```
    pub fn into_value(self) -> Value {
        self.value
    }
}

/// Converts any standard error into its message, with the chain of sources
/// joined by `": "` (as `anyhow` prints `{:#}`).
impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Error::new(message)
    }
}

/// How an action's error type becomes the JSON of `{"error": ...}`.
///
/// Implemented for every `Display` type (`String`, `&str`, `anyhow::Error`,
/// `Box<dyn std::error::Error>`, your own error enums), which becomes its
/// message as a JSON string, and for [`Error`], which keeps its JSON value.
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use whisk::{Error, IntoErrorValue};
/// use serde_json::json;
/// assert_eq!("boom".into_error_value(), json!("boom"));
/// assert_eq!(Error::new(json!({"a": 1})).into_error_value(), json!({"a": 1}));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an action's error type",
    label = "the error type must implement `std::fmt::Display` or be `whisk::Error`",
    note = "return `Result<Output, E>` where `E: Display` (String, &str, anyhow::Error, ...) or `whisk::Error`"
)]
pub trait IntoErrorValue {
    /// The JSON value of this error.
    fn into_error_value(self) -> Value;
}

impl<T: Display> IntoErrorValue for T {
    fn into_error_value(self) -> Value {
        Value::String(self.to_string())
    }
}

impl IntoErrorValue for Error {
    fn into_error_value(self) -> Value {
        self.value
    }
}
