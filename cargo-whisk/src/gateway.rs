//! The web-action translation of OpenWhisk's controller, both ways.
//!
//! Follows apache/openwhisk
//! `core/controller/src/main/scala/org/apache/openwhisk/core/controller/WebActions.scala`
//! (and `CorsSettings.scala`, the messages of `ErrorResponse.scala`):
//!
//! * the path `/api/v1/web/<namespace>/<package>/<action>[.ext][/rest]`, the
//!   extension found by `mediaTranscoderForName` (`.http` when none);
//! * the request into the action's `value`: `__ow_method` (lower case),
//!   `__ow_headers` (lower-cased names), `__ow_path` (the unmatched rest);
//!   non-raw: query parameters as strings, a JSON object body or a form
//!   merged in (body wins), any other body in `__ow_body` (base64 for binary
//!   media types), reserved names refused; raw (`raw-http`): `__ow_query` and
//!   `__ow_body` as text (base64 for binary types and `application/json`);
//! * the activation back into HTTP: the result itself on success, its
//!   `error` on an application error, `400` on a developer error; then the
//!   extension's transcoder (`resultAsHttp` with `statusCode`/`headers`/
//!   `body`, `resultAsJson`, `resultAsHtml`, `resultAsSvg`, `resultAsText`);
//! * CORS: `OPTIONS` answered by the gateway with the default headers,
//!   unless the action is annotated `web-custom-options`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

/// A request as the gateway received it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method, as sent (`GET`, `POST`, ...).
    pub method: String,
    /// The path, percent-encoded as sent.
    pub path: String,
    /// The raw query string (without `?`), if any.
    pub query: Option<String>,
    /// The headers, in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer to send back.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Headers (`Content-Type` among them when there is a body).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// How the web action is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebFlags {
    /// `raw-http` (`--web raw`).
    pub raw: bool,
    /// `web-custom-options`: `OPTIONS` goes to the action.
    pub custom_options: bool,
}

/// The response extensions of `mediaTranscoders`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    /// `.http` (the default).
    Http,
    /// `.json`.
    Json,
    /// `.html`.
    Html,
    /// `.svg`.
    Svg,
    /// `.text`.
    Text,
}

const EXTENSIONS: [(&str, Extension); 5] = [
    (".http", Extension::Http),
    (".json", Extension::Json),
    (".html", Extension::Html),
    (".svg", Extension::Svg),
    (".text", Extension::Text),
];

/// The name segment split into the action name and its extension
/// (`mediaTranscoderForName`).
pub fn split_extension(segment: &str) -> (&str, Extension) {
    for (suffix, ext) in EXTENSIONS {
        if let Some(base) = segment.strip_suffix(suffix) {
            return (base, ext);
        }
    }
    (segment, Extension::Http)
}

/// The CORS headers the controller adds (`CorsSettings.WebActions`).
pub fn cors_headers(request: &Request) -> Vec<(String, String)> {
    let allow_headers = request
        .header("access-control-request-headers")
        .unwrap_or("Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent");
    vec![
        ("Access-Control-Allow-Origin".into(), "*".into()),
        (
            "Access-Control-Allow-Methods".into(),
            "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH".into(),
        ),
        ("Access-Control-Allow-Headers".into(), allow_headers.into()),
    ]
}

/// An error answer as the controller's `terminate` writes it.
pub fn terminate(status: u16, message: &str, transaction: &str) -> Answer {
    let body = json!({"code": transaction, "error": message});
    Answer {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: spray_pretty(&body).into_bytes(),
    }
}

/// spray-json's `PrettyPrinter`, which the controller answers with: objects
/// one member a line indented by two, arrays on one line.
pub fn spray_pretty(value: &Value) -> String {
    let mut out = String::new();
    print_pretty(value, 0, &mut out);
    out
}

fn print_pretty(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(map) => {
            out.push_str("{\n");
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                out.push_str(&" ".repeat(indent + 2));
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(": ");
                print_pretty(v, indent + 2, out);
            }
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                print_pretty(item, indent, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The media type of a `Content-Type` value: lower case, parameters dropped.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn has_charset(content_type: &str) -> bool {
    content_type
        .split(';')
        .skip(1)
        .any(|p| p.trim().to_ascii_lowercase().starts_with("charset="))
}

/// `isJsonFamily`: `application/json` or `*+json`.
fn is_json_family(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

/// Whether Pekko/Akka HTTP treats the media type as binary: its registered
/// text types (`text/*`, JSON, XML, JavaScript, forms) are not; a type it
/// does not know is binary unless a charset is given.
pub fn is_binary(content_type: &str) -> bool {
    let media = media_type(content_type);
    if has_charset(content_type) || media.starts_with("text/") {
        return false;
    }
    let textual = [
        "application/json",
        "application/javascript",
        "application/xml",
        "application/x-www-form-urlencoded",
        "application/xhtml+xml",
        "application/atom+xml",
        "application/rss+xml",
        "application/soap+xml",
        "image/svg+xml",
    ];
    !(textual.contains(&media.as_str()) || media.ends_with("+json") || media.ends_with("+xml"))
}

/// Percent-decoding of a query or form component (`+` is a space).
fn decode_component(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=1&b=2` as (key, value) pairs, decoded.
fn parse_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode_component(k), decode_component(v)),
            None => (decode_component(pair), String::new()),
        })
        .collect()
}

const RESERVED: [&str; 6] = [
    "__ow_method",
    "__ow_headers",
    "__ow_path",
    "__ow_user",
    "__ow_query",
    "__ow_body",
];

/// The action's `value` for a web request (`Context.toActionArgument`),
/// over the action's own parameters; an `Err` is the controller's answer.
pub fn request_value(
    request: &Request,
    rest: &str,
    flags: WebFlags,
    params: &Map<String, Value>,
    transaction: &str,
) -> Result<Value, Answer> {
    let content_type = request.header("content-type").map(str::to_owned);
    let mut headers = Map::new();
    for (name, value) in &request.headers {
        let lower = name.to_ascii_lowercase();
        if lower == "content-length" || lower == "timeout-access" {
            continue;
        }
        headers.insert(lower, Value::String(value.clone()));
    }
    if content_type.is_none() && !request.body.is_empty() {
        // The entity's default type, which the controller adds as a header.
        headers.insert(
            "content-type".into(),
            Value::String("application/octet-stream".into()),
        );
    }
    let content_type = content_type.unwrap_or_else(|| "application/octet-stream".into());
    let media = media_type(&content_type);

    // The body, as `extractEntityAndProcessRequest` reads it.
    let body: Option<Value> = if request.body.is_empty()
        && (request.header("content-type").is_none() || is_json_family(&media))
    {
        None
    } else if is_json_family(&media) && !flags.raw {
        match serde_json::from_slice::<Value>(&request.body) {
            Ok(v) => Some(v),
            Err(e) => {
                return Err(terminate(
                    400,
                    &format!("The request content was malformed:\n{e}"),
                    transaction,
                ));
            }
        }
    } else if media == "application/x-www-form-urlencoded" && !flags.raw {
        let text = String::from_utf8_lossy(&request.body);
        let form: Map<String, Value> = parse_pairs(&text)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        Some(Value::Object(form))
    } else if is_binary(&content_type) || media == "application/json" {
        Some(Value::String(BASE64.encode(&request.body)))
    } else {
        Some(Value::String(
            String::from_utf8_lossy(&request.body).into_owned(),
        ))
    };

    let query_pairs = parse_pairs(request.query.as_deref().unwrap_or(""));
    if !flags.raw {
        let body_keys: Vec<&String> = match &body {
            Some(Value::Object(map)) => map.keys().collect(),
            _ => Vec::new(),
        };
        let overrides = query_pairs
            .iter()
            .map(|(k, _)| k)
            .chain(body_keys)
            .any(|k| RESERVED.contains(&k.as_str()));
        if overrides {
            return Err(terminate(
                400,
                "Request defines parameters that are not allowed (e.g., reserved properties).",
                transaction,
            ));
        }
    }

    let mut value = params.clone();
    value.insert(
        "__ow_method".into(),
        Value::String(request.method.to_ascii_lowercase()),
    );
    value.insert("__ow_headers".into(), Value::Object(headers));
    value.insert("__ow_path".into(), Value::String(rest.to_owned()));
    if flags.raw {
        value.insert(
            "__ow_query".into(),
            Value::String(request.query.clone().unwrap_or_default()),
        );
    } else {
        for (k, v) in query_pairs {
            value.insert(k, Value::String(v));
        }
    }
    match body {
        Some(Value::Object(fields)) if !flags.raw => value.extend(fields),
        Some(other) => {
            value.insert("__ow_body".into(), other);
        }
        None if flags.raw => {
            value.insert("__ow_body".into(), Value::String(String::new()));
        }
        None => {}
    }
    Ok(Value::Object(value))
}

/// What the activation ended as, for [`response`].
pub enum Outcome<'a> {
    /// Success: the result.
    Success(&'a Value),
    /// Application error: the result (`{"error": ...}`).
    ApplicationError(&'a Value),
    /// Developer error.
    DeveloperError,
}

/// The controller's answer for an activation (`completeRequest`).
pub fn response(outcome: Outcome, ext: Extension, transaction: &str) -> Answer {
    let projection = match outcome {
        Outcome::Success(result) => Some(result),
        Outcome::ApplicationError(result) => result.get("error"),
        Outcome::DeveloperError => {
            return terminate(
                400,
                "There was an error processing your request.",
                transaction,
            );
        }
    };
    let Some(result) = projection else {
        return terminate(
            404,
            "Response does not include requested property.",
            transaction,
        );
    };
    match ext {
        Extension::Http => result_as_http(result, transaction),
        Extension::Json => match result {
            Value::Object(_) | Value::Array(_) => {
                ok(200, "application/json", spray_pretty(result).into_bytes())
            }
            _ => terminate(
                400,
                "Response is not valid 'application/json'.",
                transaction,
            ),
        },
        Extension::Html => match field_or(result, "html") {
            Some(Value::String(html)) => {
                ok(200, "text/html; charset=UTF-8", html.clone().into_bytes())
            }
            _ => terminate(400, "Response is not valid 'text/html'.", transaction),
        },
        Extension::Svg => match field_or(result, "svg") {
            Some(Value::String(svg)) => ok(200, "image/svg+xml", svg.clone().into_bytes()),
            _ => terminate(400, "Response is not valid 'image/svg+xml'.", transaction),
        },
        Extension::Text => {
            let text = match result {
                Value::Object(map) => map.get("body").or_else(|| map.get("text")),
                other => Some(other),
            };
            let text = match text {
                Some(v @ (Value::Object(_) | Value::Array(_))) => spray_pretty(v),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => {
                    return terminate(
                        404,
                        "Response does not include requested property.",
                        transaction,
                    );
                }
            };
            ok(200, "text/plain; charset=UTF-8", text.into_bytes())
        }
    }
}

/// `body`, else `alt`, of an object; a non-object result itself.
fn field_or<'a>(result: &'a Value, alt: &str) -> Option<&'a Value> {
    match result {
        Value::Object(map) => map.get("body").or_else(|| map.get(alt)),
        other => Some(other),
    }
}

fn ok(status: u16, content_type: &str, body: Vec<u8>) -> Answer {
    Answer {
        status,
        headers: vec![("Content-Type".into(), content_type.into())],
        body,
    }
}

/// `Exec.isBinaryCode`: non-empty, a multiple of 4, base64 characters.
fn looks_base64(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty() && t.len() % 4 == 0 && BASE64.decode(t).is_ok()
}

/// `resultAsHttp`.
fn result_as_http(result: &Value, transaction: &str) -> Answer {
    let invalid = || terminate(400, "Response is not valid 'message/http'.", transaction);
    let Value::Object(fields) = result else {
        return invalid();
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    match fields.get("headers") {
        None => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                if !header_values(k, v, &mut headers) {
                    return invalid();
                }
            }
        }
        Some(_) => return invalid(),
    }
    let code = match fields.get("statusCode") {
        None => None,
        Some(Value::Number(n)) => match n.as_u64().and_then(|c| u16::try_from(c).ok()) {
            Some(c) if known_status(c) => Some(c),
            _ => return invalid(),
        },
        Some(Value::String(s)) => match s.parse::<u16>() {
            Ok(c) if known_status(c) => Some(c),
            _ => return invalid(),
        },
        Some(_) => return invalid(),
    };
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone());
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
    let empty = |code: Option<u16>| Answer {
        status: code.unwrap_or(204),
        headers: headers.clone(),
        body: Vec::new(),
    };
    let mut answer = match fields.get("body") {
        None | Some(Value::Null) => return empty(code),
        Some(Value::String(s)) if s.is_empty() => return empty(code),
        Some(Value::String(s)) => {
            let content_type = content_type.unwrap_or_else(|| "text/html".into());
            if media_type(&content_type).is_empty() || !media_type(&content_type).contains('/') {
                return terminate(
                    400,
                    "Response did not specify a known content-type.",
                    transaction,
                );
            }
            let media = media_type(&content_type);
            if is_binary(&content_type) || (is_json_family(&media) && looks_base64(s)) {
                match BASE64.decode(s.trim()) {
                    Ok(bytes) => ok(code.unwrap_or(200), &content_type, bytes),
                    Err(_) => {
                        return terminate(
                            400,
                            "Response type in header did not match generated content type.",
                            transaction,
                        );
                    }
                }
            } else {
                let rendered = if media == "application/json" || has_charset(&content_type) {
                    content_type.clone()
                } else {
                    format!("{content_type}; charset=UTF-8")
                };
                ok(code.unwrap_or(200), &rendered, s.clone().into_bytes())
            }
        }
        Some(js) => {
            let content_type = content_type.unwrap_or_else(|| "application/json".into());
            let media = media_type(&content_type);
            if !is_json_family(&media) {
                return terminate(
                    400,
                    "Response type in header did not match generated content type.",
                    transaction,
                );
            }
            let rendered = if media == "application/json" {
                "application/json".to_owned()
            } else {
                format!("{media}; charset=UTF-8")
            };
            ok(
                code.unwrap_or(200),
                &rendered,
                spray_pretty(js).into_bytes(),
            )
        }
    };
    let mut all = answer.headers.clone();
    all.extend(headers.iter().cloned());
    answer.headers = all;
    answer
}

/// `headersFromJson`: strings, numbers, booleans, arrays of them.
fn header_values(name: &str, value: &Value, out: &mut Vec<(String, String)>) -> bool {
    match value {
        Value::String(s) => out.push((name.into(), s.clone())),
        Value::Bool(b) => out.push((name.into(), b.to_string())),
        Value::Number(n) => out.push((name.into(), n.to_string())),
        Value::Array(items) => {
            for item in items {
                if !header_values(name, item, out) {
                    return false;
                }
            }
        }
        _ => return false,
    }
    true
}

/// A status code Pekko knows (`StatusCode.int2StatusCode` rejects others).
fn known_status(code: u16) -> bool {
    hyper::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, query: Option<&str>) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            query: query.map(Into::into),
            headers: vec![("Host".into(), "x".into())],
            body: Vec::new(),
        }
    }

    const PLAIN: WebFlags = WebFlags {
        raw: false,
        custom_options: false,
    };
    const RAW: WebFlags = WebFlags {
        raw: true,
        custom_options: false,
    };

    #[test]
    fn extensions_are_split_as_the_controller_does() {
        assert_eq!(split_extension("hello.json"), ("hello", Extension::Json));
        assert_eq!(split_extension("hello"), ("hello", Extension::Http));
        assert_eq!(split_extension("a.b.text"), ("a.b", Extension::Text));
        assert_eq!(split_extension("hello.png"), ("hello.png", Extension::Http));
    }

    #[test]
    fn query_and_body_merge_in_non_raw_mode() {
        let mut req = get("/", Some("name=Jane+Doe&x=%41"));
        req.method = "POST".into();
        req.headers
            .push(("Content-Type".into(), "application/json".into()));
        req.body = br#"{"x": 2}"#.to_vec();
        let v = request_value(&req, "/rest", PLAIN, &Map::new(), "t").unwrap();
        assert_eq!(v["name"], "Jane Doe");
        assert_eq!(v["x"], 2, "the body wins over the query");
        assert_eq!(v["__ow_method"], "post");
        assert_eq!(v["__ow_path"], "/rest");
        assert_eq!(v["__ow_headers"]["content-type"], "application/json");
        assert!(v.get("__ow_body").is_none() && v.get("__ow_query").is_none());
    }

    #[test]
    fn raw_mode_keeps_query_and_body_as_text() {
        let mut req = get("/", Some("a=1&b=%20"));
        req.headers
            .push(("Content-Type".into(), "application/json".into()));
        req.body = br#"{"x":1}"#.to_vec();
        let v = request_value(&req, "", RAW, &Map::new(), "t").unwrap();
        assert_eq!(v["__ow_query"], "a=1&b=%20");
        assert_eq!(v["__ow_body"], BASE64.encode(br#"{"x":1}"#));
        assert!(v.get("a").is_none());
        let v = request_value(&get("/", None), "", RAW, &Map::new(), "t").unwrap();
        assert_eq!(v["__ow_body"], "");
        assert_eq!(v["__ow_query"], "");
    }

    #[test]
    fn reserved_names_are_refused_in_non_raw_mode() {
        let err = request_value(
            &get("/", Some("__ow_method=x")),
            "",
            PLAIN,
            &Map::new(),
            "t",
        )
        .unwrap_err();
        assert_eq!(err.status, 400);
        assert!(String::from_utf8_lossy(&err.body).contains("not allowed"));
    }

    #[test]
    fn http_results_become_responses() {
        let a = response(
            Outcome::Success(
                &json!({"statusCode": 201, "headers": {"x-a": [1, true]}, "body": "hi"}),
            ),
            Extension::Http,
            "t",
        );
        assert_eq!(a.status, 201);
        assert_eq!(a.body, b"hi");
        assert!(
            a.headers
                .contains(&("Content-Type".into(), "text/html; charset=UTF-8".into()))
        );
        assert!(a.headers.contains(&("x-a".into(), "1".into())));
        assert!(a.headers.contains(&("x-a".into(), "true".into())));
        let a = response(Outcome::Success(&json!({})), Extension::Http, "t");
        assert_eq!((a.status, a.body.len()), (204, 0));
        let a = response(
            Outcome::Success(&json!({"headers": {"content-type": "image/png"}, "body": "AAEC"})),
            Extension::Http,
            "t",
        );
        assert_eq!(a.body, [0, 1, 2]);
        let a = response(
            Outcome::Success(&json!({"body": {"a": [1, 2]}})),
            Extension::Http,
            "t",
        );
        assert_eq!(String::from_utf8(a.body).unwrap(), "{\n  \"a\": [1, 2]\n}");
        let a = response(Outcome::Success(&json!("x")), Extension::Http, "t");
        assert_eq!(a.status, 400);
        let a = response(
            Outcome::ApplicationError(&json!({"error": {"statusCode": 409, "body": "no"}})),
            Extension::Http,
            "t",
        );
        assert_eq!((a.status, a.body.as_slice()), (409, b"no".as_slice()));
        assert_eq!(
            response(Outcome::DeveloperError, Extension::Http, "t").status,
            400
        );
    }
}
