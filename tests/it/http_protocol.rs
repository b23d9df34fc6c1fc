//! The HTTP transport beyond the kit: docs/PROTOCOL.md Part 1, item by item.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;

fn tricks() -> Server {
    Server::start("kit", &[("KIT_ACTION", "tricks")])
}

#[test]
fn nothing_is_printed_at_start_up_or_on_init() {
    let server = tricks();
    assert_eq!(server.init(Some(json!({"A": "b"}))).status, 200);
    let logs = server.stop();
    assert_eq!((logs.stdout.as_str(), logs.stderr.as_str()), ("", ""));
    assert!(logs.status.success(), "SIGTERM exits 0: {:?}", logs.status);
}

#[test]
fn run_before_init_is_allowed() {
    let server = Server::start("reverse", &[]);
    let r = server.run(json!({"payload": "hello"}));
    r.assert_framing();
    assert_eq!(
        (r.status, r.text()),
        (200, r#"{"reversed":"olleh"}"#.to_owned())
    );
}

#[test]
fn reverse_works_by_unicode_scalar_values() {
    let server = Server::start("reverse", &[]);
    let r = server.run(json!({"payload": "añb❄"}));
    assert_eq!(r.json(), json!({"reversed": "❄bña"}));
}

#[test]
fn arrays_in_and_out() {
    let server = tricks();
    let r = server.run(json!([1, {"a": 2}, "three"]));
    r.assert_framing();
    assert_eq!(
        (r.status, r.text()),
        (200, r#"[1,{"a":2},"three"]"#.to_owned())
    );
    let r = server.run(json!({"do": "array"}));
    assert_eq!((r.status, r.json()), (200, json!([1, "two", {"three": 3}])));
    server.stop().assert_sentinels(2);
}

#[test]
fn null_result_is_a_developer_error() {
    let server = tricks();
    let r = server.run(json!({"do": "null"}));
    r.assert_framing();
    assert_eq!(
        (r.status, r.text()),
        (
            502,
            r#"{"error":"The action did not return a dictionary or array."}"#.to_owned()
        )
    );
}

#[test]
fn application_errors_are_200_with_error() {
    let server = tricks();
    let r = server.run(json!({"do": "error"}));
    r.assert_framing();
    assert_eq!(
        (r.status, r.text()),
        (200, r#"{"error":"plain failure"}"#.to_owned())
    );
    let r = server.run(json!({"do": "structured"}));
    r.assert_framing();
    assert_eq!(
        (r.status, r.json()),
        (
            200,
            json!({"error": {"statusCode": 400, "body": "bad input"}})
        )
    );
    server.stop().assert_sentinels(2);
}

#[test]
fn bad_params_name_the_field_and_the_action_is_not_called() {
    let server = Server::start("reverse", &[]);
    let r = server.run(json!({"payload": 5}));
    r.assert_framing();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"error": "Invalid parameter `payload`: invalid type: integer `5`, expected a string. The action was not called."})
    );
    let r = server.run(json!({"other": "x"}));
    assert_eq!(
        r.json(),
        json!({"error": "Invalid parameters: missing field `payload`. The action was not called."})
    );
    // serde would fill a struct from an array, field by field: refused.
    let r = server.run(json!([5]));
    assert_eq!(
        r.json(),
        json!({"error": "Invalid parameters: expected an object with the fields of `Params` (`payload`), not an array. The action was not called."})
    );
    server.stop().assert_sentinels(3);
}

#[test]
fn a_panic_is_a_502_and_the_server_lives_on() {
    let server = tricks();
    let r = server.run(json!({"do": "panic", "n": 7}));
    r.assert_framing();
    assert_eq!(
        (r.status, r.json()),
        (502, json!({"error": "The action panicked: boom 7"}))
    );
    let r = server.run(json!({"do": "panic_any"}));
    assert_eq!(
        (r.status, r.json()),
        (
            502,
            json!({"error": "The action panicked: a panic without a message"})
        )
    );
    let r = server.run(json!({"still": "alive"}));
    assert_eq!((r.status, r.json()), (200, json!({"still": "alive"})));
    let logs = server.stop();
    logs.assert_sentinels(3);
    assert!(
        logs.stderr.contains("boom 7"),
        "the panic message is logged: {}",
        logs.stderr
    );
}

#[test]
fn a_partial_line_is_finished_before_the_sentinel() {
    let server = tricks();
    let r = server.run(json!({"do": "partial"}));
    assert_eq!(r.status, 200);
    let logs = server.stop();
    logs.assert_sentinels(1);
    assert_eq!(logs.stdout, format!("partial out\n{SENTINEL}\n"));
    assert_eq!(logs.stderr, format!("partial err\n{SENTINEL}\n"));
}

/// An action that calls `exit`: the lines it printed just before are not
/// lost in the runtime's log pipes (the `atexit` handler forwards them).
#[test]
fn what_an_action_prints_before_it_exits_is_not_lost() {
    let server = tricks();
    let body = json!({"value": {"do": "exit"}}).to_string();
    let answer = raw_exchange(server.port, &run_request("", body.as_bytes()), false);
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    // The connection closed as the process exited: the SIGTERM of `stop`
    // comes too late to change its status.
    let logs = server.stop();
    assert_eq!(logs.status.code(), Some(3));
    assert_eq!(logs.stdout, "last words\n");
    assert_eq!(logs.stderr, "last error\n");
}

/// Output of a long activation reaches the real stdout while it runs (the
/// pump forwards it 10 ms after it comes), not only when it ends.
#[test]
fn a_long_activation_logs_while_it_runs() {
    let server = tricks();
    let slow = server.run_in_background(json!({"do": "sleep", "ms": 1500}));
    let started = std::time::Instant::now();
    while !server.stdout.text().contains("sleeping 1500 ms") {
        assert!(
            started.elapsed() < Duration::from_millis(1000),
            "not forwarded while the activation runs"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(server.stdout.text(), "sleeping 1500 ms\n");
    let r = slow.join().unwrap();
    assert_eq!((r.status, r.json()), (200, json!({"slept": 1500})));
    let logs = server.stop();
    assert_eq!(logs.stdout, format!("sleeping 1500 ms\n{SENTINEL}\n"));
}

#[test]
fn context_carries_metadata_deadline_as_string_or_number_and_unknown_keys() {
    let server = Server::start(
        "kit",
        &[("KIT_ACTION", "context"), ("__OW_API_HOST", "https://host")],
    );
    let body = json!({
        "value": {}, "activation_id": "a1", "action_name": "/ns/pkg/act", "action_version": "0.0.2",
        "namespace": "ns", "transaction_id": "tx", "api_key": "k:s", "deadline": "1712345678901",
        "future_key": {"nested": [1]}
    });
    let r = server.post("/run", body.to_string());
    r.assert_framing();
    let got = r.json();
    assert_eq!(got["activation_id"], "a1");
    assert_eq!(got["action_name"], "/ns/pkg/act");
    assert_eq!(got["action_version"], "0.0.2");
    assert_eq!(got["namespace"], "ns");
    assert_eq!(got["transaction_id"], "tx");
    assert_eq!(got["api_key"], "k:s");
    assert_eq!(got["api_host"], "https://host");
    assert_eq!(got["deadline_ms"], 1712345678901_u64);
    assert_eq!(got["has_remaining_time"], true);
    assert_eq!(got["metadata"]["future_key"], json!({"nested": [1]}));
    let r = server.post("/run", r#"{"value":{},"deadline":1712345678902}"#);
    assert_eq!(r.json()["deadline_ms"], 1712345678902_u64);
    let r = server.post("/run", r#"{"value":{}}"#);
    assert_eq!(
        (
            r.json()["deadline_ms"].clone(),
            r.json()["has_remaining_time"].clone()
        ),
        (json!(null), json!(false))
    );
}

#[test]
fn errors_of_the_transport_are_json_with_content_length() {
    let server = Server::start(
        "reverse",
        &[
            ("WHISK_RUN_MAX_BYTES", "1000"),
            ("WHISK_INIT_MAX_BYTES", "2000"),
        ],
    );
    let cases = [
        (
            "POST",
            "/run",
            "{\"value\":".to_owned(),
            400,
            "The request body is not a valid activation: EOF while parsing a value at line 1 column 9.",
        ),
        (
            "POST",
            "/run",
            "[1,2]".to_owned(),
            400,
            "The request body is not a valid activation: invalid type: sequence, expected a JSON object such as {\"value\":{...}} at line 1 column 1.",
        ),
        (
            "POST",
            "/run",
            r#"{"value":"text"}"#.to_owned(),
            400,
            "The action did not receive a dictionary or array as an argument.",
        ),
        (
            "POST",
            "/run",
            format!("{{\"value\":{{\"payload\":\"{}\"}}}}", "x".repeat(1000)),
            413,
            "The request body is larger than the limit of 1000 bytes.",
        ),
        (
            "POST",
            "/init",
            "x".repeat(2001),
            413,
            "The request body is larger than the limit of 2000 bytes.",
        ),
        (
            "POST",
            "/init",
            r#"{"value":5}"#.to_owned(),
            400,
            "The /init body is not valid: `value` is a number, expected an object with the action's name, main, code and env.",
        ),
        (
            "GET",
            "/run",
            String::new(),
            405,
            "Only POST is allowed on /init and /run.",
        ),
        (
            "PUT",
            "/init",
            String::new(),
            405,
            "Only POST is allowed on /init and /run.",
        ),
        (
            "POST",
            "/",
            String::new(),
            404,
            "There is no / here: an action serves POST /init and POST /run.",
        ),
        (
            "GET",
            "/health",
            String::new(),
            404,
            "There is no /health here: an action serves POST /init and POST /run.",
        ),
    ];
    for (method, path, body, status, message) in cases {
        let r = server.request(method, path, body.as_bytes());
        r.assert_framing();
        assert_eq!(
            (r.status, r.json()),
            (status, json!({ "error": message })),
            "{method} {path}"
        );
        // RFC 9110 15.5.6: a 405 names the methods the resource allows.
        let allow = (status == 405).then_some("POST");
        assert_eq!(r.header("allow"), allow, "{method} {path}");
    }
    let r = server.run(json!({"payload": "still serving"}));
    assert_eq!(r.status, 200);
}

#[test]
fn init_accepts_48_mib_of_code() {
    let server = tricks();
    let code = "A".repeat(48 << 20);
    let body = json!({"value": {"name": "big", "main": "main", "binary": true, "code": code, "env": {"K": "v"}}});
    let r = server.post("/init", body.to_string());
    assert_eq!((r.status, r.text()), (200, r#"{"ok":true}"#.to_owned()));
}

#[test]
fn overlapping_runs_are_refused_without_concurrency() {
    let server = tricks();
    let slow = server.run_in_background(json!({"do":"sleep","ms":800}));
    std::thread::sleep(Duration::from_millis(300));
    let refused = server.run(json!({"do": "sleep", "ms": 1}));
    refused.assert_framing();
    assert_eq!(
        (refused.status, refused.json()),
        (
            403,
            json!({"error": "System not ready, status is running."})
        )
    );
    let done = slow.join().unwrap();
    assert_eq!((done.status, done.json()), (200, json!({"slept": 800})));
    let logs = server.stop();
    logs.assert_sentinels(1);
    assert_eq!(without_sentinels(&logs.stdout), "sleeping 800 ms");
    assert_eq!(
        without_sentinels(&logs.stderr),
        "Internal system error: System not ready, status is running."
    );
}

/// An async action that waits holds the activation slot until it is done,
/// in the task it moves to: overlapping runs are refused meanwhile, and
/// the next one after it is served.
#[test]
fn an_async_activation_holds_the_slot_until_it_ends() {
    let server = Server::start("deadline", &[]);
    let slow = server.run_in_background(json!({"work_ms": 800}));
    std::thread::sleep(Duration::from_millis(300));
    let refused = server.run(json!({"work_ms": 1}));
    assert_eq!(
        (refused.status, refused.json()),
        (
            403,
            json!({"error": "System not ready, status is running."})
        )
    );
    let done = slow.join().unwrap();
    assert_eq!(
        (done.status, done.json()["worked_ms"].clone()),
        (200, json!(800))
    );
    let next = server.run(json!({"work_ms": 1}));
    assert_eq!(
        (next.status, next.json()["worked_ms"].clone()),
        (200, json!(1))
    );
}

#[test]
fn overlapping_runs_proceed_with_concurrency() {
    let server = Server::start(
        "kit",
        &[("KIT_ACTION", "tricks"), ("__OW_ALLOW_CONCURRENT", "True")],
    );
    let n = 16;
    let started = std::time::Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|i| server.run_in_background(json!({"do": "sleep", "ms": 600, "i": i})))
        .collect();
    for handle in handles {
        let r = handle.join().unwrap();
        assert_eq!((r.status, r.json()), (200, json!({"slept": 600})));
    }
    // Sixteen 600 ms activations in far less than 16 x 600 ms: they overlapped.
    assert!(
        started.elapsed() < Duration::from_millis(600 * 4),
        "{:?}",
        started.elapsed()
    );
    let logs = server.stop();
    logs.assert_sentinels(n);
    // As the kit's concurrent check: all sentinel lines together.
    assert!(
        logs.stdout.contains(&format!("{SENTINEL}\n").repeat(n)),
        "{}",
        logs.stdout
    );
    assert!(
        logs.stderr.contains(&format!("{SENTINEL}\n").repeat(n)),
        "{}",
        logs.stderr
    );
}

#[test]
fn sync_actions_run_on_the_servers_thread_unless_runs_may_overlap() {
    // Concurrency off (the default): in place, on the server's thread.
    let server = tricks();
    let r = server.run(json!({"do": "thread"}));
    assert_eq!((r.status, r.json()), (200, json!({"thread": "main"})));
    server.stop().assert_sentinels(1);
    // Concurrency on: on the blocking pool, so a slow one cannot stall the
    // server.
    let server = Server::start(
        "kit",
        &[("KIT_ACTION", "tricks"), ("__OW_ALLOW_CONCURRENT", "true")],
    );
    let r = server.run(json!({"do": "thread"}));
    assert_eq!(r.status, 200);
    assert_ne!(r.json()["thread"], json!("main"), "{}", r.text());
    server.stop().assert_sentinels(1);
}

#[test]
fn an_inline_action_runs_on_the_servers_thread_under_concurrency() {
    let server = Server::start("inline", &[("__OW_ALLOW_CONCURRENT", "true")]);
    // Overlapping activations all succeed, each on the server's thread (so
    // one after another), each with its log line and its sentinels.
    let n = 8;
    let handles: Vec<_> = (0..n)
        .map(|i| server.run_in_background(json!({"i": i, "sleep_ms": 20})))
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        let r = handle.join().unwrap();
        r.assert_framing();
        assert_eq!(
            (r.status, r.json()),
            (200, json!({"thread": "main", "i": i}))
        );
    }
    let logs = server.stop();
    logs.assert_sentinels(n);
    // One after another: each log line is followed by its own sentinel.
    let lines: Vec<&str> = logs.stdout.lines().collect();
    let mut seen: Vec<String> = lines
        .chunks(2)
        .map(|pair| {
            assert_eq!(pair.get(1), Some(&SENTINEL), "{}", logs.stdout);
            pair[0].to_owned()
        })
        .collect();
    seen.sort();
    let expected: Vec<_> = (0..n).map(|i| format!("inline {i}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(without_sentinels(&logs.stderr), "");
}

#[test]
fn sigterm_lets_the_running_activation_finish() {
    let server = tricks();
    let slow = server.run_in_background(json!({"do":"sleep","ms":700}));
    std::thread::sleep(Duration::from_millis(250));
    let logs = server.stop();
    let r = slow.join().unwrap();
    assert_eq!((r.status, r.json()), (200, json!({"slept": 700})));
    assert!(logs.status.success(), "{:?}", logs.status);
    logs.assert_sentinels(1);
}

#[test]
fn megabytes_of_logs_arrive_in_full_before_the_sentinel() {
    let server = tricks();
    let r = server.run(json!({"do": "logs", "lines": 50_000}));
    assert_eq!((r.status, r.json()), (200, json!({"lines": 50_000})));
    let logs = server.stop();
    logs.assert_sentinels(1);
    let lines: Vec<&str> = logs.stdout.lines().collect();
    assert_eq!(lines.len(), 50_001);
    assert_eq!(lines[49_999], format!("log line 49999 {}", "x".repeat(100)));
    assert_eq!(lines[50_000], SENTINEL);
}

#[test]
fn keep_alive_connections_are_served() {
    use std::io::{BufReader, Write};
    let server = Server::start("reverse", &[]);
    let stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    for word in ["abc", "hello"] {
        let body = format!(r#"{{"value":{{"payload":"{word}"}}}}"#);
        writer.write_all(&run_request("", body.as_bytes())).unwrap();
        let reversed: String = word.chars().rev().collect();
        let response = read_response(&mut reader);
        assert_eq!(
            (response.status, response.text()),
            (200, format!(r#"{{"reversed":"{reversed}"}}"#))
        );
    }
}

/// The invoker's way: a new connection per activation, which the client
/// closes once it has read the answer. The server closes its end each
/// time (the client reads the end of the stream, not a timeout), and keeps
/// no descriptor: after 200 such activations it has as many open as after
/// one. A `Connection: close` request is answered, then closed.
#[test]
fn each_connection_is_closed_and_leaves_no_descriptor() {
    use std::io::{BufReader, Read, Write};
    let server = Server::start("reverse", &[]);
    let activate = |close: &str| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let body = r#"{"value":{"payload":"abc"}}"#;
        stream
            .write_all(&run_request(close, body.as_bytes()))
            .unwrap();
        let mut reader = BufReader::new(&stream);
        let response = read_response(&mut reader);
        response.assert_framing();
        assert_eq!(
            (response.status, response.text()),
            (200, r#"{"reversed":"cba"}"#.to_owned())
        );
        if close.is_empty() {
            // Done with it, as the invoker is.
            stream.shutdown(std::net::Shutdown::Write).unwrap();
        }
        let mut rest = Vec::new();
        reader
            .read_to_end(&mut rest)
            .expect("the server closes the connection");
        assert_eq!(rest, b"");
    };
    let open = || {
        std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
            .unwrap()
            .count()
    };
    activate("Connection: close\r\n");
    activate("");
    let before = open();
    for _ in 0..200 {
        activate("");
    }
    assert_eq!(open(), before);
}

/// An idle keep-alive connection does not hold up a stop: it is closed at
/// once, not after the 10 s drain limit or the 30 s read timeout.
#[test]
fn sigterm_closes_idle_keep_alive_connections_at_once() {
    use std::io::{Read, Write};
    let server = Server::start("reverse", &[]);
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let body = r#"{"value":{"payload":"abc"}}"#;
    idle.write_all(&run_request("", body.as_bytes())).unwrap();
    let mut answer = [0u8; 512];
    let n = idle.read(&mut answer).unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200 OK"));
    let started = std::time::Instant::now();
    let logs = server.stop();
    assert!(logs.status.success(), "{:?}", logs.status);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped after {:?}",
        started.elapsed()
    );
    // The server closed it: end of stream, nothing more.
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(idle.read(&mut answer).unwrap(), 0);
}

#[test]
fn while_draining_new_connections_are_refused() {
    let server = Server::start("deadline", &[]);
    let slow = server.run_in_background(json!({"work_ms": 800}));
    std::thread::sleep(Duration::from_millis(250));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(server.pid() as i32, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(200));
    let refused = std::net::TcpStream::connect(("127.0.0.1", server.port));
    assert!(
        refused.is_err(),
        "a new connection during the drain: {refused:?}"
    );
    let r = slow.join().unwrap();
    assert_eq!((r.status, r.json()["worked_ms"].clone()), (200, json!(800)));
    let logs = server.stop();
    assert!(logs.status.success(), "{:?}", logs.status);
    logs.assert_sentinels(1);
}
