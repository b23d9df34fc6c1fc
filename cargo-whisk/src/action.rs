//! Which action a command works on, and building it for a local run.
//!
//! `invoke` and `serve` run the action on this machine, so they build it for
//! the host (no musl, no cross target): the binary that OpenWhisk would run
//! in its container, started here the way the invoker starts it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde_json::Value;

/// The options that pick and build the action (shared by `invoke` and `serve`).
#[derive(clap::Args, Clone, Debug)]
pub struct ActionArgs {
    /// The action: a binary target of the package (default: its only binary).
    pub name: Option<String>,
    /// Path to the action's Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Build with the release profile.
    #[arg(long)]
    pub release: bool,
}

/// A built action: its simple name and the executable to start.
#[derive(Clone, Debug)]
pub struct Built {
    /// The action's name (the binary target's name).
    pub name: String,
    /// The executable cargo produced.
    pub exe: PathBuf,
}

/// The package directory the action's sources live in (for `--watch`).
pub fn package_dir(args: &ActionArgs) -> anyhow::Result<PathBuf> {
    let manifest = match &args.manifest_path {
        Some(path) => path.clone(),
        None => locate_manifest()?,
    };
    let dir = manifest.parent().unwrap_or(Path::new(".")).to_path_buf();
    Ok(if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    })
}

/// The Cargo.toml cargo would use here (`cargo locate-project`).
fn locate_manifest() -> anyhow::Result<PathBuf> {
    let out = Command::new(cargo())
        .args(["locate-project", "--message-format", "plain"])
        .stderr(Stdio::inherit())
        .output()
        .context("running `cargo locate-project`")?;
    if !out.status.success() {
        bail!("no Cargo.toml here or in a parent directory (use --manifest-path)");
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Builds the action for the host with `cargo build`; cargo's progress and
/// diagnostics go to stderr as usual. A compile error is an `Err` whose
/// message says so (the diagnostics were already printed).
pub fn build(args: &ActionArgs) -> anyhow::Result<Built> {
    let mut command = Command::new(cargo());
    command.args(["build", "--message-format=json-render-diagnostics"]);
    if let Some(path) = &args.manifest_path {
        command.arg("--manifest-path").arg(path);
    }
    if let Some(name) = &args.name {
        command.args(["--bin", name]);
    }
    if args.release {
        command.arg("--release");
    }
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let out = command
        .output()
        .context("running `cargo build` (is cargo on PATH?)")?;
    let mut bins = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let is_bin = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
        if let (true, Some(exe)) = (is_bin, message["executable"].as_str()) {
            let name = message["target"]["name"].as_str().unwrap_or_default();
            bins.push(Built {
                name: name.to_owned(),
                exe: PathBuf::from(exe),
            });
        }
    }
    if !out.status.success() {
        bail!("the action did not compile (cargo's messages are above)");
    }
    pick(bins, args.name.as_deref())
}

fn pick(mut bins: Vec<Built>, wanted: Option<&str>) -> anyhow::Result<Built> {
    if let Some(name) = wanted {
        return bins
            .into_iter()
            .find(|b| b.name == name)
            .with_context(|| format!("cargo built no binary named `{name}`"));
    }
    match bins.len() {
        0 => bail!("the package has no binary target: an action is a `[[bin]]` (src/main.rs)"),
        1 => Ok(bins.remove(0)),
        _ => {
            let names: Vec<_> = bins.iter().map(|b| b.name.as_str()).collect();
            bail!(
                "the package has several binaries ({}): name the action, e.g. `cargo whisk invoke {}`",
                names.join(", "),
                names[0]
            )
        }
    }
}
