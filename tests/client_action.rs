//! An action binary that uses `whisk::client` from inside an activation: the
//! fanout example, started in HTTP mode as OpenWhisk starts a container
//! (`__OW_API_HOST` in its environment), given its api key, namespace and
//! transaction id in `/run`, invoking a controller double on loopback
//! (whisk-client/tests/double, which follows OpenWhisk's published API; no
//! real controller can run here).

// The integration tests' support (tests/it/), shared with this binary.
#[path = "it/common.rs"]
mod common;
#[path = "../whisk-client/tests/double/mod.rs"]
mod double;

use common::Server;
use double::{Double, KEY};
use serde_json::{Value, json};

fn run_body(value: Value, api_key: Option<&str>, api_host: Option<&str>) -> String {
    let mut body = json!({
        "value": value,
        "namespace": "guest",
        "action_name": "/guest/fanout",
        "activation_id": "0123456789abcdef0123456789abcdef",
        "transaction_id": "tid-of-the-fanout",
        "deadline": "99999999999999",
    });
    if let Some(key) = api_key {
        body["api_key"] = json!(key);
    }
    if let Some(host) = api_host {
        body["api_host"] = json!(host);
    }
    body.to_string()
}

#[test]
fn fanout_invokes_per_item_with_the_activations_key_and_keeps_the_order() {
    let double = Double::start();
    let server = Server::start("fanout", &[("__OW_API_HOST", &double.url)]);
    assert_eq!(server.init(None).status, 200);
    let items = json!([
        {"ms": 300, "n": 1},
        {"ms": 10, "n": 2},
        {"ms": 150, "fail": true},
        {"ms": 200, "n": 4}
    ]);
    let response = server.post(
        "/run",
        run_body(
            json!({"action": "pkg/sleep", "items": items}),
            Some(KEY),
            None,
        ),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json(),
        json!({"results": [
            {"action": "/guest/pkg/sleep", "params": {"item": {"ms": 300, "n": 1}}},
            {"action": "/guest/pkg/sleep", "params": {"item": {"ms": 10, "n": 2}}},
            {"error": {"item": {"ms": 150, "fail": true}}},
            {"action": "/guest/pkg/sleep", "params": {"item": {"ms": 200, "n": 4}}}
        ]})
    );
    let requests = double.requests();
    assert_eq!(requests.len(), 4);
    let auth = format!("Basic {}", double::base64(KEY.as_bytes()));
    let mut items_seen = Vec::new();
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api/v1/namespaces/guest/actions/pkg/sleep");
        assert_eq!(r.query, "blocking=true&result=true");
        assert_eq!(r.header("authorization"), Some(auth.as_str()));
        assert_eq!(r.header("x-request-id"), Some("tid-of-the-fanout"));
        items_seen.push(r.json()["item"].clone());
    }
    items_seen.sort_by_key(|v| v.to_string());
    let mut sent: Vec<Value> = items.as_array().unwrap().clone();
    sent.sort_by_key(|v| v.to_string());
    assert_eq!(items_seen, sent);
    // Concurrent: the 300 ms invoke was still being answered when others came.
    assert!(double.max_in_flight() >= 2, "{}", double.max_in_flight());
    let logs = server.stop();
    assert!(!logs.stdout.contains("s3cr3t") && !logs.stderr.contains("s3cr3t"));
}

#[test]
fn fanout_takes_the_api_host_from_the_run_body_where_a_platform_sends_it() {
    let double = Double::start();
    let server = Server::start("fanout", &[]);
    assert_eq!(server.init(None).status, 200);
    let response = server.post(
        "/run",
        run_body(
            json!({"action": "/other/echo", "items": ["a"]}),
            Some(KEY),
            Some(&double.url),
        ),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json(),
        json!({"results": [{"action": "/other/echo", "params": {"item": "a"}}]})
    );
    assert_eq!(
        double.requests()[0].path,
        "/api/v1/namespaces/other/actions/echo"
    );
}

#[test]
fn fanout_without_a_key_answers_an_error_naming_provide_api_key() {
    let double = Double::start();
    let server = Server::start("fanout", &[("__OW_API_HOST", &double.url)]);
    assert_eq!(server.init(None).status, 200);
    let response = server.post(
        "/run",
        run_body(json!({"action": "echo", "items": [1]}), None, None),
    );
    // An application error: 200 with `{"error": ...}`, as the runtime answers
    // every `Err` of an action.
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json(),
        json!({"error": "OpenWhisk client configuration: no api key: OpenWhisk passes one to an action only when its `provide-api-key` annotation is true (`wsk action update NAME --annotation provide-api-key true`); outside an action set __OW_API_KEY or Config::api_key"})
    );
    assert!(double.requests().is_empty());
}

#[test]
fn fanout_in_exec_mode_reads_the_dockerskeletons_ow_variables() {
    // The dockerskeleton runs `/action/exec` with the value in argv[1] and
    // the activation's metadata as `__OW_*` variables.
    let double = Double::start();
    let output = std::process::Command::new(common::example("fanout"))
        .arg(json!({"action": "pkg/echo", "items": [true]}).to_string())
        .env("__OW_API_HOST", &double.url)
        .env("__OW_API_KEY", KEY)
        .env("__OW_NAMESPACE", "ns of env")
        .env("__OW_TRANSACTION_ID", "tid-env")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(last).unwrap(),
        json!({"results": [{"action": "/ns of env/pkg/echo", "params": {"item": true}}]})
    );
    let r = &double.requests()[0];
    assert_eq!(r.path, "/api/v1/namespaces/ns%20of%20env/actions/pkg/echo");
    assert_eq!(r.header("x-request-id"), Some("tid-env"));
}
