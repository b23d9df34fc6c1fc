//! `cargo whisk serve`.

use std::process::ExitCode;

/// Options of `cargo whisk serve`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `cargo whisk serve`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("cargo whisk serve is not built yet")
}
