//! Every `__ow_*` input shape of docs/PROTOCOL.md §11.1 and every result rule of
//! §11.2, with the exact JSON the controller sends or reads. The `value`
//! shapes follow `WebActions.scala`: `Context.toActionArgument` (what is
//! merged, what goes to `__ow_body`), `extractEntityAndProcessRequest`
//! (which bodies are parsed, which base64-encoded) and `metadata`
//! (`__ow_method` lower case, `__ow_headers` lower-cased names, the entity's
//! content type added as `content-type`).

use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::{Error, IntoErrorValue};

fn request(value: Value) -> Request {
    serde_json::from_value(value).expect("a web request")
}

fn wire(response: &Response) -> Value {
    serde_json::to_value(response).unwrap()
}

#[derive(Debug, Deserialize, PartialEq)]
struct Person {
    name: String,
    #[serde(default)]
    age: Option<u32>,
}

// ---------------------------------------------------------------- non-raw

/// `GET ...?name=Jane` (no entity): the query is merged as strings, no
/// `__ow_body`.
#[test]
fn non_raw_get_with_query_merges_the_query() {
    let req = request(json!({
        "__ow_method": "get",
        "__ow_headers": {"accept": "*/*", "host": "example.com", "user-agent": "curl/8"},
        "__ow_path": "",
        "name": "Jane",
        "age": "42"
    }));
    assert_eq!(req.method(), Method::Get);
    assert!(!req.is_raw());
    assert_eq!(req.query(), None);
    assert!(req.query_pairs().is_empty());
    assert_eq!(req.user(), None);
    assert_eq!(req.path(), "");
    assert_eq!(req.body(), None);
    assert_eq!(req.content_type(), None);
    assert_eq!(
        Value::Object(req.params().clone()),
        json!({"name": "Jane", "age": "42"})
    );
    assert_eq!(req.body_bytes().unwrap(), b"");
    assert_eq!(req.body_text().unwrap(), "");
    // Query values are strings: a number field does not fit.
    let err = req.json::<Person>().unwrap_err();
    assert_eq!(
        err.message(),
        "cannot read the request parameters at `age`: invalid type: string \"42\", expected u32"
    );
    #[derive(Deserialize)]
    struct Name {
        name: String,
    }
    assert_eq!(req.json::<Name>().unwrap().name, "Jane");
}

/// `POST` `application/json` object: merged, body keys over query keys;
/// no `__ow_body`.
#[test]
fn non_raw_json_object_is_merged() {
    let req = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "application/json", "content-length": "25"},
        "__ow_path": "/people",
        "__ow_user": "guest",
        "name": "Jane",
        "age": 42
    }));
    assert_eq!(req.method(), Method::Post);
    assert_eq!(req.path(), "/people");
    assert_eq!(req.user(), Some("guest"));
    assert_eq!(req.body(), None);
    assert_eq!(
        req.json::<Person>().unwrap(),
        Person {
            name: "Jane".into(),
            age: Some(42)
        }
    );
    assert_eq!(
        req.json::<Value>().unwrap(),
        json!({"name": "Jane", "age": 42})
    );
    assert_eq!(req.body_text().unwrap(), "");
}

/// A JSON body that is not an object (array, string, number, `null`) is
/// passed as the *parsed* value in `__ow_body`.
#[test]
fn non_raw_json_non_object_is_the_parsed_value() {
    let array = request(json!({
        "__ow_method": "put",
        "__ow_headers": {"content-type": "application/json"},
        "__ow_path": "",
        "__ow_body": [1, 2, 3],
        "debug": "true"
    }));
    assert_eq!(array.body(), Some(&json!([1, 2, 3])));
    assert_eq!(array.json::<Vec<u8>>().unwrap(), [1, 2, 3]);
    assert_eq!(array.body_text().unwrap(), "[1,2,3]");
    assert_eq!(array.body_bytes().unwrap(), b"[1,2,3]");
    assert_eq!(array.params()["debug"], "true");

    // A JSON string is a string in `__ow_body`, but not text: it was parsed.
    let string = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "application/json"},
        "__ow_path": "",
        "__ow_body": "aGVsbG8="
    }));
    assert_eq!(string.json::<String>().unwrap(), "aGVsbG8=");
    assert_eq!(string.body_text().unwrap(), r#""aGVsbG8=""#);

    let number = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "application/json; charset=UTF-8"},
        "__ow_path": "",
        "__ow_body": 7.5
    }));
    assert_eq!(number.json::<f64>().unwrap(), 7.5);

    let null = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "application/json"},
        "__ow_path": "",
        "__ow_body": null
    }));
    assert_eq!(null.body(), Some(&Value::Null));
    assert_eq!(null.json::<Option<u8>>().unwrap(), None);
    assert_eq!(null.body_text().unwrap(), "null");

    // Other JSON-family types are parsed too.
    let vendor = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "application/vnd.example+json"},
        "__ow_path": "",
        "__ow_body": [true]
    }));
    assert_eq!(vendor.json::<Vec<bool>>().unwrap(), [true]);
    let err = vendor.json::<Vec<String>>().unwrap_err();
    assert_eq!(
        err.message(),
        "cannot read the JSON body at `[0]`: invalid type: boolean `true`, expected a string"
    );
}

/// `application/x-www-form-urlencoded`: the fields are merged as strings.
#[test]
fn non_raw_form_is_merged() {
    let req = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "application/x-www-form-urlencoded"},
        "__ow_path": "",
        "name": "Jane Doe",
        "city": "Zürich"
    }));
    assert_eq!(req.body(), None);
    assert_eq!(req.params()["name"], "Jane Doe");
    assert_eq!(
        req.json::<Value>().unwrap(),
        json!({"name": "Jane Doe", "city": "Zürich"})
    );
}

/// A text media type: `__ow_body` is the UTF-8 text.
#[test]
fn non_raw_text_is_a_string() {
    let req = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "text/plain; charset=UTF-8"},
        "__ow_path": "",
        "__ow_body": "Jane"
    }));
    assert_eq!(req.body_text().unwrap(), "Jane");
    assert_eq!(req.body_bytes().unwrap(), b"Jane");
    let err = req.json::<Value>().unwrap_err();
    assert_eq!(
        err.message(),
        "the request body (content type `text/plain; charset=UTF-8`) is not valid JSON: \
         expected value at line 1 column 1"
    );

    // Text that holds JSON is parsed by `json()`.
    let json_text = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "text/plain"},
        "__ow_path": "",
        "__ow_body": "{\"name\":\"Jane\"} "
    }));
    assert_eq!(json_text.json::<Person>().unwrap().name, "Jane");
    let trailing = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "text/plain"},
        "__ow_path": "",
        "__ow_body": "1 2"
    }));
    assert_eq!(
        trailing.json::<u8>().unwrap_err().message(),
        "the request body (content type `text/plain`) is not valid JSON: \
         trailing characters at line 1 column 3"
    );

    // `application/json` with a parameter other than charset is not
    // JSON-family for the controller: it arrives as text.
    let profiled = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "application/json; profile=x"},
        "__ow_path": "",
        "__ow_body": "{\"name\":\"Jo\"}"
    }));
    assert_eq!(profiled.body_text().unwrap(), r#"{"name":"Jo"}"#);
    assert_eq!(profiled.json::<Person>().unwrap().name, "Jo");

    // An empty text body counts as no body: the parameters are used.
    let empty = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "text/plain"},
        "__ow_path": "",
        "__ow_body": "",
        "name": "Q"
    }));
    assert_eq!(empty.json::<Person>().unwrap().name, "Q");
}

/// A binary media type (and any unregistered type without a charset):
/// `__ow_body` is base64.
#[test]
fn non_raw_binary_is_base64() {
    let png = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "image/png"},
        "__ow_path": "",
        "__ow_body": "iVBORw0KGgo="
    }));
    assert_eq!(png.body_bytes().unwrap(), b"\x89PNG\r\n\x1a\n");
    let err = png.body_text().unwrap_err();
    assert_eq!(
        err.message(),
        "the request body is not UTF-8 text (content type `image/png`): \
         invalid utf-8 sequence of 1 bytes from index 0"
    );

    // No content type with a body: the entity is application/octet-stream.
    let octets = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "application/octet-stream"},
        "__ow_path": "",
        "__ow_body": "aGVsbG8="
    }));
    assert_eq!(octets.body_text().unwrap(), "hello");

    // Unregistered types are binary for Pekko unless a charset is given.
    let js = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "text/javascript"},
        "__ow_path": "",
        "__ow_body": "MSsx"
    }));
    assert_eq!(js.body_text().unwrap(), "1+1");
    let js_utf8 = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "text/javascript; charset=utf-8"},
        "__ow_path": "",
        "__ow_body": "MSsx"
    }));
    assert_eq!(js_utf8.body_text().unwrap(), "MSsx");

    // multipart is binary.
    let multipart = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "multipart/form-data; boundary=X"},
        "__ow_path": "",
        "__ow_body": "LS1YLS0="
    }));
    assert_eq!(multipart.body_text().unwrap(), "--X--");

    let broken = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "image/png"},
        "__ow_path": "",
        "__ow_body": "iVBO*w=="
    }));
    let err = broken.body_bytes().unwrap_err();
    assert_eq!(
        err.message(),
        "the request body is not valid base64, as its content type `image/png` requires: \
         invalid character `*` at offset 4"
    );
    assert_eq!(broken.json::<Value>().unwrap_err(), err);
}

// -------------------------------------------------------------------- raw

/// `--web raw`, `GET ?name=Jane+Doe`: `__ow_query` is the query string,
/// `__ow_body` is `""`, only bound parameters are top-level.
#[test]
fn raw_get_has_the_query_string() {
    let req = request(json!({
        "__ow_method": "get",
        "__ow_headers": {"accept": "*/*"},
        "__ow_path": "/a/b",
        "__ow_query": "name=Jane+Doe&tag=x%26y&tag=z",
        "__ow_body": "",
        "greeting": "Hello"
    }));
    assert!(req.is_raw());
    assert_eq!(req.query(), Some("name=Jane+Doe&tag=x%26y&tag=z"));
    assert_eq!(
        req.query_pairs(),
        [
            ("name".to_owned(), "Jane Doe".to_owned()),
            ("tag".to_owned(), "x&y".to_owned()),
            ("tag".to_owned(), "z".to_owned()),
        ]
    );
    assert_eq!(
        Value::Object(req.params().clone()),
        json!({"greeting": "Hello"})
    );
    assert_eq!(req.body_bytes().unwrap(), b"");
    assert_eq!(req.body_text().unwrap(), "");
    assert_eq!(
        req.json::<Value>().unwrap_err().message(),
        "the request has no body; expected JSON"
    );
}

/// Raw `application/json`: base64 (for legacy reasons, although the type
/// is not binary), also with a charset.
#[test]
fn raw_json_is_base64() {
    for ct in ["application/json", "application/json; charset=UTF-8"] {
        let req = request(json!({
            "__ow_method": "post",
            "__ow_headers": {"content-type": ct, "content-length": "15"},
            "__ow_path": "",
            "__ow_query": "name=Jane",
            "__ow_body": "eyJuYW1lIjoiSmFuZSJ9"
        }));
        assert_eq!(req.body_text().unwrap(), r#"{"name":"Jane"}"#, "{ct}");
        assert_eq!(req.json::<Person>().unwrap().name, "Jane", "{ct}");
        assert_eq!(req.query_pairs(), [("name".to_owned(), "Jane".to_owned())]);
    }
    let bad = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "application/json"},
        "__ow_path": "",
        "__ow_query": "",
        "__ow_body": "eyJhZ2UiOi0xfQ=="
    }));
    assert_eq!(
        bad.json::<Person>().unwrap_err().message(),
        "cannot read the request body (content type `application/json`) at `age`: \
         invalid value: integer `-1`, expected u32 at line 1 column 9"
    );
}

/// Raw text (a form too: nothing is merged) is the UTF-8 string; other
/// JSON-family types that Pekko registers as text are text as well.
#[test]
fn raw_text_and_form_are_strings() {
    let form = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "application/x-www-form-urlencoded"},
        "__ow_path": "",
        "__ow_query": "",
        "__ow_body": "name=Jane+Doe"
    }));
    assert_eq!(form.body_text().unwrap(), "name=Jane+Doe");
    assert!(form.params().is_empty());

    let text = request(json!({
        "__ow_method": "patch",
        "__ow_headers": {"content-type": "text/plain"},
        "__ow_path": "",
        "__ow_query": "",
        "__ow_body": "Jane"
    }));
    assert_eq!(text.method(), Method::Patch);
    assert_eq!(text.body_bytes().unwrap(), b"Jane");

    let api = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "application/vnd.api+json"},
        "__ow_path": "",
        "__ow_query": "",
        "__ow_body": "{\"data\":null}"
    }));
    assert_eq!(api.json::<Value>().unwrap(), json!({"data": null}));
}

/// Raw binary, and unregistered JSON-family types (binary for Pekko).
#[test]
fn raw_binary_is_base64() {
    let png = request(json!({
        "__ow_method": "put",
        "__ow_headers": {"content-type": "image/png"},
        "__ow_path": "",
        "__ow_query": "",
        "__ow_body": "iVBORw0KGgo="
    }));
    assert_eq!(png.body_bytes().unwrap(), b"\x89PNG\r\n\x1a\n");
    let vendor = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "application/vnd.example+json"},
        "__ow_path": "",
        "__ow_query": "",
        "__ow_body": "WzFd"
    }));
    assert_eq!(vendor.json::<Vec<u8>>().unwrap(), [1]);
}

// -------------------------------------------------------- request decoding

#[test]
fn headers_are_looked_up_case_insensitively() {
    let req = request(json!({
        "__ow_method": "GET",
        "__ow_headers": {"X-Forwarded-For": "10.0.0.1", "accept": "*/*"},
        "__ow_path": ""
    }));
    assert_eq!(req.method(), Method::Get);
    assert_eq!(req.header("x-forwarded-for"), Some("10.0.0.1"));
    assert_eq!(req.header("X-FORWARDED-FOR"), Some("10.0.0.1"));
    assert_eq!(req.header("Accept"), Some("*/*"));
    assert_eq!(
        req.headers().keys().collect::<Vec<_>>(),
        ["accept", "x-forwarded-for"]
    );
}

#[test]
fn every_method() {
    for (name, method) in [
        ("get", Method::Get),
        ("post", Method::Post),
        ("put", Method::Put),
        ("patch", Method::Patch),
        ("delete", Method::Delete),
        ("head", Method::Head),
        ("options", Method::Options),
    ] {
        let req = request(json!({"__ow_method": name, "__ow_headers": {}, "__ow_path": ""}));
        assert_eq!(req.method(), method);
        assert_eq!(method.as_str(), name.to_ascii_uppercase());
    }
}

#[test]
fn a_value_that_is_not_a_web_request_is_refused_by_name() {
    let err = |value: Value| {
        serde_json::from_value::<Request>(value)
            .unwrap_err()
            .to_string()
    };
    assert!(
        err(json!({"name": "Jane"})).starts_with(
            "missing field `__ow_method`: this action takes a web request; invoke it through its web URL"
        ),
        "{}",
        err(json!({}))
    );
    assert_eq!(
        err(json!({"__ow_method": "trace"})),
        "unsupported HTTP method `trace`, expected one of get, post, put, patch, delete, head, options"
    );
    assert_eq!(
        err(json!({"__ow_method": "get", "__ow_headers": {"a": 1}})),
        "invalid type: integer `1`, expected a string"
    );
    assert_eq!(
        err(json!([1])),
        "invalid type: sequence, expected a web action request: an object with `__ow_method`, \
         `__ow_headers`, ..."
    );
}

/// What the runtime does with a `value` that is not a web request: the
/// action is not called, and the message names the field.
#[test]
fn decoding_through_serde_path_to_error_names_the_field() {
    let text = r#"{"__ow_method":"get","__ow_headers":{"accept":false}}"#;
    let mut de = serde_json::Deserializer::from_str(text);
    let err = serde_path_to_error::deserialize::<_, Request>(&mut de).unwrap_err();
    assert_eq!(err.path().to_string(), "__ow_headers.accept");
}

// ---------------------------------------------------------------- response

#[test]
fn text_and_html_bodies_are_strings() {
    assert_eq!(
        wire(&Response::ok().text("hello")),
        json!({
            "statusCode": 200,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "body": "hello"
        })
    );
    assert_eq!(
        serde_json::to_string(&Response::new(404).html("<h1>Not found</h1>")).unwrap(),
        r#"{"statusCode":404,"headers":{"content-type":"text/html; charset=utf-8"},"body":"<h1>Not found</h1>"}"#
    );
}

#[test]
fn json_bodies_are_json_values() {
    for value in [json!({"a": [1, 2]}), json!([]), json!(1.5), json!(true)] {
        assert_eq!(
            wire(&Response::ok().json(&value)),
            json!({
                "statusCode": 200,
                "headers": {"content-type": "application/json"},
                "body": value
            })
        );
    }
    // A JSON-family type of your own keeps the value.
    assert_eq!(
        wire(
            &Response::new(400)
                .header("content-type", "application/problem+json")
                .json(&json!({"title": "bad"}))
        ),
        json!({
            "statusCode": 400,
            "headers": {"content-type": "application/problem+json"},
            "body": {"title": "bad"}
        })
    );
}

/// A JSON string would be read as text (or legacy base64) and `null` as no
/// body: both are sent as base64 of their JSON text.
#[test]
fn json_strings_and_null_are_base64() {
    assert_eq!(
        wire(&Response::ok().json("hi")),
        json!({"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "ImhpIg=="})
    );
    assert_eq!(
        wire(&Response::ok().json(&Value::Null)),
        json!({"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "bnVsbA=="})
    );
}

#[test]
fn binary_bodies_are_base64_with_their_type() {
    let png = b"\x89PNG\r\n\x1a\n";
    assert_eq!(
        wire(&Response::ok().bytes("image/png", png.as_slice())),
        json!({"statusCode": 200, "headers": {"content-type": "image/png"}, "body": "iVBORw0KGgo="})
    );
    // Text types carry text, even given as bytes.
    assert_eq!(
        wire(&Response::ok().bytes("text/csv", "a,b\n1,2\n")),
        json!({"statusCode": 200, "headers": {"content-type": "text/csv"}, "body": "a,b\n1,2\n"})
    );
    assert_eq!(
        wire(&Response::ok().bytes("text/plain", [b'a', 0xff]))["body"],
        "a\u{fffd}"
    );
    // An unregistered type without a charset is binary for the controller.
    assert_eq!(
        wire(
            &Response::ok()
                .header("content-type", "text/javascript")
                .text("1+1")
        )["body"],
        "MSsx"
    );
    assert_eq!(
        wire(
            &Response::ok()
                .header("content-type", "text/javascript; charset=utf-8")
                .text("1+1")
        )["body"],
        "1+1"
    );
}

/// Under a JSON-family type the controller base64-decodes a string that
/// looks like base64, so text is always sent as base64 there.
#[test]
fn text_under_a_json_type_is_base64() {
    let r = Response::ok()
        .text("abcd")
        .header("Content-Type", "application/json");
    assert_eq!(
        wire(&r),
        json!({"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "YWJjZA=="})
    );
    // JSON under a text type is its text.
    let r = Response::ok()
        .header("content-type", "text/plain")
        .json(&json!({"a": 1}));
    assert_eq!(wire(&r)["body"], r#"{"a":1}"#);
}

/// What we send must pass the controller's `Exec.isBinaryCode` where it
/// relies on the legacy base64 check.
#[test]
fn base64_bodies_pass_the_controllers_check() {
    fn is_binary_code(s: &str) -> bool {
        let t = s.trim();
        let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
        let body = t.trim_end_matches('=');
        !t.is_empty() && t.len() % 4 == 0 && t.len() - body.len() <= 2 && body.bytes().all(alphabet)
    }
    for text in ["a", "ab", "abc", "abcd", "{}", "\"x\"", "null", "ünïcödé"] {
        let r = Response::ok()
            .header("content-type", "application/json")
            .text(text);
        let body = wire(&r)["body"].as_str().unwrap().to_owned();
        assert!(is_binary_code(&body), "{text:?} -> {body:?}");
        assert_eq!(codec::base64_decode(&body).unwrap(), text.as_bytes());
    }
}

#[test]
fn empty_bodies_have_no_body_and_no_content_type() {
    let no_body = json!({"statusCode": 200, "headers": {}});
    assert_eq!(wire(&Response::ok()), no_body);
    assert_eq!(wire(&Response::ok().text("")), no_body);
    assert_eq!(
        wire(&Response::ok().bytes("image/png", Vec::new())),
        no_body
    );
    assert_eq!(
        wire(&Response::ok().header("Content-Type", "text/plain")),
        no_body
    );
    assert_eq!(
        serde_json::to_string(&Response::no_content().header("x-id", "1")).unwrap(),
        r#"{"statusCode":204,"headers":{"x-id":"1"}}"#
    );
}

#[test]
fn redirect() {
    assert_eq!(
        serde_json::to_string(&Response::redirect("/login?next=%2F")).unwrap(),
        r#"{"statusCode":302,"headers":{"location":"/login?next=%2F"}}"#
    );
}

#[test]
fn headers_keep_order_and_repeat_as_arrays() {
    let r = Response::ok()
        .header("Set-Cookie", "a=1")
        .header("cache-control", "no-store")
        .header("set-cookie", "b=2")
        .text("x");
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"statusCode":200,"headers":{"content-type":"text/plain; charset=utf-8","Set-Cookie":["a=1","b=2"],"cache-control":"no-store"},"body":"x"}"#
    );
    assert_eq!(r.get_header("SET-COOKIE"), Some("a=1"));
    assert_eq!(
        r.get_header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[test]
fn an_explicit_content_type_wins_in_either_order() {
    let before = Response::ok()
        .header("content-type", "text/markdown")
        .text("# hi");
    let after = Response::ok()
        .text("# hi")
        .header("content-type", "text/markdown");
    assert_eq!(before, after);
    assert_eq!(
        wire(&before),
        json!({"statusCode": 200, "headers": {"content-type": "text/markdown"}, "body": "# hi"})
    );
    // `bytes` names its type: it replaces an earlier one.
    assert_eq!(
        Response::ok()
            .header("content-type", "text/plain")
            .bytes("image/gif", *b"GIF89a")
            .get_header("content-type"),
        Some("image/gif")
    );
    // A body setter replaces the type an earlier setter implied.
    assert_eq!(
        Response::ok().text("x").json(&1).get_header("content-type"),
        Some("application/json")
    );
}

#[test]
fn a_json_body_that_cannot_be_serialized_is_a_500() {
    let mut map = std::collections::BTreeMap::new();
    map.insert((1, 2), 3);
    assert_eq!(
        wire(&Response::ok().json(&map)),
        json!({
            "statusCode": 500,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "body": "the response cannot be serialized to JSON: key must be a string"
        })
    );
}

#[test]
#[should_panic(expected = "1000 is not an HTTP status code (100..=599)")]
fn an_invalid_status_panics() {
    let _ = Response::new(1000);
}

// ------------------------------------------------------------------ errors

#[test]
fn responses_become_web_errors() {
    let expected = json!({
        "statusCode": 405,
        "headers": {"content-type": "application/json", "allow": "GET, POST"},
        "body": {"error": "method not allowed"}
    });
    let response = Response::new(405)
        .header("allow", "GET, POST")
        .json(&json!({"error": "method not allowed"}));
    assert_eq!(response.clone().into_error().into_value(), expected);
    assert_eq!(Error::from(response.clone()).into_value(), expected);
    assert_eq!(response.into_error_value(), expected);

    fn with_question_mark() -> Result<Response, Error> {
        Err(Response::new(404).text("nope"))?
    }
    assert_eq!(
        with_question_mark().unwrap_err().into_value(),
        json!({"statusCode": 404, "headers": {"content-type": "text/plain; charset=utf-8"}, "body": "nope"})
    );

    assert_eq!(
        web_error_value(error(403, "forbidden")),
        json!({"statusCode": 403, "headers": {"content-type": "text/plain; charset=utf-8"}, "body": "forbidden"})
    );
}

fn web_error_value(error: Error) -> Value {
    error.into_value()
}

#[test]
fn request_errors_are_400s() {
    fn action(req: Request) -> Result<Response, Error> {
        let person: Person = req.json()?;
        Ok(Response::ok().text(person.name))
    }
    let bad = request(json!({
        "__ow_method": "post",
        "__ow_headers": {"content-type": "application/json"},
        "__ow_path": "",
        "nom": "Jane"
    }));
    assert_eq!(
        action(bad).unwrap_err().into_value(),
        json!({
            "statusCode": 400,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "body": "cannot read the request parameters: missing field `name`"
        })
    );
}
