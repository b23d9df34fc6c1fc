//! `cargo whisk`: the whisk workflow as one cargo subcommand.
//!
//! Cargo runs `cargo-whisk whisk ARGS...` for `cargo whisk ARGS...`; the
//! binary also works when called directly as `cargo-whisk ARGS...`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod action;
mod build;
mod deploy;
mod gateway;
mod image;
mod invoke;
mod invoker;
mod new;
mod oci;
mod pack;
mod params;
mod serve;
mod ui;
mod wskprops;

/// Cargo's entry: `cargo whisk ...` arrives as `cargo-whisk whisk ...`.
#[derive(Parser)]
#[command(name = "cargo", bin_name = "cargo")]
enum Cargo {
    /// Build, package, try and deploy OpenWhisk actions written with whisk.
    Whisk(Cli),
}

/// Build, package, try and deploy OpenWhisk actions written with whisk.
#[derive(Parser)]
#[command(name = "cargo-whisk", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new action crate.
    New(new::Args),
    /// Build the action as a static musl binary.
    Build(build::Args),
    /// Pack the action as a `--native` zip.
    Pack(pack::Args),
    /// Build an OCI image of the action without a Docker daemon.
    Image(image::Args),
    /// Run the action locally as OpenWhisk's invoker does, and invoke it.
    Invoke(invoke::Args),
    /// Serve the action locally as a web action, behind a gateway like OpenWhisk's.
    Serve(serve::Args),
    /// Create or update the action on an OpenWhisk deployment.
    Deploy(deploy::Args),
}

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = if args.get(1).is_some_and(|a| a == "whisk") {
        let Cargo::Whisk(cli) = Cargo::parse_from(args);
        cli
    } else {
        args[0] = "cargo-whisk".into();
        Cli::parse_from(args)
    };
    let result = match cli.command {
        Command::New(args) => new::run(args),
        Command::Build(args) => build::run(args),
        Command::Pack(args) => pack::run(args),
        Command::Image(args) => image::run(args),
        Command::Invoke(args) => invoke::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Deploy(args) => deploy::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
