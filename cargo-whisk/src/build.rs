//! `cargo whisk build`.

use std::process::ExitCode;

/// Options of `cargo whisk build`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `cargo whisk build`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("cargo whisk build is not built yet")
}
