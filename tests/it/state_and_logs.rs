//! Init-once shared state and `tracing` logs, through `examples/plain.rs`.

use crate::common;

use common::*;
use serde_json::{Value, json};

#[test]
fn state_is_built_once_after_the_init_env() {
    let server = Server::start("plain", &[("GREETING", "Hello")]);
    let init = server.init(Some(json!({"GREETING": "Hey"})));
    assert_eq!(
        (init.status, init.text()),
        (200, r#"{"ok":true}"#.to_owned())
    );
    for name in ["ann", "bob", "cy"] {
        let r = server.run(json!({ "name": name }));
        r.assert_framing();
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["greeting"], format!("Hey, {name}!"));
    }
    let logs = server.stop();
    logs.assert_sentinels(3);
    assert_eq!(
        logs.stdout.matches("state built").count(),
        1,
        "{}",
        logs.stdout
    );
}

#[test]
fn state_is_built_before_the_first_run_without_init() {
    let server = Server::start("plain", &[("GREETING", "Yo")]);
    let r = server.run(json!({"name": "dee"}));
    assert_eq!(
        (r.status, r.json()["greeting"].clone()),
        (200, json!("Yo, dee!"))
    );
    let r = server.run(json!({}));
    assert_eq!(r.json()["greeting"], "Yo, stranger!");
    let logs = server.stop();
    assert_eq!(
        logs.stdout.matches("state built").count(),
        1,
        "{}",
        logs.stdout
    );
}

#[test]
fn a_failed_init_is_a_502_with_sentinels_and_may_be_retried() {
    let server = Server::start("plain", &[]);
    let r = server.init(Some(json!({"GREETING": ""})));
    r.assert_framing();
    assert_eq!(
        (r.status, r.json()),
        (502, json!({"error": "GREETING must not be empty"}))
    );
    let retry = server.init(Some(json!({"GREETING": "Hi"})));
    assert_eq!(
        (retry.status, retry.text()),
        (200, r#"{"ok":true}"#.to_owned())
    );
    let run = server.run(json!({"name": "eve"}));
    assert_eq!(run.json()["greeting"], "Hi, eve!");
    let logs = server.stop();
    // One pair for the failed init, one for the run.
    logs.assert_sentinels(2);
    assert_eq!(
        without_sentinels(&logs.stderr),
        "The action failed to initialize: GREETING must not be empty"
    );
}

#[test]
fn log_lines_carry_the_activation_id() {
    let server = Server::start("plain", &[("RUST_LOG", "info")]);
    for id in ["aaa111", "bbb222"] {
        let body = json!({"value": {"name": id}, "activation_id": id});
        assert_eq!(server.post("/run", body.to_string()).status, 200);
    }
    let logs = server.stop();
    logs.assert_sentinels(2);
    let lines: Vec<&str> = logs.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            " INFO plain: state built greeting=Hello",
            " INFO activation{id=aaa111}: plain: greeting name=\"aaa111\"",
            SENTINEL,
            " INFO activation{id=bbb222}: plain: greeting name=\"bbb222\"",
            SENTINEL,
        ]
    );
}

/// Under concurrency, an action without a `Context` gets no metadata; but
/// its log lines, when a subscriber records them, still carry the id.
#[test]
fn log_lines_carry_the_activation_id_of_an_action_without_a_context() {
    let server = Server::start("inline", &[("__OW_ALLOW_CONCURRENT", "true")]);
    let body = json!({"value": {"trace": "hi"}, "activation_id": "aaa111"});
    let r = server.post("/run", body.to_string());
    assert_eq!((r.status, r.json()), (200, json!({})));
    let logs = server.stop();
    logs.assert_sentinels(1);
    assert_eq!(
        without_sentinels(&logs.stdout),
        "INFO activation{id=aaa111}: inline: hi"
    );
}

#[test]
fn rust_log_sets_the_level() {
    let server = Server::start("plain", &[("RUST_LOG", "warn")]);
    assert_eq!(server.run(json!({"name": "x"})).status, 200);
    let logs = server.stop();
    logs.assert_sentinels(1);
    assert_eq!(without_sentinels(&logs.stdout), "");
}

#[test]
fn json_logs_parse_and_carry_the_activation_id() {
    let server = Server::start("plain", &[("WHISK_LOG_FORMAT", "json")]);
    let body = json!({"value": {"name": "jo"}, "activation_id": "ccc333"});
    assert_eq!(server.post("/run", body.to_string()).status, 200);
    let logs = server.stop();
    logs.assert_sentinels(1);
    let events: Vec<Value> = logs
        .stdout
        .lines()
        .filter(|l| *l != SENTINEL)
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1]["level"], "INFO");
    assert_eq!(events[1]["fields"]["message"], "greeting");
    assert_eq!(events[1]["fields"]["name"], "jo");
    assert_eq!(
        events[1]["span"],
        json!({"id": "ccc333", "name": "activation"})
    );
}

#[test]
fn the_attribute_builds_state_once_and_logs_with_the_activation_id() {
    let server = Server::start("counter", &[]);
    let init = server.init(Some(json!({"START": "10"})));
    assert_eq!(init.status, 200);
    for (i, by) in [1, 5, 2].into_iter().enumerate() {
        let id = format!("act{i}");
        let body = json!({"value": {"by": by}, "activation_id": id});
        let r = server.post("/run", body.to_string());
        r.assert_framing();
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["activation"], id);
    }
    let r = server.run(json!({}));
    assert_eq!(r.json()["count"], 19);
    let logs = server.stop();
    logs.assert_sentinels(4);
    let lines: Vec<&str> = logs.stdout.lines().collect();
    assert_eq!(lines[0], " INFO counter: counter ready start=10");
    assert_eq!(
        lines[1],
        " INFO activation{id=act0}: counter: counted count=11"
    );
    assert_eq!(
        lines[3],
        " INFO activation{id=act1}: counter: counted count=16"
    );
}

#[test]
fn the_attribute_reports_a_failed_init() {
    let server = Server::start("counter", &[]);
    let r = server.init(Some(json!({"START": "ten"})));
    r.assert_framing();
    assert_eq!(
        (r.status, r.json()),
        (
            502,
            json!({"error": "START=\"ten\" is not a number: invalid digit found in string"})
        )
    );
    let logs = server.stop();
    logs.assert_sentinels(1);
}
