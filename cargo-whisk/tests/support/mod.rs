//! Shared support of the cargo-whisk tests: fixture action crates built in
//! one target directory shared by every test, and the `cargo-whisk` binary
//! driven as a real process.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The repository root (the `whisk-rs` package the fixtures depend on).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The one target directory for every crate the tests build.
pub fn actions_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("actions-target")
}

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
        repo().display().to_string()
    );
    write_if_changed(&dir.join("Cargo.toml"), &manifest);
    // The repository's lock file: the same versions, no resolution needed.
    if !dir.join("Cargo.lock").exists() {
        std::fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
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
    std::fs::read_to_string(repo().join("examples").join(name)).unwrap()
}

/// The crate with every fixture action.
pub fn actions() -> PathBuf {
    fixture_crate(
        "whisk-test-actions",
        &[
            ("reverse", example("reverse.rs")),
            ("web_image", example("web_image.rs")),
            ("kinds", fixture("kinds.rs")),
            ("echo", fixture("echo.rs")),
            ("page", fixture("page.rs")),
        ],
    )
}

/// `cargo-whisk` with the shared target directory.
pub fn cargo_whisk() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-whisk"));
    command.env("CARGO_TARGET_DIR", actions_target());
    command
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

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
