//! [`Response`]: a web action's HTTP response, serialized as the
//! `{"statusCode", "headers", "body"}` object the controller interprets.

use std::borrow::Cow;

use serde::ser::Serialize;
use serde_json::Value;

use super::media::MediaType;
use crate::error::{Error, IntoErrorValue};

mod wire;

use wire::{Class, WireBody, encode};

/// The HTTP response of a web action: a status, headers and a body.
///
/// Return it from a web action (`--web true` or `--web raw`, `.http`
/// extension, the default). It serializes to the object OpenWhisk's
/// controller turns into HTTP, encoding the body the way the controller
/// decodes it for its content type:
///
/// | body | `body` in the result |
/// |---|---|
/// | [`text`](Response::text), [`html`](Response::html) | the string (`text/plain` or `text/html`, UTF-8) |
/// | [`json`](Response::json) | the JSON value, with `content-type: application/json` |
/// | [`bytes`](Response::bytes) with a binary type (`image/png`, ...) | the bytes in base64 |
/// | none, or empty | no `body` (the controller drops the content type) |
///
/// For JSON-family types the controller decodes a string body from base64
/// when it looks like base64, so a text or binary body under such a type
/// (and a JSON string or `null`, which would otherwise be taken for text or
/// for no body) is sent base64-encoded; the client gets exactly the bytes.
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use whisk::web::Response;
/// use serde_json::json;
///
/// let created = Response::created()
///     .header("location", "/users/7")
///     .json(&json!({"id": 7}));
/// assert_eq!(serde_json::to_value(&created).unwrap(), json!({
///     "statusCode": 201,
///     "headers": {"content-type": "application/json", "location": "/users/7"},
///     "body": {"id": 7}
/// }));
/// ```
///
/// Returned as an error (with `?`, [`into_error`](Response::into_error) or
/// `Into<whisk::Error>`), the same object becomes `{"error": {...}}`, which
/// the controller answers with that status, headers and body.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    status: u16,
    /// Headers other than `content-type`, in order; repeated names allowed.
    headers: Vec<(String, String)>,
    content_type: Option<ContentType>,
    body: Body,
}

#[derive(Clone, Debug, PartialEq)]
struct ContentType {
    value: String,
    /// Set with `header()`: body setters do not replace it.
    explicit: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum Body {
    Empty,
    Text(String),
    Json(Value),
    Bytes(Vec<u8>),
}

const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
const TEXT_HTML: &str = "text/html; charset=utf-8";
const APPLICATION_JSON: &str = "application/json";

impl Response {
    /// An empty response with the given status code.
    ///
    /// The controller accepts only the status codes Pekko HTTP registers
    /// (the standard ones); any other code is answered with `400`.
    ///
    /// # Panics
    ///
    /// If `status` is not in `100..=599`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::web::Response;
    /// let teapot = Response::new(418).text("I'm a teapot");
    /// assert_eq!(teapot.status(), 418);
    /// ```
    pub fn new(status: u16) -> Self {
        assert!(
            (100..=599).contains(&status),
            "{status} is not an HTTP status code (100..=599)"
        );
        Response {
            status,
            headers: Vec::new(),
            content_type: None,
            body: Body::Empty,
        }
    }

    /// `200 OK`, empty until a body is set.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::web::Response;
    /// assert_eq!(
    ///     serde_json::to_string(&Response::ok().text("hi")).unwrap(),
    ///     r#"{"statusCode":200,"headers":{"content-type":"text/plain; charset=utf-8"},"body":"hi"}"#
    /// );
    /// ```
    pub fn ok() -> Self {
        Response::new(200)
    }

    /// `201 Created`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// assert_eq!(whisk::web::Response::created().status(), 201);
    /// ```
    pub fn created() -> Self {
        Response::new(201)
    }

    /// `204 No Content`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::web::Response;
    /// assert_eq!(
    ///     serde_json::to_string(&Response::no_content()).unwrap(),
    ///     r#"{"statusCode":204,"headers":{}}"#
    /// );
    /// ```
    pub fn no_content() -> Self {
        Response::new(204)
    }

    /// `302 Found` to `location`, the redirect of OpenWhisk's documentation.
    /// For another code, use [`new`](Response::new) with a `location`
    /// header.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::web::Response;
    /// assert_eq!(
    ///     serde_json::to_value(Response::redirect("https://openwhisk.apache.org")).unwrap(),
    ///     serde_json::json!({
    ///         "statusCode": 302,
    ///         "headers": {"location": "https://openwhisk.apache.org"}
    ///     })
    /// );
    /// ```
    pub fn redirect(location: impl Into<String>) -> Self {
        Response::new(302).header("location", location)
    }

    /// Adds a header. Repeating a name adds another value (sent as a JSON
    /// array, one header line each, e.g. for `set-cookie`).
    ///
    /// `content-type` is special: it is set (not added) and overrides the
    /// type that [`text`](Response::text), [`html`](Response::html) and
    /// [`json`](Response::json) imply, in either order. It is dropped when the body is empty, as the
    /// controller does.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::web::Response;
    /// use serde_json::json;
    ///
    /// let r = Response::ok()
    ///     .header("Set-Cookie", "a=1")
    ///     .header("set-cookie", "b=2")
    ///     .header("Content-Type", "image/svg+xml")
    ///     .text("<svg/>");
    /// assert_eq!(serde_json::to_value(&r).unwrap(), json!({
    ///     "statusCode": 200,
    ///     "headers": {"content-type": "image/svg+xml", "Set-Cookie": ["a=1", "b=2"]},
    ///     "body": "PHN2Zy8+"
    /// }));
    /// assert_eq!(r.get_header("set-cookie"), Some("a=1"));
    /// ```
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        let value = value.into();
        if name.eq_ignore_ascii_case("content-type") {
            self.content_type = Some(ContentType {
                value,
                explicit: true,
            });
        } else {
            self.headers.push((name, value));
        }
        self
    }

    fn with_body(mut self, body: Body, content_type: &str) -> Self {
        self.body = body;
        if !self.content_type.as_ref().is_some_and(|ct| ct.explicit) {
            self.content_type = Some(ContentType {
                value: content_type.to_owned(),
                explicit: false,
            });
        }
        self
    }

    /// A text body, `text/plain; charset=utf-8`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::web::Response;
    /// let r = Response::ok().text("hello");
    /// assert_eq!(r.get_header("content-type"), Some("text/plain; charset=utf-8"));
    /// assert_eq!(serde_json::to_value(&r).unwrap()["body"], "hello");
    /// ```
    #[must_use]
    pub fn text(self, text: impl Into<String>) -> Self {
        self.with_body(Body::Text(text.into()), TEXT_PLAIN)
    }

    /// An HTML body, `text/html; charset=utf-8`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::web::Response;
    /// let r = Response::ok().html("<h1>hi</h1>");
    /// assert_eq!(r.get_header("Content-Type"), Some("text/html; charset=utf-8"));
    /// ```
    #[must_use]
    pub fn html(self, html: impl Into<String>) -> Self {
        self.with_body(Body::Text(html.into()), TEXT_HTML)
    }

    /// A JSON body, `application/json`.
    ///
    /// If `value` cannot be serialized (a map with non-string keys, a
    /// failing `Serialize` impl), the response becomes `500` with the
    /// error as text, as axum's `Json` does.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::web::Response;
    /// use serde_json::json;
    ///
    /// let r = Response::ok().json(&json!([1, 2]));
    /// assert_eq!(serde_json::to_value(&r).unwrap(), json!({
    ///     "statusCode": 200,
    ///     "headers": {"content-type": "application/json"},
    ///     "body": [1, 2]
    /// }));
    ///
    /// // A JSON string is sent base64-encoded, so that the client gets `"ok"`.
    /// let s = Response::ok().json("ok");
    /// assert_eq!(serde_json::to_value(&s).unwrap()["body"], "Im9rIg==");
    /// ```
    #[must_use]
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        match serde_json::to_value(value) {
            Ok(value) => self.with_body(Body::Json(value), APPLICATION_JSON),
            Err(e) => {
                Response::new(500).text(format!("the response cannot be serialized to JSON: {e}"))
            }
        }
    }

    /// A body of raw bytes of the given content type, e.g. `image/png`.
    ///
    /// Sent base64-encoded for binary and JSON-family types, as text for
    /// text types (invalid UTF-8 is replaced with U+FFFD there). The
    /// content type given here replaces one set before with
    /// [`header`](Response::header).
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::web::Response;
    /// let r = Response::ok().bytes("application/octet-stream", [0u8, 1, 2, 255]);
    /// assert_eq!(r.get_header("content-type"), Some("application/octet-stream"));
    /// assert_eq!(serde_json::to_value(&r).unwrap()["body"], "AAEC/w==");
    /// ```
    #[must_use]
    pub fn bytes(mut self, content_type: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Bytes(data.into());
        self.content_type = Some(ContentType {
            value: content_type.into(),
            explicit: true,
        });
        self
    }

    /// A response of raw parts, as an HTTP app produced them (the
    /// [`service`](super::service) adapter): the same wire encoding as the
    /// builders, so that one rule decides text or base64 for both.
    ///
    /// `headers` are the headers other than `content-type`; without a
    /// content type a non-empty body is sent as `application/octet-stream`
    /// (the controller would otherwise take it for `text/html`).
    #[cfg(feature = "axum")]
    pub(crate) fn from_parts(
        status: u16,
        headers: Vec<(String, String)>,
        content_type: Option<String>,
        body: Vec<u8>,
    ) -> Self {
        let content_type = content_type
            .or_else(|| (!body.is_empty()).then(|| "application/octet-stream".to_owned()));
        Response {
            status,
            headers,
            content_type: content_type.map(|value| ContentType {
                value,
                explicit: true,
            }),
            body: Body::Bytes(body),
        }
    }

    /// The status code.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// assert_eq!(whisk::web::Response::ok().status(), 200);
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of a header, by case-insensitive name; for
    /// `content-type`, the type the body will be sent with.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::web::Response;
    /// let r = Response::redirect("/next");
    /// assert_eq!(r.get_header("Location"), Some("/next"));
    /// assert_eq!(r.get_header("content-type"), None);
    /// ```
    pub fn get_header(&self, name: &str) -> Option<&str> {
        if name.eq_ignore_ascii_case("content-type") {
            return self.content_type.as_ref().map(|ct| ct.value.as_str());
        }
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// This response as an action error: `{"error": <this response>}`, which
    /// the controller answers with this status, headers and body.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::web::Response;
    /// use serde_json::json;
    ///
    /// let e = Response::new(404).json(&json!({"error": "no such user"})).into_error();
    /// assert_eq!(e.value(), &json!({
    ///     "statusCode": 404,
    ///     "headers": {"content-type": "application/json"},
    ///     "body": {"error": "no such user"}
    /// }));
    /// ```
    pub fn into_error(self) -> Error {
        Error::new(self.to_value())
    }

    fn to_value(&self) -> Value {
        // A `Response` always serializes: strings, numbers and a `Value`.
        serde_json::to_value(self).expect("a web response serializes to JSON")
    }

    /// The `body` member, encoded for the content type; `None` if empty.
    fn wire_body(&self) -> Option<WireBody<'_>> {
        let ct = self
            .content_type
            .as_ref()
            .map(|ct| ct.value.as_str())
            .unwrap_or_default();
        // An unparsable type is refused by the controller whatever the body.
        let class = match MediaType::parse(ct) {
            Some(media) if media.is_json_family() => Class::Json,
            Some(media) if !media.is_binary() => Class::Text,
            _ => Class::Binary,
        };
        Some(match &self.body {
            Body::Empty => return None,
            Body::Text(text) if text.is_empty() => return None,
            Body::Bytes(bytes) if bytes.is_empty() => return None,
            Body::Text(text) => WireBody::Text(encode(class, text.as_bytes())),
            Body::Bytes(bytes) => WireBody::Text(encode(class, bytes)),
            Body::Json(value) if class == Class::Json && !value.is_string() && !value.is_null() => {
                WireBody::Json(value)
            }
            Body::Json(value) => WireBody::Text(Cow::Owned(
                encode(class, value.to_string().as_bytes()).into_owned(),
            )),
        })
    }
}

/// The response as an action error (see [`Response::into_error`]), so that
/// `Err(response)?` and `return Err(response.into())` work in actions that
/// return `whisk::Error`.
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use whisk::Error;
/// use whisk::web::Response;
///
/// fn find(id: u32) -> Result<Response, Error> {
///     if id != 7 {
///         return Err(Response::new(404).text("no such item").into());
///     }
///     Ok(Response::ok().text("item 7"))
/// }
/// assert_eq!(find(8).unwrap_err().value()["statusCode"], 404);
/// ```
impl From<Response> for Error {
    fn from(response: Response) -> Self {
        response.into_error()
    }
}

/// Lets an action return `Result<Response, Response>`: the error response
/// is sent as `{"error": <response>}`.
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use whisk::IntoErrorValue;
/// use whisk::web::Response;
/// assert_eq!(Response::new(409).into_error_value()["statusCode"], 409);
/// ```
impl IntoErrorValue for Response {
    fn into_error_value(self) -> Value {
        self.to_value()
    }
}

/// A web error: `{"statusCode": status, "body": message}` as text, for
/// `Err(...)` in an action that returns [`whisk::Error`](crate::Error).
///
/// # Panics
///
/// If `status` is not in `100..=599` (see [`Response::new`]).
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use whisk::{Error, web};
/// use serde_json::json;
///
/// fn only_get(method: web::Method) -> Result<(), Error> {
///     if method != web::Method::Get {
///         return Err(web::error(405, format_args!("{method} is not allowed")));
///     }
///     Ok(())
/// }
/// assert_eq!(only_get(web::Method::Put).unwrap_err().value(), &json!({
///     "statusCode": 405,
///     "headers": {"content-type": "text/plain; charset=utf-8"},
///     "body": "PUT is not allowed"
/// }));
/// ```
pub fn error(status: u16, message: impl std::fmt::Display) -> Error {
    Response::new(status).text(message.to_string()).into_error()
}
