//! `#[whisk::action(crate = "...")]` for a crate that depends on the facade
//! under another name: a generated crate with
//! `my_whisk = { package = "whisk-rs", path = ... }` builds, and its binary
//! serves; without the argument the expansion's `::whisk` is not found.
//!
//! The crate is built like `static_binary`'s binaries (same target
//! directory, target and profile), so it reuses their compiled
//! dependencies.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::TempDir;

const TARGET: &str = "x86_64-unknown-linux-musl";

const MANIFEST: &str = r#"[package]
name = "renamed-whisk"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
my_whisk = { package = "whisk-rs", path = "ROOT" }
serde_json = { version = "1", features = ["raw_value"] }

[workspace]

# The workspace's `static-test` profile, so that the dependencies built for
# tests/it/static_binary.rs are reused.
[profile.static-test]
inherits = "release"
opt-level = 0
lto = false
codegen-units = 256
strip = true
panic = "unwind"
"#;

const RENAMED: &str = r#"
use serde_json::{Value, json};

#[my_whisk::action(crate = "my_whisk")]
fn echo(params: Value, ctx: my_whisk::Context) -> Result<Value, my_whisk::Error> {
    Ok(json!({"got": params, "has_context": ctx.activation_id().is_empty()}))
}
"#;

const UNNAMED: &str = r#"
use serde_json::Value;

#[my_whisk::action]
fn echo(params: Value) -> Result<Value, String> {
    Ok(params)
}
"#;

fn cargo_build(dir: &Path, bin: &str) -> Output {
    let mut target_dir = std::env::current_exe().expect("test binary path");
    for _ in 0..3 {
        target_dir.pop();
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    Command::new(cargo)
        .current_dir(dir)
        .args(["build", "--bin", bin, "--profile", "static-test"])
        .args(["--target", TARGET])
        .arg("--target-dir")
        .arg(target_dir.join("static"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .expect("run cargo")
}

fn binary(bin: &str) -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    for _ in 0..3 {
        dir.pop();
    }
    dir.join("static")
        .join(TARGET)
        .join("static-test")
        .join(bin)
}

#[test]
fn a_renamed_dependency_builds_with_crate_and_fails_without() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = TempDir::new();
    std::fs::write(
        dir.0.join("Cargo.toml"),
        MANIFEST.replace("ROOT", root.to_str().unwrap()),
    )
    .unwrap();
    // The workspace's versions, so that the build reuses its dependencies.
    std::fs::copy(root.join("Cargo.lock"), dir.0.join("Cargo.lock")).unwrap();
    std::fs::create_dir_all(dir.0.join("src/bin")).unwrap();
    std::fs::write(dir.0.join("src/bin/renamed.rs"), RENAMED).unwrap();
    std::fs::write(dir.0.join("src/bin/unnamed.rs"), UNNAMED).unwrap();

    let built = cargo_build(&dir.0, "renamed");
    assert!(
        built.status.success(),
        "the crate with `crate = \"my_whisk\"` did not build (for musl: `bash scripts/setup.sh`):\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let run = Command::new(binary("renamed"))
        .arg(r#"{"name":"x"}"#)
        .env_clear()
        .env("WHISK_MODE", "exec")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}: {stdout}", run.status);
    assert_eq!(
        stdout.lines().last(),
        Some(r#"{"got":{"name":"x"},"has_context":true}"#),
        "stdout: {stdout}"
    );

    let unnamed = cargo_build(&dir.0, "unnamed");
    let stderr = String::from_utf8_lossy(&unnamed.stderr);
    assert!(!unnamed.status.success(), "built without `crate = ...`");
    assert!(
        stderr.contains("error[E0433]") && stderr.contains("whisk"),
        "stderr: {stderr}"
    );
}
