//! `cargo whisk serve`, driven over real sockets with an HTTP client: raw
//! and non-raw web actions, each extension, binary bodies both ways, the
//! blocking invoke route, OPTIONS, and a `--watch` rebuild after a source
//! edit (a broken edit first: the error is printed and the old build keeps
//! serving).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use support::{Running, actions, cargo_whisk, http};

/// Starts `cargo whisk serve ARGS --port 0` in `dir`; returns it and its port.
fn serve(dir: &Path, args: &[&str]) -> (Running, u16) {
    let mut command = cargo_whisk();
    command
        .current_dir(dir)
        .arg("serve")
        .args(args)
        .args(["--port", "0"]);
    let mut running = Running::start(command);
    let text = running.wait_for("/api/v1/web/", Duration::from_secs(600));
    let port = text
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {text}"));
    (running, port)
}

const WEB: &str = "/api/v1/web/guest/default";

fn is_activation_id(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn non_raw_web_action() {
    let (_serve, port) = serve(&actions(), &["echo"]);

    // Query parameters become string parameters; the request context is in __ow_*.
    let r = http(
        port,
        "GET",
        &format!("{WEB}/echo.json?name=Jane+Doe&n=3"),
        &[("X-Custom", "Yes")],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(is_activation_id(r.header("x-openwhisk-activation-id")));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let got = &r.json()["got"];
    assert_eq!(got["name"], "Jane Doe");
    assert_eq!(got["n"], "3");
    assert_eq!(got["__ow_method"], "get");
    assert_eq!(got["__ow_path"], "");
    assert_eq!(got["__ow_headers"]["x-custom"], "Yes");
    assert_eq!(got["__ow_headers"]["host"], format!("127.0.0.1:{port}"));
    assert!(
        got.get("__ow_body").is_none() && got.get("__ow_query").is_none(),
        "{got}"
    );

    // A JSON object body is merged, over the query; the rest of the path is __ow_path.
    let r = http(
        port,
        "POST",
        &format!("{WEB}/echo.json/items/7?a=query&q=1"),
        &[("Content-Type", "application/json")],
        br#"{"a": "body", "list": [1, 2]}"#,
    );
    let got = &r.json()["got"];
    assert_eq!(
        (got["a"].clone(), got["q"].clone(), got["list"].clone()),
        (json!("body"), json!("1"), json!([1, 2]))
    );
    assert_eq!(got["__ow_path"], "/items/7");
    assert_eq!(got["__ow_method"], "post");

    // A form is merged; text is __ow_body as text; binary is __ow_body in base64.
    let r = http(
        port,
        "PUT",
        &format!("{WEB}/echo.json"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"x=1&y=two+words",
    );
    let got = &r.json()["got"];
    assert_eq!(
        (got["x"].clone(), got["y"].clone()),
        (json!("1"), json!("two words"))
    );
    let r = http(
        port,
        "POST",
        &format!("{WEB}/echo.json"),
        &[("Content-Type", "text/plain")],
        "héllo".as_bytes(),
    );
    assert_eq!(r.json()["got"]["__ow_body"], "héllo");
    let r = http(
        port,
        "POST",
        &format!("{WEB}/echo.json"),
        &[("Content-Type", "application/octet-stream")],
        &[0, 255, 1],
    );
    assert_eq!(r.json()["got"]["__ow_body"], "AP8B");
    let r = http(
        port,
        "POST",
        &format!("{WEB}/echo.json"),
        &[("Content-Type", "application/json")],
        b"[1,2]",
    );
    assert_eq!(r.json()["got"]["__ow_body"], json!([1, 2]));

    // Reserved names cannot be overridden.
    let r = http(
        port,
        "GET",
        &format!("{WEB}/echo.json?__ow_method=put"),
        &[],
        b"",
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"],
        "Request defines parameters that are not allowed (e.g., reserved properties)."
    );
    assert!(r.json()["code"].is_string());

    // .http (also without extension): statusCode, headers and body to HTTP.
    let reply = r#"{"statusCode":201,"headers":{"x-made":["a",1]},"body":"made"}"#;
    for ext in ["", ".http"] {
        let r = http(
            port,
            "POST",
            &format!("{WEB}/echo{ext}"),
            &[("Content-Type", "application/json")],
            json!({ "reply": reply }).to_string().as_bytes(),
        );
        assert_eq!(r.status, 201, "{ext}: {}", r.text());
        assert_eq!(r.text(), "made");
        assert_eq!(r.header("content-type"), Some("text/html; charset=UTF-8"));
        let made: Vec<&str> = r
            .headers
            .iter()
            .filter(|(n, _)| n == "x-made")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(made, ["a", "1"]);
    }
    // A JSON body; no body is 204; a non-object result is not message/http.
    let r = http(
        port,
        "GET",
        &format!("{WEB}/echo?reply=%7B%22body%22%3A%7B%22k%22%3A%5B1%2C2%5D%7D%7D"),
        &[],
        b"",
    );
    assert_eq!(
        (r.status, r.text()),
        (200, "{\n  \"k\": [1, 2]\n}".to_owned())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = http(port, "GET", &format!("{WEB}/echo?reply=%7B%7D"), &[], b"");
    assert_eq!((r.status, r.body.len()), (204, 0));
    let r = http(port, "GET", &format!("{WEB}/echo?reply=%5B1%5D"), &[], b"");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "Response is not valid 'message/http'.");

    // .text wants `body` or `text`.
    let r = http(port, "GET", &format!("{WEB}/echo.text"), &[], b"");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["error"],
        "Response does not include requested property."
    );
    let r = http(
        port,
        "GET",
        &format!("{WEB}/echo.text?reply=%7B%22text%22%3A%22plain%22%7D"),
        &[],
        b"",
    );
    assert_eq!((r.status, r.text()), (200, "plain".to_owned()));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=UTF-8"));

    // OPTIONS is answered by the gateway, with the CORS headers.
    let r = http(
        port,
        "OPTIONS",
        &format!("{WEB}/echo"),
        &[("Access-Control-Request-Headers", "x-a")],
        b"",
    );
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH")
    );
    assert_eq!(r.header("access-control-allow-headers"), Some("x-a"));
    assert!(
        r.header("x-openwhisk-activation-id").is_none(),
        "no activation for OPTIONS"
    );

    // Plain blocking invoke.
    let r = http(
        port,
        "POST",
        "/api/v1/namespaces/guest/actions/echo?blocking=true&result=true",
        &[("Content-Type", "application/json")],
        br#"{"x":1}"#,
    );
    assert_eq!((r.status, r.json()), (200, json!({"got": {"x": 1}})));
    let r = http(
        port,
        "POST",
        "/api/v1/namespaces/_/actions/echo?blocking=true",
        &[],
        b"{}",
    );
    assert_eq!(r.json()["response"]["status"], "success");
    assert_eq!(r.json()["activationId"].as_str().map(str::len), Some(32));

    // Unknown action or namespace.
    assert_eq!(
        http(port, "GET", &format!("{WEB}/nope.json"), &[], b"").status,
        404
    );
    assert_eq!(
        http(port, "GET", "/api/v1/web/other/default/echo.json", &[], b"").status,
        404
    );
}

#[test]
fn raw_web_action() {
    let (_serve, port) = serve(&actions(), &["echo", "--web", "raw"]);
    let r = http(
        port,
        "POST",
        &format!("{WEB}/echo.json/p?a=1&b=%20x"),
        &[("Content-Type", "application/json")],
        br#"{"k":"v"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let got = &r.json()["got"];
    assert_eq!(got["__ow_query"], "a=1&b=%20x");
    assert_eq!(
        got["__ow_body"], "eyJrIjoidiJ9",
        "JSON is base64 in raw mode"
    );
    assert_eq!(got["__ow_path"], "/p");
    assert!(got.get("a").is_none() && got.get("k").is_none(), "{got}");
    let r = http(
        port,
        "POST",
        &format!("{WEB}/echo.json"),
        &[("Content-Type", "text/csv")],
        b"a,b\n1,2\n",
    );
    assert_eq!(r.json()["got"]["__ow_body"], "a,b\n1,2\n");
    let r = http(
        port,
        "POST",
        &format!("{WEB}/echo.json"),
        &[("Content-Type", "image/png")],
        &[137, 80, 78, 71],
    );
    assert_eq!(r.json()["got"]["__ow_body"], "iVBORw==");
    let r = http(
        port,
        "GET",
        &format!("{WEB}/echo.json?__ow_method=x"),
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "raw mode takes any query");
    assert_eq!(r.json()["got"]["__ow_body"], "");
}

#[test]
fn html_svg_and_binary_responses() {
    let (_page, port) = serve(&actions(), &["page"]);
    let r = http(port, "GET", &format!("{WEB}/page.html?name=Ada"), &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=UTF-8"));
    assert!(
        r.text().contains("<h1 id=\"greeting\">Hello, Ada!</h1>"),
        "{}",
        r.text()
    );
    let r = http(port, "GET", &format!("{WEB}/page.svg?as=svg"), &[], b"");
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    assert!(r.text().starts_with("<svg "));
    let r = http(
        port,
        "GET",
        &format!("{WEB}/page.text?as=text&name=Bo"),
        &[],
        b"",
    );
    assert_eq!(r.text(), "hello Bo");
    let r = http(port, "GET", &format!("{WEB}/page.svg?as=text"), &[], b"");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "Response is not valid 'image/svg+xml'.");
    drop(_page);

    // A binary body: base64 in the result, bytes on the wire.
    let (_image, port) = serve(&actions(), &["web_image"]);
    let r = http(
        port,
        "GET",
        &format!("{WEB}/web_image?color=ff0000&size=2"),
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=86400"));
    assert_eq!(&r.body[..8], b"\x89PNG\r\n\x1a\n");
    // An application error carrying statusCode/body (the example's 400).
    let r = http(port, "GET", &format!("{WEB}/web_image?color=zz"), &[], b"");
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("six hex digits"));
}

const WATCHED_V1: &str = r#"#[whisk::action]
fn watched(_p: serde_json::Value) -> Result<serde_json::Value, whisk::Error> {
    Ok(serde_json::json!({"version": "one"}))
}
"#;

#[test]
fn watch_rebuilds_after_an_edit_and_survives_a_broken_one() {
    let dir = support::fixture_crate("whisk-test-watched", &[("watched", WATCHED_V1.to_owned())]);
    let source = dir.join("src/bin/watched.rs");
    let (mut serve, port) = serve(&dir, &["--watch"]);
    let version = |port| -> Value {
        http(port, "GET", &format!("{WEB}/watched.json"), &[], b"").json()["version"].clone()
    };
    assert_eq!(version(port), "one");

    // A broken edit: the error is printed, the gateway stays up with the old build.
    std::fs::write(&source, WATCHED_V1.replace("Ok(", "Ok(undefined_name + ")).unwrap();
    serve.wait_for("Still serving the last build", Duration::from_secs(300));
    assert!(serve.stderr().contains("error"), "{}", serve.stderr());
    assert_eq!(version(port), "one");

    // A good edit: the next request after the rebuild sees the new code.
    let before = serve.stderr().matches("Restarted").count();
    std::fs::write(&source, WATCHED_V1.replace("\"one\"", "\"two\"")).unwrap();
    let started = Instant::now();
    while serve.stderr().matches("Restarted").count() == before {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no rebuild:\n{}",
            serve.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(version(port), "two");
    // The activation's logs and a line per request are shown as they happen.
    assert!(
        serve.stderr().contains("Activation success watched"),
        "{}",
        serve.stderr()
    );
    // Back to the first version for the next run of this test.
    std::fs::write(&source, WATCHED_V1).unwrap();
}
