//! The deployment promise: one static binary and nothing else. Builds the
//! `reverse` example fully static, both ways docker/README.md documents
//! (the musl target, which docker/Dockerfile ships, and glibc's
//! `crt-static`), checks that it has no program interpreter and no
//! shared-library dependency, copies it alone into an empty directory,
//! `chroot`s into that directory and talks `/init` and `/run` to it over
//! HTTP, exactly as from a `FROM scratch` image.
//!
//! The same binary for arm64 (`aarch64-unknown-linux-musl`, linked by
//! rust-lld as `.cargo/config.toml` says) is checked static and then run
//! under `qemu-aarch64-static`, in exec mode and over HTTP.
//!
//! The musl builds need the targets and qemu: `bash scripts/setup.sh`
//! installs them (`rustup target add x86_64-unknown-linux-musl
//! aarch64-unknown-linux-musl`, Debian's `qemu-user-static`); .ci/run does
//! the same.
//!
//! The builds use the `static-test` profile (the release settings without
//! optimisation or LTO: these tests check linking and serving, not speed)
//! and their own target directory, `static/` inside the one cargo uses, so
//! they neither invalidate the normal build cache nor fight over its lock;
//! the three targets share the host's build scripts and proc macros there,
//! and a second run is incremental.

use crate::common;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::json;

use common::{Capture, Logs, TempDir};

const MUSL: &str = "x86_64-unknown-linux-musl";
const GLIBC: &str = "x86_64-unknown-linux-gnu";
const ARM64: &str = "aarch64-unknown-linux-musl";
const PROFILE: &str = "static-test";

/// Builds `reverse` for `target` (with `rustflags`) and returns its path.
fn build_static_reverse(target: &str, rustflags: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // This test runs as `<target dir>/debug/deps/<test>`.
    let mut target_dir = std::env::current_exe().expect("test binary path");
    target_dir.pop();
    target_dir.pop();
    target_dir.pop();
    let target_dir = target_dir.join("static");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--example", "reverse", "--profile", PROFILE])
        .args(["--target", target])
        .arg("--target-dir")
        .arg(&target_dir)
        // `--target` keeps these flags off build scripts and proc macros,
        // which cannot be static.
        .env("RUSTFLAGS", rustflags)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "the static build for {target} failed (for musl: `rustup target add {target}`, \
         or `bash scripts/setup.sh`):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target_dir
        .join(target)
        .join(PROFILE)
        .join("examples")
        .join("reverse")
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// What the kernel and the dynamic loader would need from an ELF64 file:
/// whether it names a program interpreter (`PT_INTERP`), and how many
/// shared libraries its dynamic section asks for (`DT_NEEDED`).
/// The ELF machine (`e_machine`): 62 is x86_64, 183 is aarch64.
fn elf_machine(elf: &[u8]) -> u16 {
    u16_at(elf, 0x12)
}

fn elf_dependencies(elf: &[u8]) -> (bool, usize) {
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 2, "not ELF64");
    assert_eq!(elf[5], 1, "not little-endian");
    let (phoff, phentsize, phnum) = (
        u64_at(elf, 0x20) as usize,
        u16_at(elf, 0x36) as usize,
        u16_at(elf, 0x38) as usize,
    );
    let mut interp = false;
    let mut needed = 0;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        match u32_at(elf, ph) {
            3 => interp = true, // PT_INTERP
            2 => {
                // PT_DYNAMIC: (d_tag, d_val) pairs up to DT_NULL.
                let (offset, size) = (u64_at(elf, ph + 8) as usize, u64_at(elf, ph + 32) as usize);
                for entry in elf[offset..offset + size].chunks_exact(16) {
                    match u64_at(entry, 0) {
                        0 => break,       // DT_NULL
                        1 => needed += 1, // DT_NEEDED
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    (interp, needed)
}

#[test]
fn a_static_musl_binary_serves_from_an_empty_root() {
    // musl links statically by default.
    serves_from_an_empty_root(&build_static_reverse(MUSL, ""));
}

#[test]
fn a_static_glibc_binary_serves_from_an_empty_root() {
    let binary = build_static_reverse(GLIBC, "-C target-feature=+crt-static");
    serves_from_an_empty_root(&binary);
}

/// Checks that `binary` needs neither a loader nor a shared library.
fn assert_static(binary: &Path) {
    let bytes = std::fs::read(binary).expect("read the static binary");
    eprintln!(
        "{} ({PROFILE} profile): {} bytes",
        binary.display(),
        bytes.len()
    );
    assert_eq!(
        elf_dependencies(&bytes),
        (false, 0),
        "{} needs a loader or shared libraries",
        binary.display()
    );
    // The usual tools agree, where they are installed.
    if let Ok(out) = Command::new("ldd").arg(binary).output() {
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            text.contains("statically linked") || text.contains("not a dynamic executable"),
            "ldd: {text}"
        );
    }
    if let Ok(out) = Command::new("file").arg(binary).output() {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("statically linked") || text.contains("static-pie linked"),
            "file: {text}"
        );
    }
}

fn serves_from_an_empty_root(binary: &Path) {
    assert_static(binary);
    assert_eq!(
        elf_machine(&std::fs::read(binary).unwrap()),
        62,
        "not x86_64"
    );

    // An otherwise empty root: no /lib, no /etc, no /dev, no /proc, no /tmp.
    let root = TempDir::new();
    std::fs::copy(binary, root.0.join("reverse")).unwrap();
    let entries: Vec<_> = std::fs::read_dir(&root.0).unwrap().collect();
    assert_eq!(entries.len(), 1);

    let new_root = CString::new(root.0.as_os_str().as_bytes()).unwrap();
    let mut command = Command::new("/reverse");
    command
        .env_clear()
        .env("WHISK_MODE", "http")
        .env("WHISK_HOST", "127.0.0.1")
        .env("WHISK_PORT", "0")
        .env("WHISK_PORT_FILE", "/port")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: chroot and chdir are async-signal-safe; the path was
    // allocated before the fork.
    unsafe {
        command.pre_exec(move || {
            if libc::chroot(new_root.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!(
                "SKIPPED serving {}: chroot is not permitted \
                 here ({e}); the static build and the ELF checks passed",
                binary.display()
            );
            return;
        }
        Err(e) => panic!("start the static binary in the chroot: {e}"),
    };
    let (stdout, out_thread) = Capture::spawn(child.stdout.take().unwrap());
    let (stderr, err_thread) = Capture::spawn(child.stderr.take().unwrap());
    let port = common::wait_for_port(
        &mut child,
        &root.0.join("port"),
        &stderr,
        Duration::from_secs(20),
    );

    let init = common::request(
        port,
        "POST",
        "/init",
        json!({"value": {"code": null, "main": "main", "binary": false, "env": {"A": "b"}}})
            .to_string()
            .as_bytes(),
    );
    init.assert_framing();
    assert_eq!(
        (init.status, init.text()),
        (200, r#"{"ok":true}"#.to_owned())
    );

    let run = common::request(
        port,
        "POST",
        "/run",
        r#"{"value":{"payload":"hello, chroot ☃"},"activation_id":"a1","deadline":"4102444800000"}"#
            .as_bytes(),
    );
    run.assert_framing();
    assert_eq!(
        (run.status, run.text()),
        (200, r#"{"reversed":"☃ toorhc ,olleh"}"#.to_owned())
    );

    let bad = common::request(port, "POST", "/run", br#"{"value":{"payload":5}}"#);
    assert_eq!(
        (bad.status, bad.text()),
        (
            200,
            r#"{"error":"Invalid parameter `payload`: invalid type: integer `5`, expected a string. The action was not called."}"#
                .to_owned()
        )
    );

    stop(child, [(stdout, out_thread), (stderr, err_thread)]).assert_sentinels(2);
}

/// Stops the served binary with `SIGTERM` (as the platform does) and
/// returns what it wrote.
fn stop(mut child: Child, [(stdout, out), (stderr, err)]: [(Capture, JoinHandle<()>); 2]) -> Logs {
    // SAFETY: signalling our own child (qemu passes the signal on).
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = common::wait_timeout(&mut child, Duration::from_secs(20));
    out.join().unwrap();
    err.join().unwrap();
    Logs {
        stdout: stdout.text(),
        stderr: stderr.text(),
        status,
    }
}

/// The arm64 build: static, and it answers under qemu in exec mode (the
/// dockerskeleton's `/action/exec` convention) and over HTTP.
#[test]
fn an_aarch64_binary_answers_under_qemu_in_exec_and_http_modes() {
    let binary = build_static_reverse(ARM64, "");
    assert_static(&binary);
    let bytes = std::fs::read(&binary).unwrap();
    assert_eq!(elf_machine(&bytes), 183, "not aarch64");

    let qemu = "qemu-aarch64-static";
    let exec = Command::new(qemu)
        .arg(&binary)
        .arg(r#"{"payload":"hi"}"#)
        .env_clear()
        .env("WHISK_MODE", "exec")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("run {qemu}: {e} (Debian: apt-get install qemu-user-static, or `bash scripts/setup.sh`)")
        });
    let stdout = String::from_utf8_lossy(&exec.stdout);
    assert!(
        exec.status.success(),
        "exec mode under qemu: {}\n{stdout}\n{}",
        exec.status,
        String::from_utf8_lossy(&exec.stderr)
    );
    assert_eq!(
        stdout.lines().last(),
        Some(r#"{"reversed":"ih"}"#),
        "stdout: {stdout}"
    );

    let dir = TempDir::new();
    let port_file = dir.0.join("port");
    let mut child = Command::new(qemu)
        .arg(&binary)
        .env_clear()
        .env("WHISK_MODE", "http")
        .env("WHISK_HOST", "127.0.0.1")
        .env("WHISK_PORT", "0")
        .env("WHISK_PORT_FILE", &port_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the aarch64 binary under qemu");
    let (stdout, out_thread) = Capture::spawn(child.stdout.take().unwrap());
    let (stderr, err_thread) = Capture::spawn(child.stderr.take().unwrap());
    let port = common::wait_for_port(&mut child, &port_file, &stderr, Duration::from_secs(30));
    let init = common::request(
        port,
        "POST",
        "/init",
        json!({"value": {"code": null, "main": "main", "binary": false}})
            .to_string()
            .as_bytes(),
    );
    init.assert_framing();
    assert_eq!(
        (init.status, init.text()),
        (200, r#"{"ok":true}"#.to_owned())
    );
    let run = common::request(port, "POST", "/run", br#"{"value":{"payload":"hi"}}"#);
    run.assert_framing();
    assert_eq!(
        (run.status, run.text()),
        (200, r#"{"reversed":"ih"}"#.to_owned())
    );
    stop(child, [(stdout, out_thread), (stderr, err_thread)]).assert_sentinels(1);
}
