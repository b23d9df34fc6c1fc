//! `cargo whisk pack`: the zip OpenWhisk expects for a prebuilt executable,
//! a single entry named `exec` at the top level, mode `0755` (this was the
//! `whisk-pack` crate).
//!
//! That zip deploys the same binary several ways:
//!
//! * `wsk action create NAME action.zip --native`: the dockerskeleton image
//!   extracts it into `/action` and runs `/action/exec` once per activation
//!   (whisk's exec mode);
//! * `wsk action create NAME action.zip --docker openwhisk/actionloop-base`:
//!   the ActionLoop proxy extracts it, sees an ELF `exec` and starts it once,
//!   feeding it one request line per activation;
//! * `wsk action create NAME action.zip --kind go:1.NN`: the same proxy, but
//!   the Go images set `OW_EXECUTION_ENV` and refuse to start an `exec`
//!   without a `bin/exec.env` holding that value: `cargo whisk pack
//!   --exec-env openwhisk/action-golang-v1.NN` adds that entry.

use std::fs::File;
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The entry name both OpenWhisk proxies look for at the top of the zip.
pub const ENTRY: &str = "exec";

/// The entry's Unix permissions: `rwxr-xr-x`.
pub const MODE: u32 = 0o755;

/// The optional entry the Go ActionLoop images check against their
/// `OW_EXECUTION_ENV` before starting `exec`.
pub const EXEC_ENV_ENTRY: &str = "exec.env";

/// What kind of executable was packed, as far as the platform cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecKind {
    /// An ELF executable with no program interpreter: runs in any image,
    /// `FROM scratch` included.
    StaticElf,
    /// An ELF executable that needs a dynamic loader (`PT_INTERP`): it runs
    /// only where that loader and its libraries exist, which the
    /// dockerskeleton's Alpine (musl) image does not provide for glibc.
    DynamicElf,
    /// A `#!` script.
    Script,
}

/// What [`pack_file`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// The kind of executable packed.
    pub kind: ExecKind,
    /// The size of the executable.
    pub exec_bytes: u64,
    /// The size of the zip.
    pub zip_bytes: u64,
}

/// Tells what `exec` is, or refuses a file neither proxy could start.
///
pub fn exec_kind(exec: &[u8]) -> io::Result<ExecKind> {
    if exec.starts_with(b"#!") {
        return Ok(ExecKind::Script);
    }
    if !exec.starts_with(b"\x7fELF") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not an executable: expected an ELF binary or a #! script",
        ));
    }
    Ok(if has_interpreter(exec)? {
        ExecKind::DynamicElf
    } else {
        ExecKind::StaticElf
    })
}

/// Whether an ELF file names a program interpreter (`PT_INTERP`).
fn has_interpreter(elf: &[u8]) -> io::Result<bool> {
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "truncated or unsupported ELF file",
        )
    };
    let get = |at: usize, len: usize| elf.get(at..at + len).ok_or_else(bad);
    let (class, data) = (*elf.get(4).ok_or_else(bad)?, *elf.get(5).ok_or_else(bad)?);
    let num = |bytes: &[u8]| -> u64 {
        let mut value = 0u64;
        for (i, b) in bytes.iter().enumerate() {
            let shift = if data == 1 { i } else { bytes.len() - 1 - i };
            value |= u64::from(*b) << (8 * shift);
        }
        value
    };
    // ELF32 and ELF64 differ in the header offsets of the program headers.
    let (phoff, phentsize, phnum) = match class {
        1 => (num(get(0x1c, 4)?), num(get(0x2a, 2)?), num(get(0x2c, 2)?)),
        2 => (num(get(0x20, 8)?), num(get(0x36, 2)?), num(get(0x38, 2)?)),
        _ => return Err(bad()),
    };
    for i in 0..phnum {
        let at = usize::try_from(phoff + i * phentsize).map_err(|_| bad())?;
        if num(get(at, 4)?) == 3 {
            return Ok(true); // PT_INTERP
        }
    }
    Ok(false)
}

/// Writes the zip of `exec` to `out`: one deflated entry named [`ENTRY`] with
/// mode [`MODE`] and a fixed timestamp, so the same binary always gives the
/// same zip; with `exec_env`, a second entry [`EXEC_ENV_ENTRY`] (mode `0644`)
/// holding that value and a newline. Returns the zip's size.
pub fn pack_with_exec_env<W: Write + Seek>(
    exec: &[u8],
    exec_env: Option<&str>,
    out: W,
) -> io::Result<u64> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(MODE)
        .last_modified_time(DateTime::default())
        .large_file(exec.len() as u64 >= u64::from(u32::MAX));
    let mut zip = ZipWriter::new(out);
    zip.start_file(ENTRY, options).map_err(io::Error::other)?;
    zip.write_all(exec)?;
    if let Some(value) = exec_env {
        let options = options.unix_permissions(0o644).large_file(false);
        zip.start_file(EXEC_ENV_ENTRY, options)
            .map_err(io::Error::other)?;
        zip.write_all(value.trim().as_bytes())?;
        zip.write_all(b"\n")?;
    }
    let mut out = zip.finish().map_err(io::Error::other)?;
    out.stream_position()
}

/// Packs the executable at `binary` into a new zip at `zip_path`, with an
/// `exec.env` entry when `exec_env` is given (see the crate documentation).
///
/// Fails, writing nothing, when `binary` is neither an ELF executable nor a
/// `#!` script.
pub fn pack_file(binary: &Path, zip_path: &Path, exec_env: Option<&str>) -> io::Result<Report> {
    let exec = std::fs::read(binary)?;
    let kind = exec_kind(&exec)?;
    let zip_bytes = pack_with_exec_env(&exec, exec_env, File::create(zip_path)?)?;
    Ok(Report {
        kind,
        exec_bytes: exec.len() as u64,
        zip_bytes,
    })
}

/// Options of `cargo whisk pack`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Deploy the zip with:\n  \
    wsk action create NAME FILE.zip --native\n  \
    wsk action create NAME FILE.zip --docker openwhisk/actionloop-base")]
pub struct Args {
    #[command(flatten)]
    build: crate::build::BuildArgs,
    /// Where to write the zip (default: NAME.zip, after the binary).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write an `exec.env` entry holding VALUE, for the Go ActionLoop
    /// kinds (`--kind go:1.NN` wants `openwhisk/action-golang-v1.NN`).
    #[arg(long, value_name = "VALUE", value_parser = one_line)]
    exec_env: Option<String>,
    /// Pack this executable (a static binary or a `#!` script) instead of
    /// building the crate.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["bin", "example", "arm64"])]
    binary: Option<PathBuf>,
}

fn one_line(value: &str) -> Result<String, String> {
    if value.trim().is_empty() || value.contains('\n') {
        return Err("needs a one-line, non-empty value".into());
    }
    Ok(value.to_owned())
}

/// Runs `cargo whisk pack`: builds the action (a no-op when it is up to
/// date), then packs it.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (binary, name) = match &args.binary {
        Some(path) => {
            let name = path
                .file_stem()
                .map_or("action".into(), |s| s.to_string_lossy().into_owned());
            (path.clone(), name)
        }
        None => {
            let target = crate::build::Target::musl(args.build.arm64);
            let artifact = crate::build::cargo_build(&args.build.options(target))?;
            crate::build::report(&artifact);
            (artifact.path, artifact.name)
        }
    };
    let output = args
        .output
        .unwrap_or_else(|| PathBuf::from(format!("{name}.zip")));
    let report = pack_file(&binary, &output, args.exec_env.as_deref()).with_context(|| {
        format!(
            "could not pack {} into {}",
            binary.display(),
            output.display()
        )
    })?;
    let kind = match report.kind {
        ExecKind::StaticElf => "static ELF",
        ExecKind::DynamicElf => "dynamically linked ELF",
        ExecKind::Script => "script",
    };
    eprintln!(
        "   Packed {} ({}): exec = {} ({kind}, {} bytes, mode 0755)",
        output.display(),
        crate::build::human_size(report.zip_bytes),
        binary.display(),
        report.exec_bytes,
    );
    if let Some(value) = &args.exec_env {
        eprintln!("          exec.env = {}", value.trim());
    }
    if report.kind == ExecKind::DynamicElf {
        eprintln!(
            "warning: {} needs a dynamic loader and shared libraries; it will not start in \
             the dockerskeleton's Alpine image or a FROM scratch image.\n\
             help: build it static: cargo whisk pack (without --binary) builds for \
             x86_64-unknown-linux-musl",
            binary.display()
        );
    }
    eprintln!(
        "\nDeploy it with:\n  wsk action create {name} {} --native",
        output.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read};

    fn read_back(zip: Vec<u8>) -> (Vec<String>, Option<u32>, Vec<u8>) {
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        let names = archive.file_names().map(str::to_owned).collect();
        let mut entry = archive.by_index(0).unwrap();
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).unwrap();
        (names, entry.unix_mode(), contents)
    }

    #[test]
    fn one_executable_entry_named_exec() {
        let exec: Vec<u8> = b"#!/bin/sh\n"
            .iter()
            .copied()
            .chain((0..100_000u32).map(|i| (i % 251) as u8))
            .collect();
        let mut zip = Cursor::new(Vec::new());
        let size = pack_with_exec_env(&exec, None, &mut zip).unwrap();
        let zip = zip.into_inner();
        assert_eq!(size, zip.len() as u64);
        let (names, mode, contents) = read_back(zip);
        assert_eq!(names, [ENTRY]);
        assert_eq!(mode, Some(0o100_755));
        assert_eq!(contents, exec);
    }

    #[test]
    fn exec_env_is_a_second_entry() {
        let mut zip = Cursor::new(Vec::new());
        pack_with_exec_env(
            b"#!/bin/sh\n",
            Some(" openwhisk/action-golang-v1.22 "),
            &mut zip,
        )
        .unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(zip.into_inner())).unwrap();
        let names: Vec<_> = archive.file_names().map(str::to_owned).collect();
        assert_eq!(names, [ENTRY, EXEC_ENV_ENTRY]);
        let mut entry = archive.by_name(EXEC_ENV_ENTRY).unwrap();
        assert_eq!(entry.unix_mode(), Some(0o100_644));
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        assert_eq!(text, "openwhisk/action-golang-v1.22\n");
    }

    #[test]
    fn the_same_binary_gives_the_same_zip() {
        let exec = b"#!/bin/sh\necho '{}'\n";
        let (mut a, mut b) = (Cursor::new(Vec::new()), Cursor::new(Vec::new()));
        pack_with_exec_env(exec, None, &mut a).unwrap();
        pack_with_exec_env(exec, None, &mut b).unwrap();
        assert_eq!(a.into_inner(), b.into_inner());
    }

    #[test]
    fn kinds() {
        assert_eq!(exec_kind(b"#!/bin/bash\n").unwrap(), ExecKind::Script);
        assert!(exec_kind(b"").is_err());
        assert!(exec_kind(b"{\"not\":\"a binary\"}").is_err());
        assert!(exec_kind(b"\x7fELF").is_err(), "truncated ELF");
        // The test binary itself is a dynamically linked ELF.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(exec_kind(&me).unwrap(), ExecKind::DynamicElf);
        // A minimal ELF64 header with no program headers has no interpreter.
        let mut elf = vec![0u8; 64];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        assert_eq!(exec_kind(&elf).unwrap(), ExecKind::StaticElf);
    }
}
