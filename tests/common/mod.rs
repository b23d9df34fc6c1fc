//! Test harness: starts an example binary as a child process (as OpenWhisk
//! starts a container), talks raw HTTP/1.1 to it, and captures its stdout and
//! stderr to count sentinels the way OpenWhisk's test kit does.
#![allow(dead_code)]

use std::io::{BufRead, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const SENTINEL: &str = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

/// The path of a built example (`cargo test` builds every example first).
pub fn example(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop(); // deps/
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "example `{name}` is not built at {}: run `cargo test` (which builds examples) or `cargo build --examples`",
        path.display()
    );
    // `cargo test --test X` does not rebuild examples: refuse a stale one
    // rather than test old code.
    let built = modified(&path);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let own = [
        root.join("examples").join(format!("{name}.rs")),
        root.join("tests/fixtures").join(format!("{name}.rs")),
    ];
    let sources = [
        "src",
        "whisk-runtime/src",
        "whisk-macros/src",
        "whisk-client/src",
    ]
    .iter()
    .filter_map(|dir| newest_source(&root.join(dir)))
    .chain(
        own.into_iter()
            .filter(|p| p.exists())
            .map(|p| (modified(&p), p)),
    );
    for newer in sources {
        if newer.0 > built {
            panic!(
                "example `{name}` is older than {}: run `cargo build --examples` (or plain `cargo test`)",
                newer.1.display()
            );
        }
    }
    path
}

fn modified(path: &std::path::Path) -> std::time::SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(std::time::UNIX_EPOCH)
}

/// The most recently modified `.rs` file below `dir`.
fn newest_source(dir: &std::path::Path) -> Option<(std::time::SystemTime, PathBuf)> {
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let candidate = if path.is_dir() {
            newest_source(&path)
        } else if path.extension().is_some_and(|e| e == "rs") {
            Some((modified(&path), path))
        } else {
            None
        };
        if let Some(c) = candidate.filter(|c| newest.as_ref().is_none_or(|n| c.0 > n.0)) {
            newest = Some(c);
        }
    }
    newest
}

/// A captured output stream of a child process.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn spawn(mut source: impl Read + Send + 'static) -> (Capture, JoinHandle<()>) {
        let capture = Capture::default();
        let sink = capture.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match source.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => sink.0.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
        });
        (capture, thread)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// What the process wrote, after it exited.
#[derive(Debug)]
pub struct Logs {
    pub stdout: String,
    pub stderr: String,
    pub status: std::process::ExitStatus,
}

/// Counts sentinels on each stream, as the kit's `checkStreams` does.
pub fn sentinels(stream: &str) -> usize {
    stream.matches(SENTINEL).count()
}

/// The stream without its sentinels, trimmed (the kit's "empty" check).
pub fn without_sentinels(stream: &str) -> String {
    stream.replace(SENTINEL, "").trim().to_owned()
}

impl Logs {
    /// Asserts exactly `n` sentinels on each stream, each alone on its line
    /// (Kubernetes matches the whole line).
    pub fn assert_sentinels(&self, n: usize) {
        for (name, stream) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            assert_eq!(sentinels(stream), n, "sentinels on {name}: {stream:?}");
            let alone = stream.lines().filter(|l| *l == SENTINEL).count();
            assert_eq!(
                alone, n,
                "sentinels alone on their line on {name}: {stream:?}"
            );
        }
    }
}

/// A response as read off the wire.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Every response of the protocol: JSON, exact Content-Length, no chunking.
    pub fn assert_framing(&self) {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        assert_eq!(
            self.header("content-length"),
            Some(self.body.len().to_string().as_str()),
            "{self:?}"
        );
        assert_eq!(self.header("transfer-encoding"), None, "{self:?}");
        assert_ne!(self.status, 204);
        assert_ne!(self.status, 503);
    }
}

/// An action process serving HTTP on a free loopback port.
pub struct Server {
    child: Child,
    pub port: u16,
    pub stdout: Capture,
    pub stderr: Capture,
    readers: Vec<JoinHandle<()>>,
    _dir: TempDir,
}

impl Server {
    /// Starts `example` in HTTP mode with extra environment variables.
    pub fn start(example_name: &str, env: &[(&str, &str)]) -> Server {
        let dir = TempDir::new();
        let port_file = dir.0.join("port");
        let mut command = Command::new(example(example_name));
        command
            .env("WHISK_MODE", "http")
            .env("WHISK_HOST", "127.0.0.1")
            .env("WHISK_PORT", "0")
            .env("WHISK_PORT_FILE", &port_file)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start the example");
        let (stdout, out_thread) = Capture::spawn(child.stdout.take().unwrap());
        let (stderr, err_thread) = Capture::spawn(child.stderr.take().unwrap());
        let started = Instant::now();
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                break text.trim().parse().expect("port file holds a port");
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "the action exited at start-up with {status}: {}",
                    stderr.text()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the action did not start"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        Server {
            child,
            port,
            stdout,
            stderr,
            readers: vec![out_thread, err_thread],
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one request on a new connection (as the invoker does).
    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> Response {
        request(self.port, method, path, body)
    }

    pub fn post(&self, path: &str, body: impl AsRef<[u8]>) -> Response {
        self.request("POST", path, body.as_ref())
    }

    /// `POST /init` with the kit's payload shape.
    pub fn init(&self, env: Option<Value>) -> Response {
        let payload = serde_json::json!({
            "value": {"code": null, "main": "main", "binary": false, "env": env}
        });
        self.post("/init", payload.to_string())
    }

    /// `POST /run` with `{"value": value}` plus metadata keys.
    pub fn run(&self, value: Value) -> Response {
        self.post("/run", serde_json::json!({ "value": value }).to_string())
    }

    /// `POST /run` of `{"value": value}` from another thread, on a new
    /// connection (a slow activation to overlap with, say).
    pub fn run_in_background(&self, value: Value) -> JoinHandle<Response> {
        let port = self.port;
        let body = serde_json::json!({ "value": value }).to_string();
        std::thread::spawn(move || request(port, "POST", "/run", body.as_bytes()))
    }

    /// SIGTERM, wait for the exit, and collect everything it printed.
    pub fn stop(mut self) -> Logs {
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = wait_timeout(&mut self.child, Duration::from_secs(20));
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        Logs {
            stdout: self.stdout.text(),
            stderr: self.stderr.text(),
            status,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One HTTP/1.1 request on a fresh connection; reads the response to EOF.
pub fn request(port: u16, method: &str, path: &str, body: &[u8]) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    parse_response(&raw)
}

/// Sends `bytes` on a new connection (half-closing it after them if
/// `half_close`) and returns everything the server sends back before it
/// closes the connection, or within 10 s.
pub fn raw_exchange(port: u16, bytes: &[u8], half_close: bool) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    if half_close {
        stream.shutdown(Shutdown::Write).unwrap();
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    response
}

/// A `POST /run` request as raw bytes: `headers` (each line ending in
/// `\r\n`, or none) before a Content-Length that fits `body`.
pub fn run_request(headers: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /run HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// Reads one response from a connection that stays open: the head, then
/// as many body bytes as its Content-Length says.
pub fn read_response(reader: &mut impl BufRead) -> Response {
    let mut raw = Vec::new();
    while !raw.ends_with(b"\r\n\r\n") {
        let n = reader.read_until(b'\n', &mut raw).expect("read the head");
        assert!(n > 0, "the connection ended in the head: {raw:?}");
    }
    let mut response = parse_response(&raw);
    let length = response
        .header("content-length")
        .expect("a Content-Length")
        .parse()
        .unwrap();
    response.body = vec![0; length];
    reader
        .read_exact(&mut response.body)
        .expect("read the body");
    response
}

pub fn parse_response(raw: &[u8]) -> Response {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    Response {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("whisk-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
