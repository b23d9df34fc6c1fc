//! [`Request`]: a web action's HTTP request, as the controller puts it in
//! `value`; and [`RequestError`].

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::Method;
use super::codec::{base64_decode, query_pairs};
use super::media::MediaType;

mod decode;
mod error;

use decode::{from_value, path_error};
pub use error::RequestError;

/// The HTTP request of a web action, decoded from the activation's `value`.
///
/// OpenWhisk's controller turns an HTTP request to `/api/v1/web/...` into
/// `__ow_*` keys of `value`, in one of two modes chosen when the action is
/// created:
///
/// * **`--web true`** (the default): query parameters and the body are
///   *merged* into `value` as top-level keys, read with [`params`] or
///   [`json`]. A JSON object or form body is merged (body keys win over
///   query keys); any other body arrives in `__ow_body`: a JSON value that
///   is not an object as that value, text as a string, and binary media
///   types base64-encoded.
/// * **`--web raw`**: nothing is merged. `__ow_query` is the query string
///   ([`query`], [`query_pairs`]) and `__ow_body` the body as a string,
///   base64-encoded for binary media types *and* for `application/json`.
///
/// The accessors undo those encodings: [`body_bytes`] and [`body_text`]
/// decode base64 where the platform applied it, and [`json`] reads a JSON
/// body (or, in non-raw mode, the merged parameters) the same way in both
/// modes.
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use whisk::web::{Method, Request};
/// use serde_json::json;
///
/// // GET /api/v1/web/guest/demo/hello/greet?name=Jane, --web true
/// let req: Request = serde_json::from_value(json!({
///     "__ow_method": "get",
///     "__ow_headers": {"accept": "*/*", "host": "example.com"},
///     "__ow_path": "/greet",
///     "name": "Jane"
/// })).unwrap();
/// assert_eq!(req.method(), Method::Get);
/// assert_eq!(req.header("Host"), Some("example.com"));
/// assert_eq!(req.path(), "/greet");
/// assert_eq!(req.params()["name"], "Jane");
/// assert!(!req.is_raw());
/// ```
///
/// Deserializing fails with a message that names the problem when `value`
/// is not a web request (no `__ow_method`: the action was invoked directly,
/// not through its web URL).
///
/// [`params`]: Request::params
/// [`json`]: Request::json
/// [`query`]: Request::query
/// [`query_pairs`]: Request::query_pairs
/// [`body_bytes`]: Request::body_bytes
/// [`body_text`]: Request::body_text
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    method: Method,
    headers: BTreeMap<String, String>,
    path: String,
    user: Option<String>,
    query: Option<String>,
    body: Option<Value>,
    /// Always a `Value::Object`: every key that is not `__ow_*`.
    params: Value,
}

/// How `__ow_body` is encoded, per the controller's rules.
enum Encoded<'a> {
    /// A JSON value the controller parsed (non-raw JSON-family body).
    Json(&'a Value),
    /// The body as UTF-8 text.
    Text(&'a str),
    /// The body, base64-encoded.
    Base64(&'a str),
}

impl Request {
    /// The HTTP method (`__ow_method`).
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::{Method, Request};
    /// let req: Request = serde_json::from_str(r#"{"__ow_method":"delete"}"#).unwrap();
    /// assert_eq!(req.method(), Method::Delete);
    /// ```
    pub fn method(&self) -> Method {
        self.method
    }

    /// The value of a request header, by case-insensitive name.
    ///
    /// The controller lower-cases names and keeps one value per name.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// let req: Request = serde_json::from_value(serde_json::json!({
    ///     "__ow_method": "get",
    ///     "__ow_headers": {"x-request-id": "42"}
    /// })).unwrap();
    /// assert_eq!(req.header("X-Request-ID"), Some("42"));
    /// assert_eq!(req.header("cookie"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        match self.headers.get(name) {
            Some(value) => Some(value),
            None => self
                .headers
                .get(&name.to_ascii_lowercase())
                .map(String::as_str),
        }
    }

    /// Every request header (`__ow_headers`), names in lower case.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// let req: Request = serde_json::from_value(serde_json::json!({
    ///     "__ow_method": "get",
    ///     "__ow_headers": {"Accept": "*/*", "host": "example.com"}
    /// })).unwrap();
    /// let names: Vec<&str> = req.headers().keys().map(String::as_str).collect();
    /// assert_eq!(names, ["accept", "host"]);
    /// ```
    pub fn headers(&self) -> &BTreeMap<String, String> {
        &self.headers
    }

    /// The `content-type` header, if any.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// let req: Request = serde_json::from_value(serde_json::json!({
    ///     "__ow_method": "post",
    ///     "__ow_headers": {"content-type": "text/plain; charset=UTF-8"},
    ///     "__ow_body": "hi"
    /// })).unwrap();
    /// assert_eq!(req.content_type(), Some("text/plain; charset=UTF-8"));
    /// ```
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// The path after the action's name and extension (`__ow_path`), e.g.
    /// `"/users/7"` for `/api/v1/web/ns/pkg/action.http/users/7`; often `""`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// let req: Request =
    ///     serde_json::from_str(r#"{"__ow_method":"get","__ow_path":"/users/7"}"#).unwrap();
    /// assert_eq!(req.path(), "/users/7");
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The namespace of the authenticated caller (`__ow_user`): present only
    /// when the action requires authentication (`require-whisk-auth`) or is
    /// invoked on behalf of a user.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// let req: Request =
    ///     serde_json::from_str(r#"{"__ow_method":"get","__ow_user":"guest"}"#).unwrap();
    /// assert_eq!(req.user(), Some("guest"));
    /// ```
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Whether this is a raw request (`--web raw`): the controller sent
    /// `__ow_query` and did not merge the query and body into the
    /// parameters.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// let raw: Request = serde_json::from_str(
    ///     r#"{"__ow_method":"get","__ow_query":"","__ow_body":""}"#,
    /// ).unwrap();
    /// assert!(raw.is_raw());
    /// ```
    pub fn is_raw(&self) -> bool {
        self.query.is_some()
    }

    /// The query string, undecoded (`__ow_query`, e.g. `"name=Jane&x=1"`):
    /// raw mode only. In non-raw mode the query parameters are merged into
    /// [`params`](Request::params) instead, and this is `None`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// let req: Request = serde_json::from_str(
    ///     r#"{"__ow_method":"get","__ow_query":"name=Jane+Doe","__ow_body":""}"#,
    /// ).unwrap();
    /// assert_eq!(req.query(), Some("name=Jane+Doe"));
    /// ```
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The query as decoded `(name, value)` pairs, in order, repeated names
    /// included (`+` is a space, `%XX` a byte, invalid UTF-8 becomes
    /// U+FFFD). Empty in non-raw mode (see [`query`](Request::query)).
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// let req: Request = serde_json::from_str(
    ///     r#"{"__ow_method":"get","__ow_query":"name=Jane+Doe&tag=a%26b&tag=c","__ow_body":""}"#,
    /// ).unwrap();
    /// assert_eq!(req.query_pairs(), [
    ///     ("name".to_owned(), "Jane Doe".to_owned()),
    ///     ("tag".to_owned(), "a&b".to_owned()),
    ///     ("tag".to_owned(), "c".to_owned()),
    /// ]);
    /// ```
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query.as_deref().map(query_pairs).unwrap_or_default()
    }

    /// The parameters: every top-level key of `value` that is not `__ow_*`.
    ///
    /// In non-raw mode these are the package and action parameters merged
    /// with the query parameters (as strings), then with the keys of a JSON
    /// object or form body (last wins). In raw mode only the package and
    /// action parameters.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// // POST ?debug=1 with the form body `name=Jane`
    /// let req: Request = serde_json::from_value(serde_json::json!({
    ///     "__ow_method": "post",
    ///     "__ow_headers": {"content-type": "application/x-www-form-urlencoded"},
    ///     "__ow_path": "",
    ///     "debug": "1",
    ///     "name": "Jane"
    /// })).unwrap();
    /// assert_eq!(req.params().len(), 2);
    /// assert_eq!(req.params()["name"], "Jane");
    /// ```
    pub fn params(&self) -> &Map<String, Value> {
        match &self.params {
            Value::Object(params) => params,
            _ => unreachable!("the parameters are always an object"),
        }
    }

    /// One parameter by name (see [`params`](Request::params)).
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// let req: Request =
    ///     serde_json::from_str(r#"{"__ow_method":"get","__ow_path":"","name":"Jane"}"#).unwrap();
    /// assert_eq!(req.param("name").and_then(|v| v.as_str()), Some("Jane"));
    /// assert_eq!(req.param("age"), None);
    /// ```
    pub fn param(&self, name: &str) -> Option<&Value> {
        self.params().get(name)
    }

    /// `__ow_body` exactly as the controller sent it (`None` when absent):
    /// a string (possibly base64) or, in non-raw mode, a parsed JSON value.
    /// Prefer [`body_bytes`](Request::body_bytes), [`body_text`] or
    /// [`json`](Request::json), which decode it.
    ///
    /// [`body_text`]: Request::body_text
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// // POST with the JSON body `[1,2]`, --web true
    /// let req: Request = serde_json::from_value(serde_json::json!({
    ///     "__ow_method": "post",
    ///     "__ow_headers": {"content-type": "application/json"},
    ///     "__ow_body": [1, 2]
    /// })).unwrap();
    /// assert_eq!(req.body(), Some(&serde_json::json!([1, 2])));
    /// ```
    pub fn body(&self) -> Option<&Value> {
        self.body.as_ref()
    }

    /// Classifies `__ow_body` the way the controller produced it.
    fn encoded_body(&self) -> Option<Encoded<'_>> {
        let body = self.body.as_ref()?;
        let Value::String(text) = body else {
            return Some(Encoded::Json(body));
        };
        // Without a (valid) content type the controller sends no body; a
        // hand-made request is taken as text, which loses nothing.
        let Some(media) = self.content_type().and_then(MediaType::parse) else {
            return Some(Encoded::Text(text));
        };
        Some(if self.is_raw() {
            if media.is_binary() || media.is_application_json() {
                Encoded::Base64(text)
            } else {
                Encoded::Text(text)
            }
        } else if media.is_json_family() {
            // The controller parsed the body: this string is a JSON string.
            Encoded::Json(body)
        } else if media.is_binary() {
            Encoded::Base64(text)
        } else {
            Encoded::Text(text)
        })
    }

    fn content_type_for_errors(&self) -> String {
        match self.content_type() {
            Some(ct) => format!("content type `{ct}`"),
            None => "no content type".to_owned(),
        }
    }

    /// The body's bytes, base64-decoded where the platform encoded them.
    ///
    /// Empty when there is no `__ow_body` (no body, or, in non-raw mode, a
    /// JSON object or form body, which is merged into
    /// [`params`](Request::params)). A JSON value the controller parsed
    /// (non-raw mode) is given back as compact JSON text.
    ///
    /// # Errors
    ///
    /// The body should be base64 (a binary content type, or
    /// `application/json` in raw mode) but is not.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// let req: Request = serde_json::from_value(serde_json::json!({
    ///     "__ow_method": "put",
    ///     "__ow_headers": {"content-type": "image/png"},
    ///     "__ow_path": "",
    ///     "__ow_body": "iVBORw=="
    /// })).unwrap();
    /// assert_eq!(req.body_bytes().unwrap(), b"\x89PNG");
    /// ```
    pub fn body_bytes(&self) -> Result<Vec<u8>, RequestError> {
        Ok(match self.encoded_body() {
            None => Vec::new(),
            Some(Encoded::Json(value)) => value.to_string().into_bytes(),
            Some(Encoded::Text(text)) => text.as_bytes().to_vec(),
            Some(Encoded::Base64(text)) => base64_decode(text).map_err(|e| {
                RequestError::new(format!(
                    "the request body is not valid base64, as its {} requires: {e}",
                    self.content_type_for_errors()
                ))
            })?,
        })
    }

    /// The body as text: [`body_bytes`](Request::body_bytes) as UTF-8.
    ///
    /// # Errors
    ///
    /// The body is not valid base64 where it should be, or not UTF-8.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// use serde_json::json;
    /// // POST text/plain "Jane", --web true
    /// let req: Request = serde_json::from_value(json!({
    ///     "__ow_method": "post",
    ///     "__ow_headers": {"content-type": "text/plain"},
    ///     "__ow_path": "",
    ///     "__ow_body": "Jane"
    /// })).unwrap();
    /// assert_eq!(req.body_text().unwrap(), "Jane");
    ///
    /// // The same request to a raw action that receives application/json.
    /// let req: Request = serde_json::from_value(json!({
    ///     "__ow_method": "post",
    ///     "__ow_headers": {"content-type": "application/json"},
    ///     "__ow_path": "",
    ///     "__ow_query": "",
    ///     "__ow_body": "eyJuYW1lIjoiSmFuZSJ9"
    /// })).unwrap();
    /// assert_eq!(req.body_text().unwrap(), r#"{"name":"Jane"}"#);
    /// ```
    pub fn body_text(&self) -> Result<String, RequestError> {
        match self.encoded_body() {
            None => Ok(String::new()),
            Some(Encoded::Json(value)) => Ok(value.to_string()),
            Some(Encoded::Text(text)) => Ok(text.to_owned()),
            Some(Encoded::Base64(_)) => String::from_utf8(self.body_bytes()?).map_err(|e| {
                RequestError::new(format!(
                    "the request body is not UTF-8 text ({}): {}",
                    self.content_type_for_errors(),
                    e.utf8_error()
                ))
            }),
        }
    }

    /// Deserializes the request's JSON input into `T`, in either mode.
    ///
    /// * A JSON body is used when there is one: parsed by the controller
    ///   (non-raw mode, a body that is not an object), or parsed here from
    ///   the decoded [`body_bytes`](Request::body_bytes) (raw mode, or a
    ///   text body).
    /// * Otherwise, in non-raw mode, the merged [`params`](Request::params)
    ///   are used: a JSON object body, form fields and query parameters.
    ///
    /// # Errors
    ///
    /// A raw request without a body, a body that is not JSON, or JSON that
    /// does not fit `T`; the message names the failing field. Converted into
    /// [`whisk::Error`](crate::Error) with `?`, it answers `400 Bad Request`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # use whisk::web::Request;
    /// use serde::Deserialize;
    /// use serde_json::json;
    ///
    /// #[derive(Deserialize)]
    /// struct Person { name: String }
    ///
    /// // POST {"name":"Jane"} as application/json, --web true: merged.
    /// let merged: Request = serde_json::from_value(json!({
    ///     "__ow_method": "post",
    ///     "__ow_headers": {"content-type": "application/json"},
    ///     "__ow_path": "",
    ///     "name": "Jane"
    /// })).unwrap();
    /// assert_eq!(merged.json::<Person>().unwrap().name, "Jane");
    ///
    /// // The same request, --web raw: base64 in __ow_body.
    /// let raw: Request = serde_json::from_value(json!({
    ///     "__ow_method": "post",
    ///     "__ow_headers": {"content-type": "application/json"},
    ///     "__ow_path": "",
    ///     "__ow_query": "",
    ///     "__ow_body": "eyJuYW1lIjoiSmFuZSJ9"
    /// })).unwrap();
    /// assert_eq!(raw.json::<Person>().unwrap().name, "Jane");
    ///
    /// let err = merged.json::<Vec<u8>>().unwrap_err();
    /// assert!(err.message().contains("invalid type: map"), "{err}");
    /// ```
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, RequestError> {
        let encoded = self.encoded_body();
        let empty = match &encoded {
            None => true,
            Some(Encoded::Text(text) | Encoded::Base64(text)) => text.is_empty(),
            Some(Encoded::Json(_)) => false,
        };
        if empty {
            if self.is_raw() {
                return Err(RequestError::new(
                    "the request has no body; expected JSON".to_owned(),
                ));
            }
            return from_value(&self.params, "the request parameters");
        }
        match encoded {
            Some(Encoded::Json(value)) => from_value(value, "the JSON body"),
            _ => {
                let bytes = self.body_bytes()?;
                let mut de = serde_json::Deserializer::from_slice(&bytes);
                let what = format!("the request body ({})", self.content_type_for_errors());
                let value =
                    serde_path_to_error::deserialize(&mut de).map_err(|e| path_error(&what, e))?;
                de.end()
                    .map_err(|e| RequestError::new(format!("{what} is not valid JSON: {e}")))?;
                Ok(value)
            }
        }
    }
}
