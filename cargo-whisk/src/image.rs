//! `cargo whisk image`.

use std::process::ExitCode;

/// Options of `cargo whisk image`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `cargo whisk image`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("cargo whisk image is not built yet")
}
