//! `whisk::web::service`: real axum apps (`tests/fixtures/axum_kit.rs`,
//! `examples/axum_app.rs`) served as web actions, sent the exact `value`
//! shapes OpenWhisk's controller builds (PROTOCOL.md §11.1,
//! `WebActions.scala`: raw with `__ow_query` and the body as a string,
//! base64 for binary types and `application/json`; non-raw with the query
//! and a JSON or form body merged into the parameters), and answering the
//! `{"statusCode", "headers", "body"}` result of §11.2. Over HTTP (one
//! server, several activations), ActionLoop (fd 3) and exec (argv).

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::common::*;
use serde_json::{Value, json};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unbase64(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let symbols: Vec<u32> = text
        .bytes()
        .filter(|&b| b != b'=')
        .map(|b| ALPHABET.iter().position(|&a| a == b).expect("base64") as u32)
        .collect();
    for group in symbols.chunks(4) {
        let mut n = 0;
        for (i, s) in group.iter().enumerate() {
            n |= s << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..group.len()]);
    }
    out
}

/// The headers the controller always sends (lower-cased, one value each).
fn headers(extra: Value) -> Value {
    let mut all = json!({"accept": "*/*", "host": "openwhisk.example", "user-agent": "curl/8.5.0"});
    all.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    all
}

/// A GET of `path` (non-raw, no query), as the controller sends it.
fn get(path: &str) -> Value {
    merged("get", path, json!({}), json!({}))
}

/// A raw request: `__ow_query` and `__ow_body` always present.
fn raw(method: &str, path: &str, query: &str, extra: Value, body: &str) -> Value {
    json!({
        "__ow_method": method,
        "__ow_headers": headers(extra),
        "__ow_path": path,
        "__ow_query": query,
        "__ow_body": body
    })
}

/// A non-raw request: `params` (the merged query and body, or
/// `__ow_body`) at the top level, as the controller sends them.
fn merged(method: &str, path: &str, extra: Value, params: Value) -> Value {
    let mut value =
        json!({"__ow_method": method, "__ow_headers": headers(extra), "__ow_path": path});
    let params = params.as_object().unwrap().clone();
    value.as_object_mut().unwrap().extend(params);
    value
}

/// A raw `POST` of a JSON body (base64, as the controller encodes it).
fn raw_json(path: &str, body: &[u8]) -> Value {
    raw(
        "post",
        path,
        "",
        json!({"content-type": "application/json"}),
        &base64(body),
    )
}

/// The kit, initialized.
fn kit() -> Server {
    let server = Server::start("axum_kit", &[]);
    assert_eq!(server.init(None).status, 200);
    server
}

/// One activation over HTTP: status 200 (results and application errors
/// alike) and the result object.
fn run(server: &Server, value: Value) -> Value {
    let r = server.run(value.clone());
    r.assert_framing();
    assert_eq!(r.status, 200, "{value}: {}", r.text());
    r.json()
}

/// The JSON an app's JSON body carried: base64 under `application/json`.
fn json_body(result: &Value) -> Value {
    assert_eq!(
        result["headers"]["content-type"], "application/json",
        "{result}"
    );
    let text = result["body"].as_str().expect("a base64 body");
    serde_json::from_slice(&unbase64(text)).expect("the body is JSON")
}

#[test]
fn raw_requests_reach_the_app_exactly() {
    let server = kit();
    let body = "{ \"a\": [1, 2] }";
    let echoed = json_body(&run(
        &server,
        raw(
            "post",
            "/echo/deep/path",
            "x=1&name=Jane+Doe&tag=a&tag=b",
            json!({"content-type": "application/json", "x-request-id": "42"}),
            &base64(body.as_bytes()),
        ),
    ));
    assert_eq!(
        echoed,
        json!({
            "method": "POST",
            "uri": "/echo/deep/path?x=1&name=Jane+Doe&tag=a&tag=b",
            "headers": {
                "accept": "*/*",
                "content-length": body.len().to_string(),
                "content-type": "application/json",
                "host": "openwhisk.example",
                "user-agent": "curl/8.5.0",
                "x-request-id": "42"
            },
            "body": body
        })
    );
    // Text types come as text; an empty path is `/`; DELETE has no body.
    let echoed = json_body(&run(
        &server,
        raw(
            "put",
            "/echo",
            "",
            json!({"content-type": "text/plain; charset=UTF-8"}),
            "héllo",
        ),
    ));
    assert_eq!(echoed["uri"], "/echo");
    assert_eq!(echoed["body"], "héllo");
    assert_eq!(echoed["headers"]["content-length"], "6");
    let echoed = json_body(&run(&server, raw("delete", "/echo", "", json!({}), "")));
    assert_eq!(echoed["method"], "DELETE");
    assert_eq!(echoed["body"], "");
    assert_eq!(echoed["headers"].get("content-length"), None);
    server.stop().assert_sentinels(3);
}

#[test]
fn path_parameters_and_their_errors() {
    let server = kit();
    let ok = run(&server, get("/items/fruit/7"));
    assert_eq!(json_body(&ok), json!({"kind": "fruit", "id": 7}));
    assert_eq!(ok["statusCode"], 200);
    // axum's own rejection, passed on as the app's answer.
    assert_eq!(
        run(&server, get("/items/fruit/seven")),
        json!({
            "statusCode": 400,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "body": "Invalid URL: Cannot parse value at index 1 with value `seven` to a `u32`"
        })
    );
}

#[test]
fn query_raw_and_rebuilt_from_non_raw_parameters() {
    let server = kit();
    let expected = json!({"name": "Jane Doe", "n": "3", "city": "Zürich"});
    let raw_result = run(
        &server,
        raw(
            "get",
            "/query",
            "name=Jane+Doe&n=3&city=Z%C3%BCrich",
            json!({}),
            "",
        ),
    );
    assert_eq!(json_body(&raw_result), expected);
    // --web true: the controller merged the query into the parameters (as
    // strings); a number (a default parameter of the action) is its JSON.
    let value = merged(
        "get",
        "/query",
        json!({}),
        json!({"name": "Jane Doe", "city": "Zürich", "n": 3}),
    );
    assert_eq!(json_body(&run(&server, value)), expected);
    // A GET is rebuilt as a query even when it names a JSON content type
    // (the controller merged no body: a GET has none).
    let params = json!({"name": "Jane Doe", "city": "Zürich", "n": "3"});
    let value = merged(
        "get",
        "/query",
        json!({"content-type": "application/json"}),
        params,
    );
    assert_eq!(json_body(&run(&server, value)), expected);
}

#[test]
fn json_in_and_out_in_both_modes() {
    let server = kit();
    let created = json!({"created": {"name": "pear", "tags": ["a", "b"]}});
    // Raw: the body base64-encoded (application/json).
    let result = run(
        &server,
        raw_json("/json", br#"{"name":"pear","tags":["a","b"]}"#),
    );
    assert_eq!(result["statusCode"], 201);
    assert_eq!(json_body(&result), created);
    // Non-raw: the object merged into the parameters, rebuilt as the body.
    let json_type = json!({"content-type": "application/json"});
    let value = merged(
        "post",
        "/json",
        json_type.clone(),
        json!({"name": "pear", "tags": ["a", "b"]}),
    );
    let result = run(&server, value);
    assert_eq!(result["statusCode"], 201);
    assert_eq!(json_body(&result), created);
    // Non-raw, a JSON body that is not an object: in __ow_body, parsed.
    let value = merged("post", "/json", json_type, json!({"__ow_body": [1, "two"]}));
    assert_eq!(
        json_body(&run(&server, value)),
        json!({"created": [1, "two"]})
    );
    // Invalid JSON: axum's rejection.
    let result = run(&server, raw_json("/json", b"{"));
    assert_eq!(result["statusCode"], 400, "{result}");
}

#[test]
fn form_bodies_in_both_modes() {
    let server = kit();
    let form = json!({"content-type": "application/x-www-form-urlencoded"});
    let expected = json!({"name": "Jane Doe", "city": "Zürich"});
    // Raw: the form as text.
    let result = run(
        &server,
        raw(
            "post",
            "/form",
            "",
            form.clone(),
            "name=Jane+Doe&city=Z%C3%BCrich",
        ),
    );
    assert_eq!(json_body(&result), expected);
    // Non-raw: merged into the parameters, rebuilt as a form.
    let value = merged(
        "post",
        "/form",
        form,
        json!({"name": "Jane Doe", "city": "Zürich"}),
    );
    assert_eq!(json_body(&run(&server, value)), expected);
}

#[test]
fn binary_request_and_response_bodies() {
    let server = kit();
    let data: Vec<u8> = (0..=255u8).chain([0x89, b'P', b'N', b'G']).collect();
    let reversed: Vec<u8> = data.iter().rev().copied().collect();
    let png = json!({"content-type": "image/png"});
    let expected = json!({
        "statusCode": 200,
        "headers": {"content-type": "application/octet-stream"},
        "body": base64(&reversed)
    });
    // Raw and non-raw alike: a binary body is base64 in __ow_body.
    assert_eq!(
        run(
            &server,
            raw("put", "/bytes", "", png.clone(), &base64(&data))
        ),
        expected
    );
    let value = merged("post", "/bytes", png, json!({"__ow_body": base64(&data)}));
    assert_eq!(run(&server, value), expected);
    // Bad base64 where the controller would have encoded: 400, named.
    let result = run(
        &server,
        raw(
            "put",
            "/bytes",
            "",
            json!({"content-type": "image/png"}),
            "not base64!",
        ),
    );
    assert_eq!(result["error"]["statusCode"], 400, "{result}");
    let message = result["error"]["body"].as_str().unwrap();
    assert!(message.contains("not valid base64"), "{message}");
}

#[test]
fn repeated_response_headers_are_an_array() {
    let server = kit();
    assert_eq!(
        run(&server, get("/cookies")),
        json!({
            "statusCode": 200,
            "headers": {
                "content-type": "text/plain; charset=utf-8",
                "set-cookie": ["a=1; Path=/", "b=2; HttpOnly"],
                "cache-control": "no-store"
            },
            "body": "two cookies"
        })
    );
}

#[test]
fn status_codes_and_the_router_fallback() {
    let server = kit();
    for code in [201, 404, 418, 503] {
        assert_eq!(
            run(&server, get(&format!("/status/{code}"))),
            json!({
                "statusCode": code,
                "headers": {"content-type": "text/plain; charset=utf-8"},
                "body": format!("status {code}")
            })
        );
    }
    // The fallback's 404 is the app's answer (a result, not an error).
    assert_eq!(
        run(&server, get("/no/such/route")),
        json!({"statusCode": 404, "headers": {}})
    );
}

#[test]
fn a_from_fn_middleware_rejects() {
    let server = kit();
    assert_eq!(
        run(&server, get("/guarded/door")),
        json!({
            "statusCode": 401,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "body": "no key"
        })
    );
    let mut with_key = get("/guarded/door");
    with_key["__ow_headers"]["x-key"] = json!("open");
    assert_eq!(run(&server, with_key)["body"], "come in");
}

#[test]
fn state_is_built_once_across_activations() {
    let server = kit();
    for hits in 1..=3 {
        assert_eq!(
            json_body(&run(&server, get("/count"))),
            json!({"inits": 1, "hits": hits})
        );
    }
}

#[test]
fn the_context_and_the_user_are_extensions() {
    let server = kit();
    let mut value = get("/ctx");
    value["__ow_user"] = json!("guest");
    let body = json!({
        "value": value,
        "activation_id": "0123456789abcdef0123456789abcdef",
        "action_name": "/guest/demo/kit",
        "namespace": "guest",
        "deadline": "4102444800000"
    });
    let r = server.post("/run", body.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        json_body(&r.json()),
        json!({
            "activation_id": "0123456789abcdef0123456789abcdef",
            "action_name": "/guest/demo/kit",
            "user": "guest"
        })
    );
    // Not authenticated: no `__ow_user`, no extension.
    assert_eq!(json_body(&run(&server, get("/ctx")))["user"], Value::Null);
}

#[test]
fn a_panicking_handler_is_a_502_and_the_server_goes_on() {
    let server = kit();
    let r = server.run(get("/panic"));
    r.assert_framing();
    assert_eq!(r.status, 502);
    assert_eq!(
        r.json(),
        json!({"error": "The action panicked: the handler exploded"})
    );
    assert_eq!(
        json_body(&run(&server, get("/count"))),
        json!({"inits": 1, "hits": 1})
    );
    let logs = server.stop();
    logs.assert_sentinels(2);
    assert!(
        logs.stderr.contains("the handler exploded"),
        "{}",
        logs.stderr
    );
}

#[test]
fn an_oversized_response_is_a_502_naming_the_size() {
    let server = kit();
    // Larger than 1 MiB by itself (axum says the exact length up front).
    assert_eq!(
        run(&server, get("/big/2000000")),
        json!({"error": {
            "statusCode": 502,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "body": "The app's response is too large for OpenWhisk: its body is 2000000 bytes, \
                     and an action's result may be at most 1048576 bytes (1 MiB)."
        }})
    );
    // Under 1 MiB, but not once wrapped in the result object.
    let result = run(&server, get("/big/1048570"));
    let message = result["error"]["body"].as_str().unwrap();
    assert_eq!(
        message,
        "The app's response is too large for OpenWhisk: its body of 1048570 bytes makes a \
         result of 1048653 bytes, and an action's result may be at most 1048576 bytes (1 MiB)."
    );
    // What fits is answered whole.
    let result = run(&server, get("/big/1000000"));
    assert_eq!(result["statusCode"], 200);
    assert_eq!(result["body"].as_str().unwrap().len(), 1_000_000);
}

#[test]
fn a_value_that_is_not_a_web_request_names_the_problem() {
    let server = kit();
    let result = run(&server, json!({"name": "Jane"}));
    let message = result["error"].as_str().expect("a message");
    assert!(message.contains("missing field `__ow_method`"), "{message}");
}

/// The example's REST API, raw, with the token set through `/init`.
#[test]
fn the_example_rest_api() {
    let server = Server::start("axum_app", &[]);
    assert_eq!(
        server.init(Some(json!({"ITEMS_TOKEN": "s3cret"}))).status,
        200
    );
    let list = run(
        &server,
        raw("get", "/items", "tag=fruit&limit=5", json!({}), ""),
    );
    assert_eq!(
        json_body(&list),
        json!([{"id": 1, "name": "apple", "tag": "fruit"}])
    );
    let activation = &list["headers"]["x-activation-id"];
    assert!(activation.is_string(), "{list}");
    let new_item = base64(br#"{"name":"cherry","tag":"fruit"}"#);
    let json_type = json!({"content-type": "application/json"});
    // The middleware: POST needs the token.
    let refused = run(
        &server,
        raw("post", "/items", "", json_type.clone(), &new_item),
    );
    assert_eq!(refused["statusCode"], 401, "{refused}");
    let mut auth = json_type.clone();
    auth["authorization"] = json!("Bearer s3cret");
    let created = run(&server, raw("post", "/items", "", auth, &new_item));
    assert_eq!(created["statusCode"], 201, "{created}");
    assert_eq!(created["headers"]["location"], "/items/3");
    assert_eq!(
        json_body(&run(&server, raw("get", "/items/3", "", json!({}), ""))),
        json!({"id": 3, "name": "cherry", "tag": "fruit"})
    );
    let missing = run(&server, raw("get", "/items/99", "", json!({}), ""));
    assert_eq!(missing["statusCode"], 404);
    assert_eq!(json_body(&missing), json!({"error": "no item 99"}));
    // The page reads a header and a cookie.
    let page = run(
        &server,
        raw(
            "get",
            "/",
            "",
            json!({"cookie": "theme=dark; name=Jane"}),
            "",
        ),
    );
    assert_eq!(page["headers"]["content-type"], "text/html; charset=utf-8");
    let html = page["body"].as_str().unwrap();
    assert!(
        html.contains("<h1>Hello, Jane!</h1><p>You use curl/8.5.0.</p>"),
        "{html}"
    );
    // The PNG, base64 for the controller to decode.
    let logo = run(&server, raw("get", "/logo.png", "", json!({}), ""));
    assert_eq!(logo["headers"]["content-type"], "image/png");
    let png = unbase64(logo["body"].as_str().unwrap());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(png.len(), 70);
    // Two cookies, an array; no body: no content type.
    let login = run(&server, raw("post", "/login", "name=Jane", json!({}), ""));
    assert_eq!(
        login,
        json!({
            "statusCode": 204,
            "headers": {
                "set-cookie": ["name=Jane; Path=/", "theme=dark; Path=/"],
                "x-activation-id": login["headers"]["x-activation-id"]
            }
        })
    );
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the array on success.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and are ours.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// The kit as the child of OpenWhisk's Go proxy (PROTOCOL.md §7): one
/// request line per activation on stdin, one result line on fd 3.
#[test]
fn the_same_app_in_actionloop_mode() {
    let (results_read, results_write) = pipe();
    let write_fd = results_write.as_raw_fd();
    let mut command = Command::new(example("axum_kit"));
    command
        .env_clear()
        .env("__OW_PROXY_VERSION", "1.17.1")
        .env("__OW_WAIT_FOR_ACK", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only dup2 between fork and exec (it clears O_CLOEXEC on 3).
    unsafe {
        command.pre_exec(move || {
            if libc::dup2(write_fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("start the kit");
    drop(results_write);
    let mut results = BufReader::new(std::fs::File::from(results_read));
    let mut stdin = child.stdin.take().unwrap();
    let mut line = String::new();
    results.read_line(&mut line).unwrap();
    assert_eq!(line, "{\"ok\":true}\n");
    let mut activate = |value: Value| -> Value {
        let request = json!({"value": value, "activation_id": "a1", "action_name": "/guest/kit"});
        writeln!(stdin, "{request}").unwrap();
        let mut line = String::new();
        results.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    };
    for hits in 1..=2 {
        assert_eq!(
            json_body(&activate(get("/count"))),
            json!({"inits": 1, "hits": hits})
        );
    }
    assert_eq!(
        json_body(&activate(get("/ctx"))),
        json!({"activation_id": "a1", "action_name": "/guest/kit", "user": null})
    );
    // A developer error is written as a JSON string, not an object, which
    // the Go proxy answers 502 (README, "What the platform sees").
    assert_eq!(
        activate(get("/panic")),
        json!("The action panicked: the handler exploded")
    );
    assert_eq!(
        activate(get("/cookies"))["headers"]["set-cookie"][1],
        "b=2; HttpOnly"
    );
    drop(stdin);
    assert!(wait_timeout(&mut child, std::time::Duration::from_secs(20)).success());
}

/// The kit as the dockerskeleton runs `/action/exec` (PROTOCOL.md §8): the
/// value in argv[1], the result on the last line of stdout.
#[test]
fn the_same_app_in_exec_mode() {
    let exec = |value: Value| -> Value {
        let output = Command::new(example("axum_kit"))
            .env_clear()
            .arg(value.to_string())
            .stdin(Stdio::null())
            .output()
            .expect("run the kit");
        let stdout = String::from_utf8(output.stdout).unwrap();
        let last = stdout.lines().last().unwrap_or_default().to_owned();
        serde_json::from_str(&last).unwrap_or_else(|e| panic!("{e}: {stdout:?}"))
    };
    assert_eq!(
        json_body(&exec(get("/items/veg/3"))),
        json!({"kind": "veg", "id": 3})
    );
    assert_eq!(
        exec(raw(
            "post",
            "/form",
            "",
            json!({"content-type": "application/x-www-form-urlencoded"}),
            "a=1"
        )),
        json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": base64(br#"{"a":"1"}"#)
        })
    );
    assert_eq!(
        exec(get("/nowhere")),
        json!({"statusCode": 404, "headers": {}})
    );
}
