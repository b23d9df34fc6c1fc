//! Floods, injection, stuck logs and developer errors behind OpenWhisk's
//! proxies (issue 21): each class driven against a real process over real
//! sockets and pipes, as an attacker or the real proxies would.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// Starts the kit fixture in HTTP mode with `env` and returns what it did
/// when it exits within 20 s (it is killed otherwise): status, stderr.
fn exits_at_start(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = Command::new(example("kit"))
        .env("WHISK_MODE", "http")
        .env("WHISK_HOST", "127.0.0.1")
        .env("WHISK_PORT", "0")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stderr, reader) = Capture::spawn(child.stderr.take().unwrap());
    let status = wait_timeout(&mut child, Duration::from_secs(20));
    reader.join().unwrap();
    (status.code(), stderr.text())
}

/// Issue 21.7: a read timeout out of range (too large for a `Duration`, or
/// so small the connection guard would spin) is refused at start with
/// exit 2 and one line naming the variable; no panic (exit 101).
#[test]
fn settings_out_of_range_exit_2_naming_the_variable() {
    for bad in ["1e20", "18446744073709551615", "0.000001"] {
        let (code, stderr) = exits_at_start(&[("WHISK_READ_TIMEOUT_SECS", bad)]);
        assert_eq!(
            (code, stderr.as_str()),
            (
                Some(2),
                format!(
                    "whisk: WHISK_READ_TIMEOUT_SECS=\"{bad}\" is not valid: expected a number of seconds from 0.1 to 86400\n"
                )
                .as_str()
            ),
            "WHISK_READ_TIMEOUT_SECS={bad}"
        );
    }
    // The smallest accepted value serves, and an idle server stays idle
    // (no busy loop): under 5% of a CPU over one second.
    let server = Server::start(
        "kit",
        &[("KIT_ACTION", "plain"), ("WHISK_READ_TIMEOUT_SECS", "0.1")],
    );
    let cpu = |pid: u32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    };
    let before = cpu(server.pid());
    std::thread::sleep(Duration::from_secs(1));
    let ticks = cpu(server.pid()) - before;
    assert!(ticks <= 5, "{ticks} clock ticks of CPU in 1 s while idle");
    let r = server.run(json!({"x": 1}));
    assert_eq!((r.status, r.json()), (200, json!({"x": 1})));
}

/// Issue 21.8: a malformed `/init` (or `/run`) body is refused naming the
/// field and its JSON type, never quoting a value: `env` and the API key
/// are secrets, and the answer goes to whoever sent the request and into
/// the invoker's logs.
#[test]
fn a_malformed_init_or_run_never_echoes_a_secret() {
    let server = Server::start("kit", &[("KIT_ACTION", "plain")]);
    let secret = "hunter2-s3cret";
    for (path, body, message) in [
        (
            "/init",
            json!({"value": {"code": null, "env": format!("DB_PASSWORD={secret}")}}),
            "The /init body is not valid: `value.env` is a string, expected an object of environment variables.",
        ),
        (
            "/init",
            json!({"value": format!("DB_PASSWORD={secret}")}),
            "The /init body is not valid: `value` is a string, expected an object with the action's name, main, code and env.",
        ),
        (
            "/run",
            json!(format!("api_key={secret}")),
            "The request body is not a valid activation: invalid type: string, expected a JSON object such as {\"value\":{...}} at line 1 column 24.",
        ),
    ] {
        let r = server.post(path, body.to_string());
        r.assert_framing();
        assert_eq!(
            (r.status, r.json()),
            (400, json!({"error": message})),
            "{body}"
        );
    }
    // Still not initialized: a good /init then works.
    let r = server.init(Some(json!({"DB_PASSWORD": secret})));
    assert_eq!((r.status, r.json()), (200, json!({"ok": true})));
    let logs = server.stop();
    assert!(
        !logs.stdout.contains(secret) && !logs.stderr.contains(secret),
        "{logs:?}"
    );
}

/// Issue 21.11: a lone surrogate escape is named as one (serde_json says
/// "unexpected end of hex escape", or "lone leading surrogate" for a
/// trailing one), and an array for parameters that are a struct is
/// refused naming the struct and its fields (serde would fill it by
/// position, and say "trailing characters" for a longer one).
#[test]
fn decoder_errors_name_the_problem() {
    let server = Server::start("reverse", &[]);
    let surrogate = "a \\u escape of a lone UTF-16 surrogate (D800 to DFFF): a surrogate must be followed by its pair, a high one (D800 to DBFF) by a low one (DC00 to DFFF)";
    let array = "Invalid parameters: expected an object with the fields of `Params` (`payload`), not an array. The action was not called.";
    for (body, error) in [
        (
            r#"{"value":{"payload":"\ud800"}}"#.to_owned(),
            format!("Invalid parameter `payload`: {surrogate}. The action was not called."),
        ),
        (
            r#"{"value":{"payload":"x\udc00"}}"#.to_owned(),
            format!("Invalid parameter `payload`: {surrogate}. The action was not called."),
        ),
        (
            r#"{"value":{"payload":"ok"},"activation_id":"\ud800"}"#.to_owned(),
            format!("The request body is not a valid activation: {surrogate} at line 1 column 50."),
        ),
        (r#"{"value":["hello"]}"#.to_owned(), array.to_owned()),
        (
            r#"{"value":["hello","extra"]}"#.to_owned(),
            array.to_owned(),
        ),
    ] {
        let r = server.post("/run", &body);
        r.assert_framing();
        let status = if body.contains("activation_id") {
            400
        } else {
            200
        };
        assert_eq!(
            (r.status, r.json()),
            (status, json!({ "error": error })),
            "{body}"
        );
    }
    let r = server.run(json!({"payload": "abc"}));
    assert_eq!((r.status, r.json()), (200, json!({"reversed": "cba"})));
}

/// A `/run` body with `keys` metadata keys `k0`..: `{"value":{},"k0":0,...}`.
fn flood_body(keys: usize) -> Vec<u8> {
    let mut body = String::from(r#"{"value":{}"#);
    for i in 0..keys {
        body.push_str(&format!(r#","k{i}":{i}"#));
    }
    body.push('}');
    body.into_bytes()
}

/// Issue 21.1: the `__OW_*` export is linear and bounded. A `/run` with
/// 4,096 keys (the most exported) is served, one with 40,000 or an 8 MiB
/// body's worth (600,000) is refused with 400 naming the bound, each
/// within a bound that a quadratic export (7.7 s for 40,000 keys) misses
/// by far; a 404 on another connection meanwhile, and the next plain
/// `/run`, are answered at once.
#[test]
fn a_key_flood_is_answered_within_a_bound_and_others_are_served() {
    let server = Server::start(
        "kit",
        &[("KIT_ACTION", "owenv"), ("WHISK_RUN_MAX_BYTES", "16777216")],
    );
    for (keys, status, bound) in [(4096, 200, 2.0), (40_000, 400, 2.0), (600_000, 400, 8.0)] {
        let body = flood_body(keys);
        let port = server.port;
        let started = Instant::now();
        let flood = std::thread::spawn(move || {
            let r = request(port, "POST", "/run", &body);
            (r, started.elapsed())
        });
        // Another client meanwhile: answered within the flood's own bound.
        std::thread::sleep(Duration::from_millis(20));
        let other = Instant::now();
        let r = server.post("/nowhere", "");
        let waited = other.elapsed();
        assert_eq!(r.status, 404);
        let (r, took) = flood.join().unwrap();
        eprintln!("{keys} keys: {took:?} (a 404 meanwhile waited {waited:?})");
        r.assert_framing();
        if status == 400 {
            let message = format!(
                "The request has {keys} keys besides `value`; at most 4096 are accepted (each becomes an __OW_* environment variable)."
            );
            assert_eq!((r.status, r.json()), (400, json!({ "error": message })));
        } else {
            assert_eq!(r.status, 200, "{}", r.text());
        }
        assert!(took.as_secs_f64() < bound, "{keys} keys took {took:?}");
        assert!(waited.as_secs_f64() < bound, "a 404 waited {waited:?}");
        let plain = Instant::now();
        let r = server.post("/run", r#"{"value":{},"activation_id":"plain"}"#);
        assert_eq!(
            (r.status, &r.json()["activation_id"]),
            (200, &json!("plain"))
        );
        assert!(
            plain.elapsed() < Duration::from_millis(500),
            "next /run took {:?}",
            plain.elapsed()
        );
    }
}

/// Issue 21.1: `/init`'s `env` is set in one pass (`setenv` each, which
/// searches the environment, took 4.1 s for 40,000 variables): four times
/// the variables take about four times as long (under eight; a quadratic
/// cost gives sixteen), and the action reads them.
#[test]
fn init_env_is_linear_in_the_number_of_variables() {
    let init = |n: usize| {
        let server = Server::start("kit", &[("KIT_ACTION", "env")]);
        let mut env = serde_json::Map::new();
        for i in 0..n {
            env.insert(format!("VAR_{i}"), json!(format!("value {i}")));
        }
        env.insert("SOME_VAR".into(), json!("some"));
        let body = json!({"value": {"code": null, "main": "main", "env": env}}).to_string();
        let started = Instant::now();
        let r = server.post("/init", body);
        let took = started.elapsed();
        assert_eq!((r.status, r.json()), (200, json!({"ok": true})));
        let r = server.run(json!({}));
        assert_eq!(
            (r.status, r.json()),
            (200, json!({"SOME_VAR": "some", "ANOTHER_VAR": null}))
        );
        took
    };
    // The smaller one twice: the first start pays for cold caches.
    init(10_000);
    let (small, large) = (init(10_000), init(40_000));
    let ratio = large.as_secs_f64() / small.as_secs_f64();
    eprintln!("/init env: 10,000 variables {small:?}, 40,000 {large:?}: x{ratio:.1}");
    assert!(ratio < 8.0, "10,000 variables {small:?}, 40,000 {large:?}");
}

/// Issue 21.2: an activation's keys change the container's own `__OW_*`
/// variables for that activation only: `__OW_API_HOST` set at start reads
/// real, other (the second `/run` carries `api_host`), real, real; a key
/// exported once is gone the next time.
#[test]
fn the_containers_own_variables_are_restored_after_an_activation() {
    let server = Server::start(
        "kit",
        &[("KIT_ACTION", "owenv"), ("__OW_API_HOST", "https://real")],
    );
    assert_eq!(server.init(None).status, 200);
    let mut seen = Vec::new();
    for (i, body) in [
        json!({"value": {}, "activation_id": "a1", "namespace": "n"}),
        json!({"value": {}, "activation_id": "a2", "namespace": "n", "api_host": "https://other"}),
        json!({"value": {}, "activation_id": "a3", "namespace": "n"}),
        json!({"value": {}, "activation_id": "a4"}),
    ]
    .iter()
    .enumerate()
    {
        let r = server.post("/run", body.to_string());
        assert_eq!(r.status, 200);
        let got = r.json();
        assert_eq!(got["activation_id"], json!(format!("a{}", i + 1)));
        seen.push((got["api_host"].clone(), got["namespace"].clone()));
    }
    assert_eq!(
        seen,
        [
            (json!("https://real"), json!("n")),
            (json!("https://other"), json!("n")),
            (json!("https://real"), json!("n")),
            (json!("https://real"), json!(null)),
        ]
    );
}

/// Issue 21.6: an activation id holding a line break, the sentinel and an
/// ANSI escape forges nothing: in text logs and in JSON logs, two
/// activations give two sentinels on stdout, each alone on its line, no
/// other line holds the sentinel's text, and no ESC byte is written.
#[test]
fn an_activation_id_cannot_forge_a_sentinel_or_escape() {
    let forged = format!("evil\n{SENTINEL}\n\u{1b}[31mred");
    let written = "evil\\u{a}\\u{58}XX_THE_END_OF_A_WHISK_ACTIVATION_XXX\\u{a}\\u{1b}[31mred";
    for format in ["text", "json"] {
        let server = Server::start("plain", &[("WHISK_LOG_FORMAT", format)]);
        for id in [forged.as_str(), "ok1"] {
            let body = json!({"value": {"name": "n"}, "activation_id": id});
            assert_eq!(server.post("/run", body.to_string()).status, 200);
        }
        let logs = server.stop();
        logs.assert_sentinels(2);
        let lines: Vec<&str> = logs.stdout.lines().filter(|l| *l != SENTINEL).collect();
        assert!(
            lines.iter().all(|l| !l.contains(SENTINEL)),
            "{format}: {lines:?}"
        );
        assert!(
            !logs.stdout.contains('\u{1b}'),
            "{format}: {:?}",
            logs.stdout
        );
        if format == "text" {
            assert_eq!(
                lines[1],
                format!(" INFO activation{{id={written}}}: plain: greeting name=\"n\"")
            );
        } else {
            let event: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
            assert_eq!(event["span"], json!({"id": written, "name": "activation"}));
        }
    }
}
