//! The exec transport, driven the way the dockerskeleton's Python proxy runs
//! `/action/exec` (docs/PROTOCOL.md §8): a new process per activation, the `value`
//! as JSON in `argv[1]` when it is at most 131071 bytes, and always on stdin
//! too (then closed); the metadata as `__OW_*` variables; the result is the
//! last line of stdout and every earlier line is a log. No `WHISK_MODE` is
//! set: the binary must detect the transport by itself.

use crate::common;

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use common::{Capture, SENTINEL};

/// `MAX_ARG_STRLEN - 1`: the proxy's limit for passing the input as argument.
const MAX_ARG: usize = 131071;

/// A developer error's line: the message as a JSON string, not an object,
/// so that the proxy answers 502.
const NOT_A_DICTIONARY: &str = r#""The action did not return a dictionary or array.""#;

/// One run of the executable, as the dockerskeleton sees it.
#[derive(Debug)]
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    /// The last line of stdout, as the proxy extracts it.
    result: String,
    /// The stdout lines before it, which the proxy re-emits as logs.
    logs: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.result)
            .unwrap_or_else(|e| panic!("the last line is not JSON ({e}): {self:?}"))
    }
}

/// The proxy's split of stdout (`actionproxy.py` `run`): the text after the
/// last `\n` that is not the final character is the result (stripped), and
/// what precedes it, that `\n` included, is logs.
fn split_last_line(out: &str) -> (String, String) {
    let search_end = out.len().saturating_sub(1);
    match out[..search_end].rfind('\n') {
        Some(i) => (out[i + 1..].trim().to_owned(), out[..=i].to_owned()),
        None => (out.trim().to_owned(), String::new()),
    }
}

/// Runs `example` with `input` the way the dockerskeleton does, with exactly
/// `env` as the environment.
fn exec_with(example: &str, env: &[(&str, &str)], input: &str, as_argument: bool) -> Run {
    exec_opts(example, env, input, as_argument, false)
}

/// [`exec_with`], and with `nonblocking`, the child's stdout and stderr in
/// non-blocking mode (as a parent that polls its pipes may leave them).
fn exec_opts(
    example: &str,
    env: &[(&str, &str)],
    input: &str,
    as_argument: bool,
    nonblocking: bool,
) -> Run {
    let mut command = Command::new(common::example(example));
    command
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if as_argument {
        command.arg(input);
    }
    if nonblocking {
        // SAFETY: only fcntl between fork and exec.
        unsafe {
            command.pre_exec(|| {
                for fd in [1, 2] {
                    let flags = libc::fcntl(fd, libc::F_GETFL);
                    if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
    let mut child = command.spawn().expect("start the example");
    let (stdout, out_thread) = Capture::spawn(child.stdout.take().unwrap());
    let (stderr, err_thread) = Capture::spawn(child.stderr.take().unwrap());
    // `communicate(input=...)`: write everything, then close. The child may
    // not read it (the argument is enough), so a broken pipe is fine.
    let mut stdin = child.stdin.take().unwrap();
    let bytes = input.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    let status = common::wait_timeout(&mut child, Duration::from_secs(30));
    writer.join().unwrap();
    out_thread.join().unwrap();
    err_thread.join().unwrap();
    let (stdout, stderr) = (stdout.text(), stderr.text());
    let (result, logs) = split_last_line(&stdout);
    let run = Run {
        status,
        stdout,
        stderr,
        result,
        logs,
    };
    for stream in [&run.stdout, &run.stderr] {
        assert!(
            !stream.contains(SENTINEL),
            "the runtime wrote a sentinel in exec mode (the proxy does): {run:?}"
        );
    }
    run
}

/// Runs the kit action `action` on `value` as the proxy would: as argument
/// when short enough, always on stdin.
fn kit(action: &str, value: &Value) -> Run {
    kit_with_env(action, value, &[])
}

fn kit_with_env(action: &str, value: &Value, env: &[(&str, &str)]) -> Run {
    let input = value.to_string();
    let mut vars = vec![("KIT_ACTION", action)];
    vars.extend_from_slice(env);
    exec_with("kit", &vars, &input, input.len() <= MAX_ARG)
}

#[test]
fn the_result_is_the_last_line_and_logs_come_before() {
    let run = kit("echo", &json!({"a": 1, "b": "two"}));
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(run.stdout, "hello stdout\n{\"a\":1,\"b\":\"two\"}\n");
    assert_eq!(run.result, r#"{"a":1,"b":"two"}"#);
    assert_eq!(run.logs, "hello stdout\n");
    assert_eq!(run.stderr, "hello stderr\n");
}

#[test]
fn input_on_stdin_when_there_is_no_argument() {
    let input = r#"{"payload":"from stdin"}"#;
    let run = exec_with("kit", &[("KIT_ACTION", "echo")], input, false);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(run.stdout, "hello stdout\n{\"payload\":\"from stdin\"}\n");

    let run = exec_with("reverse", &[], r#"{"payload":"abc"}"#, false);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(run.stdout, "{\"reversed\":\"cba\"}\n");
}

#[test]
fn large_input_comes_on_stdin() {
    let big = "y".repeat(200 * 1024);
    let value = json!({ "payload": big });
    let input = value.to_string();
    assert!(input.len() > MAX_ARG);
    let run = kit("echo", &value);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(run.result, input);
    assert_eq!(run.logs, "hello stdout\n");
    assert_eq!(run.stdout.len(), "hello stdout\n".len() + input.len() + 1);
}

#[test]
fn ow_variables_reach_the_context() {
    let env = [
        ("__OW_API_HOST", "https://openwhisk.test"),
        ("__OW_API_KEY", "k:s"),
        ("__OW_NAMESPACE", "guest"),
        ("__OW_ACTION_NAME", "/guest/ctx"),
        ("__OW_ACTION_VERSION", "0.0.3"),
        ("__OW_ACTIVATION_ID", "aid"),
        ("__OW_TRANSACTION_ID", "tid"),
        ("__OW_DEADLINE", "4102444800000"),
        ("__OW_NEW_KEY", "new"),
    ];
    let run = kit_with_env("context", &json!({}), &env);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(
        run.json(),
        json!({
            "activation_id": "aid",
            "action_name": "/guest/ctx",
            "action_version": "0.0.3",
            "namespace": "guest",
            "transaction_id": "tid",
            "api_key": "k:s",
            "api_host": "https://openwhisk.test",
            "deadline_ms": 4102444800000_u64,
            "has_remaining_time": true,
            "metadata": {
                "activation_id": "aid",
                "action_name": "/guest/ctx",
                "action_version": "0.0.3",
                "namespace": "guest",
                "transaction_id": "tid",
                "api_key": "k:s",
                "deadline": "4102444800000",
                "new_key": "new",
            },
        })
    );
    // The same variables, read directly by the action.
    let run = kit_with_env("owenv", &json!({}), &env);
    assert_eq!(
        run.json(),
        json!({
            "api_host": "https://openwhisk.test",
            "api_key": "k:s",
            "namespace": "guest",
            "action_name": "/guest/ctx",
            "action_version": "0.0.3",
            "activation_id": "aid",
            "transaction_id": "tid",
            "deadline": "4102444800000",
        })
    );
}

#[test]
fn exit_status_tells_success_action_error_and_bad_input() {
    let cases: [(&str, &str, &str, i32); 8] = [
        ("tricks", r#"{"x":1}"#, r#"{"x":1}"#, 0),
        (
            "tricks",
            r#"{"do":"error"}"#,
            r#"{"error":"plain failure"}"#,
            1,
        ),
        (
            "tricks",
            r#"{"do":"structured"}"#,
            r#"{"error":{"body":"bad input","statusCode":400}}"#,
            1,
        ),
        (
            "tricks",
            r#"{"do":"panic","n":7}"#,
            r#""The action panicked: boom 7""#,
            1,
        ),
        ("nonjson", "{}", NOT_A_DICTIONARY, 1),
        (
            "tricks",
            "not json",
            r#""The input is not valid JSON: expected ident at line 1 column 2.""#,
            2,
        ),
        (
            "tricks",
            "5",
            r#""The action did not receive a dictionary or array as an argument.""#,
            2,
        ),
        (
            "tricks",
            "{} trailing",
            r#""The input is not valid JSON: trailing characters at line 1 column 4.""#,
            2,
        ),
    ];
    for (action, input, result, code) in cases {
        let run = exec_with("kit", &[("KIT_ACTION", action)], input, true);
        assert_eq!(run.result, result, "{action} {input}: {run:?}");
        assert_eq!(run.status.code(), Some(code), "{action} {input}: {run:?}");
    }
    // The panic message is logged on stderr.
    let run = kit("tricks", &json!({"do": "panic", "n": 7}));
    assert!(run.stderr.contains("boom 7"), "{run:?}");
}

#[test]
fn bad_parameters_name_the_field() {
    let run = exec_with("reverse", &[], r#"{"payload":5}"#, true);
    assert_eq!(
        run.result,
        r#"{"error":"Invalid parameter `payload`: invalid type: integer `5`, expected a string. The action was not called."}"#
    );
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert_eq!(run.logs, "");

    let run = exec_with("reverse", &[], r#"{"payload":"héllo"}"#, true);
    assert_eq!(run.stdout, "{\"reversed\":\"olléh\"}\n");
    assert_eq!(run.status.code(), Some(0), "{run:?}");
}

#[test]
fn a_partial_line_is_finished_before_the_result() {
    let run = kit("tricks", &json!({"do": "partial"}));
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(run.stdout, "partial out\n{\"partial\":true}\n");
    assert_eq!(run.result, r#"{"partial":true}"#);
    assert_eq!(run.logs, "partial out\n");
    assert_eq!(run.stderr, "partial err\n");
}

#[test]
fn arrays_in_and_out() {
    let run = kit("tricks", &json!([1, "two", {"three": 3}]));
    assert_eq!(run.result, r#"[1,"two",{"three":3}]"#);
    assert_eq!(run.status.code(), Some(0));
    let run = kit("tricks", &json!({"do": "array"}));
    assert_eq!(run.result, r#"[1,"two",{"three":3}]"#);
}

#[test]
fn unicode_in_input_logs_and_result() {
    let run = kit("unicode", &json!({"delimiter": "❄"}));
    assert_eq!(run.stdout, "❄ ☃ ❄\n{\"winter\":\"❄ ☃ ❄\"}\n");
    assert_eq!(run.status.code(), Some(0));
}

#[test]
fn many_log_lines_then_the_result() {
    let run = kit("tricks", &json!({"do": "logs", "lines": 3000}));
    assert_eq!(run.result, r#"{"lines":3000}"#);
    assert_eq!(run.logs.lines().count(), 3000);
    assert!(
        run.logs
            .ends_with(&format!("log line 2999 {}\n", "x".repeat(100)))
    );
}

#[test]
fn nothing_is_lost_on_non_blocking_pipes() {
    // Logs and a result far larger than a pipe buffer, on a stdout that
    // answers EAGAIN when full: the runtime must wait, not drop bytes.
    let env = [("KIT_ACTION", "tricks")];
    let run = exec_opts("kit", &env, r#"{"do":"logs","lines":3000}"#, true, true);
    assert_eq!(run.result, r#"{"lines":3000}"#, "{}", run.stderr);
    assert_eq!(run.logs.lines().count(), 3000);
    let big = json!({ "big": "q".repeat(300 * 1024) }).to_string();
    let run = exec_opts("kit", &env, &big, false, true);
    assert_eq!(run.result, big);
    assert_eq!(run.status.code(), Some(0));
}

#[test]
fn empty_input_is_an_empty_object() {
    // WHISK_MODE forces exec even with stdin at /dev/null and no argument.
    let mut command = Command::new(common::example("kit"));
    command
        .env_clear()
        .env("WHISK_MODE", "exec")
        .env("KIT_ACTION", "tricks")
        .stdin(Stdio::null());
    let output = command.output().expect("run the example");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "{}\n");
    assert_eq!(output.status.code(), Some(0));

    let run = exec_with("kit", &[("KIT_ACTION", "tricks")], "", false);
    assert_eq!(run.stdout, "{}\n");
}

#[test]
fn split_last_line_matches_the_proxy() {
    let split = |s: &str| split_last_line(s);
    assert_eq!(split("a\n{}\n"), ("{}".into(), "a\n".into()));
    assert_eq!(split("a\n{}"), ("{}".into(), "a\n".into()));
    assert_eq!(split("{}\n"), ("{}".into(), String::new()));
    assert_eq!(split(""), (String::new(), String::new()));
}

#[test]
fn shared_state_and_a_failed_init() {
    let run = exec_with("counter", &[("START", "41")], r#"{"by":1}"#, true);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(run.json(), json!({"count": 42, "activation": ""}));
    assert_eq!(
        run.logs,
        " INFO counter: counter ready start=41\n INFO activation{id=}: counter: counted count=42\n"
    );

    let run = exec_with("counter", &[("START", "x")], "{}", true);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    // A failed init is a developer error: its message as a JSON string.
    assert_eq!(
        run.json(),
        json!("START=\"x\" is not a number: invalid digit found in string")
    );
    assert_eq!(
        run.stderr,
        "The action failed to initialize: START=\"x\" is not a number: invalid digit found in string\n"
    );
}
