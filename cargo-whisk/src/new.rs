//! `cargo whisk new`: a new action crate that builds and passes its own
//! `cargo test` out of the box.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

/// The starting points `--template` offers.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    /// `{"payload":"hello"}` -> `{"reversed":"olleh"}`: a sync function.
    Reverse,
    /// An `async fn` with tokio, bounded by the activation's deadline.
    Async,
    /// A web action with `whisk::web` requests and responses.
    Web,
    /// An axum router served as a web action (`whisk::web::service`).
    Axum,
    /// State built once per container (`#[whisk::action(init = ...)]`).
    Stateful,
}

const SERDE_JSON: &str = "serde_json = \"1\"\n";
const TOKIO_TEST: &str = "tokio = { version = \"1\", features = [\"macros\", \"rt\", \"time\"] }\n";

impl Template {
    /// The template's `src/main.rs`.
    fn main_rs(self) -> &'static str {
        match self {
            Template::Reverse => include_str!("../templates/reverse.rs"),
            Template::Async => include_str!("../templates/async.rs"),
            Template::Web => include_str!("../templates/web.rs"),
            Template::Axum => include_str!("../templates/axum.rs"),
            Template::Stateful => include_str!("../templates/stateful.rs"),
        }
    }

    /// Lines of `[dependencies]` beyond whisk and serde.
    fn dependencies(self) -> Vec<&'static str> {
        match self {
            Template::Reverse | Template::Stateful => vec![],
            Template::Async => vec!["tokio = { version = \"1\", features = [\"time\"] }\n"],
            Template::Web => vec![SERDE_JSON],
            Template::Axum => vec![
                SERDE_JSON,
                "axum = { version = \"0.8\", default-features = false, features = [\"json\", \"query\"] }\n",
            ],
        }
    }

    /// Lines of `[dev-dependencies]`.
    fn dev_dependencies(self) -> Vec<&'static str> {
        match self {
            Template::Reverse | Template::Stateful => vec![SERDE_JSON],
            Template::Async => vec![SERDE_JSON, TOKIO_TEST],
            Template::Web => vec![],
            // `tower::ServiceExt::oneshot` drives the router in the tests.
            Template::Axum => vec![
                "tower = { version = \"0.5\", default-features = false, features = [\"util\"] }\n",
                TOKIO_TEST,
            ],
        }
    }

    /// The `--web` value of `wsk action create` for a web action.
    fn web(self) -> Option<&'static str> {
        match self {
            Template::Web => Some("true"),
            Template::Axum => Some("raw"),
            _ => None,
        }
    }
}

/// Options of `cargo whisk new`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The directory to create; its last component names the crate.
    #[arg(value_name = "PATH")]
    path: PathBuf,
    /// What the new action starts as.
    #[arg(long, short, value_enum, default_value = "reverse")]
    template: Template,
    /// Depend on a whisk checkout at DIR (a path dependency) instead of the
    /// published `whisk-rs`.
    #[arg(long, value_name = "DIR")]
    whisk_path: Option<PathBuf>,
}

/// Runs `cargo whisk new`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let name = crate_name(&args.path)?;
    if args.path.exists() || args.path.symlink_metadata().is_ok() {
        bail!(
            "{} already exists; cargo whisk new never writes into an existing directory\n\
             help: choose another name, or remove it first",
            args.path.display()
        );
    }
    let whisk = match &args.whisk_path {
        None => "whisk = { package = \"whisk-rs\", version = \"0.1\" }\n".to_owned(),
        Some(dir) => {
            let dir = dir
                .canonicalize()
                .with_context(|| format!("--whisk-path {}: no such directory", dir.display()))?;
            if !dir.join("whisk-runtime").is_dir() {
                bail!(
                    "--whisk-path {} is not a whisk checkout (it has no whisk-runtime/)\n\
                     help: give the directory of the repository's top Cargo.toml",
                    dir.display()
                );
            }
            format!(
                "whisk = {{ package = \"whisk-rs\", path = {} }}\n",
                toml_string(&dir.to_string_lossy())
            )
        }
    };
    let files = [
        ("Cargo.toml", cargo_toml(&name, &whisk, args.template)),
        ("src/main.rs", args.template.main_rs().to_owned()),
        (
            ".gitignore",
            "/target\n/*.zip\n/*.tar\n/*.oci/\n".to_owned(),
        ),
        ("README.md", readme(&name, args.template)),
    ];
    if let Some(parent) = args.path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("could not create {}", parent.display()))?;
    }
    // `create_dir` (not `_all`) fails if the directory appeared meanwhile.
    std::fs::create_dir(&args.path)
        .with_context(|| format!("could not create {}", args.path.display()))?;
    std::fs::create_dir(args.path.join("src"))?;
    for (file, text) in files {
        let path = args.path.join(file);
        std::fs::write(&path, text)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    eprintln!(
        "     Created action `{name}` ({} template) in {}",
        clap::ValueEnum::to_possible_value(&args.template)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default(),
        args.path.display()
    );
    eprintln!(
        "\nNext:\n  cd {}\n  cargo test\n  cargo whisk build\n  cargo whisk image -o {name}.tar",
        args.path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The crate name for a new directory: its last component, which cargo must
/// accept as a package name.
fn crate_name(path: &Path) -> anyhow::Result<String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} does not end in a usable name", path.display()))?;
    let valid = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.starts_with(|c: char| c.is_ascii_alphabetic());
    if !valid {
        bail!(
            "{name:?} cannot name a crate: use ASCII letters, digits, `-` and `_`, \
             starting with a letter"
        );
    }
    if [
        "test", "build", "deps", "examples", "whisk", "self", "crate", "super",
    ]
    .contains(&name)
    {
        bail!("{name:?} is reserved (by cargo or whisk); choose another name");
    }
    Ok(name.to_owned())
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn cargo_toml(name: &str, whisk: &str, template: Template) -> String {
    let mut toml = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\n{whisk}serde = {{ version = \"1\", features = [\"derive\"] }}\n"
    );
    for line in template.dependencies() {
        toml.push_str(line);
    }
    let dev = template.dev_dependencies();
    if !dev.is_empty() {
        toml.push_str("\n[dev-dependencies]\n");
        for line in dev {
            toml.push_str(line);
        }
    }
    toml.push_str(
        "\n# whisk's recommended release profile: a small, fast static binary.\n\
         # `panic = \"unwind\"` on purpose: whisk catches a panic in the action and\n\
         # answers it as an error while the server keeps serving; with `abort` a\n\
         # panic would kill the container.\n\
         [profile.release]\n\
         opt-level = 3\nlto = \"fat\"\ncodegen-units = 1\nstrip = true\npanic = \"unwind\"\n",
    );
    toml
}

fn readme(name: &str, template: Template) -> String {
    let web = template
        .web()
        .map(|w| format!(" --web {w}"))
        .unwrap_or_default();
    format!(
        "# {name}\n\n\
         An Apache OpenWhisk action in Rust, written with\n\
         [whisk](https://crates.io/crates/whisk-rs). `src/main.rs` is the action.\n\n\
         ```sh\n\
         cargo test                      # the function's unit tests\n\
         cargo whisk build               # a static musl binary (rustup target add x86_64-unknown-linux-musl)\n\
         cargo whisk image -o {name}.tar # an OCI image, no Docker daemon needed\n\
         ```\n\n\
         Deploy the image (push it to a registry OpenWhisk can pull from):\n\n\
         ```sh\n\
         docker load -i {name}.tar\n\
         docker tag {name}:latest USER/{name}:latest && docker push USER/{name}:latest\n\
         wsk action create {name} --docker USER/{name}:latest{web}\n\
         ```\n\n\
         Or, with no registry, as a zip on OpenWhisk's own image:\n\n\
         ```sh\n\
         cargo whisk pack                # {name}.zip: `exec`, mode 0755\n\
         wsk action create {name} {name}.zip --native{web}\n\
         ```\n"
    )
}
