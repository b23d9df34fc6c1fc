//! `cargo whisk build`: the static musl build of the action crate in the
//! current directory, and [`cargo_build`], the build every other subcommand
//! (`pack`, `image`, `invoke`, `serve`) goes through.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail};

/// What to build for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The machine cargo runs on (no `--target`): for running the action
    /// locally (`invoke`, `serve`).
    #[allow(dead_code)] // built by `invoke` and `serve`
    Host,
    /// `x86_64-unknown-linux-musl`: a static binary for amd64 images and
    /// OpenWhisk's invokers.
    X86_64Musl,
    /// `aarch64-unknown-linux-musl`: a static binary for arm64.
    Aarch64Musl,
}

impl Target {
    /// The rustc target triple, `None` for the host.
    pub fn triple(self) -> Option<&'static str> {
        match self {
            Target::Host => None,
            Target::X86_64Musl => Some("x86_64-unknown-linux-musl"),
            Target::Aarch64Musl => Some("aarch64-unknown-linux-musl"),
        }
    }

    /// The OCI architecture name of a musl target (`amd64`, `arm64`).
    pub fn oci_arch(self) -> Option<&'static str> {
        match self {
            Target::Host => None,
            Target::X86_64Musl => Some("amd64"),
            Target::Aarch64Musl => Some("arm64"),
        }
    }

    /// The static musl target: aarch64 with `arm64`, x86_64 otherwise.
    pub fn musl(arm64: bool) -> Target {
        if arm64 {
            Target::Aarch64Musl
        } else {
            Target::X86_64Musl
        }
    }
}

/// Which executable of the crate to build.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// The crate's only binary (an error naming them when it has several).
    #[default]
    Default,
    /// `--bin NAME`.
    Bin(String),
    /// `--example NAME`.
    Example(String),
}

/// What [`cargo_build`] builds.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// The crate's directory (cargo runs there), `None` for the current one.
    pub dir: Option<PathBuf>,
    /// The target to build for.
    pub target: Target,
    /// The executable to build.
    pub selection: Selection,
    /// The cargo profile: `release` (the default), `dev`, or a custom one.
    pub profile: String,
    /// Further arguments passed to `cargo build` as they are (`--features`,
    /// `--locked`, ...).
    pub cargo_args: Vec<OsString>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            dir: None,
            target: Target::X86_64Musl,
            selection: Selection::Default,
            profile: "release".into(),
            cargo_args: Vec::new(),
        }
    }
}

/// The executable [`cargo_build`] built.
#[derive(Clone, Debug)]
pub struct Artifact {
    /// Where cargo wrote it.
    pub path: PathBuf,
    /// The binary's or example's name.
    pub name: String,
    /// The target it was built for.
    pub target: Target,
    /// Its size in bytes.
    pub size: u64,
}

/// Options of `cargo whisk build`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub build: BuildArgs,
}

/// The build options `build`, `pack` and `image` share.
#[derive(clap::Args, Debug, Clone)]
pub struct BuildArgs {
    /// Build for arm64 (aarch64-unknown-linux-musl) instead of x86_64.
    #[arg(long)]
    pub arm64: bool,
    /// Build this binary of the crate.
    #[arg(long, value_name = "NAME", conflicts_with = "example")]
    pub bin: Option<String>,
    /// Build this example of the crate.
    #[arg(long, value_name = "NAME")]
    pub example: Option<String>,
    /// Build with the release profile (the default).
    #[arg(long, conflicts_with = "profile")]
    pub release: bool,
    /// Build with this cargo profile instead of `release`.
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Space or comma separated features to enable.
    #[arg(long, short = 'F', value_name = "FEATURES")]
    pub features: Option<String>,
    /// Path to the crate's Cargo.toml (default: the one in the current directory).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
}

impl BuildArgs {
    /// The [`BuildOptions`] these flags ask for, for `target`.
    pub fn options(&self, target: Target) -> BuildOptions {
        let mut cargo_args = Vec::new();
        if let Some(features) = &self.features {
            cargo_args.push("--features".into());
            cargo_args.push(features.into());
        }
        if let Some(path) = &self.manifest_path {
            cargo_args.push("--manifest-path".into());
            cargo_args.push(path.into());
        }
        BuildOptions {
            dir: None,
            target,
            selection: match (&self.bin, &self.example) {
                (Some(bin), _) => Selection::Bin(bin.clone()),
                (None, Some(example)) => Selection::Example(example.clone()),
                (None, None) => Selection::Default,
            },
            profile: self.profile.clone().unwrap_or_else(|| "release".into()),
            cargo_args,
        }
    }
}

/// Runs `cargo whisk build`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let artifact = cargo_build(&args.build.options(Target::musl(args.build.arm64)))?;
    report(&artifact);
    Ok(ExitCode::SUCCESS)
}

/// Prints an artifact's path and size, as `build`, `pack` and `image` do.
pub fn report(artifact: &Artifact) {
    let triple = artifact.target.triple().unwrap_or("host");
    eprintln!(
        "    Built {} ({triple}, {}): {}",
        artifact.name,
        human_size(artifact.size),
        artifact.path.display()
    );
}

/// `1234567` -> `"1.2 MB, 1234567 bytes"`.
pub fn human_size(bytes: u64) -> String {
    let (value, unit) = match bytes {
        b if b >= 1_000_000 => (b as f64 / 1e6, "MB"),
        b if b >= 1_000 => (b as f64 / 1e3, "kB"),
        b => return format!("{b} bytes"),
    };
    format!("{value:.1} {unit}, {bytes} bytes")
}

/// The cargo to run: the one that ran `cargo whisk` (`$CARGO`), else `cargo`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The `--config` flags that make a musl target link with nothing installed
/// but `rustup target add`: rust-lld, as the project's `.cargo/config.toml`
/// does. A linker set through `CARGO_TARGET_<TRIPLE>_LINKER` wins.
pub fn linker_config(target: Target) -> Vec<String> {
    let Some(triple) = target.triple() else {
        return Vec::new();
    };
    let env = format!(
        "CARGO_TARGET_{}_LINKER",
        triple.to_uppercase().replace('-', "_")
    );
    if std::env::var_os(env).is_some() {
        return Vec::new();
    }
    vec![
        "--config".into(),
        format!("target.{triple}.linker=\"rust-lld\""),
    ]
}

/// Whether the Rust standard library for `triple` is installed, asking the
/// rustc cargo would use. `None` when that cannot be told.
fn target_installed(triple: &str, dir: Option<&Path>) -> Option<bool> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut command = Command::new(rustc);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let out = command
        .args(["--print", "target-libdir", "--target", triple])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let libdir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Some(libdir.is_dir())
}

/// Whether cargo had a Cargo.toml to build: in the directory or above it,
/// or named with `--manifest-path`.
fn in_a_crate(opts: &BuildOptions) -> bool {
    if opts.cargo_args.iter().any(|a| a == "--manifest-path") {
        return true;
    }
    let dir = match &opts.dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().unwrap_or_default(),
    };
    dir.ancestors().any(|d| d.join("Cargo.toml").is_file())
}

fn missing_target(triple: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the Rust target {triple} is not installed\n\
         help: install it with: rustup target add {triple}\n\
         (nothing else is needed: cargo whisk links it with rust-lld, which ships with Rust)"
    )
}

/// Builds the action with cargo and returns the executable it built.
///
/// Runs `cargo build --message-format=json-render-diagnostics` (cargo's own
/// progress and diagnostics go to the terminal as usual) with the profile,
/// target and selection of `opts`, the rust-lld linker for a musl target, and
/// reads the artifact's path from cargo's JSON messages rather than guessing
/// the `target/` layout. Fails with the exact `rustup target add` command
/// when the target's standard library is missing.
pub fn cargo_build(opts: &BuildOptions) -> anyhow::Result<Artifact> {
    if let Some(triple) = opts.target.triple() {
        if target_installed(triple, opts.dir.as_deref()) == Some(false) {
            return Err(missing_target(triple));
        }
    }
    let mut command = cargo();
    if let Some(dir) = &opts.dir {
        command.current_dir(dir);
    }
    command.arg("build");
    if crate::ui::no_color() {
        command.args(["--color", "never"]);
    }
    command.args(linker_config(opts.target));
    command.args(["--message-format=json-render-diagnostics", "--profile"]);
    command.arg(&opts.profile);
    if let Some(triple) = opts.target.triple() {
        command.args(["--target", triple]);
    }
    match &opts.selection {
        Selection::Default => {}
        Selection::Bin(name) => {
            command.args(["--bin", name]);
        }
        Selection::Example(name) => {
            command.args(["--example", name]);
        }
    }
    command.args(&opts.cargo_args);
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = command
        .spawn()
        .context("could not run cargo; is the Rust toolchain installed and on PATH?")?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut built = Vec::new();
    let mut missing_std = false;
    let mut rust_errors = false;
    let mut link_error = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo's output")?;
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        match message["reason"].as_str() {
            Some("compiler-artifact") => {
                let Some(path) = message["executable"].as_str() else {
                    continue;
                };
                let kinds = &message["target"]["kind"];
                let kind = |k: &str| kinds.as_array().is_some_and(|a| a.iter().any(|v| v == k));
                let name = message["target"]["name"].as_str().unwrap_or_default();
                if kind("bin") || kind("example") {
                    built.push((name.to_owned(), kind("example"), PathBuf::from(path)));
                }
            }
            Some("compiler-message") => {
                let text = message["message"]["message"].as_str().unwrap_or_default();
                if message["message"]["level"] == "error" {
                    rust_errors = true;
                    link_error |= text.starts_with("linking with");
                }
                if text.starts_with("can't find crate for `std`")
                    || text.starts_with("can't find crate for `core`")
                {
                    missing_std = true;
                }
            }
            _ => {}
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        if let (true, Some(triple)) = (missing_std, opts.target.triple()) {
            return Err(missing_target(triple));
        }
        let hint = if link_error && opts.target != Target::Host {
            "\nhelp: a crate with C code (ring, openssl-sys, zlib...) also needs a C cross \
             compiler for the target, set as CC_<target> (e.g. clang --target=...-linux-musl)"
        } else if rust_errors {
            "\nhelp: fix the errors cargo reports above"
        } else if !in_a_crate(opts) {
            "\nhelp: run it in an action crate's directory (or give --manifest-path), \
             or start one with: cargo whisk new NAME"
        } else {
            ""
        };
        bail!("cargo build failed ({status}); see cargo's messages above{hint}");
    }
    let wanted = |(name, example, _): &(String, bool, PathBuf)| match &opts.selection {
        Selection::Default => !example,
        Selection::Bin(bin) => !example && name == bin,
        Selection::Example(ex) => *example && name == ex,
    };
    let mut built: Vec<_> = built.into_iter().filter(wanted).collect();
    let (name, _, path) = match built.len() {
        1 => built.pop().expect("one artifact"),
        0 => bail!(
            "cargo built no executable{}\nhelp: an action crate needs a binary (src/main.rs); \
             start one with: cargo whisk new NAME",
            match &opts.selection {
                Selection::Default => String::new(),
                Selection::Bin(n) => format!(" named {n} (--bin {n})"),
                Selection::Example(n) => format!(" named {n} (--example {n})"),
            }
        ),
        _ => {
            let names: Vec<_> = built.iter().map(|(n, _, _)| n.as_str()).collect();
            bail!(
                "the crate has several binaries ({}); choose one with --bin NAME",
                names.join(", ")
            )
        }
    };
    let size = std::fs::metadata(&path)
        .with_context(|| format!("cargo reported {}, but it cannot be read", path.display()))?
        .len();
    Ok(Artifact {
        path,
        name,
        target: opts.target,
        size,
    })
}
