//! OpenWhisk's standard runtime test kit (`BasicActionRunnerTests`), case by
//! case, against whisk binaries started as child processes on real sockets.
//! Where whisk's normative decisions (docs/PROTOCOL.md Part 1) differ from what the
//! kit expects of a code-loading runtime, the test says so.

use crate::common;

use common::*;
use serde_json::{Value, json};

const NOT_A_DICTIONARY: &str = "The action did not return a dictionary or array.";

fn kit(action: &str) -> Server {
    Server::start("kit", &[("KIT_ACTION", action)])
}

/// Kit: "handle initialization with no code" (`code: ""`). A whisk binary
/// embeds its action, so docs/PROTOCOL.md Part 1.1 answers 200 where a
/// code-loading runtime answers 403.
#[test]
fn init_with_no_code_succeeds_for_an_embedded_action() {
    let server = kit("echo");
    let r = server.post(
        "/init",
        r#"{"value":{"code":"","main":"","binary":false,"env":null}}"#,
    );
    r.assert_framing();
    assert_eq!((r.status, r.text()), (200, r#"{"ok":true}"#.to_owned()));
    let logs = server.stop();
    logs.assert_sentinels(0);
    assert_eq!((logs.stdout.as_str(), logs.stderr.as_str()), ("", ""));
}

/// Kit: "handle initialization with no content" (body `{}`), and the other
/// empty shapes of Part 1.1.
#[test]
fn init_with_no_content_succeeds() {
    for body in [
        "{}",
        "",
        r#"{"value":null}"#,
        r#"{"value":{}}"#,
        r#"{"value":{"code":null}}"#,
    ] {
        let server = kit("echo");
        let r = server.post("/init", body);
        r.assert_framing();
        assert_eq!(
            (r.status, r.text()),
            (200, r#"{"ok":true}"#.to_owned()),
            "body {body:?}"
        );
        // Code sent anyway is ignored: the embedded action still runs.
        let code = server.post("/init", r#"{"value":{"code":"print('hi')","main":"main"}}"#);
        assert_eq!(code.status, 403, "second init after {body:?}");
    }
}

/// Kit: "run and report an error for function not returning a json object",
/// with the kit's run body `{}` (no `value`).
#[test]
fn non_object_result_is_a_developer_error() {
    let server = kit("nonjson");
    assert_eq!(server.init(None).status, 200);
    let r = server.post("/run", "{}");
    r.assert_framing();
    assert_eq!(r.status, 502);
    assert_eq!(r.json(), json!({ "error": NOT_A_DICTIONARY }));
    let logs = server.stop();
    logs.assert_sentinels(1);
    assert_eq!(without_sentinels(&logs.stdout), "");
    assert_eq!(without_sentinels(&logs.stderr), "");
}

/// Kit: "fail to initialize a second time".
#[test]
fn second_init_is_refused_and_logged_without_sentinels() {
    let server = kit("echo");
    assert_eq!(server.init(None).status, 200);
    let r = server.init(None);
    r.assert_framing();
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        r#"{"error":"Cannot initialize the action more than once."}"#
    );
    let logs = server.stop();
    logs.assert_sentinels(0);
    assert_eq!(logs.stdout, "");
    assert_eq!(
        logs.stderr,
        "Cannot initialize the action more than once.\n"
    );
}

/// Kit: "invoke non-standard entry point": `main` names another function,
/// which an embedded action ignores; the action still answers.
#[test]
fn other_entry_point_name_is_ignored() {
    let server = kit("plain");
    let init = server.post(
        "/init",
        r#"{"value":{"code":"fn niam() {}","main":"niam","binary":false,"env":null}}"#,
    );
    assert_eq!(init.status, 200);
    let r = server.run(json!({"string": "hello"}));
    r.assert_framing();
    assert_eq!((r.status, r.json()), (200, json!({"string": "hello"})));
    let logs = server.stop();
    logs.assert_sentinels(1);
    assert_eq!(without_sentinels(&logs.stdout), "");
    assert_eq!(without_sentinels(&logs.stderr), "");
}

/// Kit: "echo arguments and print message to stdout/stderr".
#[test]
fn echo_with_logs_on_both_streams() {
    let server = kit("echo");
    assert_eq!(server.init(None).status, 200);
    let args = [
        json!({"string": "hello"}),
        json!({"string": "❄ ☃ ❄"}),
        json!({"numbers": [42, 1]}),
        json!({"object": {"a": "A"}}),
    ];
    for arg in &args {
        let r = server.run(arg.clone());
        r.assert_framing();
        assert_eq!((r.status, &r.json()), (200, arg));
    }
    let logs = server.stop();
    logs.assert_sentinels(4);
    // Each activation's log line comes before its own sentinel.
    let expected_out = format!("hello stdout\n{SENTINEL}\n").repeat(4);
    let expected_err = format!("hello stderr\n{SENTINEL}\n").repeat(4);
    assert_eq!((logs.stdout, logs.stderr), (expected_out, expected_err));
}

/// Kit: "handle unicode in source, input params, logs, and result".
#[test]
fn unicode_in_params_logs_and_result() {
    let server = kit("unicode");
    assert_eq!(server.init(None).status, 200);
    let r = server.run(json!({"delimiter": "❄"}));
    r.assert_framing();
    assert_eq!((r.status, r.json()), (200, json!({"winter": "❄ ☃ ❄"})));
    let logs = server.stop();
    logs.assert_sentinels(1);
    assert_eq!(without_sentinels(&logs.stdout), "❄ ☃ ❄");
}

/// Kit: "export environment variables before initialization": init `env`
/// reaches the action, and `""` is kept, not dropped.
#[test]
fn init_env_is_set_before_the_first_run() {
    let server = kit("env");
    let init = server.init(Some(json!({"SOME_VAR": "xyz", "ANOTHER_VAR": ""})));
    assert_eq!(init.status, 200);
    let r = server.run(json!({}));
    r.assert_framing();
    assert_eq!(
        (r.status, r.json()),
        (200, json!({"SOME_VAR": "xyz", "ANOTHER_VAR": ""}))
    );
    let logs = server.stop();
    logs.assert_sentinels(1);
    assert_eq!(
        (
            without_sentinels(&logs.stdout),
            without_sentinels(&logs.stderr)
        ),
        (String::new(), String::new())
    );
}

/// Action code may set or remove an `__OW_*` variable itself; the next
/// activation still sees its own metadata, changed or not.
#[test]
fn ow_variables_are_exported_again_after_the_action_changed_them() {
    let server = Server::start("kit", &[("KIT_ACTION", "owenv")]);
    assert_eq!(server.init(None).status, 200);
    let run = |value: Value, id: &str| {
        let body =
            json!({"value": value, "activation_id": id, "namespace": "zzz", "deadline": "123"});
        let r = server.post("/run", body.to_string());
        assert_eq!(r.status, 200);
        let seen = r.json();
        (
            seen["activation_id"].clone(),
            seen["namespace"].clone(),
            seen["deadline"].clone(),
        )
    };
    let set = json!({"set": {"__OW_ACTIVATION_ID": "mine", "__OW_NAMESPACE": null, "__OW_DEADLINE": "0"}});
    assert_eq!(
        run(set.clone(), "iii"),
        (json!("iii"), json!("zzz"), json!("123"))
    );
    // A new id that would fit in place, and two values that did not change.
    assert_eq!(run(set, "jjj"), (json!("jjj"), json!("zzz"), json!("123")));
    assert_eq!(
        run(json!({}), "kkk"),
        (json!("kkk"), json!("zzz"), json!("123"))
    );
}

/// An action without a `Context` still gets the `__OW_*` variables (the
/// runtime reads the metadata for them, not only for a `Context`); under
/// concurrency there are none to get (no single activation's metadata can
/// be the process's environment).
#[test]
fn ow_variables_reach_an_action_that_takes_no_context() {
    let body = |id: &str| {
        json!({"value": {"env": "__OW_ACTIVATION_ID"}, "activation_id": id, "namespace": "zzz"})
            .to_string()
    };
    let server = Server::start("inline", &[]);
    for id in ["iii", "jjj"] {
        let r = server.post("/run", body(id));
        assert_eq!((r.status, r.json()), (200, json!({"env": id})));
    }
    server.stop().assert_sentinels(2);
    let server = Server::start("inline", &[("__OW_ALLOW_CONCURRENT", "true")]);
    let r = server.post("/run", body("iii"));
    assert_eq!((r.status, r.json()), (200, json!({"env": null})));
    server.stop().assert_sentinels(1);
}

/// Kit: "confirm expected environment variables": `__OW_API_HOST` from the
/// container, the rest from the `/run` body's top-level keys.
#[test]
fn ow_environment_variables_from_run_metadata() {
    let server = Server::start("kit", &[("KIT_ACTION", "owenv"), ("__OW_API_HOST", "xyz")]);
    assert_eq!(server.init(None).status, 200);
    let body = r#"{"value":{},"api_key":"abc","namespace":"zzz","action_name":"xxx","action_version":"0.0.1","activation_id":"iii","deadline":"123"}"#;
    let r = server.post("/run", body);
    r.assert_framing();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"api_host": "xyz", "api_key": "abc", "namespace": "zzz", "action_name": "xxx",
               "action_version": "0.0.1", "activation_id": "iii", "transaction_id": null, "deadline": "123"})
    );
    // The next activation's metadata replaces it; keys it lacks are removed.
    let r = server.post(
        "/run",
        r#"{"value":{},"activation_id":"jjj","deadline":456}"#,
    );
    assert_eq!(
        r.json(),
        json!({"api_host": "xyz", "api_key": null, "namespace": null, "action_name": null,
               "action_version": null, "activation_id": "jjj", "transaction_id": null, "deadline": "456"})
    );
    // Unchanged, changed and re-added keys; a value no variable can hold
    // (a NUL) removes the variable rather than leave the last one.
    let r = server.post(
        "/run",
        r#"{"value":{},"activation_id":"jjj","deadline":789,"namespace":"yyy"}"#,
    );
    assert_eq!(
        r.json(),
        json!({"api_host": "xyz", "api_key": null, "namespace": "yyy", "action_name": null,
               "action_version": null, "activation_id": "jjj", "transaction_id": null, "deadline": "789"})
    );
    let r = server.post(
        "/run",
        r#"{"value":{},"activation_id":"jjj","deadline":789,"namespace":"a\u0000b"}"#,
    );
    assert_eq!(
        r.json(),
        json!({"api_host": "xyz", "api_key": null, "namespace": null, "action_name": null,
               "action_version": null, "activation_id": "jjj", "transaction_id": null, "deadline": "789"})
    );
    // Keys in another order, a new one with a NUL, an escaped one without.
    let r = server.post(
        "/run",
        r#"{"action_name":"a\u0000b","value":{},"deadline":1,"activation_id":"k\"k","namespace":"\u00e9"}"#,
    );
    assert_eq!(
        r.json(),
        json!({"api_host": "xyz", "api_key": null, "namespace": "é", "action_name": null,
               "action_version": null, "activation_id": "k\"k", "transaction_id": null, "deadline": "1"})
    );
    // And back: the variable removed for its NUL comes back.
    let r = server.post(
        "/run",
        r#"{"action_name":"xxx","value":{},"deadline":1,"activation_id":"lll","namespace":"zzz"}"#,
    );
    assert_eq!(
        r.json(),
        json!({"api_host": "xyz", "api_key": null, "namespace": "zzz", "action_name": "xxx",
               "action_version": null, "activation_id": "lll", "transaction_id": null, "deadline": "1"})
    );
    let logs = server.stop();
    logs.assert_sentinels(6);
    assert_eq!(
        (
            without_sentinels(&logs.stdout),
            without_sentinels(&logs.stderr)
        ),
        (String::new(), String::new())
    );
}

/// Kit: "echo a large input": 1,048,561 `a`s, echoed compactly so the result
/// stays under the invoker's 1 MiB response limit.
#[test]
fn large_input_is_echoed_compactly() {
    let server = kit("plain");
    assert_eq!(server.init(None).status, 200);
    let arg = json!({"arg": "a".repeat(1_048_561)});
    let r = server.run(arg.clone());
    r.assert_framing();
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 1_048_571);
    assert_eq!(r.json(), arg);
    server.stop().assert_sentinels(1);
}

/// The kit's run payloads may put `value` anywhere among the keys.
#[test]
fn value_may_come_after_the_metadata() {
    let server = kit("plain");
    let r = server.post(
        "/run",
        r#"{"activation_id":"a","value":{"x":1},"namespace":"n"}"#,
    );
    assert_eq!((r.status, r.json()), (200, json!({"x": 1})));
}

/// The `__OW_*` export against a model, over many activations: keys in
/// random order and random subsets (the fast path matches keys by position
/// only while they come in the same order), values of random length, some
/// numbers, some with a NUL (no variable), and action code that changes
/// variables in between. Each activation must see exactly its own metadata.
#[test]
fn ow_variables_match_each_activation_in_any_order() {
    const KEYS: [&str; 7] = [
        "api_key",
        "namespace",
        "action_name",
        "action_version",
        "activation_id",
        "transaction_id",
        "deadline",
    ];
    // A fixed-seed generator (xorshift), so a failure repeats.
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let server = Server::start("kit", &[("KIT_ACTION", "owenv")]);
    assert_eq!(server.init(None).status, 200);
    let mut order: Vec<&str> = KEYS.to_vec();
    for i in 0..400 {
        // Mostly the invoker's way (same keys, same order), sometimes not.
        if next(4) == 0 {
            for k in (1..order.len()).rev() {
                order.swap(k, next(k as u64 + 1) as usize);
            }
        }
        // Written by hand: a `serde_json::Map` would sort the keys.
        let mut fields = Vec::new();
        let mut expected = serde_json::Map::new();
        let mut set = serde_json::Map::new();
        for key in &order {
            if next(8) == 0 {
                continue; // This activation lacks the key.
            }
            // Often the same as last time (as most keys are, from the
            // invoker), sometimes new, of any length.
            let text = match next(4) {
                0 => String::new(),
                1 => "same".to_owned(),
                2 => "the same, but longer than the first buffer was".to_owned(),
                _ => (0..next(40))
                    .map(|j| char::from(b'a' + ((i + j) % 26) as u8))
                    .collect(),
            };
            let (value, seen) = match next(10) {
                0 => (json!(i), json!(i.to_string())),
                1 => (json!(format!("{text}\u{0}x")), Value::Null),
                _ => (json!(text), json!(text)),
            };
            // Action code sometimes overwrites or removes a variable that
            // this activation exported.
            if seen.is_string() && next(6) == 0 {
                let name = format!("__OW_{}", key.to_uppercase());
                let replacement = if next(2) == 0 {
                    json!("changed by the action")
                } else {
                    Value::Null
                };
                set.insert(name, replacement);
            }
            fields.push(format!("{}:{value}", json!(key)));
            expected.insert((*key).into(), seen);
        }
        fields.push(format!("\"value\":{}", json!({ "set": set })));
        let body = format!("{{{}}}", fields.join(","));
        let r = server.post("/run", body);
        assert_eq!(r.status, 200, "activation {i}");
        let seen = r.json();
        for key in KEYS {
            let want = expected.get(key).cloned().unwrap_or(Value::Null);
            assert_eq!(seen[key], want, "activation {i}, {key}");
        }
    }
}
