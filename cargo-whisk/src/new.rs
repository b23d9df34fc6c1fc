//! `cargo whisk new`.

use std::process::ExitCode;

/// Options of `cargo whisk new`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `cargo whisk new`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("cargo whisk new is not built yet")
}
