//! [`service`]: an HTTP app (an axum `Router`, any tower `Service`) served
//! as a web action, and the [`User`] extension.

use std::future::poll_fn;
use std::pin::pin;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{self, HeaderName, HeaderValue, header};
use http_body_util::BodyExt;
use serde_json::Value;
use serde_json::value::RawValue;
use tower_service::Service;

use super::codec::form_encode;
use super::media::MediaType;
use super::{Method, Request, RequestError, Response};
// The crate's public paths only: the adapter is built on `async_fn` and
// `Context` like any user's action, not on the `Action` trait's internals.
use crate::{Action, Context, Error};

/// The largest result OpenWhisk takes from an action: 1 MiB
/// (`whisk.activation.payload.max`; PROTOCOL.md §4.3). A longer one is cut
/// and reported as a truncated response, so the adapter refuses it first.
pub(crate) const RESULT_LIMIT: usize = 1024 * 1024;

/// The errors `tower` services return: any error, boxed.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The namespace of the authenticated caller (`__ow_user`), as a request
/// extension of [`service`]; absent when the web action does not require
/// authentication.
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use axum::{Extension, Router, routing::get};
/// use whisk::web::User;
///
/// async fn me(user: Option<Extension<User>>) -> String {
///     match user {
///         Some(Extension(User(namespace))) => format!("hello, {namespace}"),
///         None => "hello, stranger".to_owned(),
///     }
/// }
/// let app: Router = Router::new().route("/me", get(me));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User(pub String);

/// Serves an HTTP app as a web action: an axum `Router` (with its state,
/// layers and fallback) or any tower `Service` of `http::Request<Body>`.
///
/// ```no_run
/// # extern crate whisk_runtime as whisk;
/// use axum::{Router, extract::Path, routing::get};
///
/// async fn hello(Path(name): Path<String>) -> String {
///     format!("Hello, {name}!")
/// }
///
/// fn main() -> std::process::ExitCode {
///     let app = Router::new().route("/hello/{name}", get(hello));
///     whisk::run(whisk::web::service(app))
/// }
/// ```
///
/// Create the action with `--web raw` (`wsk action create NAME app.zip
/// --native --web raw`) and call
/// `https://APIHOST/api/v1/web/NAMESPACE/default/NAME/hello/Jane`: the app
/// sees `GET /hello/Jane`. Everything after the action's name is the
/// request's path; the activation's [`Context`] and the caller's [`User`]
/// are request extensions (`axum::Extension<whisk::Context>`).
///
/// It works in every mode (HTTP, ActionLoop, exec), and inside
/// [`stateful`](crate::stateful) to build the app once, after `/init`:
///
/// ```no_run
/// # extern crate whisk_runtime as whisk;
/// use axum::{Router, extract::State, routing::get};
///
/// struct Db { greeting: String }
///
/// fn setup() -> Result<Db, std::env::VarError> {
///     Ok(Db { greeting: std::env::var("GREETING")? })
/// }
///
/// fn main() -> std::process::ExitCode {
///     whisk::run(whisk::stateful(setup, |db: whisk::State<Db>| {
///         let app = Router::new()
///             .route("/", get(|State(db): State<whisk::State<Db>>| async move {
///                 db.greeting.clone()
///             }))
///             .with_state(db);
///         whisk::web::service(app)
///     }))
/// }
/// ```
///
/// # No attribute
///
/// `#[whisk::action]` turns a function of parameters into `main`; an app is
/// one line of `main` already, and the line says what an attribute would
/// hide: whether the app is built once (`stateful`) or per activation. So
/// the attribute does not take `fn app() -> Router`: it answers with a
/// compile error that shows the line above (`tests/ui/fail/axum_app_fn.rs`).
///
/// # Which axum
///
/// axum 0.8 (any 0.8.x, with any features: add it to your own
/// dependencies). The app must be `Clone + Send + Sync` (a `Router` is;
/// for other tower stacks, `tower::util::BoxCloneSyncService`), its
/// response body any `http_body::Body` of `Bytes` (axum's `Body`, tower-http's
/// bodies).
///
/// # The request
///
/// Built from the `value` the controller sends (PROTOCOL.md §11.1):
/// the method from `__ow_method`, the path from `__ow_path`, the headers from
/// `__ow_headers` (lower-case names, one value each: the controller keeps
/// the last of a repeated request header, two `cookie` lines included),
/// and the body from `__ow_body`, base64-decoded where the controller
/// encoded it. The controller sends no `content-length` (its HTTP server
/// keeps it with the body); the adapter sets it to the body's length.
/// Even raw, `__ow_query` is the controller's rendering of the parsed query,
/// which may escape differently from the client's bytes.
///
/// **Use `--web raw`**: then the query is `__ow_query` and the body its
/// exact bytes. With `--web true` the controller has already merged the
/// query and a JSON object or form body into the action's parameters, and
/// the adapter rebuilds what it can from the keys that are not `__ow_*`:
///
/// * a `GET` or `HEAD`: the query is those keys, form-encoded (values
///   that are not strings as their JSON text);
/// * a JSON (`application/json`, `*+json`) request without `__ow_body`:
///   the body is those keys as a JSON object;
/// * a form (`application/x-www-form-urlencoded`) request: the body is
///   those keys, form-encoded;
/// * any other request without `__ow_body` (a `DELETE`, say): the query
///   is those keys.
///
/// A body the controller did not merge (text, binary, a JSON value that is
/// not an object) comes in `__ow_body` and is passed on as in raw mode.
///
/// What is lost in non-raw mode: the package's and action's default
/// parameters cannot be told apart from the request's and appear among
/// them; with a JSON or form body the query parameters are merged into the
/// body (the request's query is empty) and body keys win over query keys;
/// keys come sorted, a repeated query or form key keeps one value, and a
/// JSON body is re-serialized (its spacing and key order are not the
/// client's); a request whose query or body keys collide with `__ow_*`
/// names is refused by the controller (`400`) before the action runs.
///
/// # The response
///
/// Read whole and turned into the `{"statusCode", "headers", "body"}`
/// result the controller answers with (PROTOCOL.md §11.2), with the body
/// rules of [`Response`] (the same code): text for text types, base64 for
/// binary ones and for the JSON family, so the client gets the app's exact
/// bytes; a repeated header (two `set-cookie`) becomes an array, one header
/// line each; `content-length` and `transfer-encoding` are left to the
/// controller. Without a `content-type` a body is sent as
/// `application/octet-stream`. Text bodies that are not UTF-8 (under a
/// text type) get U+FFFD, and header values that are not UTF-8 likewise.
///
/// Whatever the app answers is the answer, a `404` of the router's
/// fallback included. What it cannot answer is a `502` whose text names
/// the problem: a body larger than OpenWhisk's 1 MiB result (the message
/// gives the size), a failing response body, a service error, a status
/// above 599. A panic in a handler is the runtime's, as for any action:
/// `/run` answers 502 with `"The action panicked: ..."`, and the server
/// goes on serving.
pub fn service<S, B>(app: S) -> impl Action
where
    S: Service<http::Request<Body>, Response = http::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    crate::async_fn(move |request: Request, ctx: Context| {
        let app = app.clone();
        async move { answer(app, request, ctx).await }
    })
}

/// One activation: the request in, the app called, its response out.
async fn answer<S, B>(mut app: S, request: Request, ctx: Context) -> Result<Box<RawValue>, Error>
where
    S: Service<http::Request<Body>, Response = http::Response<B>>,
    S::Error: Into<BoxError>,
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let request = to_http(&request, ctx)?;
    poll_fn(|cx| app.poll_ready(cx)).await.map_err(failed)?;
    let response = app.call(request).await.map_err(failed)?;
    let (parts, body) = response.into_parts();
    let body = read_body(body).await?;
    to_result(parts, body)
}

fn failed(error: impl Into<BoxError>) -> Error {
    super::error(502, format_args!("The app failed: {}", error.into()))
}

/// The `http::Request` a web action's `value` stands for.
fn to_http(request: &Request, ctx: Context) -> Result<http::Request<Body>, RequestError> {
    let (body, query) = body_and_query(request)?;
    let mut uri = String::with_capacity(1 + request.path().len() + query.len() + 1);
    if !request.path().starts_with('/') {
        uri.push('/');
    }
    push_uri_path(request.path(), &mut uri);
    if !query.is_empty() {
        uri.push('?');
        push_uri_path(&query, &mut uri);
    }
    let mut builder = http::Request::builder()
        .method(request.method().as_str())
        .uri(uri.as_str());
    let headers = builder.headers_mut().expect("a fresh builder has headers");
    for (name, value) in request.headers() {
        if name == "content-length" || name == "transfer-encoding" {
            continue;
        }
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            return Err(RequestError::new(format!(
                "the request header `{name}` is not a valid HTTP header"
            )));
        };
        headers.append(name, value);
    }
    if !body.is_empty() {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    let mut built = builder
        .body(Body::from(body))
        .map_err(|e| RequestError::new(format!("the request URI `{uri}` is not valid: {e}")))?;
    if let Some(user) = request.user() {
        built.extensions_mut().insert(User(user.to_owned()));
    }
    built.extensions_mut().insert(ctx);
    Ok(built)
}

/// The body's bytes and the query string, rebuilt from the parameters in
/// non-raw mode (see [`service`]).
fn body_and_query(request: &Request) -> Result<(Vec<u8>, String), RequestError> {
    if request.is_raw() {
        let query = request.query().unwrap_or_default().to_owned();
        return Ok((request.body_bytes()?, query));
    }
    if request.body().is_some() {
        return Ok((request.body_bytes()?, String::new()));
    }
    let params = request.params();
    if matches!(request.method(), Method::Get | Method::Head) {
        return Ok((Vec::new(), form(params)));
    }
    let media = request.content_type().and_then(MediaType::parse);
    Ok(match media {
        Some(media) if media.is_json_family() => (
            Value::Object(params.clone()).to_string().into_bytes(),
            String::new(),
        ),
        Some(media) if media.is_form() => (form(params).into_bytes(), String::new()),
        _ => (Vec::new(), form(params)),
    })
}

/// The parameters form-encoded: `a=1&b=x+y`; values that are not strings
/// as their JSON text.
fn form(params: &serde_json::Map<String, Value>) -> String {
    let mut out = String::new();
    for (name, value) in params {
        if !out.is_empty() {
            out.push('&');
        }
        form_encode(name, &mut out);
        out.push('=');
        match value {
            Value::String(text) => form_encode(text, &mut out),
            other => form_encode(&other.to_string(), &mut out),
        }
    }
    out
}

/// Appends a path or query, percent-encoding the bytes a URI cannot hold
/// (spaces, controls, non-ASCII); `%` escapes already there are kept.
fn push_uri_path(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text.as_bytes() {
        if byte.is_ascii_graphic()
            && !matches!(
                byte,
                b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}' | b'#'
            )
        {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0xf)] as char);
        }
    }
}

fn too_large(what: std::fmt::Arguments<'_>) -> Error {
    super::error(
        502,
        format_args!(
            "The app's response is too large for OpenWhisk: {what}, and an action's result may \
             be at most {RESULT_LIMIT} bytes (1 MiB)."
        ),
    )
}

/// The whole response body, refused past [`RESULT_LIMIT`] without reading
/// further.
async fn read_body<B>(body: B) -> Result<Vec<u8>, Error>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let hint = body.size_hint();
    if let Some(exact) = hint.exact().filter(|&n| n > RESULT_LIMIT as u64) {
        return Err(too_large(format_args!("its body is {exact} bytes")));
    }
    let mut body = pin!(body);
    let mut bytes = Vec::with_capacity(hint.lower().min(RESULT_LIMIT as u64) as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            super::error(
                502,
                format_args!("The app's response body failed: {}", e.into()),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > RESULT_LIMIT {
                return Err(too_large(format_args!(
                    "its body is more than {RESULT_LIMIT} bytes"
                )));
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// The `{"statusCode", "headers", "body"}` result, encoded by [`Response`].
fn to_result(parts: http::response::Parts, body: Vec<u8>) -> Result<Box<RawValue>, Error> {
    let status = parts.status.as_u16();
    if status > 599 {
        return Err(super::error(
            502,
            format_args!("The app answered with status {status}, which OpenWhisk cannot send."),
        ));
    }
    let mut content_type = None;
    let mut headers = Vec::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == header::CONTENT_TYPE {
            content_type.get_or_insert(value);
        } else if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            headers.push((name.as_str().to_owned(), value));
        }
    }
    let body_len = body.len();
    let response = Response::from_parts(status, headers, content_type, body);
    let result = serde_json::value::to_raw_value(&response)
        .map_err(|e| super::error(502, format_args!("The response cannot be encoded: {e}")))?;
    let len = result.get().len();
    if len > RESULT_LIMIT {
        return Err(too_large(format_args!(
            "its body of {body_len} bytes makes a result of {len} bytes"
        )));
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Poll;

    use hyper::body::Frame;

    use super::*;

    /// A body without a known length that never ends, counting its frames.
    struct Endless(Arc<AtomicUsize>);

    impl HttpBody for Endless {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&[b'x'; 4096])))))
        }
    }

    #[test]
    fn an_endless_body_is_refused_once_past_the_limit() {
        let frames = Arc::new(AtomicUsize::new(0));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let error = runtime
            .block_on(read_body(Endless(Arc::clone(&frames))))
            .unwrap_err();
        assert_eq!(
            error.value()["body"],
            "The app's response is too large for OpenWhisk: its body is more than 1048576 \
             bytes, and an action's result may be at most 1048576 bytes (1 MiB)."
        );
        assert_eq!(error.value()["statusCode"], 502);
        // Read up to the limit and one frame more, no further.
        assert_eq!(frames.load(Ordering::Relaxed), RESULT_LIMIT / 4096 + 1);
    }

    #[test]
    fn a_status_above_599_is_a_502() {
        let (mut parts, ()) = http::Response::new(()).into_parts();
        parts.status = http::StatusCode::from_u16(700).unwrap();
        let error = to_result(parts, Vec::new()).unwrap_err();
        assert_eq!(
            error.value()["body"],
            "The app answered with status 700, which OpenWhisk cannot send."
        );
    }
}
