//! What a client, the platform or the action itself can throw at the HTTP
//! server: each answered with the exact status and a JSON error naming the
//! problem, and the next good request still succeeds.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn error(message: &str) -> serde_json::Value {
    json!({ "error": message })
}

fn assert_still_serving(server: &Server) {
    let r = server.run(json!({"still": "serving"}));
    assert_eq!((r.status, r.json()), (200, json!({"still": "serving"})));
}

fn echo() -> Server {
    Server::start(
        "kit",
        &[("KIT_ACTION", "plain"), ("WHISK_READ_TIMEOUT_SECS", "0.5")],
    )
}

#[test]
fn every_json_type_as_value() {
    let server = echo();
    for (value, status, body) in [
        ("null", 200, json!({})),
        ("{}", 200, json!({})),
        ("[]", 200, json!([])),
        (
            "true",
            400,
            error("The action did not receive a dictionary or array as an argument."),
        ),
        (
            "1.5",
            400,
            error("The action did not receive a dictionary or array as an argument."),
        ),
        (
            r#""text""#,
            400,
            error("The action did not receive a dictionary or array as an argument."),
        ),
    ] {
        let r = server.post("/run", format!(r#"{{"value":{value}}}"#));
        r.assert_framing();
        assert_eq!((r.status, r.json()), (status, body), "value {value}");
    }
    assert_still_serving(&server);
}

#[test]
fn deep_nesting_is_bounded_not_a_stack_overflow() {
    let server = echo();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = server.post("/run", format!(r#"{{"value":{{"a":{deep}}}}}"#));
    r.assert_framing();
    assert_eq!(r.status, 200);
    let message = r.json()["error"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("Invalid parameter `a[0][0]"),
        "{message}"
    );
    assert!(
        message.ends_with("…`: recursion limit exceeded. The action was not called."),
        "{message}"
    );
    let r = server.post("/run", format!(r#"{{"value":{{}},"meta":{deep}}}"#));
    r.assert_framing();
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        error(
            "The request body is not a valid activation: recursion limit exceeded at line 1 column 146."
        )
    );
    assert_still_serving(&server);
}

#[test]
fn invalid_utf8_and_garbage_are_400() {
    let server = echo();
    for (body, message) in [
        (
            &b"{\"value\":{\"a\":\"\xff\"}}"[..],
            "The request body is not a valid activation: invalid unicode code point at line 1 column 16.",
        ),
        (
            &b"\x00\x01\x02"[..],
            "The request body is not a valid activation: expected value at line 1 column 1.",
        ),
        (
            &b"{\"value\":{}} trailing"[..],
            "The request body is not a valid activation: trailing characters at line 1 column 14.",
        ),
    ] {
        let r = server.request("POST", "/run", body);
        r.assert_framing();
        assert_eq!((r.status, r.json()), (400, error(message)));
    }
    assert_still_serving(&server);
}

#[test]
fn content_type_is_not_required() {
    let server = echo();
    let body = br#"{"value":{"x":1}}"#;
    let head = format!(
        "POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let response = parse_response(&raw_exchange(
        server.port,
        &[head.as_bytes(), body].concat(),
        false,
    ));
    assert_eq!((response.status, response.json()), (200, json!({"x": 1})));
}

#[test]
fn a_truncated_body_is_400() {
    let server = echo();
    let head = b"POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"value\":{";
    let response = parse_response(&raw_exchange(server.port, head, true));
    response.assert_framing();
    assert_eq!(response.status, 400);
    let message = response.json()["error"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("The request body could not be read: "),
        "{message}"
    );
    assert_still_serving(&server);
}

#[test]
fn a_body_over_the_limit_is_413_without_reading_it() {
    let server = Server::start(
        "kit",
        &[("KIT_ACTION", "plain"), ("WHISK_RUN_MAX_BYTES", "1024")],
    );
    // Declared too large: refused before a byte of the body is read.
    let head = b"POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n";
    let response = parse_response(&raw_exchange(server.port, head, true));
    response.assert_framing();
    assert_eq!(
        (response.status, response.json()),
        (
            413,
            error("The request body is larger than the limit of 1024 bytes.")
        )
    );
    // Chunked, with no declared length: cut off at the limit.
    let mut chunked =
        b"POST /run HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..4 {
        chunked.extend_from_slice(b"200\r\n");
        chunked.extend_from_slice(&[b' '; 0x200]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let response = parse_response(&raw_exchange(server.port, &chunked, false));
    assert_eq!(
        (response.status, response.json()),
        (
            413,
            error("The request body is larger than the limit of 1024 bytes.")
        )
    );
    assert_still_serving(&server);
}

#[test]
fn a_body_in_pieces_is_read_whole() {
    let server = echo();
    let value = json!({"text": "ÆØÅ ✓ in pieces", "n": [1, 2, 3]});
    let body = json!({ "value": value }).to_string().into_bytes();
    // Chunked, cut inside a key and inside a multi-byte character.
    let cut = |s: &[u8], at: &[u8]| s.windows(at.len()).position(|w| w == at).unwrap();
    let (a, b) = (cut(&body, b"ext"), cut(&body, "Ø".as_bytes()) + 1);
    let mut chunked =
        b"POST /run HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for piece in [&body[..a], &body[a..b], &body[b..]] {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let response = parse_response(&raw_exchange(server.port, &chunked, false));
    assert_eq!((response.status, response.json()), (200, value.clone()));
    // With a Content-Length, in two writes with a pause between them.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let head = format!(
        "POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body[..b]).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    stream.write_all(&body[b..]).unwrap();
    let mut answer = Vec::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = stream.read_to_end(&mut answer);
    let response = parse_response(&answer);
    response.assert_framing();
    assert_eq!((response.status, response.json()), (200, value));
}

#[test]
fn a_slow_body_is_408_and_does_not_hold_the_slot() {
    let server = echo();
    let mut slow = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    slow.write_all(b"POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"va")
        .unwrap();
    // Meanwhile the only activation slot is free for others.
    let started = Instant::now();
    assert_still_serving(&server);
    assert!(started.elapsed() < Duration::from_millis(400));
    let mut response = Vec::new();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = slow.read_to_end(&mut response);
    let response = parse_response(&response);
    response.assert_framing();
    assert_eq!(
        (response.status, response.json()),
        (408, error("The request body did not arrive within 0.5 s."))
    );
    assert_still_serving(&server);
}

/// Sends `bytes` on a new connection and reads until the server closes it:
/// what came back, and how long the server took to close after the send.
fn until_closed(server: &Server, bytes: &[u8]) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let answered = raw_exchange(server.port, bytes, false);
    (answered, started.elapsed())
}

/// Closed after one to two read timeouts (the `echo` server's 0.5 s).
fn assert_closed_after_the_read_timeout(waited: Duration) {
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );
}

#[test]
fn slow_headers_are_cut_off() {
    let server = echo();
    let (answered, waited) = until_closed(&server, b"POST /run HTTP/1.1\r\nHost: x\r\n");
    assert_eq!(answered, b"");
    assert_closed_after_the_read_timeout(waited);
    assert_still_serving(&server);
}

#[test]
fn an_idle_connection_is_closed_after_the_read_timeout() {
    let server = echo();
    // One request on a keep-alive connection, then nothing.
    let (answered, waited) = until_closed(
        &server,
        b"POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n{\"value\":{}}",
    );
    let response = parse_response(&answered);
    assert_eq!((response.status, response.json()), (200, json!({})));
    assert_closed_after_the_read_timeout(waited);
    assert_still_serving(&server);
}

#[test]
fn an_activation_longer_than_the_read_timeout_keeps_its_connection() {
    // Concurrency on: the sync action runs on the blocking pool, so the
    // server's thread (and the slow-client check) keeps running meanwhile.
    let server = Server::start(
        "kit",
        &[
            ("KIT_ACTION", "tricks"),
            ("WHISK_READ_TIMEOUT_SECS", "0.3"),
            ("__OW_ALLOW_CONCURRENT", "true"),
        ],
    );
    let r = server.run(json!({"do": "sleep", "ms": 1500}));
    r.assert_framing();
    assert_eq!((r.status, r.json()), (200, json!({"slept": 1500})));
}

/// A client may shut down its sending side once its request is out
/// (HTTP/1.1 allows it; `nc -N` does it) and still read the answer. The
/// activation runs either way, so the answer must not be lost: not while
/// it runs on the blocking pool (concurrency on), when the server reads the
/// connection meanwhile and sees the end of its stream, and not when it
/// runs on the server's thread.
#[test]
fn a_client_that_half_closes_after_its_request_gets_the_answer() {
    for concurrent in ["true", "false"] {
        let server = Server::start(
            "kit",
            &[
                ("KIT_ACTION", "tricks"),
                ("__OW_ALLOW_CONCURRENT", concurrent),
            ],
        );
        let body = br#"{"value":{"do":"sleep","ms":50}}"#;
        let response = parse_response(&raw_exchange(server.port, &run_request("", body), true));
        response.assert_framing();
        assert_eq!(
            (response.status, response.json()),
            (200, json!({"slept": 50})),
            "concurrency {concurrent}"
        );
    }
}

#[test]
fn very_long_headers_are_refused_and_the_server_lives_on() {
    let server = echo();
    let head = format!(
        "POST /run HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nContent-Length: 2\r\n\r\n{{}}",
        "a".repeat(1 << 20)
    );
    let response = raw_exchange(server.port, head.as_bytes(), false);
    // hyper answers 431 itself (before whisk sees the request), or resets.
    if !response.is_empty() {
        assert_eq!(parse_response(&response).status, 431);
    }
    assert_still_serving(&server);
}

#[test]
fn async_panics_while_polled_are_502() {
    let server = Server::start("deadline", &[]);
    let r = server.run(json!({"work_ms": 5, "panic_after_await": true}));
    r.assert_framing();
    assert_eq!(
        (r.status, r.json()),
        (
            502,
            error("The action panicked: panicked while the future was polled")
        )
    );
    let r = server.run(json!({"work_ms": 5}));
    assert_eq!((r.status, r.json()["worked_ms"].clone()), (200, json!(5)));
    server.stop().assert_sentinels(2);
}

#[test]
fn a_blocking_action_does_not_starve_concurrent_requests() {
    let server = Server::start(
        "kit",
        &[("KIT_ACTION", "tricks"), ("__OW_ALLOW_CONCURRENT", "true")],
    );
    let blocker = server.run_in_background(json!({"do":"sleep","ms":1500}));
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(server.run(json!({"quick": true})).status, 200);
    }
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(blocker.join().unwrap().status, 200);
}

#[test]
fn the_deadline_cuts_work_short() {
    let server = Server::start("deadline", &[]);
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 300;
    let body = json!({"value": {"work_ms": 5000}, "deadline": deadline.to_string(), "activation_id": "d1"});
    let started = Instant::now();
    let r = server.post("/run", body.to_string());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["error"]["message"], "stopped before the deadline");
}

#[test]
fn sigint_also_stops_gracefully() {
    let server = echo();
    assert_still_serving(&server);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(server.pid() as i32, libc::SIGINT) };
    let logs = server.stop();
    assert!(logs.status.success(), "{:?}", logs.status);
    logs.assert_sentinels(1);
}

#[test]
fn secrets_never_reach_logs_or_errors() {
    let server = Server::start("kit", &[("KIT_ACTION", "tricks")]);
    let bad = server.init(Some(
        json!({"GOOD": "s3cret-env", "BAD=NAME": "s3cret-value"}),
    ));
    bad.assert_framing();
    assert_eq!(bad.status, 400);
    assert!(!bad.text().contains("s3cret"), "{}", bad.text());
    for value in [
        json!({"do": "panic"}),
        json!({"do": "error"}),
        json!("scalar"),
    ] {
        let body = json!({"value": value, "api_key": "uuid:s3cret-key", "activation_id": "a"});
        let r = server.post("/run", body.to_string());
        assert!(!r.text().contains("s3cret"), "{}", r.text());
    }
    let logs = server.stop();
    assert!(!logs.stdout.contains("s3cret"), "{}", logs.stdout);
    assert!(!logs.stderr.contains("s3cret"), "{}", logs.stderr);
}

#[test]
fn an_activation_completes_when_its_client_goes_away() {
    // An async action (it waits, so it runs in a task of its own) and a sync
    // one on the blocking pool: both must finish and write their sentinels
    // even though nobody reads the answer.
    for (example, env, slow, quick) in [
        (
            "deadline",
            vec![],
            json!({"work_ms": 300}),
            json!({"work_ms": 1}),
        ),
        (
            "kit",
            vec![("KIT_ACTION", "tricks"), ("__OW_ALLOW_CONCURRENT", "true")],
            json!({"do": "sleep", "ms": 300}),
            json!({"do": "sleep", "ms": 1}),
        ),
    ] {
        let server = Server::start(example, &env);
        let body = json!({ "value": slow }).to_string();
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream.write_all(&run_request("", body.as_bytes())).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        drop(stream);
        // The activation is still running; give it time to end on its own
        // (a stop now would only drain connections, and this one is gone).
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(server.run(quick).status, 200);
        let logs = server.stop();
        // The abandoned activation and the one that checked we still serve.
        logs.assert_sentinels(2);
    }
}

/// A number from the server's `/proc/<pid>/status` (`VmRSS` in KiB,
/// `Threads`, ...).
fn proc_status(server: &Server, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/<pid>/status"))
}

/// The server's resident memory in KiB.
fn rss_kib(server: &Server) -> u64 {
    proc_status(server, "VmRSS")
}

/// One activation at a time (OpenWhisk's default), the server is its own
/// thread and one helper thread, which forwards the logs and refuses
/// overlapping requests: each further thread would cost a cold start some
/// 0.1 ms (BENCHMARKS.md).
#[test]
fn one_helper_thread_serves_logs_and_refusals() {
    let server = Server::start("kit", &[("KIT_ACTION", "plain")]);
    assert_eq!(server.init(None).status, 200);
    assert_eq!(server.run(json!({"a": 1})).status, 200);
    assert_eq!(proc_status(&server, "Threads"), 2);
}

/// A warm container serves activation after activation, each with its own
/// activation id, transaction id and deadline, exported as `__OW_*`
/// variables (concurrency off). Exporting them must not cost memory per
/// activation (glibc's `setenv` keeps every value it was given: about 265
/// bytes an activation), and each activation must see its own values, of
/// whatever length.
#[test]
fn exported_metadata_is_exact_and_costs_no_memory_per_activation() {
    let server = Server::start("kit", &[("KIT_ACTION", "owenv")]);
    assert_eq!(server.init(None).status, 200);
    let run = |i: usize| {
        // Lengths from 1 to 80 in turn: values that fit in place, and
        // values that outgrow their buffer.
        let id = format!("{i}-{}", "a".repeat(i % 80));
        let tid = format!("t{i}");
        let deadline = 4_102_444_800_000_u64 + i as u64;
        let body = json!({"value": {}, "activation_id": id, "transaction_id": tid,
                          "deadline": deadline.to_string(), "namespace": "guest"});
        let r = server.post("/run", body.to_string());
        assert_eq!(r.status, 200);
        let seen = r.json();
        assert_eq!(
            (
                &seen["activation_id"],
                &seen["transaction_id"],
                &seen["deadline"],
                &seen["namespace"]
            ),
            (
                &json!(id),
                &json!(tid),
                &json!(deadline.to_string()),
                &json!("guest")
            ),
            "activation {i}"
        );
    };
    for i in 0..500 {
        run(i);
    }
    let before = rss_kib(&server);
    for i in 500..4500 {
        run(i);
    }
    let after = rss_kib(&server);
    // With setenv: about 1,000 KiB more for these 4,000 activations.
    assert!(
        after < before + 256,
        "RSS grew from {before} KiB to {after} KiB over 4,000 activations"
    );
}

/// How the kit's server in HTTP mode ended with at most `limit` descriptors:
/// its exit code, stdout and stderr, or `None` if it started serving.
///
/// Every descriptor it would inherit is closed first, from the test harness
/// or from whatever started the harness (a CI runner may leak any number),
/// so that the limit counts the server's own descriptors only.
fn with_descriptors(limit: u64) -> Option<(Option<i32>, String, String)> {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(example("kit"));
    command
        .env("WHISK_MODE", "http")
        .env("WHISK_HOST", "127.0.0.1")
        .env("WHISK_PORT", "0")
        .env("__OW_ALLOW_CONCURRENT", "true")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec. Descriptors
    // marked close-on-exec (std's own error pipe among them) are left to exec.
    unsafe {
        command.pre_exec(move || {
            for fd in 3..1024 {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                    libc::close(fd);
                }
            }
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let dir = TempDir::new();
    let port_file = dir.0.join("port");
    command.env("WHISK_PORT_FILE", &port_file);
    let mut child = command.spawn().unwrap();
    // Started: it answers HTTP, or it has lived 3 s since it wrote its
    // port (with one descriptor too few to accept a connection it backs off
    // and keeps serving). The port is written before the runtime that fails
    // here is built; a failure exits within milliseconds.
    let spawned = Instant::now();
    let mut listening = None;
    while child.try_wait().unwrap().is_none() {
        if let Ok(port) = std::fs::read_to_string(&port_file) {
            let since = *listening.get_or_insert_with(Instant::now);
            if answers_http(port.trim().parse().unwrap())
                || since.elapsed() > Duration::from_secs(3)
            {
                child.kill().unwrap();
                child.wait().unwrap();
                return None;
            }
        }
        assert!(
            spawned.elapsed() < Duration::from_secs(20),
            "{limit} descriptors: did not start listening in 20 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    Some((
        output.status.code(),
        text(output.stdout),
        text(output.stderr),
    ))
}

/// Whether a server on `port` answers a request with an HTTP status line.
fn answers_http(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut answer = Vec::new();
    let _ = stream.write_all(b"GET / HTTP/1.0\r\n\r\n");
    let _ = stream.read_to_end(&mut answer);
    answer.starts_with(b"HTTP/1.1 ")
}

/// Out of file descriptors at start-up, at every point before the server
/// serves: the process exits 1 and says why in one line on stderr; the
/// message is not lost in the log pipe. The limits are swept upwards until
/// the server starts, so the test does not depend on how many descriptors
/// this machine's loader, libc or tokio need.
#[test]
fn a_runtime_that_cannot_start_says_why() {
    let mut failures = Vec::new();
    let mut started = None;
    for limit in 3..=64 {
        match with_descriptors(limit) {
            Some(failure) => failures.push((limit, failure)),
            None => {
                started = Some(limit);
                break;
            }
        }
    }
    let started = started.expect("the server never started with up to 64 descriptors");
    // The dynamic loader needs a descriptor of its own before `main`.
    let loaded = failures
        .iter()
        .position(|(_, (_, _, e))| !e.contains("error while loading shared libraries"))
        .unwrap_or(failures.len());
    let failures = &failures[loaded..];
    assert!(
        !failures.is_empty(),
        "the server started with {started} descriptors, the least tried"
    );
    for (limit, (code, stdout, stderr)) in failures {
        assert_eq!(*code, Some(1), "{limit} descriptors: {stderr}");
        assert!(
            stderr.starts_with("whisk: ")
                && stderr.contains("Too many open files")
                && stderr.lines().count() == 1,
            "{limit} descriptors: {stderr:?}"
        );
        assert!(stdout.is_empty(), "{limit} descriptors: {stdout:?}");
    }
    // Tokio returns an error for some of its descriptors and panics for
    // others (its signal driver's socket pair); the panic is caught and
    // reported in one line (checked above), and the error is said exactly.
    let said: Vec<&str> = failures.iter().map(|(_, (_, _, e))| e.as_str()).collect();
    assert!(
        said.contains(
            &"whisk: cannot start the async runtime: Too many open files (os error 24)\n"
        ),
        "{said:#?}"
    );
}

/// A client that writes its whole request before it reads the answer (as
/// Python's `http.client` and Apache HttpClient do) gets the early answer,
/// a 413 for a body over the limit or a 404 for a path with a body, rather
/// than a reset: the server reads and drops the body first.
#[test]
fn a_client_that_writes_its_whole_body_first_reads_the_413() {
    let server = Server::start(
        "kit",
        &[("KIT_ACTION", "plain"), ("WHISK_RUN_MAX_BYTES", "1048576")],
    );
    let body = vec![b' '; 16 << 20];
    for (path, status, message) in [
        (
            "/run",
            413,
            "The request body is larger than the limit of 1048576 bytes.".to_owned(),
        ),
        (
            "/elsewhere",
            404,
            "There is no /elsewhere here: an action serves POST /init and POST /run.".to_owned(),
        ),
    ] {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        // All of it, before reading anything: without the server reading
        // it, this fails with a broken pipe or a reset.
        stream
            .write_all(&body)
            .unwrap_or_else(|e| panic!("{path}: the server stopped reading the body: {e}"));
        // The body was read whole: the connection stays open for more.
        let response = read_response(&mut std::io::BufReader::new(&stream));
        response.assert_framing();
        assert_eq!(
            (response.status, response.json()),
            (status, error(&message)),
            "{path}"
        );
    }
    assert_still_serving(&server);
}

/// The busy responder (concurrency off, a sync action holding the
/// server's thread) under 40 overlapping 16 MiB requests, with a 1 MiB
/// body limit: it reads and drops what it reads, on at most 4 threads, so
/// the server's memory and thread count stay flat; every answer is the
/// 403 (or, once the slow activation is over, the server's own 413); the
/// slow activation itself succeeds.
#[test]
fn the_busy_responder_is_bounded_under_a_flood_of_large_requests() {
    let server = Server::start(
        "kit",
        &[("KIT_ACTION", "tricks"), ("WHISK_RUN_MAX_BYTES", "1048576")],
    );
    let status = |field: &str| -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(server.run(json!({"do": "sleep", "ms": 1})).status, 200);
    let (rss_before, threads_before) = (status("VmRSS:"), status("Threads:"));
    let slow = server.run_in_background(json!({"do": "sleep", "ms": 3000}));
    std::thread::sleep(Duration::from_millis(300));
    let port = server.port;
    let clients: Vec<_> = (0..40)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .ok()?;
                let mut request = format!(
                    "POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                    16 << 20
                )
                .into_bytes();
                request.resize(request.len() + (16 << 20), b' ');
                // A client answered unread may see its write fail.
                let _ = stream.write_all(&request);
                let mut response = Vec::new();
                let _ = stream.read_to_end(&mut response);
                (!response.is_empty()).then(|| parse_response(&response))
            })
        })
        .collect();
    let (mut rss_max, mut threads_max) = (0, 0);
    while !clients.iter().all(|c| c.is_finished()) {
        rss_max = rss_max.max(status("VmRSS:"));
        threads_max = threads_max.max(status("Threads:"));
        std::thread::sleep(Duration::from_millis(10));
    }
    let answers: Vec<_> = clients
        .into_iter()
        .filter_map(|c| c.join().unwrap())
        .collect();
    let busy = error("System not ready, status is running.");
    let too_large = error("The request body is larger than the limit of 1048576 bytes.");
    assert!(answers.len() >= 4, "only {} answers", answers.len());
    for answer in &answers {
        let answer = (answer.status, answer.json());
        assert!(
            answer == (403, busy.clone()) || answer == (413, too_large.clone()),
            "{answer:?}"
        );
    }
    assert!(
        threads_max <= threads_before + 4,
        "threads: {threads_before} before, {threads_max} at most"
    );
    assert!(
        rss_max <= rss_before + 8 * 1024,
        "RSS: {rss_before} kB before, {rss_max} kB at most"
    );
    let done = slow.join().unwrap();
    assert_eq!((done.status, done.json()), (200, json!({"slept": 3000})));
}
