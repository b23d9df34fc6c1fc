//! [`RequestError`]: why a web action's request could not be read, and
//! the `400` it answers.

use std::fmt;

use super::super::Response;

/// Why a [`Request`](super::Request)'s body or parameters could not be read; the message
/// names the problem.
///
/// With `?` in an action that returns [`whisk::Error`](crate::Error), it
/// becomes a `400 Bad Request` web response whose text body is the
/// message. (It deliberately does not implement `std::error::Error`: that
/// would make `?` turn it into a bare message, which the controller cannot
/// answer as HTTP.)
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use whisk::web::Request;
/// use serde_json::json;
///
/// let req: Request = serde_json::from_value(json!({
///     "__ow_method": "post", "__ow_path": "", "__ow_query": "", "__ow_body": ""
/// })).unwrap();
/// let err = req.json::<serde_json::Value>().unwrap_err();
/// assert_eq!(err.to_string(), "the request has no body; expected JSON");
///
/// let error: whisk::Error = err.into();
/// assert_eq!(error.value(), &json!({
///     "statusCode": 400,
///     "headers": {"content-type": "text/plain; charset=utf-8"},
///     "body": "the request has no body; expected JSON"
/// }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError {
    message: String,
}

impl RequestError {
    pub(crate) fn new(message: String) -> Self {
        RequestError { message }
    }

    /// The message.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// let req: Request = serde_json::from_str(
    ///     r#"{"__ow_method":"post","__ow_query":"","__ow_body":""}"#,
    /// ).unwrap();
    /// assert!(req.json::<u8>().unwrap_err().message().contains("no body"));
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `400 Bad Request` response with the message as its text body.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// let req: Request = serde_json::from_str(
    ///     r#"{"__ow_method":"post","__ow_query":"","__ow_body":""}"#,
    /// ).unwrap();
    /// assert_eq!(req.json::<u8>().unwrap_err().into_response().status(), 400);
    /// ```
    pub fn into_response(self) -> Response {
        Response::new(400).text(self.message)
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The `400 Bad Request` response of [`RequestError::into_response`].
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use whisk::web::{Request, Response};
///
/// fn read(req: &Request) -> Result<u32, Response> {
///     Ok(req.json::<u32>()?)
/// }
/// let req: Request = serde_json::from_str(
///     r#"{"__ow_method":"post","__ow_query":"","__ow_body":"","__ow_headers":{}}"#,
/// ).unwrap();
/// assert_eq!(read(&req).unwrap_err().status(), 400);
/// ```
impl From<RequestError> for Response {
    fn from(error: RequestError) -> Self {
        error.into_response()
    }
}

/// A `400 Bad Request` web error (see [`RequestError`]).
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use whisk::Error;
/// use whisk::web::Request;
///
/// fn read(req: &Request) -> Result<u32, Error> {
///     Ok(req.json::<u32>()?)
/// }
/// let req: Request = serde_json::from_str(
///     r#"{"__ow_method":"get","__ow_headers":{},"__ow_path":""}"#,
/// ).unwrap();
/// assert_eq!(read(&req).unwrap_err().value()["statusCode"], 400);
/// ```
impl From<RequestError> for crate::Error {
    fn from(error: RequestError) -> Self {
        error.into_response().into()
    }
}
