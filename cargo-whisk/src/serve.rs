//! `cargo whisk serve`: the action behind a local gateway that speaks to it
//! as OpenWhisk does, at OpenWhisk's URLs, with `--watch` to rebuild and
//! restart it on every source change.
//!
//! * `/api/v1/web/<namespace>/default/<action>[.ext][/rest]`: the web action,
//!   translated as the controller does (see `gateway.rs`);
//! * `POST /api/v1/namespaces/<namespace>/actions/<action>?blocking=true[&result=true]`:
//!   a plain invoke, answered with the activation record (or the result).
//!
//! Each activation goes through the invoker emulation (`invoker.rs`) with one
//! warm container, one activation at a time; its logs are printed as they
//! arrive.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};

use crate::action::{self, ActionArgs};
use crate::gateway::{self, Answer, Outcome, WebFlags};
use crate::invoker::{Activation, Invoker, Mode, Settings, Status};
use crate::params::{self, random_hex};

/// How the action is exported as a web action.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Web {
    /// `--web true`: the controller parses query and body into parameters.
    True,
    /// `--web raw`: the action gets the raw query and body.
    Raw,
}

/// Options of `cargo whisk serve`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    action: ActionArgs,
    /// The loopback port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 3233)]
    port: u16,
    /// Rebuild and restart the action when its sources change.
    #[arg(long)]
    watch: bool,
    /// How the action is exported (`wsk action update --web`).
    #[arg(long, value_enum, default_value = "true")]
    web: Web,
    /// The action answers OPTIONS itself (`web-custom-options`).
    #[arg(long)]
    web_custom_options: bool,
    /// A default parameter of the action, `wsk`-style (VALUE is JSON when it parses).
    #[arg(short = 'p', long = "param", num_args = 2, value_names = ["KEY", "VALUE"])]
    param: Vec<String>,
    /// An init parameter: exported to the action's environment by `/init`.
    #[arg(long = "init-env", value_name = "KEY=VALUE", value_parser = params::key_value)]
    init_env: Vec<(String, String)>,
    /// The action's time limit in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    timeout: f64,
    /// How the action is run (as `cargo whisk invoke --mode`).
    #[arg(long, value_enum, default_value = "http")]
    mode: Mode,
    /// The namespace in the URLs.
    #[arg(long, default_value = "guest")]
    namespace: String,
}

/// What the gateway serves.
struct State {
    /// `None` until the action has built once.
    invoker: Option<Invoker>,
    name: String,
}

struct Shared {
    state: Mutex<State>,
    flags: WebFlags,
    params: Map<String, Value>,
    namespace: String,
}

/// Runs `cargo whisk serve`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        anyhow::bail!("--timeout must be a positive number of seconds");
    }
    let (namespace, mode, init_env) = (args.namespace.clone(), args.mode, args.init_env.clone());
    let timeout = Duration::from_secs_f64(args.timeout);
    let settings = move |built: action::Built| Settings {
        exe: built.exe,
        name: built.name,
        package: None,
        namespace: namespace.clone(),
        version: "0.0.1".into(),
        mode,
        timeout,
        concurrent: false,
        init_env: init_env.clone(),
        api_host: String::new(),
        live_logs: true,
    };
    let first = match action::build(&args.action) {
        Ok(built) => Some(built),
        Err(e) if args.watch => {
            eprintln!("error: {e:#}");
            eprintln!("    Watching for changes; the gateway answers 500 until the action builds.");
            None
        }
        Err(e) => return Err(e),
    };
    let name = first
        .as_ref()
        .map(|b| b.name.clone())
        .or_else(|| args.action.name.clone())
        .unwrap_or_else(|| "action".into());
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            invoker: first.map(|built| Invoker::new(settings.clone()(built))),
            name: name.clone(),
        }),
        flags: WebFlags {
            raw: args.web == Web::Raw,
            custom_options: args.web_custom_options,
        },
        params: params::from_pairs(&args.param),
        namespace: args.namespace.clone(),
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the gateway's runtime")?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(SocketAddr::from((
            [127, 0, 0, 1],
            args.port,
        ))))
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let port = listener.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let web = match args.web {
        Web::True => "true",
        Web::Raw => "raw",
    };
    let mode = match args.mode {
        Mode::Http => "http",
        Mode::Actionloop => "actionloop",
        Mode::Exec => "exec",
    };
    eprintln!("     Serving {name} (web: {web}, mode: {mode})");
    eprintln!(
        "         web {base}/api/v1/web/{}/default/{name}",
        args.namespace
    );
    eprintln!(
        "      invoke {base}/api/v1/namespaces/{}/actions/{name}?blocking=true",
        args.namespace
    );

    let _watcher = if args.watch {
        let dir = action::package_dir(&args.action)?;
        eprintln!("    Watching {} for changes", dir.display());
        Some(watch(dir, args.action.clone(), shared.clone(), settings)?)
    } else {
        None
    };

    runtime.block_on(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    eprintln!("warning: accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(shared.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

type Reply = hyper::Response<Full<Bytes>>;

async fn handle(shared: Arc<Shared>, req: hyper::Request<Incoming>) -> Result<Reply, hyper::Error> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = req.into_body().collect().await?.to_bytes().to_vec();
    let request = gateway::Request {
        method,
        path,
        query,
        headers,
        body,
    };
    let answer = tokio::task::spawn_blocking(move || route(&shared, &request))
        .await
        .unwrap_or_else(|_| gateway::terminate(500, "Internal server error.", "-"));
    Ok(to_reply(answer))
}

fn to_reply(answer: Answer) -> Reply {
    let mut builder = hyper::Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(answer.body.clone())))
        .unwrap_or_else(|_| {
            // A header the action set that HTTP cannot carry.
            let a = gateway::terminate(400, "Response is not valid 'message/http'.", "-");
            let mut r = hyper::Response::new(Full::new(Bytes::from(a.body)));
            *r.status_mut() = hyper::StatusCode::BAD_REQUEST;
            r
        })
}

/// Routes one request and logs it.
fn route(shared: &Shared, request: &gateway::Request) -> Answer {
    let transaction = random_hex(16);
    let segments: Vec<&str> = request.path.split('/').collect();
    // ["", "api", "v1", "web", ns, pkg, action, rest...]
    let answer = match segments.as_slice() {
        ["", "api", "v1", "web", ns, pkg, segment, rest @ ..] => {
            let rest = if rest.is_empty() {
                String::new()
            } else {
                format!("/{}", rest.join("/"))
            };
            web(shared, request, ns, pkg, segment, &rest, &transaction)
        }
        ["", "api", "v1", "namespaces", ns, "actions", name] if request.method == "POST" => {
            invoke(shared, request, ns, name, &transaction)
        }
        _ => gateway::terminate(404, "The requested resource does not exist.", &transaction),
    };
    eprintln!(
        "{:>12} {} {}{} -> {}",
        "Request",
        request.method,
        request.path,
        request
            .query
            .as_ref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default(),
        answer.status
    );
    answer
}

/// Runs one activation on the warm container (starting one if needed).
fn activate(shared: &Shared, value: Value) -> Result<Activation, String> {
    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    let Some(invoker) = state.invoker.as_mut() else {
        return Err("The action did not build; see the output of cargo whisk serve.".into());
    };
    let activation = invoker.invoke(value);
    eprintln!(
        "{:>12} {} {} in {} ms{}, activation {}",
        "Activation",
        activation.status.message(),
        state.name,
        activation.end - activation.start,
        if activation.init_time.is_some() {
            " (cold)"
        } else {
            ""
        },
        activation.id
    );
    Ok(activation)
}

fn is_action(shared: &Shared, ns: &str, name: &str) -> bool {
    let state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    (ns == shared.namespace || ns == "_") && name == state.name
}

fn web(
    shared: &Shared,
    request: &gateway::Request,
    ns: &str,
    pkg: &str,
    segment: &str,
    rest: &str,
    transaction: &str,
) -> Answer {
    let (name, ext) = gateway::split_extension(segment);
    if ns != shared.namespace || pkg != "default" || !is_action(shared, ns, name) {
        return gateway::terminate(404, "The requested resource does not exist.", transaction);
    }
    let mut answer = if request.method == "OPTIONS" && !shared.flags.custom_options {
        Answer {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        }
    } else {
        match gateway::request_value(request, rest, shared.flags, &shared.params, transaction) {
            Err(answer) => answer,
            Ok(value) => match activate(shared, value) {
                Err(message) => gateway::terminate(500, &message, transaction),
                Ok(activation) => {
                    let outcome = match activation.status {
                        Status::Success => Outcome::Success(&activation.result),
                        Status::ApplicationError => Outcome::ApplicationError(&activation.result),
                        Status::DeveloperError => Outcome::DeveloperError,
                    };
                    let mut answer = gateway::response(outcome, ext, transaction);
                    answer
                        .headers
                        .push(("x-openwhisk-activation-id".into(), activation.id.clone()));
                    answer
                }
            },
        }
    };
    if !shared.flags.custom_options {
        answer.headers.extend(gateway::cors_headers(request));
    }
    answer
}

fn invoke(
    shared: &Shared,
    request: &gateway::Request,
    ns: &str,
    name: &str,
    transaction: &str,
) -> Answer {
    if !is_action(shared, ns, name) {
        return gateway::terminate(404, "The requested resource does not exist.", transaction);
    }
    let flag = |key: &str| {
        request
            .query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .any(|p| p == format!("{key}=true"))
    };
    let mut value = shared.params.clone();
    if !request.body.is_empty() {
        match serde_json::from_slice::<Value>(&request.body) {
            Ok(Value::Object(map)) => value.extend(map),
            _ => {
                return gateway::terminate(
                    400,
                    "The request content was malformed:\nthe body must be a JSON object.",
                    transaction,
                );
            }
        }
    }
    let activation = match activate(shared, Value::Object(value)) {
        Ok(a) => a,
        Err(message) => return gateway::terminate(500, &message, transaction),
    };
    let state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    let settings = state.invoker.as_ref().map(|i| i.settings().clone());
    drop(state);
    let (status, body) = if !flag("blocking") {
        (202, json!({"activationId": activation.id}))
    } else if flag("result") {
        let status = if activation.status == Status::Success {
            200
        } else {
            502
        };
        (status, activation.result.clone())
    } else {
        let status = if activation.status == Status::Success {
            200
        } else {
            502
        };
        let record = settings
            .map(|s| activation.record(&s))
            .unwrap_or(Value::Null);
        (status, record)
    };
    Answer {
        status,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("x-openwhisk-activation-id".into(), activation.id),
        ],
        body: gateway::spray_pretty(&body).into_bytes(),
    }
}

/// Watches `dir` (sources, manifests; not `target/`) and rebuilds on change;
/// a successful build replaces the container (the next request starts the
/// new binary), a failed one is reported and the old binary keeps serving.
fn watch(
    dir: PathBuf,
    args: ActionArgs,
    shared: Arc<Shared>,
    settings: impl Fn(action::Built) -> Settings + Send + 'static,
) -> anyhow::Result<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let (tx, rx) = std::sync::mpsc::channel::<PathBuf>();
    let root = dir.canonicalize().unwrap_or(dir.clone());
    let filter_root = root.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        for path in event.paths {
            if relevant(&filter_root, &path) {
                let _ = tx.send(path);
            }
        }
    })
    .context("starting the file watcher")?;
    watcher
        .watch(&root, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", root.display()))?;
    std::thread::spawn(move || {
        while let Ok(first) = rx.recv() {
            // Debounce: an editor's save is often several events (temporary
            // files among them): name a changed file that still exists.
            std::thread::sleep(Duration::from_millis(150));
            let mut changed = vec![first];
            changed.extend(rx.try_iter());
            let path = changed.iter().find(|p| p.exists()).unwrap_or(&changed[0]);
            let shown = path
                .strip_prefix(&root)
                .unwrap_or(path)
                .display()
                .to_string();
            eprintln!("    Changed {shown}; rebuilding");
            // Requests wait for the build: the next one sees the new code.
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            match action::build(&args) {
                Ok(built) => {
                    state.name = built.name.clone();
                    match state.invoker.as_mut() {
                        Some(invoker) => invoker.replace(built.exe),
                        None => state.invoker = Some(Invoker::new(settings(built))),
                    }
                    eprintln!("   Restarted {} (the next request starts it)", state.name);
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    eprintln!("    Still serving the last build; watching for changes");
                }
            }
            drop(state);
            // Events caused by the build itself are not changes.
            while rx.try_recv().is_ok() {}
        }
    });
    Ok(watcher)
}

/// A change that can alter the build: not under `target/` or `.git/`, and a
/// Rust source, a manifest, a lock file or anything under `src/`.
fn relevant(root: &Path, path: &Path) -> bool {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    if matches!(first.as_deref(), Some("target" | ".git")) {
        return false;
    }
    if std::env::var_os("CARGO_TARGET_DIR").is_some_and(|target| path.starts_with(target)) {
        return false;
    }
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.ends_with(".rs")
        || name == "Cargo.toml"
        || name == "Cargo.lock"
        || first.as_deref() == Some("src")
}
