//! `cargo whisk deploy`: create or update the action through OpenWhisk's
//! REST API (`PUT /api/v1/namespaces/{ns}/actions/{name}?overwrite=true`,
//! as `wsk action update` does), with the configuration `wsk` reads.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use whisk_client::{ActionPut, Client, Config};

use crate::build::{self, BuildOptions, Selection, Target};
use crate::params;
use crate::wskprops;

/// `--web`: how the action is exported (`wsk action update --web`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Web {
    /// A web action: `web-export`, `final`; not `raw-http`.
    True,
    /// A raw web action: `web-export`, `final` and `raw-http`.
    Raw,
    /// Not a web action (all three annotations false).
    False,
}

/// Options of `cargo whisk deploy`.
#[derive(clap::Args)]
pub struct Args {
    /// The action's name, `NAME` or `PACKAGE/NAME`.
    name: String,
    /// Deploy the action as a native zip (the static musl binary as `exec`,
    /// run by OpenWhisk's dockerskeleton). The default.
    #[arg(long, conflicts_with = "image")]
    zip: bool,
    /// Deploy a container image instead (`wsk action update --docker REF`).
    #[arg(long, value_name = "REF")]
    image: Option<String>,
    /// Export it as a web action.
    #[arg(long, value_enum, value_name = "true|raw|false")]
    web: Option<Web>,
    /// Memory limit, MB.
    #[arg(long, value_name = "MB")]
    memory: Option<u64>,
    /// Time limit, seconds.
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Activations one container may run at once.
    #[arg(long, value_name = "N")]
    concurrency: Option<u64>,
    /// A default parameter, `wsk`-style (VALUE is JSON when it parses as JSON).
    #[arg(short = 'p', long = "param", num_args = 2, value_names = ["KEY", "VALUE"])]
    param: Vec<String>,
    /// An annotation, `wsk`-style.
    #[arg(short = 'a', long = "annotation", num_args = 2, value_names = ["KEY", "VALUE"])]
    annotation: Vec<String>,
    /// Print the request and the equivalent `wsk action update` command; send nothing.
    #[arg(long)]
    dry_run: bool,
    /// The controller (default: APIHOST of ~/.wskprops or $WSK_CONFIG_FILE).
    #[arg(long, value_name = "HOST")]
    apihost: Option<String>,
    /// The API key `UUID:KEY` (default: AUTH of the properties file).
    #[arg(long, value_name = "KEY")]
    auth: Option<String>,
    /// The namespace (default: NAMESPACE of the properties file, else `_`).
    #[arg(long)]
    namespace: Option<String>,
    /// Do not verify the controller's TLS certificate (`wsk -i`).
    #[arg(short = 'i', long)]
    insecure: bool,
    /// For --zip: the binary target to build (default: the package's only one).
    #[arg(long, value_name = "NAME")]
    bin: Option<String>,
    /// For --zip: the crate's Cargo.toml.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// For --zip: build for arm64 (aarch64-unknown-linux-musl).
    #[arg(long)]
    arm64: bool,
}

/// What the action will be made of.
enum Code {
    Image(String),
    Zip { bytes: Vec<u8>, file: PathBuf },
}

/// Runs `cargo whisk deploy`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (props_path, props) = wskprops::read()?;
    let apihost = args
        .apihost
        .clone()
        .or_else(|| props.get("APIHOST").cloned())
        .filter(|h| !h.is_empty());
    let auth = args
        .auth
        .clone()
        .or_else(|| props.get("AUTH").cloned())
        .filter(|a| !a.is_empty());
    let namespace = args
        .namespace
        .clone()
        .or_else(|| props.get("NAMESPACE").cloned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "_".into());
    if !args.dry_run {
        missing(&props_path, apihost.is_none(), auth.is_none())?;
    }
    if args.timeout.is_some_and(|t| !(t > 0.0 && t.is_finite())) {
        bail!("--timeout must be a positive number of seconds");
    }

    let code = match &args.image {
        Some(image) => Code::Image(image.clone()),
        None => {
            let artifact = build::cargo_build(&BuildOptions {
                selection: args.bin.clone().map(Selection::Bin).unwrap_or_default(),
                target: Target::musl(args.arm64),
                cargo_args: match &args.manifest_path {
                    Some(path) => vec!["--manifest-path".into(), path.into()],
                    None => Vec::new(),
                },
                ..BuildOptions::default()
            })?;
            build::report(&artifact);
            let exec = std::fs::read(&artifact.path)
                .with_context(|| format!("reading {}", artifact.path.display()))?;
            let mut zip = std::io::Cursor::new(Vec::new());
            crate::pack::pack_with_exec_env(&exec, None, &mut zip).context("packing the zip")?;
            let file = artifact.path.with_extension("zip");
            std::fs::write(&file, zip.get_ref())
                .with_context(|| format!("writing {}", file.display()))?;
            Code::Zip {
                bytes: zip.into_inner(),
                file,
            }
        }
    };

    let put = request(&args, &code);
    if args.dry_run {
        print_dry_run(&args, &put, &code, apihost.as_deref(), &namespace);
        return Ok(ExitCode::SUCCESS);
    }
    let (apihost, auth) = (apihost.unwrap(), auth.unwrap());
    let config = Config::new(apihost.clone())
        .api_key(auth)
        .namespace(namespace.clone())
        .ignore_certs(args.insecure);
    let client = Client::new(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    eprintln!("   Deploying {} to {apihost}", args.name);
    let action = runtime
        .block_on(client.put_action(&args.name, &put, true))
        .map_err(|e| anyhow::anyhow!("the controller refused the action: {e}"))?;
    let ns = if action.namespace.is_empty() {
        namespace.clone()
    } else {
        action.namespace.clone()
    };
    println!(
        "ok: updated action /{ns}/{} (version {})",
        action.name, action.version
    );
    let exported = action
        .annotation("web-export")
        .is_some_and(|v| v == &json!(true) || v == &json!("true"));
    if exported {
        let (root, pkg) = match ns.split_once('/') {
            Some((root, pkg)) => (root.to_owned(), pkg.to_owned()),
            None => (ns.clone(), "default".into()),
        };
        println!(
            "web: {}/api/v1/web/{root}/{pkg}/{}",
            base_url(&apihost),
            action.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The exact commands that set what is missing.
fn missing(props: &std::path::Path, apihost: bool, auth: bool) -> anyhow::Result<()> {
    if !apihost && !auth {
        return Ok(());
    }
    let mut what = Vec::new();
    let mut fix = Vec::new();
    if apihost {
        what.push("API host (APIHOST)");
        fix.push("    wsk property set --apihost https://openwhisk.example.com");
    }
    if auth {
        what.push("API key (AUTH)");
        fix.push("    wsk property set --auth '<uuid>:<key>'");
    }
    bail!(
        "no OpenWhisk {} configured: {} does not set it\n\
         help: set it as wsk does:\n{}\n\
         or write the lines APIHOST=... and AUTH=... to {} (WSK_CONFIG_FILE names another file),\n\
         or pass --apihost and --auth",
        what.join(" and no "),
        props.display(),
        fix.join("\n"),
        props.display()
    )
}

/// `https://` when the host has no scheme, as `wsk` assumes.
fn base_url(apihost: &str) -> String {
    let host = apihost.trim_end_matches('/');
    if host.starts_with("http://") || host.starts_with("https://") {
        host.to_owned()
    } else {
        format!("https://{host}")
    }
}

/// The `PUT` body.
fn request(args: &Args, code: &Code) -> ActionPut {
    let mut put = match code {
        Code::Image(image) => ActionPut::docker(image),
        Code::Zip { bytes, .. } => ActionPut::native(bytes),
    };
    for (key, value) in params::from_pairs(&args.param) {
        put = put.parameter(&key, value);
    }
    for (key, value) in params::from_pairs(&args.annotation) {
        put = put.annotation(&key, value);
    }
    // `webAction` of the CLI: the three annotations together.
    if let Some(web) = args.web {
        let (export, raw) = match web {
            Web::True => (true, false),
            Web::Raw => (true, true),
            Web::False => (false, false),
        };
        put = put
            .annotation("web-export", json!(export))
            .annotation("raw-http", json!(raw))
            .annotation("final", json!(export));
    }
    if let Some(mb) = args.memory {
        put = put.memory_mb(mb);
    }
    if let Some(secs) = args.timeout {
        put = put.timeout_ms((secs * 1000.0).round() as u64);
    }
    if let Some(n) = args.concurrency {
        put = put.concurrency(n);
    }
    put
}

fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+".contains(&b))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn print_dry_run(
    args: &Args,
    put: &ActionPut,
    code: &Code,
    apihost: Option<&str>,
    namespace: &str,
) {
    let mut body = serde_json::to_value(put).expect("the request serializes");
    if let Code::Zip { bytes, .. } = code {
        body["exec"]["code"] = Value::String(format!("<base64 of the {}-byte zip>", bytes.len()));
    }
    let host = apihost.map(base_url).unwrap_or_else(|| "$APIHOST".into());
    println!(
        "PUT {host}/api/v1/namespaces/{}/actions/{}?overwrite=true",
        namespace, args.name
    );
    println!("Authorization: Basic <base64 of AUTH>");
    println!("Content-Type: application/json");
    println!();
    println!("{}", params::pretty(&body, 2));
    println!();
    let mut wsk = vec![
        "wsk".to_owned(),
        "action".into(),
        "update".into(),
        args.name.clone(),
    ];
    match code {
        Code::Image(image) => {
            wsk.push("--docker".into());
            wsk.push(image.clone());
        }
        Code::Zip { file, .. } => {
            wsk.push(file.display().to_string());
            wsk.push("--native".into());
        }
    }
    if let Some(web) = args.web {
        wsk.push("--web".into());
        wsk.push(
            match web {
                Web::True => "true",
                Web::Raw => "raw",
                Web::False => "false",
            }
            .into(),
        );
    }
    if let Some(mb) = args.memory {
        wsk.push("--memory".into());
        wsk.push(mb.to_string());
    }
    if let Some(secs) = args.timeout {
        wsk.push("--timeout".into());
        wsk.push(((secs * 1000.0).round() as u64).to_string());
    }
    if let Some(n) = args.concurrency {
        wsk.push("--concurrency".into());
        wsk.push(n.to_string());
    }
    for pair in args.param.chunks(2) {
        wsk.push("-p".into());
        wsk.extend(pair.iter().cloned());
    }
    for pair in args.annotation.chunks(2) {
        wsk.push("-a".into());
        wsk.extend(pair.iter().cloned());
    }
    if args.insecure {
        wsk.push("-i".into());
    }
    let line: Vec<String> = wsk.iter().map(|w| shell_quote(w)).collect();
    println!("{}", line.join(" "));
    let _ = args.zip;
}
