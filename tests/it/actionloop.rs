//! The ActionLoop transport, driven the way OpenWhisk's Go proxy drives it
//! (docs/PROTOCOL.md §7): the example binary is started with a clean environment
//! (only `__OW_*` variables and the `/init` `env`, no `PATH`, no `HOME`),
//! stdin a pipe carrying one request line per activation, stdout and stderr
//! captured, and the write end of a result pipe on fd 3. No `WHISK_MODE` is
//! set: the binary must detect the transport by itself.
//!
//! The harness reads the result pipe and the output pipes without blocking
//! threads in between, so when a result line arrives it can tell exactly what
//! the action had written to stdout and stderr *before* it: the proxy writes
//! its sentinels right after reading fd 3, so the action's logs must already
//! be out, each line finished.

use crate::common;

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::SENTINEL;

/// How long any single wait for the child may take before the test fails.
const LIMIT: Duration = Duration::from_secs(30);

/// A developer error's line: the message as a JSON string, not an object,
/// so that the proxy answers 502.
const NOT_A_DICTIONARY: &str = r#""The action did not return a dictionary or array.""#;

/// An action process started as the Go proxy starts it.
struct Proxy {
    child: Child,
    stdin: Option<ChildStdin>,
    pipes: [Pipe; 3],
}

/// One pipe the harness reads from (non-blocking), and what it read.
struct Pipe {
    fd: OwnedFd,
    /// Bytes not yet handed out.
    pending: Vec<u8>,
    /// Everything ever read.
    all: Vec<u8>,
    eof: bool,
}

const RESULTS: usize = 0;
const STDOUT: usize = 1;
const STDERR: usize = 2;

/// One result line and the output the action wrote before it.
#[derive(Debug)]
struct Answer {
    line: String,
    stdout: String,
    stderr: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.line)
            .unwrap_or_else(|e| panic!("result line is not JSON ({e}): {:?}", self.line))
    }
}

/// What the process left behind once it exited.
#[derive(Debug)]
struct Exit {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    /// Bytes on fd 3 after the last line read.
    results_tail: String,
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the array on success. O_CLOEXEC keeps other
    // children spawned by concurrently running tests from inheriting the
    // write end (which would hide the EOF).
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and are ours.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: F_GETFL/F_SETFL on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        assert!(flags >= 0);
        assert!(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) >= 0);
    }
}

impl Pipe {
    fn new(fd: OwnedFd) -> Pipe {
        set_nonblocking(fd.as_raw_fd());
        Pipe {
            fd,
            pending: Vec::new(),
            all: Vec::new(),
            eof: false,
        }
    }

    /// Reads whatever the pipe holds right now.
    fn drain(&mut self) {
        let mut buf = [0u8; 64 * 1024];
        while !self.eof {
            // SAFETY: reading into a local buffer from a descriptor we own.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            match n {
                n if n > 0 => {
                    self.pending.extend_from_slice(&buf[..n as usize]);
                    self.all.extend_from_slice(&buf[..n as usize]);
                }
                0 => self.eof = true,
                _ => match std::io::Error::last_os_error().kind() {
                    std::io::ErrorKind::Interrupted => continue,
                    std::io::ErrorKind::WouldBlock => return,
                    e => panic!("reading a pipe of the child: {e}"),
                },
            }
        }
    }

    fn take_text(&mut self) -> String {
        String::from_utf8(std::mem::take(&mut self.pending)).expect("the output is UTF-8")
    }
}

impl Proxy {
    /// Starts `example` with the proxy's environment: `__OW_PROXY_VERSION`,
    /// `__OW_API_HOST` (the container's), `__OW_WAIT_FOR_ACK=1` when `ack`,
    /// and `init_env` (what `/init` would carry in `env`).
    fn start(example: &str, ack: bool, init_env: &[(&str, &str)]) -> Proxy {
        let mut env = vec![
            ("__OW_PROXY_VERSION", "1.17.1"),
            ("__OW_API_HOST", "https://openwhisk.test"),
        ];
        if ack {
            env.push(("__OW_WAIT_FOR_ACK", "1"));
        }
        env.extend_from_slice(init_env);
        Proxy::start_with_env(example, &env)
    }

    /// Starts `example` with exactly `env` as its environment.
    fn start_with_env(example: &str, env: &[(&str, &str)]) -> Proxy {
        Proxy::start_with(example, env, false)
    }

    /// Starts `example` with exactly `env`; with `nonblocking`, the child's
    /// stdout, stderr and fd 3 are in non-blocking mode (as a parent that
    /// polls its pipes may leave them).
    fn start_with(example: &str, env: &[(&str, &str)], nonblocking: bool) -> Proxy {
        let (results_read, results_write) = pipe();
        let write_fd = results_write.as_raw_fd();
        let mut command = Command::new(common::example(example));
        command
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: only async-signal-safe calls (dup2, fcntl) between fork
        // and exec.
        unsafe {
            command.pre_exec(move || {
                if write_fd == 3 {
                    // dup2 onto itself would keep O_CLOEXEC: clear it.
                    if libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(write_fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if nonblocking {
                    for fd in [1, 2, 3] {
                        let flags = libc::fcntl(fd, libc::F_GETFL);
                        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0
                        {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                }
                Ok(())
            });
        }
        let mut child = command.spawn().expect("start the example");
        // Only the child holds the write end now: EOF on fd 3 means it is gone.
        drop(results_write);
        let stdin = child.stdin.take();
        let stdout = OwnedFd::from(child.stdout.take().unwrap());
        let stderr = OwnedFd::from(child.stderr.take().unwrap());
        Proxy {
            child,
            stdin,
            pipes: [
                Pipe::new(results_read),
                Pipe::new(stdout),
                Pipe::new(stderr),
            ],
        }
    }

    /// Waits until `done` holds or `limit` passes, reading all three pipes.
    /// Returns whether `done` held.
    fn wait_for(&mut self, limit: Duration, done: impl Fn(&[Pipe; 3]) -> bool) -> bool {
        let started = Instant::now();
        loop {
            for pipe in &mut self.pipes {
                pipe.drain();
            }
            if done(&self.pipes) {
                return true;
            }
            let left = limit.saturating_sub(started.elapsed());
            if left.is_zero() {
                return false;
            }
            let mut fds: Vec<libc::pollfd> = self
                .pipes
                .iter()
                .map(|p| libc::pollfd {
                    fd: if p.eof { -1 } else { p.fd.as_raw_fd() },
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            // SAFETY: a valid array of pollfd structs.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        }
    }

    /// Reads the next line from fd 3, and what the action wrote to stdout and
    /// stderr before it became available. Panics on EOF or timeout.
    fn next(&mut self) -> Answer {
        let found = self.wait_for(LIMIT, |p| {
            p[RESULTS].pending.contains(&b'\n') || p[RESULTS].eof
        });
        let Some(end) = self.pipes[RESULTS].pending.iter().position(|&b| b == b'\n') else {
            let why = if found { "EOF on fd 3" } else { "timeout" };
            panic!(
                "no result line ({why}); fd 3 holds {:?}; stdout {:?}; stderr {:?}",
                String::from_utf8_lossy(&self.pipes[RESULTS].pending),
                String::from_utf8_lossy(&self.pipes[STDOUT].all),
                String::from_utf8_lossy(&self.pipes[STDERR].all),
            );
        };
        let line: Vec<u8> = self.pipes[RESULTS].pending.drain(..=end).collect();
        let line = String::from_utf8(line[..end].to_vec()).expect("the result is UTF-8");
        // What the action wrote before the result is in the pipes by now;
        // nothing is waited for here on purpose.
        self.pipes[STDOUT].drain();
        self.pipes[STDERR].drain();
        Answer {
            line,
            stdout: self.pipes[STDOUT].take_text(),
            stderr: self.pipes[STDERR].take_text(),
        }
    }

    /// Sends one request line, as the proxy does: the body without any `\n`,
    /// then `\n`.
    fn send(&mut self, body: &str) {
        let mut line = body.replace('\n', "").into_bytes();
        line.push(b'\n');
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(&line).expect("write the request line");
        stdin.flush().unwrap();
    }

    /// One activation: a request line in, one result line out.
    fn run(&mut self, body: &str) -> Answer {
        self.send(body);
        self.next()
    }

    /// `{"value": value, "activation_id": ...}`, the shape the invoker sends.
    fn run_value(&mut self, value: Value) -> Answer {
        let body = json!({
            "value": value,
            "namespace": "guest",
            "action_name": "/guest/kit",
            "action_version": "0.0.1",
            "activation_id": "0123456789abcdef0123456789abcdef",
            "transaction_id": "tid",
            "deadline": "4102444800000",
        });
        self.run(&body.to_string())
    }

    /// Asserts the process is still running.
    fn assert_alive(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the action process exited; stderr: {}",
            String::from_utf8_lossy(&self.pipes[STDERR].all)
        );
    }

    /// Asserts nothing at all arrives on fd 3 within `wait`.
    fn assert_quiet(&mut self, wait: Duration) {
        let arrived = self.wait_for(wait, |p| !p[RESULTS].pending.is_empty() || p[RESULTS].eof);
        assert!(
            !arrived,
            "unexpected output on fd 3: {:?} (eof: {})",
            String::from_utf8_lossy(&self.pipes[RESULTS].pending),
            self.pipes[RESULTS].eof
        );
    }

    /// Closes stdin (the proxy going away) and collects the exit. Also checks
    /// that the runtime wrote no sentinel (the proxy writes those).
    fn finish(mut self) -> Exit {
        drop(self.stdin.take());
        let status = common::wait_timeout(&mut self.child, LIMIT);
        let closed = self.wait_for(LIMIT, |p| p.iter().all(|p| p.eof));
        assert!(closed, "the pipes of an exited process did not close");
        let exit = Exit {
            status,
            stdout: String::from_utf8_lossy(&self.pipes[STDOUT].all).into_owned(),
            stderr: String::from_utf8_lossy(&self.pipes[STDERR].all).into_owned(),
            results_tail: String::from_utf8_lossy(&self.pipes[RESULTS].pending).into_owned(),
        };
        for stream in [&exit.stdout, &exit.stderr] {
            assert!(
                !stream.contains(SENTINEL),
                "the runtime wrote a sentinel in ActionLoop mode: {stream:?}"
            );
        }
        exit
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kit(action: &str, ack: bool) -> Proxy {
    Proxy::start("kit", ack, &[("KIT_ACTION", action)])
}

#[test]
fn ack_comes_first_when_the_proxy_waits_for_it() {
    let mut proxy = kit("echo", true);
    // The ack is written before stdin is read: nothing is sent yet.
    let ack = proxy.next();
    assert_eq!(ack.line, r#"{"ok":true}"#);
    assert_eq!((ack.stdout.as_str(), ack.stderr.as_str()), ("", ""));
    let answer = proxy.run_value(json!({"n": 1}));
    assert_eq!(answer.line, r#"{"n":1}"#);
    let exit = proxy.finish();
    assert!(exit.status.success(), "{exit:?}");
    assert_eq!(exit.results_tail, "");
}

#[test]
fn no_ack_without_wait_for_ack() {
    for ack_var in [None, Some("")] {
        let mut env = vec![("__OW_PROXY_VERSION", "1.17.1"), ("KIT_ACTION", "echo")];
        if let Some(value) = ack_var {
            env.push(("__OW_WAIT_FOR_ACK", value));
        }
        let mut proxy = Proxy::start_with_env("kit", &env);
        proxy.assert_quiet(Duration::from_millis(300));
        // The first line on fd 3 is the first result.
        let answer = proxy.run_value(json!({"first": true}));
        assert_eq!(answer.line, r#"{"first":true}"#, "with {ack_var:?}");
        assert!(proxy.finish().status.success());
    }
}

#[test]
fn echo_logs_are_out_before_the_result() {
    let mut proxy = kit("echo", false);
    // (The kit echoes a `serde_json::Value`, which sorts keys.)
    let answer = proxy.run(r#"{"value":{"nested":{"a":[1,2.5,null]},"payload":"hi"}}"#);
    assert_eq!(
        answer.line,
        r#"{"nested":{"a":[1,2.5,null]},"payload":"hi"}"#
    );
    assert_eq!(answer.stdout, "hello stdout\n");
    assert_eq!(answer.stderr, "hello stderr\n");
    // An empty `value` is `{}`.
    let answer = proxy.run(r#"{"value":{}}"#);
    assert_eq!(answer.line, "{}");
    let answer = proxy.run(r#"{"activation_id":"x"}"#);
    assert_eq!(answer.line, "{}");
    let exit = proxy.finish();
    assert!(exit.status.success(), "{exit:?}");
    assert_eq!(exit.stdout, "hello stdout\n".repeat(3));
    assert_eq!(exit.stderr, "hello stderr\n".repeat(3));
}

#[test]
fn unicode_in_input_logs_and_result() {
    let mut proxy = kit("unicode", false);
    let answer = proxy.run_value(json!({"delimiter": "❄"}));
    assert_eq!(answer.line, r#"{"winter":"❄ ☃ ❄"}"#);
    assert_eq!(answer.stdout, "❄ ☃ ❄\n");
    assert_eq!(answer.stderr, "");
    assert!(proxy.finish().status.success());
}

#[test]
fn ow_variables_come_from_the_request_line() {
    let mut proxy = kit("owenv", false);
    let answer = proxy.run(
        r#"{"value":{},"api_key":"abc","namespace":"zzz","action_name":"xxx","action_version":"0.0.1","activation_id":"iii","transaction_id":"ttt","deadline":"123"}"#,
    );
    assert_eq!(
        answer.json(),
        json!({
            "api_host": "https://openwhisk.test",
            "api_key": "abc",
            "namespace": "zzz",
            "action_name": "xxx",
            "action_version": "0.0.1",
            "activation_id": "iii",
            "transaction_id": "ttt",
            "deadline": "123",
        })
    );
    // The next activation replaces them; keys it lacks are gone, and a
    // number is exported as its JSON text.
    let answer = proxy.run(r#"{"value":{},"activation_id":"jjj","deadline":456}"#);
    assert_eq!(
        answer.json(),
        json!({
            "api_host": "https://openwhisk.test",
            "api_key": null,
            "namespace": null,
            "action_name": null,
            "action_version": null,
            "activation_id": "jjj",
            "transaction_id": null,
            "deadline": "456",
        })
    );
    assert!(proxy.finish().status.success());
}

#[test]
fn context_comes_from_the_request_line() {
    let mut proxy = kit("context", false);
    let answer = proxy.run(
        r#"{"value":{},"namespace":"guest","action_name":"/guest/ctx","action_version":"0.0.2","activation_id":"aid","transaction_id":"tid","deadline":"4102444800000","api_key":"k:s","new_key":{"a":1}}"#,
    );
    assert_eq!(
        answer.json(),
        json!({
            "activation_id": "aid",
            "action_name": "/guest/ctx",
            "action_version": "0.0.2",
            "namespace": "guest",
            "transaction_id": "tid",
            "api_key": "k:s",
            "api_host": "https://openwhisk.test",
            "deadline_ms": 4102444800000_u64,
            "has_remaining_time": true,
            "metadata": {
                "namespace": "guest",
                "action_name": "/guest/ctx",
                "action_version": "0.0.2",
                "activation_id": "aid",
                "transaction_id": "tid",
                "deadline": "4102444800000",
                "api_key": "k:s",
                "new_key": {"a": 1},
            },
        })
    );
    assert!(proxy.finish().status.success());
}

#[test]
fn a_non_object_result_is_one_error_line() {
    let mut proxy = kit("nonjson", false);
    let answer = proxy.run_value(json!({}));
    assert_eq!(answer.line, NOT_A_DICTIONARY);
    proxy.assert_alive();
    // Exactly one line: the next request gets the next line.
    assert_eq!(proxy.run_value(json!({})).line, NOT_A_DICTIONARY);
    assert!(proxy.finish().status.success());

    let mut proxy = kit("tricks", false);
    assert_eq!(
        proxy.run_value(json!({"do": "null"})).line,
        NOT_A_DICTIONARY
    );
    assert_eq!(proxy.run_value(json!({"ok": 1})).line, r#"{"ok":1}"#);
    assert!(proxy.finish().status.success());
}

#[test]
fn one_mebibyte_input_is_echoed() {
    let mut proxy = kit("echo", false);
    let big = "x".repeat(1 << 20);
    let value = json!({ "payload": big });
    let answer = proxy.run_value(value.clone());
    assert_eq!(answer.line.len(), (1 << 20) + r#"{"payload":""}"#.len());
    assert_eq!(answer.line, value.to_string());
    assert_eq!(answer.stdout, "hello stdout\n");
    // And the loop goes on.
    assert_eq!(proxy.run_value(json!({"small": 1})).line, r#"{"small":1}"#);
    assert!(proxy.finish().status.success());
}

#[test]
fn errors_are_error_lines() {
    let mut proxy = kit("tricks", false);
    let answer = proxy.run_value(json!({"do": "error"}));
    assert_eq!(answer.line, r#"{"error":"plain failure"}"#);
    let answer = proxy.run_value(json!({"do": "structured"}));
    assert_eq!(
        answer.line,
        r#"{"error":{"body":"bad input","statusCode":400}}"#
    );
    proxy.assert_alive();
    assert!(proxy.finish().status.success());
}

#[test]
fn a_panic_is_one_error_line_and_the_loop_goes_on() {
    let mut proxy = kit("tricks", false);
    let answer = proxy.run_value(json!({"do": "panic", "n": 1}));
    assert_eq!(answer.line, r#""The action panicked: boom 1""#);
    // The panic message is logged, before the result.
    assert!(answer.stderr.contains("boom 1"), "{answer:?}");
    assert!(answer.stderr.ends_with('\n'), "{answer:?}");
    proxy.assert_alive();
    let answer = proxy.run_value(json!({"do": "panic_any"}));
    assert_eq!(
        answer.line,
        r#""The action panicked: a panic without a message""#
    );
    let answer = proxy.run_value(json!({"after": "panic"}));
    assert_eq!(answer.line, r#"{"after":"panic"}"#);
    let exit = proxy.finish();
    assert!(exit.status.success(), "{exit:?}");
}

#[test]
fn arrays_in_and_out() {
    let mut proxy = kit("tricks", false);
    assert_eq!(
        proxy
            .run(r#"{"value":[1,"two",{"three":3}],"activation_id":"a"}"#)
            .line,
        r#"[1,"two",{"three":3}]"#
    );
    assert_eq!(proxy.run(r#"{"value":[]}"#).line, "[]");
    assert_eq!(
        proxy.run_value(json!({"do": "array"})).line,
        r#"[1,"two",{"three":3}]"#
    );
    assert!(proxy.finish().status.success());
}

#[test]
fn many_activations_in_one_process() {
    let mut proxy = kit("context", false);
    let pid = proxy.child.id();
    for i in 0..100 {
        let body = json!({"value": {"i": i}, "activation_id": format!("act{i}"), "deadline": "1"});
        let answer = proxy.run(&body.to_string());
        let result = answer.json();
        assert_eq!(
            result["activation_id"],
            json!(format!("act{i}")),
            "{answer:?}"
        );
        assert_eq!(
            result["metadata"],
            json!({"activation_id": format!("act{i}"), "deadline": "1"})
        );
        assert_eq!(answer.stdout, "");
    }
    assert_eq!(proxy.child.id(), pid);
    proxy.assert_alive();

    let mut proxy = kit("tricks", false);
    for i in 0..50 {
        let answer = proxy.run_value(json!({"i": i}));
        assert_eq!(answer.line, format!(r#"{{"i":{i}}}"#));
    }
    let exit = proxy.finish();
    assert!(exit.status.success(), "{exit:?}");
    assert_eq!(exit.results_tail, "");
}

#[test]
fn bad_parameters_name_the_field() {
    let mut proxy = Proxy::start("reverse", false, &[]);
    let answer = proxy.run(r#"{"value":{"payload":5}}"#);
    assert_eq!(
        answer.line,
        r#"{"error":"Invalid parameter `payload`: invalid type: integer `5`, expected a string. The action was not called."}"#
    );
    let answer = proxy.run(r#"{"value":{}}"#);
    assert_eq!(
        answer.line,
        r#"{"error":"Invalid parameters: missing field `payload`. The action was not called."}"#
    );
    let answer = proxy.run(r#"{"value":{"payload":"héllo"}}"#);
    assert_eq!(answer.line, r#"{"reversed":"olléh"}"#);
    assert!(proxy.finish().status.success());
}

#[test]
fn a_malformed_request_line_is_an_error_line() {
    let mut proxy = kit("tricks", false);
    let answer = proxy.run("this is not JSON");
    assert_eq!(
        answer.line,
        r#""The request body is not a valid activation: expected ident at line 1 column 2.""#
    );
    let answer = proxy.run("[1,2]");
    assert_eq!(
        answer.line,
        r#""The request body is not a valid activation: invalid type: sequence, expected a JSON object such as {\"value\":{...}} at line 1 column 1.""#
    );
    let answer = proxy.run(r#"{"value":5}"#);
    assert_eq!(
        answer.line,
        r#""The action did not receive a dictionary or array as an argument.""#
    );
    proxy.assert_alive();
    assert_eq!(
        proxy.run_value(json!({"still": "here"})).line,
        r#"{"still":"here"}"#
    );
    assert!(proxy.finish().status.success());
}

#[test]
fn eof_on_stdin_is_a_clean_exit() {
    let mut proxy = kit("echo", false);
    assert_eq!(proxy.run_value(json!({"a": 1})).line, r#"{"a":1}"#);
    let exit = proxy.finish();
    assert_eq!(exit.status.code(), Some(0), "{exit:?}");
    assert_eq!(exit.results_tail, "", "nothing after the last result");
    assert_eq!(exit.stdout, "hello stdout\n");
    assert_eq!(exit.stderr, "hello stderr\n");

    // Also before any request.
    let exit = kit("echo", false).finish();
    assert_eq!(exit.status.code(), Some(0), "{exit:?}");
    assert_eq!(
        (
            exit.stdout.as_str(),
            exit.stderr.as_str(),
            exit.results_tail.as_str()
        ),
        ("", "", "")
    );

    // And after the ack only.
    let mut proxy = kit("echo", true);
    assert_eq!(proxy.next().line, r#"{"ok":true}"#);
    let exit = proxy.finish();
    assert_eq!(exit.status.code(), Some(0), "{exit:?}");
    assert_eq!(exit.results_tail, "");
}

#[test]
fn partial_lines_are_finished_before_the_result() {
    let mut proxy = kit("tricks", false);
    let answer = proxy.run_value(json!({"do": "partial"}));
    assert_eq!(answer.line, r#"{"partial":true}"#);
    assert_eq!(answer.stdout, "partial out\n");
    assert_eq!(answer.stderr, "partial err\n");
    // A complete line is not doubled.
    let answer = proxy.run_value(json!({"do": "sleep", "ms": 1}));
    assert_eq!(answer.line, r#"{"slept":1}"#);
    assert_eq!(answer.stdout, "sleeping 1 ms\n");
    assert_eq!(answer.stderr, "");
    let exit = proxy.finish();
    assert_eq!(exit.stdout, "partial out\nsleeping 1 ms\n");
    assert_eq!(exit.stderr, "partial err\n");
}

#[test]
fn many_log_lines_are_all_out_before_the_result() {
    // More than a pipe buffer of logs: the pump must forward all of it, and
    // the harness keeps reading meanwhile.
    let mut proxy = kit("tricks", false);
    let answer = proxy.run_value(json!({"do": "logs", "lines": 2000}));
    assert_eq!(answer.line, r#"{"lines":2000}"#);
    assert_eq!(answer.stdout.lines().count(), 2000);
    assert!(answer.stdout.starts_with("log line 0 x"));
    assert!(
        answer
            .stdout
            .ends_with(&format!("log line 1999 {}\n", "x".repeat(100)))
    );
    assert!(proxy.finish().status.success());
}

#[test]
fn nothing_is_lost_on_non_blocking_pipes() {
    // A parent may hand over pipes in non-blocking mode: a full pipe is then
    // EAGAIN, which must mean "wait", not "drop the bytes".
    let env = [("__OW_PROXY_VERSION", "1.17.1"), ("KIT_ACTION", "tricks")];
    let mut proxy = Proxy::start_with("kit", &env, true);
    for round in 0..3 {
        let answer = proxy.run_value(json!({"do": "logs", "lines": 3000}));
        assert_eq!(answer.line, r#"{"lines":3000}"#, "round {round}");
        assert_eq!(answer.stdout.lines().count(), 3000, "round {round}");
    }
    // A result larger than a pipe buffer.
    let big = "z".repeat(512 * 1024);
    let answer = proxy.run_value(json!({ "big": big }));
    assert_eq!(answer.line.len(), big.len() + r#"{"big":""}"#.len());
    assert!(proxy.finish().status.success());
}

#[test]
fn whisk_mode_can_force_actionloop() {
    let mut proxy = Proxy::start(
        "kit",
        false,
        &[("KIT_ACTION", "echo"), ("WHISK_MODE", "actionloop")],
    );
    assert_eq!(
        proxy.run_value(json!({"forced": true})).line,
        r#"{"forced":true}"#
    );
    assert!(proxy.finish().status.success());
}

#[test]
fn shared_state_is_built_once_from_the_init_env() {
    let mut proxy = Proxy::start("plain", true, &[("GREETING", "Ahoy")]);
    assert_eq!(proxy.next().line, r#"{"ok":true}"#, "the ack");
    for name in ["ann", "bob"] {
        let answer = proxy.run_value(json!({ "name": name }));
        assert_eq!(answer.json()["greeting"], format!("Ahoy, {name}!"));
    }
    let exit = proxy.finish();
    assert_eq!(exit.status.code(), Some(0), "{exit:?}");
    assert_eq!(exit.stdout.matches("state built").count(), 1, "{exit:?}");
}

#[test]
fn a_failed_state_init_ends_the_process_before_the_ack() {
    for ack in [true, false] {
        let exit = Proxy::start("plain", ack, &[("GREETING", "")]).finish();
        assert_eq!(exit.status.code(), Some(1), "{exit:?}");
        assert_eq!(exit.results_tail, "", "no ack, no result: {exit:?}");
        assert_eq!(
            exit.stderr,
            "The action failed to initialize: GREETING must not be empty\n"
        );
    }
}
