//! `cargo whisk invoke`, driven as a user drives it, against fixture
//! actions built for real: the result, the activation record and its status
//! (success, an `Err`, a panic, a non-object result, a timeout), the logs
//! split at the sentinels exactly, `-p` typing, and warm reuse, in each of
//! the three transports.

mod support;

use std::process::Output;

use serde_json::{Value, json};

use support::{actions, run_in, text};

fn invoke(args: &[&str]) -> Output {
    let dir = actions();
    let mut all = vec!["invoke"];
    all.extend_from_slice(args);
    run_in(&dir, &all)
}

/// The activation records printed by `--activation` (one per activation).
fn records(out: &Output) -> Vec<Value> {
    let stdout = text(&out.stdout);
    serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .map(|v| v.unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{}", text(&out.stderr))))
        .collect()
}

fn record(args: &[&str]) -> (Value, Output) {
    let mut all = args.to_vec();
    all.push("--activation");
    let out = invoke(&all);
    let mut records = records(&out);
    assert_eq!(records.len(), 1, "{}", text(&out.stderr));
    (records.remove(0), out)
}

fn annotation<'a>(record: &'a Value, key: &str) -> Option<&'a Value> {
    record["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

/// `2026-12-08T03:40:00.123456Z` padded to 30, a space, the stream, `: `.
fn split_log(line: &str) -> (&str, &str, &str) {
    assert!(line.len() > 31 && line.as_bytes()[30] == b' ', "{line:?}");
    let time = line[..30].trim_end();
    assert!(
        time.ends_with('Z') && time.len() >= 20 && &time[10..11] == "T",
        "{line:?}"
    );
    let (stream, text) = line[31..].split_once(": ").unwrap_or((&line[31..], ""));
    (time, stream, text)
}

#[test]
fn result_of_the_reverse_action_as_wsk_prints_it() {
    let out = invoke(&["reverse", "-p", "payload", "hello", "--result"]);
    assert_eq!(text(&out.stdout), "{\n    \"reversed\": \"olleh\"\n}\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn success_record_in_openwhisk_shape() {
    let (rec, out) = record(&["reverse", "-p", "payload", "stressed"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        rec["response"],
        json!({"status": "success", "statusCode": 0, "success": true, "result": {"reversed": "desserts"}})
    );
    let id = rec["activationId"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(rec["name"], "reverse");
    assert_eq!(rec["namespace"], "guest");
    let (start, end) = (rec["start"].as_u64().unwrap(), rec["end"].as_u64().unwrap());
    assert!(end >= start);
    assert_eq!(rec["duration"].as_u64().unwrap(), end - start);
    assert!(annotation(&rec, "initTime").unwrap().is_u64());
    assert_eq!(annotation(&rec, "timeout"), Some(&json!(false)));
    assert_eq!(annotation(&rec, "path"), Some(&json!("guest/reverse")));
    assert_eq!(rec["logs"], json!([]));
    let keys: Vec<&str> = rec
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "activationId",
        "name",
        "namespace",
        "start",
        "end",
        "duration",
        "response",
        "annotations",
        "logs",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
}

#[test]
fn an_err_is_an_application_error() {
    for mode in ["http", "actionloop", "exec"] {
        let (rec, out) = record(&["kinds", "-p", "kind", "err", "--mode", mode]);
        assert_eq!(
            rec["response"],
            json!({"status": "application error", "statusCode": 1, "success": false,
                   "result": {"error": "the input was refused"}}),
            "{mode}"
        );
        assert_eq!(out.status.code(), Some(1), "{mode}");
    }
}

#[test]
fn a_panic_is_a_developer_error() {
    let (rec, out) = record(&["kinds", "-p", "kind", "panic"]);
    assert_eq!(rec["response"]["status"], "action developer error");
    assert_eq!(rec["response"]["statusCode"], 2);
    assert_eq!(rec["response"]["success"], false);
    let error = rec["response"]["result"]["error"].as_str().unwrap();
    assert!(error.contains("the fixture panics on purpose"), "{error}");
    assert_eq!(out.status.code(), Some(2));
    // No waiting for sentinels after a developer error, and the invoker's warning last.
    let logs = rec["logs"].as_array().unwrap();
    let last = split_log(logs.last().unwrap().as_str().unwrap());
    assert_eq!(
        (last.1, last.2),
        (
            "stderr",
            "The action did not initialize or run as expected. Log data might be missing."
        )
    );
}

#[test]
fn a_non_object_result_is_a_developer_error() {
    // Over HTTP the runtime answers 502 with its message. Behind the Go
    // ActionLoop proxy and the dockerskeleton it writes the message as a JSON
    // string, not an object, which both proxies answer with their own 502:
    // a developer error in every mode (docs/PROTOCOL.md).
    for mode in ["http", "actionloop", "exec"] {
        let (rec, out) = record(&["kinds", "-p", "kind", "scalar", "--mode", mode]);
        assert_eq!(
            rec["response"],
            json!({"status": "action developer error", "statusCode": 2, "success": false,
                   "result": {"error": "The action did not return a dictionary or array."}}),
            "{mode}"
        );
        assert_eq!(out.status.code(), Some(2), "{mode}");
    }
}

#[test]
fn a_timeout_is_a_developer_error_with_the_annotation() {
    for mode in ["http", "actionloop", "exec"] {
        let (rec, out) = record(&[
            "kinds",
            "-p",
            "kind",
            "sleep",
            "-p",
            "ms",
            "3000",
            "--timeout",
            "0.5",
            "--mode",
            mode,
        ]);
        assert_eq!(
            rec["response"],
            json!({"status": "action developer error", "statusCode": 2, "success": false,
                   "result": {"error": "The action exceeded its time limits of 500 milliseconds."}}),
            "{mode}"
        );
        assert_eq!(annotation(&rec, "timeout"), Some(&json!(true)), "{mode}");
        let duration = rec["duration"].as_u64().unwrap();
        assert!((500..2500).contains(&duration), "{mode}: {duration} ms");
        assert_eq!(out.status.code(), Some(2));
    }
}

#[test]
fn logs_are_split_at_the_sentinels_exactly() {
    for mode in ["http", "actionloop", "exec"] {
        let (rec, _) = record(&["kinds", "-p", "kind", "logs", "--mode", mode]);
        assert_eq!(rec["response"]["result"], json!({"logged": 3}), "{mode}");
        let logs: Vec<_> = rec["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_owned())
            .collect();
        let parts: Vec<(String, String)> = logs
            .iter()
            .map(|l| {
                let (_, stream, text) = split_log(l);
                (stream.to_owned(), text.to_owned())
            })
            .collect();
        let mut stdout: Vec<_> = parts
            .iter()
            .filter(|p| p.0 == "stdout")
            .map(|p| p.1.as_str())
            .collect();
        let stderr: Vec<_> = parts
            .iter()
            .filter(|p| p.0 == "stderr")
            .map(|p| p.1.as_str())
            .collect();
        // Trimmed as OpenWhisk's LogLine does; no sentinel; nothing else.
        assert_eq!(
            stdout,
            ["first line on stdout", "second line on stdout, indented"],
            "{mode}: {logs:?}"
        );
        assert_eq!(stderr, ["a line on stderr"], "{mode}: {logs:?}");
        assert_eq!(logs.len(), 3, "{mode}: {logs:?}");
        stdout.clear();
    }
}

#[test]
fn params_are_typed_as_wsk_types_them() {
    let out = invoke(&[
        "kinds",
        "--result",
        "-p",
        "n",
        "3",
        "-p",
        "ok",
        "true",
        "-p",
        "name",
        "Jane",
        "-p",
        "list",
        "[1,2]",
        "-p",
        "quoted",
        "\"3\"",
        "-p",
        "obj",
        "{\"a\":null}",
        "-p",
        "words",
        "3 apples",
    ]);
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result["params"],
        json!({"n": 3, "ok": true, "name": "Jane", "list": [1, 2], "quoted": "3", "obj": {"a": null}, "words": "3 apples"})
    );
}

#[test]
fn a_warm_container_is_reused_across_param_sets_and_repeats() {
    let dir = support::actions();
    let a = dir.join("a.json");
    let b = dir.join("b.json");
    std::fs::write(&a, r#"{"set": "a"}"#).unwrap();
    std::fs::write(&b, r#"{"set": "b"}"#).unwrap();
    for mode in ["http", "actionloop"] {
        let out = run_in(
            &dir,
            &[
                "invoke",
                "kinds",
                "-P",
                a.to_str().unwrap(),
                "-P",
                b.to_str().unwrap(),
                "--repeat",
                "2",
                "--init-env",
                "GREETING=hi there",
                "-p",
                "x",
                "1",
                "--activation",
                "--mode",
                mode,
            ],
        );
        let recs = records(&out);
        assert_eq!(recs.len(), 4, "{mode}: {}", text(&out.stderr));
        let results: Vec<&Value> = recs.iter().map(|r| &r["response"]["result"]).collect();
        let sets: Vec<&Value> = results.iter().map(|r| &r["params"]["set"]).collect();
        assert_eq!(sets, [&json!("a"), &json!("b"), &json!("a"), &json!("b")]);
        assert!(results.iter().all(|r| r["params"]["x"] == 1));
        // One process for all four, counting up: warm.
        let pids: Vec<&Value> = results.iter().map(|r| &r["pid"]).collect();
        assert!(pids.iter().all(|p| *p == pids[0]), "{mode}: {pids:?}");
        let counts: Vec<&Value> = results.iter().map(|r| &r["count"]).collect();
        assert_eq!(
            counts,
            [&json!(1), &json!(2), &json!(3), &json!(4)],
            "{mode}"
        );
        // The init env is exported; the activation id of each run is its own.
        assert!(
            results.iter().all(|r| r["env_greeting"] == "hi there"),
            "{mode}: {results:?}"
        );
        for (rec, result) in recs.iter().zip(&results) {
            assert_eq!(result["activation_id"], rec["activationId"], "{mode}");
            assert_eq!(result["action_name"], "/guest/kinds");
        }
        // initTime only on the cold start.
        assert!(annotation(&recs[0], "initTime").is_some());
        assert!(
            recs[1..]
                .iter()
                .all(|r| annotation(r, "initTime").is_none())
        );
    }
    // The dockerskeleton runs a new process per activation.
    let out = run_in(
        &dir,
        &[
            "invoke", "kinds", "--repeat", "2", "--result", "--mode", "exec",
        ],
    );
    let results: Vec<Value> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect();
    assert_eq!(results.len(), 2);
    assert_ne!(results[0]["pid"], results[1]["pid"]);
    assert_eq!(results[1]["count"], 1);
}

#[test]
fn a_developer_error_replaces_the_container() {
    let dir = support::actions();
    let panics = dir.join("panic.json");
    std::fs::write(&panics, r#"{"kind": "panic"}"#).unwrap();
    let echo = dir.join("echo.json");
    std::fs::write(&echo, r#"{"kind": "echo"}"#).unwrap();
    let out = run_in(
        &dir,
        &[
            "invoke",
            "kinds",
            "-P",
            echo.to_str().unwrap(),
            "-P",
            panics.to_str().unwrap(),
            "-P",
            echo.to_str().unwrap(),
            "--activation",
        ],
    );
    let recs = records(&out);
    assert_eq!(recs.len(), 3);
    let first = &recs[0]["response"]["result"];
    let third = &recs[2]["response"]["result"];
    assert_ne!(
        first["pid"], third["pid"],
        "a new container after the panic"
    );
    assert_eq!(third["count"], 1);
    assert!(annotation(&recs[2], "initTime").is_some());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_failed_init_is_a_developer_error_with_its_init_time() {
    // The counter example's setup runs at /init and refuses a START that is
    // not a number: /init answers non-200, so nothing runs.
    let (rec, out) = record(&["counter", "--init-env", "START=abc"]);
    assert_eq!(rec["response"]["status"], "action developer error", "{rec}");
    let error = rec["response"]["result"]["error"].as_str().unwrap();
    assert!(error.contains("START=\"abc\" is not a number"), "{error}");
    assert!(annotation(&rec, "initTime").unwrap().is_u64());
    assert_eq!(out.status.code(), Some(2));
    // With a good START the same container setup counts from it.
    let (rec, _) = record(&["counter", "--init-env", "START=41"]);
    assert_eq!(rec["response"]["status"], "success", "{rec}");
}
