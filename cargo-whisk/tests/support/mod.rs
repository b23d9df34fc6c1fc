//! Shared by the end-to-end tests: the `cargo-whisk` binary, crates it
//! generates (all built in ONE target dir, so whisk and its dependencies
//! compile once per target), and a small HTTP client for `/init` and `/run`.

#![allow(dead_code)] // each test binary uses part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The whisk checkout these tests run in.
pub fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The one target dir every generated crate builds in.
pub fn shared_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated")
}

/// `cargo-whisk` with the shared target dir. Release builds skip fat LTO
/// here (the generated profile's slowest part; the result is the same
/// program) so that the suite stays within CI's time.
pub fn cargo_whisk() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-whisk"));
    command
        .env("CARGO_TARGET_DIR", shared_target())
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env_remove("NO_COLOR");
    command
}

/// Runs a command, returning its output; stderr is echoed for failures.
pub fn output(command: &mut Command) -> Output {
    let out = command.output().expect("start the command");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Runs a command and asserts it succeeded.
pub fn success(command: &mut Command) -> Output {
    let out = output(command);
    assert!(out.status.success(), "{command:?} failed: {}", out.status);
    out
}

/// A fresh directory under the system's temp dir (outside the checkout's
/// workspace, as a user's crate would be), removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("cargo-whisk-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `cargo whisk new NAME --template TEMPLATE --whisk-path CHECKOUT` in `dir`.
pub fn new_crate(dir: &Path, name: &str, template: &str) -> PathBuf {
    success(
        cargo_whisk()
            .current_dir(dir)
            .args(["whisk", "new", name, "--template", template, "--whisk-path"])
            .arg(checkout()),
    );
    dir.join(name)
}

/// The reverse crate `hello`, generated once per test binary.
pub fn hello() -> &'static Path {
    static HELLO: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    &HELLO
        .get_or_init(|| {
            let dir = TempDir::new("hello");
            let path = new_crate(&dir.0, "hello", "reverse");
            (dir, path)
        })
        .1
}

/// The `Built NAME (...): PATH` line's path.
pub fn built_path(stderr: &[u8]) -> PathBuf {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Built "))
        .unwrap_or_else(|| panic!("no `Built` line in {text}"));
    PathBuf::from(line.rsplit_once("): ").unwrap().1)
}

/// A port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running action, killed on drop.
pub struct Served {
    pub child: Child,
    pub port: u16,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command` (an action binary, maybe under qemu or chroot) in HTTP
/// mode on a free port of 127.0.0.1 and waits until it accepts connections.
pub fn serve(mut command: Command) -> Served {
    let port = free_port();
    let child = command
        .env("WHISK_MODE", "http")
        .env("WHISK_HOST", "127.0.0.1")
        .env("WHISK_PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the action");
    let mut served = Served { child, port };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = served.child.try_wait().unwrap() {
            panic!("the action exited at start-up with {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "it did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    served
}

/// `POST path` with a JSON body; the status and body of the answer.
pub fn post(port: u16, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a full response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// OpenWhisk's `/init` then `/run` of `{"payload":"hello"}`, asserting the
/// exact answers of the reverse action.
pub fn assert_reverses(port: u16) {
    let init = r#"{"value":{"code":null,"main":"main","binary":false,"env":{}}}"#;
    assert_eq!(
        post(port, "/init", init),
        (200, r#"{"ok":true}"#.to_owned())
    );
    let run = r#"{"value":{"payload":"hello"},"activation_id":"a1","deadline":"4102444800000"}"#;
    assert_eq!(
        post(port, "/run", run),
        (200, r#"{"reversed":"olleh"}"#.to_owned())
    );
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

// ---------------------------------------------------------------------------
// invoke, serve, deploy: fixture action crates (in the same shared target
// dir), processes whose stderr is read as it arrives, an HTTP client that
// keeps the headers.

/// A fixture crate `name` under the tests' temporary directory with the
/// given binaries (`(bin name, source)`); rewritten only when it changed, so
/// that cargo's incremental build is kept between runs.
pub fn fixture_crate(name: &str, bins: &[(&str, String)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(dir.join("src/bin")).unwrap();
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nwhisk = {{ package = \"whisk-rs\", path = {:?} }}\n\
         serde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = \"1\"\n\n[workspace]\n\n\
         # `deploy --zip` builds the release profile for musl: kept quick here.\n\
         [profile.release]\nopt-level = 0\ndebug = false\n",
        checkout().display().to_string()
    );
    write_if_changed(&dir.join("Cargo.toml"), &manifest);
    // The repository's lock file: the same versions, no resolution needed.
    if !dir.join("Cargo.lock").exists() {
        std::fs::copy(checkout().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    }
    for (bin, source) in bins {
        write_if_changed(&dir.join("src/bin").join(format!("{bin}.rs")), source);
    }
    dir
}

pub fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).unwrap();
    }
}

/// A fixture of `cargo-whisk/tests/fixtures/`.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// An example of the repository (`examples/`).
pub fn example(name: &str) -> String {
    std::fs::read_to_string(checkout().join("examples").join(name)).unwrap()
}

/// The crate with every fixture action.
pub fn actions() -> PathBuf {
    fixture_crate(
        "whisk-test-actions",
        &[
            ("reverse", example("reverse.rs")),
            ("web_image", example("web_image.rs")),
            ("counter", example("counter.rs")),
            ("kinds", fixture("kinds.rs")),
            ("echo", fixture("echo.rs")),
            ("page", fixture("page.rs")),
        ],
    )
}

/// Runs `cargo whisk ARGS` in `dir` to completion.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    cargo_whisk()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("start cargo-whisk")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// A process whose stderr is collected by a thread as it arrives.
pub struct Running {
    pub child: Child,
    pub stderr: Arc<Mutex<String>>,
}

impl Running {
    pub fn start(mut command: Command) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cargo-whisk");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let mut pipe = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            let mut line = String::new();
            while pipe.read_line(&mut line).unwrap_or(0) > 0 {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Running { child, stderr }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr contains `needle`, up to `limit`.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) -> String {
        let started = Instant::now();
        loop {
            let text = self.stderr();
            if text.contains(needle) {
                return text;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("cargo-whisk exited ({status}) before printing {needle:?}:\n{text}");
            }
            assert!(
                started.elapsed() < limit,
                "no {needle:?} within {limit:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response as read off the socket.
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
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        text(&self.body)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }
}

/// One HTTP/1.1 request on a new connection (`Connection: close`).
pub fn http(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the gateway");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse::<usize>().unwrap());
    if let Some(length) = length {
        assert_eq!(body.len(), length, "the body has its Content-Length");
    } else if headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v == "chunked")
    {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
