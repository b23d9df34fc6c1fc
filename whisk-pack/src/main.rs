//! `whisk-pack BINARY [-o OUT.zip]`: packs an action binary as the single
//! top-level entry `exec` (mode 0755) of a zip, ready for
//! `wsk action create NAME OUT.zip --native`.

use std::path::PathBuf;
use std::process::ExitCode;

use whisk_pack::{ExecKind, pack_file};

const USAGE: &str = "\
Usage: whisk-pack BINARY [-o OUT.zip] [--exec-env VALUE]

Packs BINARY as the single top-level entry `exec` (mode 0755) of a zip, the
layout OpenWhisk expects for a prebuilt executable:

  wsk action create NAME OUT.zip --native
  wsk action create NAME OUT.zip --docker openwhisk/actionloop-base

For the Go runtime kinds (wsk action create NAME OUT.zip --kind go:1.NN),
whose proxy only starts an `exec` next to an `exec.env` file holding the
image's OW_EXECUTION_ENV, add --exec-env openwhisk/action-golang-v1.NN.

Options:
  -o, --output OUT.zip  where to write the zip (default: action.zip)
      --exec-env VALUE  also write an `exec.env` entry holding VALUE
  -h, --help            print this help
  -V, --version         print the version
";

struct Args {
    binary: PathBuf,
    output: PathBuf,
    exec_env: Option<String>,
}

fn parse(mut args: impl Iterator<Item = std::ffi::OsString>) -> Result<Option<Args>, String> {
    let mut binary = None;
    let mut output = None;
    let mut exec_env = None;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("-h" | "--help") => {
                print!("{USAGE}");
                return Ok(None);
            }
            Some("-V" | "--version") => {
                println!("whisk-pack {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            Some("-o" | "--output") => {
                let value = args.next().ok_or("-o needs a file name")?;
                if output.replace(PathBuf::from(value)).is_some() {
                    return Err("-o given twice".into());
                }
            }
            Some("--exec-env") => {
                let value = args.next().ok_or("--exec-env needs a value")?;
                let value = value
                    .into_string()
                    .map_err(|_| "--exec-env must be UTF-8")?;
                if value.trim().is_empty() || value.contains('\n') {
                    return Err("--exec-env needs a one-line, non-empty value".into());
                }
                if exec_env.replace(value).is_some() {
                    return Err("--exec-env given twice".into());
                }
            }
            Some(flag) if flag.starts_with('-') && flag.len() > 1 => {
                return Err(format!("unknown option {flag}"));
            }
            _ => {
                if binary.replace(PathBuf::from(arg)).is_some() {
                    return Err("only one BINARY can be packed".into());
                }
            }
        }
    }
    Ok(Some(Args {
        binary: binary.ok_or("missing BINARY")?,
        output: output.unwrap_or_else(|| PathBuf::from("action.zip")),
        exec_env,
    }))
}

fn main() -> ExitCode {
    let args = match parse(std::env::args_os().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("whisk-pack: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match pack_file(&args.binary, &args.output, args.exec_env.as_deref()) {
        Ok(report) => {
            let kind = match report.kind {
                ExecKind::StaticElf => "static ELF",
                ExecKind::DynamicElf => "dynamically linked ELF",
                ExecKind::Script => "script",
            };
            eprintln!(
                "whisk-pack: wrote {} ({} bytes): exec = {} ({kind}, {} bytes, mode 0755)",
                args.output.display(),
                report.zip_bytes,
                args.binary.display(),
                report.exec_bytes,
            );
            if let Some(value) = &args.exec_env {
                eprintln!("whisk-pack: exec.env = {value}");
            }
            if report.kind == ExecKind::DynamicElf {
                eprintln!(
                    "whisk-pack: warning: {} needs a dynamic loader and shared libraries; \
                     it will not start in the dockerskeleton's Alpine image or a FROM scratch \
                     image. Build it static: cargo build --release \
                     --target x86_64-unknown-linux-musl (see docker/README.md)",
                    args.binary.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("whisk-pack: {}: {e}", args.binary.display());
            ExitCode::FAILURE
        }
    }
}
