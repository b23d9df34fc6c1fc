//! Which action a command works on, and building it for a local run.
//!
//! `invoke` and `serve` run the action on this machine, so they build it for
//! the host (no musl, no cross target): the binary that OpenWhisk would run
//! in its container, started here the way the invoker starts it.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, bail};

use crate::build::{BuildOptions, Selection, Target, cargo, cargo_build};

/// The options that pick and build the action (shared by `invoke` and `serve`).
#[derive(clap::Args, Clone, Debug)]
pub struct ActionArgs {
    /// The action: a binary target of the package (default: its only binary).
    pub name: Option<String>,
    /// Path to the action's Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// An example of the package as the action, instead of a binary.
    #[arg(long, value_name = "NAME", conflicts_with = "name")]
    pub example: Option<String>,
    /// Build with the release profile (default: dev, for fast rebuilds).
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
    let out = cargo()
        .args(["locate-project", "--message-format", "plain"])
        .stderr(Stdio::inherit())
        .output()
        .context("running `cargo locate-project`")?;
    if !out.status.success() {
        bail!("no Cargo.toml here or in a parent directory (use --manifest-path)");
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Builds the action for the host through the shared [`cargo_build`]
/// (cargo's progress and diagnostics go to stderr as usual). A compile
/// error is an `Err` saying so (the diagnostics were already printed).
pub fn build(args: &ActionArgs) -> anyhow::Result<Built> {
    let mut cargo_args = Vec::new();
    if let Some(path) = &args.manifest_path {
        cargo_args.push("--manifest-path".into());
        cargo_args.push(path.into());
    }
    let options = BuildOptions {
        dir: None,
        target: Target::Host,
        selection: match (&args.name, &args.example) {
            (Some(name), _) => Selection::Bin(name.clone()),
            (None, Some(example)) => Selection::Example(example.clone()),
            (None, None) => Selection::Default,
        },
        profile: if args.release { "release" } else { "dev" }.into(),
        cargo_args,
    };
    let artifact = cargo_build(&options)?;
    Ok(Built {
        name: artifact.name,
        exe: artifact.path,
    })
}
