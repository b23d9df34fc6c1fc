//! Shared by the end-to-end tests: the `cargo-whisk` binary, crates it
//! generates (all built in ONE target dir, so whisk and its dependencies
//! compile once per target), and a small HTTP client for `/init` and `/run`.

#![allow(dead_code)] // each test binary uses part of it

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
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
