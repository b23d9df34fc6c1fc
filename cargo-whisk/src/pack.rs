//! `cargo whisk pack`.

use std::process::ExitCode;

/// Options of `cargo whisk pack`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `cargo whisk pack`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("cargo whisk pack is not built yet")
}
