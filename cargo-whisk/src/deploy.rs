//! `cargo whisk deploy`.

use std::process::ExitCode;

/// Options of `cargo whisk deploy`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `cargo whisk deploy`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("cargo whisk deploy is not built yet")
}
