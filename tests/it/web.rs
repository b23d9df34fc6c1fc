//! The web action examples (`web_api`, `web_image`) as HTTP servers, sent the
//! exact `value` shapes OpenWhisk's controller builds for web requests
//! (docs/PROTOCOL.md §11.1, `WebActions.scala`), answering the exact
//! `{"statusCode", "headers", "body"}` objects of §11.2, or
//! `{"error": {...}}` for the error mapping (an application error: HTTP 200
//! from the container, the controller then uses the inner status).

use crate::common;

use common::*;
use serde_json::{Value, json};

/// `/init` then one `/run` per value; returns the `/run` responses after
/// checking framing, status 200 (results and application errors alike),
/// one sentinel per activation and no other output.
fn run_all(example: &str, values: Vec<Value>) -> Vec<String> {
    let server = Server::start(example, &[]);
    assert_eq!(server.init(None).status, 200);
    let n = values.len();
    let bodies = values
        .into_iter()
        .map(|value| {
            let r = server.run(value.clone());
            r.assert_framing();
            assert_eq!(r.status, 200, "{value}: {}", r.text());
            r.text()
        })
        .collect();
    let logs = server.stop();
    logs.assert_sentinels(n);
    assert_eq!(without_sentinels(&logs.stdout), "");
    assert_eq!(without_sentinels(&logs.stderr), "");
    bodies
}

fn headers() -> Value {
    json!({"accept": "*/*", "host": "openwhisk.example", "user-agent": "curl/8.5.0"})
}

fn with_headers(extra: Value) -> Value {
    let mut all = headers();
    all.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    all
}

#[test]
fn web_api_get_greets_from_the_query() {
    let bodies = run_all(
        "web_api",
        vec![
            // GET .../web_api?name=Jane (--web true): the query is merged.
            json!({
                "__ow_method": "get",
                "__ow_headers": headers(),
                "__ow_path": "",
                "name": "Jane"
            }),
            // GET .../web_api, authenticated: no query, __ow_user set.
            json!({
                "__ow_method": "get",
                "__ow_headers": headers(),
                "__ow_path": "",
                "__ow_user": "guest"
            }),
        ],
    );
    assert_eq!(
        bodies,
        [
            r#"{"statusCode":200,"headers":{"content-type":"application/json"},"body":{"greeting":"Hello, Jane!"}}"#,
            r#"{"statusCode":200,"headers":{"content-type":"application/json"},"body":{"greeting":"Hello, stranger!"}}"#,
        ]
    );
}

#[test]
fn web_api_post_echoes_the_json_body_with_201() {
    let bodies = run_all(
        "web_api",
        vec![
            // POST .../web_api/items?v=1 {"id":7,"tags":["a"]} (--web true):
            // the object's keys are merged with the query's.
            json!({
                "__ow_method": "post",
                "__ow_headers": with_headers(json!({"content-type": "application/json", "content-length": "22"})),
                "__ow_path": "/items",
                "v": "1",
                "id": 7,
                "tags": ["a"]
            }),
            // A JSON array body is not merged: it is the parsed __ow_body.
            json!({
                "__ow_method": "post",
                "__ow_headers": with_headers(json!({"content-type": "application/json"})),
                "__ow_path": "",
                "__ow_body": [1, 2]
            }),
            // The same object to a raw action (--web raw): base64 in __ow_body.
            json!({
                "__ow_method": "post",
                "__ow_headers": with_headers(json!({"content-type": "application/json"})),
                "__ow_path": "",
                "__ow_query": "v=1",
                "__ow_body": "eyJpZCI6NywidGFncyI6WyJhIl19"
            }),
        ],
    );
    assert_eq!(
        bodies,
        [
            r#"{"statusCode":201,"headers":{"content-type":"application/json","location":"/web_api/items"},"body":{"created":{"id":7,"tags":["a"],"v":"1"}}}"#,
            r#"{"statusCode":201,"headers":{"content-type":"application/json","location":"/web_api"},"body":{"created":[1,2]}}"#,
            r#"{"statusCode":201,"headers":{"content-type":"application/json","location":"/web_api"},"body":{"created":{"id":7,"tags":["a"]}}}"#,
        ]
    );
}

#[test]
fn web_api_errors_carry_their_status() {
    let bodies = run_all(
        "web_api",
        vec![
            // DELETE: 405 through the error mapping.
            json!({"__ow_method": "delete", "__ow_headers": headers(), "__ow_path": "/items/7"}),
            // A raw POST whose body is not JSON: 400 with the reason.
            json!({
                "__ow_method": "post",
                "__ow_headers": with_headers(json!({"content-type": "text/plain"})),
                "__ow_path": "",
                "__ow_query": "",
                "__ow_body": "Jane"
            }),
            // A parameter of the wrong type (an action parameter `name: 5`).
            json!({"__ow_method": "get", "__ow_headers": headers(), "__ow_path": "", "name": 5}),
        ],
    );
    assert_eq!(
        bodies,
        [
            r#"{"error":{"body":{"error":"DELETE is not allowed"},"headers":{"allow":"GET, POST","content-type":"application/json"},"statusCode":405}}"#,
            r#"{"error":{"body":"the request body (content type `text/plain`) is not valid JSON: expected value at line 1 column 1","headers":{"content-type":"text/plain; charset=utf-8"},"statusCode":400}}"#,
            r#"{"error":{"body":"cannot read the request parameters at `name`: invalid type: integer `5`, expected a string","headers":{"content-type":"text/plain; charset=utf-8"},"statusCode":400}}"#,
        ]
    );
}

/// Invoked directly (not through the web URL), the action is not called and
/// the error says why.
#[test]
fn web_api_refuses_a_value_that_is_not_a_web_request() {
    let bodies = run_all("web_api", vec![json!({"name": "Jane"})]);
    let error: Value = serde_json::from_str(&bodies[0]).unwrap();
    let message = error["error"].as_str().expect("a message");
    assert!(
        message.contains("missing field `__ow_method`: this action takes a web request"),
        "{message}"
    );
}

#[test]
fn web_image_serves_a_base64_png() {
    let bodies = run_all(
        "web_image",
        vec![
            json!({"__ow_method": "get", "__ow_headers": headers(), "__ow_path": ""}),
            // GET .../web_image?color=ff0000&size=3 (--web true)
            json!({
                "__ow_method": "get",
                "__ow_headers": headers(),
                "__ow_path": "",
                "color": "ff0000",
                "size": "3"
            }),
        ],
    );
    // The bodies are complete PNGs (signature, IHDR, IDAT, IEND with valid
    // CRCs; IDAT inflates to the expected scanlines): checked once with
    // Python's zlib when the example was written, pinned here.
    assert_eq!(
        bodies,
        [
            r#"{"statusCode":200,"headers":{"content-type":"image/png","cache-control":"public, max-age=86400"},"body":"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAAD0lEQVR4AQEEAPv/AAAAAAAEAAFlScNgAAAAAElFTkSuQmCC"}"#,
            r#"{"statusCode":200,"headers":{"content-type":"image/png","cache-control":"public, max-age=86400"},"body":"iVBORw0KGgoAAAANSUhEUgAAAAMAAAADCAIAAADZSiLoAAAAKUlEQVR4AQEeAOH/AP8AAP8AAP8AAAD/AAD/AAD/AAAA/wAA/wAA/wAAj44I+Gr5IdgAAAAASUVORK5CYII="}"#,
        ]
    );
}

#[test]
fn web_image_rejects_bad_parameters_with_400() {
    let bodies = run_all(
        "web_image",
        vec![
            json!({"__ow_method": "get", "__ow_headers": headers(), "__ow_path": "", "color": "red"}),
            json!({"__ow_method": "get", "__ow_headers": headers(), "__ow_path": "", "size": "0"}),
        ],
    );
    assert_eq!(
        bodies,
        [
            r#"{"error":{"body":"`color` must be six hex digits, not \"red\"","headers":{"content-type":"text/plain; charset=utf-8"},"statusCode":400}}"#,
            r#"{"error":{"body":"`size` must be 1 to 64, not \"0\"","headers":{"content-type":"text/plain; charset=utf-8"},"statusCode":400}}"#,
        ]
    );
}
