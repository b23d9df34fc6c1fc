//! `cargo whisk invoke`.

use std::process::ExitCode;

/// Options of `cargo whisk invoke`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `cargo whisk invoke`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("cargo whisk invoke is not built yet")
}
