//! One check in a real browser: headless Chromium (Debian's `chromium`)
//! loads an HTML web action served by `cargo whisk serve`, renders it (the
//! DOM it built holds the action's heading) and takes a screenshot.
//!
//! Runs when a chromium binary is on PATH (`.ci/run` installs it; on CI a
//! missing browser fails the test instead of skipping it). Set
//! `WHISK_SCREENSHOT_OUT=FILE.png` to keep the screenshot.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Running, actions, cargo_whisk};

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Runs chromium headless on `url` with `extra` flags, with a time limit.
fn browse(chromium: &Path, profile: &Path, extra: &[String], url: &str) -> std::process::Output {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn chromium_renders_an_html_web_action() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run this test: install Debian's chromium (.ci/run does)"
        );
        eprintln!("skipped: no chromium on PATH (apt-get install -y chromium)");
        return;
    };
    let mut command = cargo_whisk();
    command
        .current_dir(actions())
        .args(["serve", "page", "--port", "0"]);
    let mut serve = Running::start(command);
    let text = serve.wait_for("/api/v1/web/", Duration::from_secs(600));
    let port: u16 = text
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/api/v1/web/guest/default/page.html?name=Browser");
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();

    // The DOM the browser built from the response.
    let dom = browse(
        &chromium,
        &work.join("profile-dom"),
        &["--dump-dom".into()],
        &url,
    );
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom_text.contains("<h1 id=\"greeting\">Hello, Browser!</h1>"),
        "stdout: {dom_text}\nstderr: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    assert!(dom_text.contains("<title>whisk page</title>"), "{dom_text}");

    // A screenshot of the page: a PNG of the window's size.
    let shot = work.join("serve-screenshot.png");
    let out = browse(
        &chromium,
        &work.join("profile-shot"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=800,450".into(),
        ],
        &url,
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (800, 450));
    if let Some(keep) = std::env::var_os("WHISK_SCREENSHOT_OUT") {
        std::fs::copy(&shot, keep).unwrap();
    }
    // Both page loads went through the gateway and the action.
    assert!(
        serve.stderr().matches("Activation success page").count() >= 2,
        "{}",
        serve.stderr()
    );
}
