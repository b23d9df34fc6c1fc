//! An emulation of OpenWhisk's invoker for one action, on this machine.
//!
//! What it follows (PROTOCOL.md §2-§5, and the code it cites):
//!
//! * the `/init` and `/run` bodies of apache/openwhisk
//!   `core/invoker/.../containerpool/ContainerProxy.scala` and
//!   `common/scala/.../containerpool/Container.scala` (`{"value": ...}` plus
//!   the activation metadata at the top level, `deadline` as a string, the
//!   `__OW_*` context also in the init `env`, `__OW_API_HOST` in the
//!   container's environment);
//! * the verdicts of `ActivationResponse.processRunResponseContent` and
//!   `processInitResponseContent` (`common/scala/.../entity/ActivationResult.scala`):
//!   success, application error, action developer error, the timeout of
//!   `Container.scala` (`>=` the limit), and the container destroyed after a
//!   developer error (`ContainerProxy.scala`);
//! * the log collection of `DockerContainer.scala` /
//!   `DockerToActivationLogStore.scala`: read from the last offset, stop at
//!   the second record containing the sentinel, a 2 s idle limit, sentinel
//!   lines dropped, no waiting after a developer error, the invoker's own
//!   warning lines, each line formatted as `LogLine.toFormattedString`
//!   (`f"$time%-30s $stream: ${log.trim}"`) with Docker's timestamp;
//! * the activation record of `WhiskActivation.toExtendedJson` as
//!   `wsk activation get` prints it.
//!
//! The action runs in one of three transports: its own HTTP server (as in a
//! `--docker` image), behind an emulation of the Go ActionLoop proxy
//! (apache/openwhisk-runtime-go `openwhisk/executor.go`, `runHandler.go`,
//! `initHandler.go`, `actionProxy.go`), or behind an emulation of the
//! dockerskeleton (apache/openwhisk-runtime-docker
//! `core/actionProxy/actionproxy.py`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::params::{epoch_millis, random_hex, rfc3339_nanos};

/// The sentinel every runtime writes on both streams after an activation.
pub const SENTINEL: &str = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

/// The invoker's limit on a result (`whisk.activation.payload.max`).
const MAX_RESPONSE: usize = 1 << 20;

/// `logCollectingIdleTimeout` of the Docker log store.
const LOG_IDLE: Duration = Duration::from_secs(2);

/// The Go proxy version the ActionLoop emulation announces.
const PROXY_VERSION: &str = "1.17.1";

/// The dockerskeleton passes the input as `argv[1]` up to `MAX_ARG_STRLEN - 1`.
const MAX_ARG: usize = 131_071;

/// How the action is run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The action's own HTTP server (`/init`, `/run`), as a `--docker` image.
    Http,
    /// Behind an emulation of OpenWhisk's Go ActionLoop proxy (fd 3).
    Actionloop,
    /// Behind an emulation of the dockerskeleton (`--native`, JSON in `argv[1]`).
    Exec,
}

/// What the invoker knows about the action and its limits.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The executable.
    pub exe: PathBuf,
    /// The action's simple name.
    pub name: String,
    /// The package, if any (`None` is the default package).
    pub package: Option<String>,
    /// The namespace the action lives in (and the activation's subject).
    pub namespace: String,
    /// The action's version.
    pub version: String,
    /// The transport.
    pub mode: Mode,
    /// `limits.timeout`.
    pub timeout: Duration,
    /// Start the container with `__OW_ALLOW_CONCURRENT=true`.
    pub concurrent: bool,
    /// Init parameters (`--init-env`): exported before the first activation.
    pub init_env: Vec<(String, String)>,
    /// `__OW_API_HOST` of the container.
    pub api_host: String,
    /// Print each log line on stderr as it arrives.
    pub live_logs: bool,
}

impl Settings {
    /// `/ns/pkg/name`, as `action_name` carries it.
    pub fn qualified_name(&self) -> String {
        match &self.package {
            Some(pkg) => format!("/{}/{}/{}", self.namespace, pkg, self.name),
            None => format!("/{}/{}", self.namespace, self.name),
        }
    }

    /// `ns/pkg/name`, as the `path` annotation carries it.
    fn path(&self) -> String {
        self.qualified_name()[1..].to_owned()
    }
}

/// The outcome of an activation, as `ActivationResponse` codes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 0 `success`.
    Success,
    /// 1 `application error`.
    ApplicationError,
    /// 2 `action developer error`.
    DeveloperError,
}

impl Status {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::ApplicationError => 1,
            Status::DeveloperError => 2,
        }
    }

    /// `ActivationResponse.messageForCode`.
    pub fn message(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::ApplicationError => "application error",
            Status::DeveloperError => "action developer error",
        }
    }
}

/// One activation, as the invoker records it.
#[derive(Clone, Debug)]
pub struct Activation {
    /// 32 hex digits.
    pub id: String,
    /// The verdict.
    pub status: Status,
    /// The stored result.
    pub result: Value,
    /// The log lines, formatted as OpenWhisk stores them.
    pub logs: Vec<String>,
    /// Start, epoch ms.
    pub start: u64,
    /// End, epoch ms.
    pub end: u64,
    /// The `/init` duration for a cold start.
    pub init_time: Option<u64>,
    /// Whether the time limit was hit.
    pub timeout: bool,
}

/// The record as `wsk activation get` prints it (field order of the CLI's
/// `whisk.Activation`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    namespace: &'a str,
    name: &'a str,
    version: &'a str,
    subject: &'a str,
    activation_id: &'a str,
    start: u64,
    end: u64,
    duration: u64,
    status_code: u8,
    response: Response<'a>,
    logs: &'a [String],
    annotations: Vec<Value>,
    publish: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    status: &'a str,
    status_code: u8,
    success: bool,
    result: &'a Value,
}

impl Activation {
    /// The activation record, as JSON in OpenWhisk's shape.
    pub fn record(&self, settings: &Settings) -> Value {
        let mut annotations = vec![
            json!({"key": "path", "value": settings.path()}),
            json!({"key": "waitTime", "value": 0}),
            json!({"key": "kind", "value": "blackbox"}),
            json!({"key": "timeout", "value": self.timeout}),
            json!({"key": "limits", "value": {
                "concurrency": 1,
                "logs": 10,
                "memory": 256,
                "timeout": settings.timeout.as_millis() as u64,
            }}),
        ];
        if let Some(init) = self.init_time {
            annotations.push(json!({"key": "initTime", "value": init}));
        }
        let record = Record {
            namespace: &settings.namespace,
            name: &settings.name,
            version: &settings.version,
            subject: &settings.namespace,
            activation_id: &self.id,
            start: self.start,
            end: self.end,
            duration: self.end - self.start,
            status_code: self.status.code(),
            response: Response {
                status: self.status.message(),
                status_code: self.status.code(),
                success: self.status == Status::Success,
                result: &self.result,
            },
            logs: &self.logs,
            annotations,
            publish: false,
        };
        serde_json::to_value(record).expect("the record serializes")
    }
}

/// The invoker for one action: keeps one warm container, as OpenWhisk does
/// between activations, and replaces it after a developer error.
pub struct Invoker {
    settings: Settings,
    container: Option<Container>,
}

impl Invoker {
    /// An invoker with no container yet (the first activation is a cold start).
    pub fn new(settings: Settings) -> Invoker {
        Invoker {
            settings,
            container: None,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Drops the warm container (the next activation starts a new one), e.g.
    /// after a rebuild.
    pub fn replace(&mut self, exe: PathBuf) {
        self.container = None;
        self.settings.exe = exe;
    }

    /// Runs one activation with `params` as its `value`.
    pub fn invoke(&mut self, params: Value) -> Activation {
        let id = random_hex(16);
        let transaction = random_hex(16);
        let start_time = SystemTime::now();
        let timeout = self.settings.timeout;
        let limit_ms = timeout.as_millis();
        let deadline = |now: SystemTime| (epoch_millis(now) as u128 + limit_ms).to_string();
        let qualified = self.settings.qualified_name();
        let metadata = [
            ("namespace", self.settings.namespace.clone()),
            ("action_name", qualified),
            ("action_version", self.settings.version.clone()),
            ("activation_id", id.clone()),
            ("transaction_id", transaction),
            ("deadline", deadline(SystemTime::now())),
        ];

        let mut init_time = None;
        if self.container.is_none() {
            let init_started = Instant::now();
            // An init failure is a developer error; the container is
            // destroyed, its logs up to now are kept.
            let failure = match Container::start(&self.settings) {
                Err(e) => Some((
                    json!({ "error": format!("The action could not be started: {e:#}") }),
                    false,
                    Vec::new(),
                )),
                Ok(mut container) => {
                    let mut env = Map::new();
                    for (k, v) in &self.settings.init_env {
                        env.insert(k.clone(), Value::String(v.clone()));
                    }
                    for (k, v) in &metadata {
                        env.insert(
                            format!("__OW_{}", k.to_uppercase()),
                            Value::String(v.clone()),
                        );
                    }
                    let body = json!({"value": {
                        "name": self.settings.name,
                        "binary": false,
                        "main": "main",
                        "env": env,
                    }});
                    let answer = container.init(&body, timeout);
                    let elapsed = init_started.elapsed();
                    init_time = Some(elapsed.as_millis() as u64);
                    match init_verdict(answer, elapsed, timeout) {
                        Ok(()) => {
                            self.container = Some(container);
                            None
                        }
                        Err((error, timed_out)) => {
                            Some((error, timed_out, container.collect_logs(false)))
                        }
                    }
                }
            };
            if let Some((error, timed_out, logs)) = failure {
                return Activation {
                    id,
                    status: Status::DeveloperError,
                    result: error,
                    logs,
                    start: epoch_millis(start_time),
                    end: epoch_millis(SystemTime::now()),
                    init_time,
                    timeout: timed_out,
                };
            }
        }

        let container = self.container.as_mut().expect("a container after init");
        let mut body = Map::new();
        body.insert("value".into(), params);
        for (k, v) in metadata {
            let v = if k == "deadline" {
                deadline(SystemTime::now())
            } else {
                v
            };
            body.insert(k.into(), Value::String(v));
        }
        let run_started = Instant::now();
        let answer = container.run(&Value::Object(body), timeout);
        let elapsed = run_started.elapsed();
        let (status, result, timed_out) = run_verdict(answer, elapsed, timeout);
        let logs = container.collect_logs(status != Status::DeveloperError);
        if status == Status::DeveloperError || container.log_failure {
            self.container = None;
        }
        Activation {
            id,
            status,
            result,
            logs,
            start: epoch_millis(start_time),
            end: epoch_millis(SystemTime::now()),
            init_time,
            timeout: timed_out,
        }
    }
}

/// What came back from the container for one request.
#[derive(Debug)]
pub enum Exchange {
    /// A complete, length-delimited answer.
    Answer {
        /// HTTP status.
        status: u16,
        /// Body bytes.
        body: Vec<u8>,
    },
    /// Connection error, no answer, or an answer without `Content-Length`.
    NoResponse,
    /// The time limit passed first.
    TimedOut,
}

/// `processInitResponseContent`, and the init timeout.
fn init_verdict(
    answer: Exchange,
    elapsed: Duration,
    timeout: Duration,
) -> Result<(), (Value, bool)> {
    if elapsed >= timeout || matches!(answer, Exchange::TimedOut) {
        let message = format!(
            "The action exceeded its time limits of {} milliseconds during initialization.",
            timeout.as_millis()
        );
        return Err((json!({ "error": message }), true));
    }
    match answer {
        Exchange::Answer { status: 200, .. } => Ok(()),
        Exchange::Answer { body, .. } => {
            let text = String::from_utf8_lossy(&body).into_owned();
            let error = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(mut map)) if map.contains_key("error") => {
                    map.remove("error").unwrap()
                }
                _ if text.is_empty() => json!("The action failed during initialization."),
                _ => json!(format!("The action failed during initialization: {text}")),
            };
            Err((json!({ "error": error }), false))
        }
        Exchange::NoResponse | Exchange::TimedOut => Err((
            json!({"error": "The action did not initialize and exited unexpectedly."}),
            false,
        )),
    }
}

/// `processRunResponseContent`, and the run timeout: (status, result, timed out).
pub fn run_verdict(
    answer: Exchange,
    elapsed: Duration,
    timeout: Duration,
) -> (Status, Value, bool) {
    if elapsed >= timeout || matches!(answer, Exchange::TimedOut) {
        let message = format!(
            "The action exceeded its time limits of {} milliseconds.",
            timeout.as_millis()
        );
        return (Status::DeveloperError, json!({ "error": message }), true);
    }
    let (status, body) = match answer {
        Exchange::Answer { status, body } => (status, body),
        _ => {
            return (
                Status::DeveloperError,
                json!({"error": "The action did not produce a valid response and exited unexpectedly."}),
                false,
            );
        }
    };
    if body.len() > MAX_RESPONSE {
        let prefix = String::from_utf8_lossy(&body[..MAX_RESPONSE]);
        let message = format!(
            "The action produced a response that exceeded the allowed length: {} > {} bytes. The truncated response was: {prefix}",
            body.len(),
            MAX_RESPONSE
        );
        return (Status::ApplicationError, json!({ "error": message }), false);
    }
    let text = String::from_utf8_lossy(&body);
    let invalid = || {
        let message = if text.is_empty() {
            "The action did not produce a valid JSON or JSON Array response.".to_owned()
        } else {
            format!("The action did not produce a valid JSON or JSON Array response: {text}")
        };
        (Status::DeveloperError, json!({ "error": message }), false)
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(mut map)) => match map.remove("error") {
            Some(error) if status == 200 => {
                (Status::ApplicationError, json!({ "error": error }), false)
            }
            Some(error) => (Status::DeveloperError, json!({ "error": error }), false),
            None if status == 200 => (Status::Success, Value::Object(map), false),
            None => invalid(),
        },
        Ok(array @ Value::Array(_)) if status == 200 => (Status::Success, array, false),
        _ => invalid(),
    }
}

// ---------------------------------------------------------------------------
// Container logs

/// Which stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One record of the container's log, timestamped on arrival (as Docker does).
#[derive(Clone, Debug)]
struct LogLine {
    time: SystemTime,
    stream: Stream,
    text: String,
}

impl LogLine {
    /// `LogLine.toFormattedString`: `f"$time%-30s $stream: ${log.trim}"`.
    fn formatted(&self) -> String {
        let text = self.text.trim_matches(|c: char| c <= ' ');
        format!(
            "{:<30} {}: {}",
            rfc3339_nanos(self.time),
            self.stream.name(),
            text
        )
    }
}

#[derive(Default)]
struct LogState {
    lines: Vec<LogLine>,
    last_arrival: Option<Instant>,
}

/// The container's stdout and stderr, read by one thread per stream.
#[derive(Clone, Default)]
struct LogStore {
    inner: Arc<(Mutex<LogState>, Condvar)>,
}

impl LogStore {
    fn attach(&self, source: File, stream: Stream, live: bool) {
        let store = self.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(source);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if buf.last() == Some(&b'\n') {
                            buf.pop();
                        }
                        let line = LogLine {
                            time: SystemTime::now(),
                            stream,
                            text: String::from_utf8_lossy(&buf).into_owned(),
                        };
                        if live && !line.text.contains(SENTINEL) {
                            eprintln!("{}", line.formatted());
                        }
                        let (lock, cvar) = &*store.inner;
                        let mut state = lock.lock().unwrap();
                        state.lines.push(line);
                        state.last_arrival = Some(Instant::now());
                        cvar.notify_all();
                    }
                }
            }
        });
    }

    /// Takes the lines from `offset` up to the second sentinel (waiting for
    /// it, with the 2 s idle limit), or, without `wait`, what has arrived once
    /// the streams have been quiet briefly. Returns the lines (sentinels
    /// dropped), the new offset, and whether the sentinels were missing.
    fn take(&self, offset: usize, wait: bool) -> (Vec<LogLine>, usize, bool) {
        let (lock, cvar) = &*self.inner;
        let mut state = lock.lock().unwrap();
        let find_end = |lines: &[LogLine]| {
            let mut seen = 0;
            for (i, line) in lines.iter().enumerate().skip(offset) {
                if line.text.contains(SENTINEL) {
                    seen += 1;
                    if seen == 2 {
                        return Some(i + 1);
                    }
                }
            }
            None
        };
        let waited = Instant::now();
        let (end, missing) = loop {
            if let Some(end) = wait.then(|| find_end(&state.lines)).flatten() {
                break (end, false);
            }
            let quiet_for = state.last_arrival.map_or(waited.elapsed(), |t| t.elapsed());
            let idle = if wait {
                LOG_IDLE
            } else {
                Duration::from_millis(50)
            };
            let since_wait = waited.elapsed();
            if quiet_for >= idle && since_wait >= idle.min(Duration::from_millis(50)) {
                break (state.lines.len(), wait);
            }
            let (next, _) = cvar.wait_timeout(state, Duration::from_millis(20)).unwrap();
            state = next;
        };
        let lines = state.lines[offset.min(end)..end]
            .iter()
            .filter(|l| !l.text.contains(SENTINEL))
            .cloned()
            .collect();
        (lines, end, missing)
    }
}

// ---------------------------------------------------------------------------
// Containers

/// A running "container": the action's process (or the emulated proxy that
/// owns it) and its log.
struct Container {
    transport: Transport,
    logs: LogStore,
    /// The log offset of the next activation.
    offset: usize,
    /// The last log collection failed (missing sentinels): destroy it.
    log_failure: bool,
}

enum Transport {
    Http {
        child: Child,
        port: u16,
        _dir: TempDir,
    },
    ActionLoop {
        proxy: ActionLoopProxy,
    },
    Exec {
        skeleton: Skeleton,
    },
}

impl Drop for Container {
    fn drop(&mut self) {
        match &mut self.transport {
            Transport::Http { child, .. } => kill(child),
            Transport::ActionLoop { proxy } => {
                if let Some(child) = &mut proxy.child {
                    kill(child);
                }
            }
            Transport::Exec { .. } => {}
        }
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A pipe as two `File`s (read end, write end), close-on-exec.
fn pipe() -> std::io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the array on success; both descriptors are then ours.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: just created, owned by nothing else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((File::from(r), File::from(w)))
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        let dir = std::env::temp_dir().join(format!("cargo-whisk-{}", random_hex(8)));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Container {
    fn start(settings: &Settings) -> anyhow::Result<Container> {
        let logs = LogStore::default();
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        logs.attach(out_r, Stream::Stdout, settings.live_logs);
        logs.attach(err_r, Stream::Stderr, settings.live_logs);
        let transport = match settings.mode {
            Mode::Http => {
                let dir = TempDir::new()?;
                let port_file = dir.0.join("port");
                let mut command = Command::new(&settings.exe);
                command
                    .env("WHISK_MODE", "http")
                    .env("WHISK_HOST", "127.0.0.1")
                    .env("WHISK_PORT", "0")
                    .env("WHISK_PORT_FILE", &port_file)
                    .env("__OW_API_HOST", &settings.api_host)
                    .stdin(Stdio::null())
                    .stdout(out_w)
                    .stderr(err_w);
                if settings.concurrent {
                    command.env("__OW_ALLOW_CONCURRENT", "true");
                }
                let mut child = command
                    .spawn()
                    .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", settings.exe.display()))?;
                let started = Instant::now();
                let port = loop {
                    let written = std::fs::read_to_string(&port_file).ok();
                    if let Some(port) = written.and_then(|text| text.trim().parse::<u16>().ok()) {
                        break port;
                    }
                    if let Some(status) = child.try_wait()? {
                        anyhow::bail!("the action exited at start-up ({status})");
                    }
                    if started.elapsed() > Duration::from_secs(20) {
                        kill(&mut child);
                        anyhow::bail!(
                            "the action did not listen within 20 s (is it a whisk action? it must honour WHISK_PORT)"
                        );
                    }
                    std::thread::sleep(Duration::from_millis(2));
                };
                Transport::Http {
                    child,
                    port,
                    _dir: dir,
                }
            }
            Mode::Actionloop => Transport::ActionLoop {
                proxy: ActionLoopProxy {
                    exe: settings.exe.clone(),
                    api_host: settings.api_host.clone(),
                    stdout: out_w,
                    stderr: err_w,
                    child: None,
                    stdin: None,
                    results: None,
                    initialized: false,
                },
            },
            Mode::Exec => Transport::Exec {
                skeleton: Skeleton {
                    exe: settings.exe.clone(),
                    env: {
                        let mut env: BTreeMap<String, String> = std::env::vars().collect();
                        env.insert("__OW_API_HOST".into(), settings.api_host.clone());
                        env
                    },
                    stdout: out_w,
                    stderr: err_w,
                    initialized: false,
                },
            },
        };
        Ok(Container {
            transport,
            logs,
            offset: 0,
            log_failure: false,
        })
    }

    fn init(&mut self, body: &Value, timeout: Duration) -> Exchange {
        match &mut self.transport {
            Transport::Http { port, .. } => post(*port, "/init", body, timeout),
            Transport::ActionLoop { proxy } => proxy.init(body),
            Transport::Exec { skeleton } => skeleton.init(),
        }
    }

    fn run(&mut self, body: &Value, timeout: Duration) -> Exchange {
        match &mut self.transport {
            Transport::Http { port, .. } => post(*port, "/run", body, timeout),
            Transport::ActionLoop { proxy } => proxy.run(body, timeout),
            Transport::Exec { skeleton } => skeleton.run(body, timeout),
        }
    }

    /// The activation's log lines, formatted, with the invoker's warnings.
    fn collect_logs(&mut self, wait_for_sentinels: bool) -> Vec<String> {
        let (lines, end, missing) = self.logs.take(self.offset, wait_for_sentinels);
        self.offset = end;
        let mut logs: Vec<String> = lines.iter().map(LogLine::formatted).collect();
        let warning = if missing {
            self.log_failure = true;
            Some("There was an issue while collecting your logs. Data might be missing.")
        } else if !wait_for_sentinels {
            Some("The action did not initialize or run as expected. Log data might be missing.")
        } else {
            None
        };
        if let Some(text) = warning {
            logs.push(
                LogLine {
                    time: SystemTime::now(),
                    stream: Stream::Stderr,
                    text: text.into(),
                }
                .formatted(),
            );
        }
        logs
    }
}

/// `POST path` with a JSON body to the action's server, as the invoker's
/// HTTP client does: the whole exchange within `timeout`, the answer
/// length-delimited (`Content-Length`) or it counts as no answer.
fn post(port: u16, path: &str, body: &Value, timeout: Duration) -> Exchange {
    let deadline = Instant::now() + timeout;
    let payload = serde_json::to_vec(body).expect("JSON serializes");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return Exchange::NoResponse;
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    );
    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(&payload).is_err() {
        return Exchange::NoResponse;
    }
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Exchange::TimedOut;
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                if let Some(answer) = parse_answer(&raw) {
                    return answer;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Exchange::TimedOut;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    parse_answer(&raw).unwrap_or(Exchange::NoResponse)
}

/// A complete HTTP answer in `raw`, if there is one yet.
fn parse_answer(raw: &[u8]) -> Option<Exchange> {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let length = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    let Some(length) = length else {
        // Chunked or close-delimited: the invoker counts it as no response.
        return Some(Exchange::NoResponse);
    };
    let body = &raw[head_end + 4..];
    (body.len() >= length).then(|| Exchange::Answer {
        status,
        body: body[..length].to_vec(),
    })
}

/// The Go ActionLoop proxy, for one action: `/init` starts the executable
/// with `ap.env` as its whole environment, fd 3 a pipe for results and the
/// proxy's own stdout/stderr shared; `/run` writes the body as one line on its
/// stdin, reads one line from fd 3, then writes the guard on stdout and
/// stderr (`executor.go` `Interact`).
struct ActionLoopProxy {
    exe: PathBuf,
    api_host: String,
    /// The container's stdout and stderr (the proxy's own, shared with the child).
    stdout: File,
    stderr: File,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    results: Option<mpsc::Receiver<Option<String>>>,
    initialized: bool,
}

impl ActionLoopProxy {
    /// Whether the child has exited (a child never started counts as not).
    fn child_exited(child: &mut Option<Child>) -> bool {
        child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(Some(_))))
    }

    fn answer(status: u16, error: &str) -> Exchange {
        Exchange::Answer {
            status,
            body: format!("{}\n", json!({ "error": error })).into_bytes(),
        }
    }

    fn init(&mut self, body: &Value) -> Exchange {
        if self.initialized {
            let _ = writeln!(self.stderr, "Cannot initialize the action more than once.");
            return Self::answer(403, "Cannot initialize the action more than once.");
        }
        // `SetEnv`: the proxy version, the proxy's `__OW_*` variables, then
        // the init env (strings as they are, anything else as JSON).
        let mut env = BTreeMap::new();
        env.insert("__OW_PROXY_VERSION".to_owned(), PROXY_VERSION.to_owned());
        env.insert("__OW_API_HOST".to_owned(), self.api_host.clone());
        if let Some(init_env) = body["value"]["env"].as_object() {
            for (k, v) in init_env {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                env.insert(k.clone(), v);
            }
        }
        match self.spawn(&env) {
            Ok(()) => {
                // `DefaultTimeoutStart`: a child that is already gone failed.
                std::thread::sleep(Duration::from_millis(5));
                if Self::child_exited(&mut self.child) {
                    self.child = None;
                    return Self::answer(502, "cannot start action: command exited");
                }
                self.initialized = true;
                Exchange::Answer {
                    status: 200,
                    body: b"{\"ok\":true}\n".to_vec(),
                }
            }
            Err(e) => Self::answer(502, &format!("cannot start action: {e}")),
        }
    }

    fn spawn(&mut self, env: &BTreeMap<String, String>) -> std::io::Result<()> {
        let (results_r, results_w) = pipe()?;
        let write_fd = results_w.as_raw_fd();
        let mut command = Command::new(&self.exe);
        command
            .env_clear()
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(self.stdout.try_clone()?)
            .stderr(self.stderr.try_clone()?);
        // SAFETY: only async-signal-safe calls (dup2, fcntl) between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if write_fd == 3 {
                    if libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(write_fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        drop(results_w);
        self.stdin = child.stdin.take();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(results_r);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(None);
                        break;
                    }
                    Ok(_) => {
                        if tx.send(Some(line)).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        self.results = Some(rx);
        self.child = Some(child);
        Ok(())
    }

    fn guard(&mut self) {
        let guard = format!("{SENTINEL}\n");
        let _ = self.stdout.write_all(guard.as_bytes());
        let _ = self.stderr.write_all(guard.as_bytes());
    }

    fn run(&mut self, body: &Value, timeout: Duration) -> Exchange {
        let (Some(stdin), Some(results)) = (&mut self.stdin, &self.results) else {
            return Self::answer(500, "no action defined yet");
        };
        if Self::child_exited(&mut self.child) {
            return Self::answer(500, "command exited");
        }
        let mut line = serde_json::to_vec(body).expect("JSON serializes");
        line.retain(|&b| b != b'\n');
        line.push(b'\n');
        if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
            self.guard();
            self.stdin = None;
            return Self::answer(400, "command exited");
        }
        let answer = match results.recv_timeout(timeout) {
            Err(mpsc::RecvTimeoutError::Timeout) => return Exchange::TimedOut,
            Err(mpsc::RecvTimeoutError::Disconnected) | Ok(None) => None,
            Ok(Some(line)) => Some(line),
        };
        self.guard();
        let Some(line) = answer else {
            self.stdin = None;
            self.results = None;
            return Self::answer(400, "command exited");
        };
        match serde_json::from_str::<Value>(line.trim_end_matches('\n')) {
            Ok(Value::Object(_) | Value::Array(_) | Value::Null) => Exchange::Answer {
                status: 200,
                body: line.into_bytes(),
            },
            _ => Self::answer(502, "The action did not return a dictionary or array."),
        }
    }
}

/// The dockerskeleton's `actionproxy.py` for a prebuilt `/action/exec`:
/// `/init` without code answers `OK`; each `/run` starts a new process with
/// the input as `argv[1]` (when short enough) and on stdin, the proxy's
/// environment plus `__OW_<KEY>` (kept across runs, as `os.environ` is), and
/// takes the last line of stdout as the result.
struct Skeleton {
    exe: PathBuf,
    env: BTreeMap<String, String>,
    stdout: File,
    stderr: File,
    initialized: bool,
}

impl Skeleton {
    fn init(&mut self) -> Exchange {
        if self.initialized {
            let _ = writeln!(self.stderr, "Cannot initialize the action more than once.");
            return Exchange::Answer {
                status: 403,
                body: b"{\"error\":\"Cannot initialize the action more than once.\"}\n".to_vec(),
            };
        }
        self.initialized = true;
        Exchange::Answer {
            status: 200,
            body: b"OK".to_vec(),
        }
    }

    fn complete(&mut self, status: u16, result: &Value) -> Exchange {
        let guard = format!("{SENTINEL}\n");
        let _ = self.stdout.write_all(guard.as_bytes());
        let _ = self.stderr.write_all(guard.as_bytes());
        Exchange::Answer {
            status,
            body: format!("{result}\n").into_bytes(),
        }
    }

    fn run(&mut self, body: &Value, timeout: Duration) -> Exchange {
        let args = &body["value"];
        if !(args.is_object() || args.is_array()) {
            return self.complete(
                404,
                &json!({"error": "The action did not receive a dictionary or array as an argument."}),
            );
        }
        if let Some(fields) = body.as_object() {
            for (k, v) in fields.iter().filter(|(k, _)| *k != "value") {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                self.env.insert(format!("__OW_{}", k.to_uppercase()), v);
            }
        }
        let input = python_dumps(args);
        let mut command = Command::new(&self.exe);
        if input.len() <= MAX_ARG {
            command.arg(&input);
        }
        command
            .env_clear()
            .envs(&self.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let not_a_dictionary = json!({"error": "The action did not return a dictionary or array."});
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                let _ = writeln!(self.stdout, "{e}");
                return self.complete(502, &not_a_dictionary);
            }
        };
        let mut stdin = child.stdin.take().unwrap();
        let input_bytes = input.into_bytes();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input_bytes);
        });
        let read_all = |mut source: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = source.read_to_end(&mut buf);
                buf
            })
        };
        let out = read_all(Box::new(child.stdout.take().unwrap()));
        let err = read_all(Box::new(child.stderr.take().unwrap()));
        let deadline = Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() >= deadline => {
                    kill(&mut child);
                    return Exchange::TimedOut;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(_) => break,
            }
        }
        let o = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
        let e = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
        // `o.rfind('\n', 0, len(o)-1)`: the last newline that is not the final character.
        let search_end = o.len().saturating_sub(1);
        let last_line = match o.get(..search_end).and_then(|s| s.rfind('\n')) {
            Some(i) => {
                let _ = self.stdout.write_all(&o.as_bytes()[..=i]);
                o[i + 1..].trim().to_owned()
            }
            None => o.trim().to_owned(),
        };
        if !e.is_empty() {
            let _ = self.stderr.write_all(e.as_bytes());
        }
        match serde_json::from_str::<Value>(&last_line) {
            Ok(result @ (Value::Object(_) | Value::Array(_))) => self.complete(200, &result),
            _ => {
                let _ = writeln!(self.stdout, "{last_line}");
                self.complete(502, &not_a_dictionary)
            }
        }
    }
}

/// Python's `json.dumps` with its defaults (`", "` and `": "` separators,
/// non-ASCII escaped): the exact text the dockerskeleton hands the executable.
fn python_dumps(value: &Value) -> String {
    let mut out = String::new();
    dump(value, &mut out);
    out
}

fn dump(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => dump_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump_str(k, out);
                out.push_str(": ");
                dump(v, out);
            }
            out.push('}');
        }
    }
}

fn dump_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Exchange {
        Exchange::Answer {
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn run_verdicts_follow_the_invoker() {
        let t = Duration::from_secs(60);
        let ok = Duration::from_millis(1);
        let v = |a| run_verdict(a, ok, t);
        assert_eq!(v(answer(200, r#"{"a":1}"#)).0, Status::Success);
        assert_eq!(v(answer(200, "[1]")).0, Status::Success);
        let (s, r, _) = v(answer(200, r#"{"error":"e","x":1}"#));
        assert_eq!((s, r), (Status::ApplicationError, json!({"error": "e"})));
        let (s, r, _) = v(answer(502, r#"{"error":"boom"}"#));
        assert_eq!((s, r), (Status::DeveloperError, json!({"error": "boom"})));
        let (s, r, _) = v(answer(200, "3"));
        assert_eq!(s, Status::DeveloperError);
        assert_eq!(
            r,
            json!({"error": "The action did not produce a valid JSON or JSON Array response: 3"})
        );
        let (_, r, _) = v(answer(200, ""));
        assert_eq!(
            r,
            json!({"error": "The action did not produce a valid JSON or JSON Array response."})
        );
        let (s, r, timed_out) = run_verdict(answer(200, "{}"), t, t);
        assert_eq!(s, Status::DeveloperError);
        assert!(timed_out);
        assert_eq!(
            r,
            json!({"error": "The action exceeded its time limits of 60000 milliseconds."})
        );
        let (s, r, _) = v(Exchange::NoResponse);
        assert_eq!(s, Status::DeveloperError);
        assert_eq!(
            r,
            json!({"error": "The action did not produce a valid response and exited unexpectedly."})
        );
    }

    #[test]
    fn python_dumps_matches_json_dumps() {
        let v = json!({"a": [1, "é"], "b": {"c": null}});
        assert_eq!(
            python_dumps(&v),
            r#"{"a": [1, "\u00e9"], "b": {"c": null}}"#
        );
        assert_eq!(python_dumps(&json!("😀")), r#""\ud83d\ude00""#);
    }

    #[test]
    fn answers_need_a_content_length() {
        assert!(matches!(
            parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"),
            Some(Exchange::Answer { status: 200, .. })
        ));
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{}").is_none());
        assert!(matches!(
            parse_answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Some(Exchange::NoResponse)
        ));
    }
}
