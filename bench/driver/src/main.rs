//! `whisk-bench`: measures whisk's reverse example against the hand-written
//! hyper baseline on loopback, interleaved (whisk, baseline, whisk, baseline,
//! ...) so that the noise of a shared machine hits both alike, and prints a
//! Markdown table of the medians and of the median per-round ratio
//! whisk/baseline.
//!
//! ```text
//! whisk-bench --whisk PATH --baseline PATH [--rounds 7] [--secs 2] [--cold 10]
//!             [--whisk-static PATH --baseline-static PATH] [--whisk-pool PATH]
//!             [--binary-kind TEXT] [--static-kind TEXT] [--out FILE]
//!             [--pairs 100] [--slice-ms 250]
//! whisk-bench web AXUM TYPES [PAIRS=100] [SLICE_MS=250]
//! ```
//!
//! `web`: the reverse action as a raw web action, an axum app against the
//! `whisk::web` types, paired under keep-alive load (`web.rs`; `bench/web.sh`).
//!
//! `--binary-kind` and `--static-kind` only label the two size rows: how the
//! benchmarked binaries and the static ones were built.
//!
//! `--pairs N` (default 100; 0: none) and `--slice-ms MS` (default 250):
//! after the rounds, the two throughputs again with both servers up at once
//! and the load alternating between them in short slices (`paired.rs`), a
//! second table.
//!
//! `--whisk-pool` is a third server measured in the keep-alive phase only
//! (whisk, baseline, pool in each round): the same action without `inline`.
//!
//! Every load loop is bounded in time (`--secs`) and in count (`--max`), and
//! only talks to 127.0.0.1. The servers' stdout and stderr (the sentinels)
//! go to /dev/null.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod paired;
mod web;

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// Keep-alive connections in the throughput test.
const CONNECTIONS: usize = 8;
/// Not counted: lets both servers reach a steady state first.
const WARMUP: Duration = Duration::from_millis(500);
/// Per-request I/O timeout: a stuck server fails the run instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server may take to listen and initialize.
const START_LIMIT: Duration = Duration::from_secs(10);

/// The payload of every activation (non-ASCII, so reversing is by chars).
const PAYLOAD: &str = "The quick brown fox jumps over the lazy dog · ÆØÅ ✓ 1234567890";

struct Args {
    whisk: PathBuf,
    baseline: PathBuf,
    whisk_static: Option<PathBuf>,
    baseline_static: Option<PathBuf>,
    /// The action without `inline`, for the keep-alive phase only.
    whisk_pool: Option<PathBuf>,
    /// How `--whisk` and `--baseline` were built, for the size row's label.
    binary_kind: String,
    /// How the static binaries were built (`musl`, `crt-static glibc`).
    static_kind: String,
    rounds: usize,
    secs: f64,
    cold: usize,
    max: usize,
    out: Option<PathBuf>,
    /// Pairs of slices in the paired throughput measurement (0: none).
    pairs: usize,
    /// The length of one slice there.
    slice: Duration,
    /// `--soak SECS`: run the soak test on `--whisk` instead of the benchmark.
    soak: Option<f64>,
    /// `--soak-sequential true`: soak with concurrency off (OpenWhisk's
    /// default), one activation at a time on a new connection each.
    soak_sequential: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: whisk-bench --whisk PATH --baseline PATH [--rounds N] [--secs S] [--cold N] \
         [--max N] [--whisk-static PATH --baseline-static PATH] [--whisk-pool PATH]\n\
         \x20        [--binary-kind TEXT] [--static-kind TEXT] [--out FILE] [--pairs N] [--slice-ms MS]\n\
         \x20      whisk-bench --whisk PATH --soak SECS [--soak-sequential true]\n\
         \x20      whisk-bench client PORT N [new]\n\
         \x20      whisk-bench cold ROUNDS PATH PATH..."
    );
    std::process::exit(2)
}

fn default_args() -> Args {
    Args {
        whisk: PathBuf::new(),
        baseline: PathBuf::new(),
        whisk_static: None,
        baseline_static: None,
        whisk_pool: None,
        binary_kind: "dynamic glibc".into(),
        static_kind: "static".into(),
        rounds: 7,
        secs: 2.0,
        cold: 40,
        max: 200_000,
        out: None,
        pairs: 100,
        slice: Duration::from_millis(250),
        soak: None,
        soak_sequential: false,
    }
}

fn parse_args() -> Args {
    let mut args = default_args();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--whisk" => args.whisk = value.into(),
            "--baseline" => args.baseline = value.into(),
            "--whisk-static" => args.whisk_static = Some(value.into()),
            "--baseline-static" => args.baseline_static = Some(value.into()),
            "--whisk-pool" => args.whisk_pool = Some(value.into()),
            "--binary-kind" => args.binary_kind = value,
            "--static-kind" => args.static_kind = value,
            "--rounds" => args.rounds = value.parse().unwrap_or_else(|_| usage()),
            "--secs" => args.secs = value.parse().unwrap_or_else(|_| usage()),
            "--cold" => args.cold = value.parse().unwrap_or_else(|_| usage()),
            "--max" => args.max = value.parse().unwrap_or_else(|_| usage()),
            "--out" => args.out = Some(value.into()),
            "--pairs" => args.pairs = value.parse().unwrap_or_else(|_| usage()),
            "--slice-ms" => {
                let ms: u64 = value.parse().unwrap_or_else(|_| usage());
                args.slice = Duration::from_millis(ms.clamp(50, 2000));
            }
            "--soak" => args.soak = Some(value.parse().unwrap_or_else(|_| usage())),
            "--soak-sequential" => args.soak_sequential = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if args.whisk.as_os_str().is_empty()
        || (args.soak.is_none() && args.baseline.as_os_str().is_empty())
    {
        usage();
    }
    // A soak runs for at most an hour.
    args.soak = args.soak.map(|s| s.clamp(1.0, 3600.0));
    // Bounds: a run of this tool must stay a few minutes at most.
    args.rounds = args.rounds.clamp(1, 20);
    args.secs = args.secs.clamp(0.2, 30.0);
    args.cold = args.cold.clamp(1, 100);
    args.max = args.max.clamp(100, 1_000_000);
    args.pairs = args.pairs.min(200);
    args
}

// ---------------------------------------------------------------------------
// HTTP/1.1 client: just enough for POST with a Content-Length answer.

fn run_body() -> Vec<u8> {
    // What the invoker sends: `value` plus the activation metadata.
    let payload = PAYLOAD.replace('"', "\\\"");
    run_body_with(&format!(r#"{{"payload":"{payload}"}}"#))
}

/// A `/run` body of `value` (JSON text) and the activation metadata.
fn run_body_with(value: &str) -> Vec<u8> {
    format!(
        concat!(
            r#"{{"value":{},"namespace":"guest","action_name":"/guest/reverse","#,
            r#""action_version":"0.0.1","activation_id":"{}","transaction_id":"{}","#,
            r#""deadline":"{}"}}"#
        ),
        value,
        RunRequest::ACTIVATION_ID,
        RunRequest::TRANSACTION_ID,
        RunRequest::DEADLINE
    )
    .into_bytes()
}

/// A `/run` request whose activation id, transaction id and deadline change
/// with every send, as the invoker's do (same lengths, so the
/// Content-Length holds). A fixed body would hide what exporting them as
/// `__OW_*` variables costs the server.
struct RunRequest {
    bytes: Vec<u8>,
    /// Where the three values start in `bytes`.
    at: [usize; 3],
    sent: u64,
}

impl RunRequest {
    const ACTIVATION_ID: &str = "9fa0c9e9b1e54e1ba0c9e9b1e5ae1b2c";
    const TRANSACTION_ID: &str = "iHeq9cJyzVmNK0BWpMzr7K0Ubxkvkf9d";
    const DEADLINE: &str = "4102444800000";

    /// `client` tells clients apart, so that no two send the same id.
    fn new(port: u16, client: u64) -> Self {
        RunRequest::with_body(port, client, &run_body())
    }

    /// [`RunRequest::new`] with another `/run` body, which carries the
    /// same three metadata values.
    fn with_body(port: u16, client: u64, body: &[u8]) -> Self {
        let bytes = request_bytes("/run", port, body);
        let find = |value: &str| {
            bytes
                .windows(value.len())
                .position(|w| w == value.as_bytes())
                .expect("the value is in the body")
        };
        let at = [
            find(Self::ACTIVATION_ID),
            find(Self::TRANSACTION_ID),
            find(Self::DEADLINE),
        ];
        RunRequest {
            bytes,
            at,
            sent: client << 40,
        }
    }

    /// The request, with values no earlier send had.
    fn next(&mut self) -> &[u8] {
        self.sent += 1;
        let n = self.sent;
        let values = [
            format!("{n:032x}"),
            format!("tx{n:030x}"),
            (4_102_444_800_000 + n % 1_000_000_000).to_string(),
        ];
        for (at, value) in self.at.iter().zip(&values) {
            self.bytes[*at..*at + value.len()].copy_from_slice(value.as_bytes());
        }
        &self.bytes
    }
}

fn expected_run_answer() -> Vec<u8> {
    let reversed: String = PAYLOAD.chars().rev().collect();
    format!(r#"{{"reversed":"{reversed}"}}"#).into_bytes()
}

fn request_bytes(path: &str, port: u16, body: &[u8]) -> Vec<u8> {
    // The headers the invoker's Apache client sends (it reuses no connection).
    let mut raw = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

struct Answer {
    status: u16,
    body: Vec<u8>,
}

/// Reads one response framed by Content-Length (the protocol's framing).
fn read_answer(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Answer> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no response"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "head is not UTF-8"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no status"))?;
    let length: usize = head
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Content-Length"))?;
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short body"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Answer {
        status,
        body: buf[head_end..head_end + length].to_vec(),
    })
}

fn connect(port: u16) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(SocketAddrV4::new(LOOPBACK, port))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// One request on a new connection, closed afterwards (the invoker's way).
fn one_shot(port: u16, request: &[u8], buf: &mut Vec<u8>) -> io::Result<Answer> {
    let mut stream = connect(port)?;
    stream.write_all(request)?;
    read_answer(&mut stream, buf)
}

// ---------------------------------------------------------------------------
// Servers.

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Which {
    Whisk,
    Baseline,
    /// `--whisk-pool`: keep-alive only.
    WhiskPool,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Whisk => "whisk",
            Which::Baseline => "baseline",
            Which::WhiskPool => "whisk without inline (keep-alive only)",
        }
    }
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind(SocketAddrV4::new(LOOPBACK, 0))?
        .local_addr()?
        .port())
}

fn spawn(binary: &Path, port: u16, concurrent: bool) -> io::Result<Child> {
    let mut command = Command::new(binary);
    command
        .env("WHISK_MODE", "http")
        .env("WHISK_HOST", "127.0.0.1")
        .env("WHISK_PORT", port.to_string())
        .env(
            "__OW_ALLOW_CONCURRENT",
            if concurrent { "true" } else { "false" },
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command.spawn()
}

/// Polls connect until the server listens, then `/init` until it answers 200.
/// Returns (time to the first accepted connection, time to init 200).
fn wait_ready(child: &mut Child, port: u16, started: Instant) -> io::Result<(Duration, Duration)> {
    let init = request_bytes(
        "/init",
        port,
        br#"{"value":{"code":null,"main":"main","binary":false}}"#,
    );
    let mut buf = Vec::new();
    let mut listening = None;
    loop {
        if started.elapsed() > START_LIMIT {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the server did not start",
            ));
        }
        if let Some(status) = child.try_wait()? {
            return Err(io::Error::other(format!("the server exited with {status}")));
        }
        match connect(port) {
            Ok(mut stream) => {
                listening.get_or_insert_with(|| started.elapsed());
                stream.write_all(&init)?;
                let answer = read_answer(&mut stream, &mut buf)?;
                if answer.status == 200 {
                    return Ok((listening.unwrap_or_default(), started.elapsed()));
                }
            }
            Err(_) => std::thread::sleep(Duration::from_micros(200)),
        }
    }
}

fn start(binary: &Path, concurrent: bool) -> io::Result<Server> {
    let mut last = None;
    // A port from bind(0) may be taken again before the server binds it.
    for _ in 0..3 {
        let port = free_port()?;
        let started = Instant::now();
        let mut child = spawn(binary, port, concurrent)?;
        match wait_ready(&mut child, port, started) {
            Ok(_) => return Ok(Server { child, port }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no start")))
}

/// (VmRSS, VmHWM) in KiB.
fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The CPU time a process's threads have run so far: the sum of the first
/// field (nanoseconds) of each `/proc/PID/task/TID/schedstat`, zero if
/// unreadable. Exact to the nanosecond, where `/proc/PID/stat`'s utime and
/// stime count 10 ms ticks.
fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let nanos = tasks
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum();
    Duration::from_nanos(nanos)
}

fn threads(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Measurements.

#[derive(Default)]
struct Sample(BTreeMap<&'static str, f64>);

impl Sample {
    fn set(&mut self, key: &'static str, value: f64) {
        self.0.insert(key, value);
    }
}

fn check(answer: &Answer, expected: &[u8]) -> io::Result<()> {
    if answer.status != 200 || answer.body != expected {
        return Err(io::Error::other(format!(
            "unexpected answer {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        )));
    }
    Ok(())
}

/// 8 keep-alive connections, each sending /run back to back.
fn keep_alive(binary: &Path, args: &Args, sample: &mut Sample) -> io::Result<()> {
    let server = start(binary, true)?;
    let pid = server.child.id();
    std::thread::sleep(Duration::from_millis(100));
    let idle = rss(pid).0;
    let expected = Arc::new(expected_run_answer());
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let per_connection = args.max / CONNECTIONS;
    let mut workers = Vec::new();
    for client in 0..CONNECTIONS {
        let expected = Arc::clone(&expected);
        let (measuring, stop) = (Arc::clone(&measuring), Arc::clone(&stop));
        let port = server.port;
        workers.push(std::thread::spawn(move || -> io::Result<u64> {
            let mut request = RunRequest::new(port, client as u64);
            let mut stream = connect(port)?;
            let mut buf = Vec::with_capacity(1024);
            let mut counted = 0u64;
            for _ in 0..per_connection * 2 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                stream.write_all(request.next())?;
                let answer = read_answer(&mut stream, &mut buf)?;
                check(&answer, &expected)?;
                if measuring.load(Ordering::Relaxed) {
                    counted += 1;
                    if counted as usize >= per_connection {
                        break;
                    }
                }
            }
            Ok(counted)
        }));
    }
    std::thread::sleep(WARMUP);
    let cpu_before = cpu_time(pid);
    let began = Instant::now();
    measuring.store(true, Ordering::Relaxed);
    let deadline = began + Duration::from_secs_f64(args.secs);
    while Instant::now() < deadline && !workers.iter().all(|w| w.is_finished()) {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = began.elapsed();
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    let mut total = 0;
    for worker in workers {
        total += worker
            .join()
            .map_err(|_| io::Error::other("worker panicked"))??;
    }
    std::thread::sleep(Duration::from_millis(100));
    let (after, peak) = rss(pid);
    sample.set("ka_rps", total as f64 / elapsed.as_secs_f64());
    sample.set("ka_cpu_us", cpu.as_secs_f64() * 1e6 / total.max(1) as f64);
    sample.set("ka_rss_idle", idle as f64);
    sample.set("ka_rss_after", after as f64);
    sample.set("ka_rss_peak", peak as f64);
    sample.set("ka_threads", threads(pid) as f64);
    Ok(())
}

/// One activation at a time, each on a new TCP connection.
fn invoker_like(binary: &Path, args: &Args, sample: &mut Sample) -> io::Result<()> {
    let server = start(binary, false)?;
    let pid = server.child.id();
    std::thread::sleep(Duration::from_millis(100));
    let (idle, _) = rss(pid);
    let mut request = RunRequest::new(server.port, 0);
    let expected = expected_run_answer();
    let mut buf = Vec::with_capacity(1024);
    let warm_until = Instant::now() + WARMUP;
    for _ in 0..args.max {
        if Instant::now() >= warm_until {
            break;
        }
        check(&one_shot(server.port, request.next(), &mut buf)?, &expected)?;
    }
    let cpu_before = cpu_time(pid);
    let began = Instant::now();
    let deadline = began + Duration::from_secs_f64(args.secs);
    let mut latencies = Vec::with_capacity(64 * 1024);
    for _ in 0..args.max {
        let t = Instant::now();
        if t >= deadline {
            break;
        }
        let answer = one_shot(server.port, request.next(), &mut buf)?;
        latencies.push(t.elapsed());
        check(&answer, &expected)?;
    }
    let elapsed = began.elapsed();
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    std::thread::sleep(Duration::from_millis(100));
    let (after, peak) = rss(pid);
    latencies.sort();
    let quantile = |q: f64| {
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies[i].as_secs_f64() * 1e6
    };
    sample.set("inv_rps", latencies.len() as f64 / elapsed.as_secs_f64());
    sample.set("inv_p50_us", quantile(0.50));
    sample.set("inv_p99_us", quantile(0.99));
    sample.set(
        "inv_cpu_us",
        cpu.as_secs_f64() * 1e6 / latencies.len().max(1) as f64,
    );
    sample.set("rss_idle", idle as f64);
    sample.set("rss_after", after as f64);
    sample.set("rss_peak", peak as f64);
    sample.set("threads", threads(pid) as f64);
    Ok(())
}

/// exec -> listening -> /init 200 -> first /run 200, `args.cold` times.
/// `n` cold starts of each binary, interleaved one by one (A B A B ...) so
/// that a change in the machine's load hits them alike; each binary's
/// medians go into its sample.
fn cold_starts(binaries: &[&Path], n: usize, samples: &mut [Sample]) -> io::Result<()> {
    let mut totals = vec![Vec::new(); binaries.len()];
    let mut listens = vec![Vec::new(); binaries.len()];
    for _ in 0..n {
        for (i, binary) in binaries.iter().enumerate() {
            let (total, listening) = cold_start(binary)?;
            totals[i].push(total.as_secs_f64() * 1e6);
            listens[i].push(listening.as_secs_f64() * 1e6);
        }
    }
    for ((sample, totals), listens) in samples.iter_mut().zip(&mut totals).zip(&mut listens) {
        sample.set("cold_us", median(totals));
        sample.set("listen_us", median(listens));
    }
    Ok(())
}

/// One cold start: (exec -> first `/run` 200, exec -> accepting).
fn cold_start(binary: &Path) -> io::Result<(Duration, Duration)> {
    let port = free_port()?;
    let request = request_bytes("/run", port, &run_body());
    let mut buf = Vec::new();
    let started = Instant::now();
    let mut child = spawn(binary, port, false)?;
    let ready = wait_ready(&mut child, port, started);
    let answer = ready
        .as_ref()
        .ok()
        .map(|_| one_shot(port, &request, &mut buf));
    let total = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    let (listening, _) = ready?;
    if let Some(answer) = answer {
        check(&answer?, &expected_run_answer())?;
    }
    Ok((total, listening))
}

/// `whisk-bench cold ROUNDS PATH...`: only the cold start, for A/B runs of
/// builds that differ in their start-up. Each round starts every binary
/// once, in turn (A B C A B C ...); prints each one's median and its ratio
/// to the first.
fn cold_only(rounds: usize, binaries: &[String]) -> io::Result<()> {
    let paths: Vec<&Path> = binaries.iter().map(Path::new).collect();
    let mut samples: Vec<Sample> = binaries.iter().map(|_| Sample::default()).collect();
    cold_starts(&paths, rounds, &mut samples)?;
    let medians: Vec<f64> = samples.iter().map(|s| s.0["cold_us"]).collect();
    println!("| binary | cold start, median of {rounds} (µs) | ratio to the first |");
    println!("|---|---:|---:|");
    for (binary, m) in binaries.iter().zip(&medians) {
        println!("| {binary} | {m:.0} | {:.2} |", m / medians[0]);
    }
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn file_size(path: &Path) -> Option<f64> {
    std::fs::metadata(path).ok().map(|m| m.len() as f64)
}

// ---------------------------------------------------------------------------
// Report.

struct Row {
    label: &'static str,
    key: &'static str,
    unit: &'static str,
    scale: f64,
    /// Whether higher is better (for the best-of-rounds column).
    higher: bool,
    /// The issue's target.
    target: &'static str,
}

#[rustfmt::skip]
const ROWS: &[Row] = &[
    Row { label: "keep-alive throughput, 8 conns", key: "ka_rps", unit: "req/s", scale: 1.0, higher: true, target: ">= 0.95x" },
    Row { label: "  server CPU per request (keep-alive)", key: "ka_cpu_us", unit: "µs", scale: 1.0, higher: false, target: "" },
    Row { label: "invoker-like throughput, new conn/request", key: "inv_rps", unit: "req/s", scale: 1.0, higher: true, target: ">= 0.95x" },
    Row { label: "invoker-like latency p50", key: "inv_p50_us", unit: "µs", scale: 1.0, higher: false, target: "" },
    Row { label: "invoker-like latency p99", key: "inv_p99_us", unit: "µs", scale: 1.0, higher: false, target: "<= 1.1x" },
    Row { label: "  server CPU per request (invoker-like)", key: "inv_cpu_us", unit: "µs", scale: 1.0, higher: false, target: "" },
    Row { label: "cold start: exec -> first /run 200", key: "cold_us", unit: "ms", scale: 1e-3, higher: false, target: "<= 1.1x" },
    Row { label: "  of which exec -> accepting connections", key: "listen_us", unit: "ms", scale: 1e-3, higher: false, target: "" },
    Row { label: "idle RSS (after /init)", key: "rss_idle", unit: "KiB", scale: 1.0, higher: false, target: "<= 4 MB" },
    Row { label: "RSS after invoker-like load", key: "rss_after", unit: "KiB", scale: 1.0, higher: false, target: "flat" },
    Row { label: "peak RSS (VmHWM), invoker-like", key: "rss_peak", unit: "KiB", scale: 1.0, higher: false, target: "" },
    Row { label: "idle RSS, concurrent mode", key: "ka_rss_idle", unit: "KiB", scale: 1.0, higher: false, target: "" },
    Row { label: "RSS after keep-alive load", key: "ka_rss_after", unit: "KiB", scale: 1.0, higher: false, target: "flat" },
    Row { label: "peak RSS (VmHWM), keep-alive", key: "ka_rss_peak", unit: "KiB", scale: 1.0, higher: false, target: "" },
    Row { label: "threads after invoker-like load", key: "threads", unit: "", scale: 1.0, higher: false, target: "" },
    Row { label: "threads after keep-alive load", key: "ka_threads", unit: "", scale: 1.0, higher: false, target: "" },
    Row { label: "stripped binary", key: "size", unit: "bytes", scale: 1.0, higher: false, target: "" },
    Row { label: "stripped binary, static", key: "size_static", unit: "bytes", scale: 1.0, higher: false, target: "<= 1.3 MB" },
];

/// The paired measurement (`paired.rs`) of both throughputs, as a table.
fn paired_table(args: &Args) -> io::Result<String> {
    let mut table = format!(
        "\nPaired throughput, server CPU per request and invoker-like latency: both servers up at once, the load alternating between them in \
         {} ms slices (whisk first, then baseline first, ...), {} pairs after one uncounted pair.\n\n",
        args.slice.as_millis(),
        args.pairs
    );
    table.push_str("| metric | whisk/baseline (median of pair ratios) | quartiles | target |\n");
    table.push_str("|---|---:|---|---|\n");
    let loads = [
        (
            "keep-alive throughput, 8 conns, paired",
            "  server CPU per request (keep-alive), paired",
            true,
            paired::Load::KeepAlive {
                clients: CONNECTIONS,
            },
        ),
        (
            "invoker-like throughput, new conn/request, paired",
            "  server CPU per request (invoker-like), paired",
            false,
            paired::Load::Invoker,
        ),
    ];
    for (label, cpu_label, concurrent, load) in loads {
        eprintln!("paired: {label}");
        let servers = [
            start(&args.whisk, concurrent)?,
            start(&args.baseline, concurrent)?,
        ];
        let ports = servers.each_ref().map(|server| server.port);
        let pids = servers.each_ref().map(|server| server.child.id());
        let ratios = paired::ratios(
            ports,
            pids,
            load,
            args.pairs,
            args.slice,
            &paired::Work::reverse(),
        )?;
        let mut rows = vec![
            (label, ratios.throughput, ">= 0.95x"),
            (cpu_label, ratios.cpu_per_request, ""),
        ];
        if matches!(load, paired::Load::Invoker) {
            rows.push(("invoker-like latency p50, paired", ratios.p50, ""));
            rows.push(("invoker-like latency p99, paired", ratios.p99, "<= 1.1x"));
        }
        for (label, mut ratios, target) in rows {
            let middle = median(&mut ratios);
            // `median` sorted them.
            let quartile = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
            table.push_str(&format!(
                "| {label} | {middle:.3} | {:.3} to {:.3} | {target} |\n",
                quartile(0.25),
                quartile(0.75)
            ));
        }
    }
    Ok(table)
}

fn format_value(value: f64, row: &Row) -> String {
    if value.is_nan() {
        return "n/a".into();
    }
    let v = value * row.scale;
    let number = if row.unit == "ms" || v.abs() < 100.0 && v.fract() != 0.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    };
    if row.unit.is_empty() {
        number
    } else {
        format!("{number} {}", row.unit)
    }
}

/// The soak test: concurrent `/run` traffic for `secs` (6 keep-alive
/// connections and 2 invoker-like clients opening a connection per request),
/// with every answer checked; prints requests, errors and RSS over time.
/// `sequential`: concurrency off instead, and one invoker-like client (what
/// a warm OpenWhisk container sees). Exits 1 if any request failed.
fn soak(binary: &Path, secs: f64, sequential: bool) -> io::Result<()> {
    let (keep_alive_clients, one_shot_clients) = if sequential { (0, 1) } else { (6, 2) };
    /// Bounds the count as well as the time.
    const MAX_PER_CLIENT: u64 = 50_000_000;
    let server = start(binary, !sequential)?;
    let pid = server.child.id();
    let expected = Arc::new(expected_run_answer());
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut clients = Vec::new();
    for i in 0..keep_alive_clients + one_shot_clients {
        let expected = Arc::clone(&expected);
        let (stop, done, errors) = (Arc::clone(&stop), Arc::clone(&done), Arc::clone(&errors));
        let port = server.port;
        let keep_alive = i < keep_alive_clients;
        clients.push(std::thread::spawn(move || {
            let mut request = RunRequest::new(port, i as u64);
            let mut buf = Vec::with_capacity(1024);
            let mut stream: Option<TcpStream> = None;
            for _ in 0..MAX_PER_CLIENT {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let answer = if keep_alive {
                    let connection = match stream.take() {
                        Some(s) => Ok(s),
                        None => connect(port),
                    };
                    connection.and_then(|mut s| {
                        s.write_all(request.next())?;
                        let answer = read_answer(&mut s, &mut buf)?;
                        stream = Some(s);
                        Ok(answer)
                    })
                } else {
                    one_shot(port, request.next(), &mut buf)
                };
                match answer.and_then(|a| check(&a, &expected)) {
                    Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        if errors.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("soak: request failed: {e}");
                        }
                        stream = None;
                        0
                    }
                };
            }
        }));
    }
    let began = Instant::now();
    let samples = 10;
    println!("| time | requests | errors | RSS (KiB) | threads |");
    println!("|---:|---:|---:|---:|---:|");
    let mut rss_series = Vec::new();
    for i in 1..=samples {
        let at = began + Duration::from_secs_f64(secs * i as f64 / samples as f64);
        while Instant::now() < at {
            std::thread::sleep(Duration::from_millis(50));
        }
        let rss_now = rss(pid).0;
        rss_series.push(rss_now);
        println!(
            "| {:.0} s | {} | {} | {} | {} |",
            began.elapsed().as_secs_f64(),
            done.load(Ordering::Relaxed),
            errors.load(Ordering::Relaxed),
            rss_now,
            threads(pid)
        );
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        let _ = client.join();
    }
    let total = done.load(Ordering::Relaxed);
    let failed = errors.load(Ordering::Relaxed);
    println!(
        "\n{total} requests in {:.0} s ({:.0}/s), {failed} errors; RSS start {} KiB (after the first tenth), middle {} KiB, end {} KiB",
        began.elapsed().as_secs_f64(),
        total as f64 / began.elapsed().as_secs_f64(),
        rss_series[0],
        rss_series[samples / 2 - 1],
        rss_series[samples - 1]
    );
    if failed > 0 {
        return Err(io::Error::other(format!("{failed} requests failed")));
    }
    Ok(())
}

/// `whisk-bench client PORT N [new]`: waits until the server on PORT
/// answers `/init` with 200 (for at most a minute), then sends N `/run`
/// requests on one keep-alive connection (with `new`: each on a new
/// connection, closed after its answer, as the invoker does) and checks
/// every answer. For servers run under a profiler (`bench/instructions.sh`).
fn client(port: u16, n: usize, new_connections: bool) -> io::Result<()> {
    let init = request_bytes("/init", port, br#"{"value":{"code":null}}"#);
    let mut buf = Vec::new();
    let began = Instant::now();
    while !matches!(
        one_shot(port, &init, &mut buf),
        Ok(Answer { status: 200, .. })
    ) {
        if began.elapsed() > Duration::from_secs(60) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no 200 to /init within 60 s",
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut request = RunRequest::new(port, 0);
    let expected = expected_run_answer();
    if new_connections {
        // As the invoker: a new connection per activation, closed after it.
        for _ in 0..n {
            check(&one_shot(port, request.next(), &mut buf)?, &expected)?;
        }
        return Ok(());
    }
    let mut stream = connect(port)?;
    for _ in 0..n {
        stream.write_all(request.next())?;
        check(&read_answer(&mut stream, &mut buf)?, &expected)?;
    }
    Ok(())
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("client") {
        let (Some(Ok(port)), Some(Ok(n))) = (
            argv.get(2).map(|p| p.parse::<u16>()),
            argv.get(3).map(|n| n.parse::<usize>()),
        ) else {
            usage()
        };
        let new_connections = match argv.get(4).map(String::as_str) {
            None => false,
            Some("new") => true,
            Some(_) => usage(),
        };
        if let Err(e) = client(port, n.min(1_000_000), new_connections) {
            eprintln!("whisk-bench: client failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    if argv.get(1).map(String::as_str) == Some("web") {
        if let Err(e) = web::run(&argv[2..]) {
            eprintln!("whisk-bench: web failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    if argv.get(1).map(String::as_str) == Some("cold") {
        let (Some(Ok(rounds)), binaries) = (argv.get(2).map(|n| n.parse::<usize>()), &argv[3..])
        else {
            usage()
        };
        if binaries.is_empty() {
            usage();
        }
        if let Err(e) = cold_only(rounds, binaries) {
            eprintln!("whisk-bench: cold start failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    let args = parse_args();
    if let Some(secs) = args.soak {
        if let Err(e) = soak(&args.whisk, secs, args.soak_sequential) {
            eprintln!("whisk-bench: soak failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    let binaries = [
        (Which::Whisk, &args.whisk),
        (Which::Baseline, &args.baseline),
    ];
    let mut samples: BTreeMap<Which, Vec<Sample>> = BTreeMap::new();
    let began = Instant::now();
    for round in 0..args.rounds {
        let mut round_samples = [Sample::default(), Sample::default()];
        for (&(which, binary), sample) in binaries.iter().zip(&mut round_samples) {
            eprintln!("round {}/{}: {}", round + 1, args.rounds, which.name());
            let measured = keep_alive(binary, &args, sample)
                .and_then(|()| invoker_like(binary, &args, sample));
            if let Err(e) = measured {
                eprintln!("whisk-bench: {} failed: {e}", which.name());
                std::process::exit(1);
            }
        }
        // The round's cold starts, whisk and baseline in turn.
        let paths = binaries.map(|(_, binary)| binary.as_path());
        if let Err(e) = cold_starts(&paths, args.cold, &mut round_samples) {
            eprintln!("whisk-bench: cold start failed: {e}");
            std::process::exit(1);
        }
        for ((which, _), sample) in binaries.iter().zip(round_samples) {
            samples.entry(*which).or_default().push(sample);
        }
        if let Some(pool) = &args.whisk_pool {
            let which = Which::WhiskPool;
            eprintln!("round {}/{}: {}", round + 1, args.rounds, which.name());
            let mut sample = Sample::default();
            if let Err(e) = keep_alive(pool, &args, &mut sample) {
                eprintln!("whisk-bench: {} failed: {e}", which.name());
                std::process::exit(1);
            }
            samples.entry(which).or_default().push(sample);
        }
    }
    let statics = [
        (Which::Whisk, args.whisk_static.as_deref()),
        (Which::Baseline, args.baseline_static.as_deref()),
    ];
    for (which, path) in statics {
        let binary = if which == Which::Whisk {
            &args.whisk
        } else {
            &args.baseline
        };
        for sample in samples.entry(which).or_default() {
            sample.set("size", file_size(binary).unwrap_or(f64::NAN));
            sample.set("size_static", path.and_then(file_size).unwrap_or(f64::NAN));
        }
    }

    let mut report = String::new();
    report.push_str(&format!(
        "{} rounds (whisk, baseline interleaved), {} s per load phase after {} ms warm-up, {} cold starts per round; {:.0} s in all.\n\n",
        args.rounds,
        args.secs,
        WARMUP.as_millis(),
        args.cold,
        began.elapsed().as_secs_f64()
    ));
    report.push_str("| metric | whisk (median) | baseline (median) | whisk/baseline (median of per-round ratios) | best/best | per-round ratios | target |\n");
    report.push_str("|---|---:|---:|---:|---:|---|---|\n");
    let values = |which: Which, key: &str| -> Vec<f64> {
        samples[&which]
            .iter()
            .map(|s| s.0.get(key).copied().unwrap_or(f64::NAN))
            .collect()
    };
    let mut line = |row: &Row, label: &str, mut w: Vec<f64>| {
        let mut b = values(Which::Baseline, row.key);
        let mut ratios: Vec<f64> = w.iter().zip(&b).map(|(w, b)| w / b).collect();
        let per_round = ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" ");
        let per_round = if row.key.starts_with("size") {
            String::new()
        } else {
            per_round
        };
        // Noise on a shared machine only ever makes a round worse, so the
        // best round of each side is a second, noise-robust estimate.
        let best = |v: &[f64]| {
            let pick = if row.higher { f64::max } else { f64::min };
            v.iter().copied().reduce(pick).unwrap_or(f64::NAN)
        };
        let best_ratio = best(&w) / best(&b);
        report.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.3} | {} | {} |\n",
            label,
            format_value(median(&mut w), row),
            format_value(median(&mut b), row),
            median(&mut ratios),
            best_ratio,
            per_round,
            row.target
        ));
    };
    for row in ROWS {
        let label = match row.key {
            "size" => format!("{} ({})", row.label, args.binary_kind),
            "size_static" => format!("{} ({})", row.label, args.static_kind),
            _ => row.label.to_owned(),
        };
        line(row, &label, values(Which::Whisk, row.key));
    }
    if samples.contains_key(&Which::WhiskPool) {
        for row in ROWS
            .iter()
            .filter(|r| r.key == "ka_rps" || r.key == "ka_cpu_us")
        {
            let label = format!("{} (without `inline`: blocking pool)", row.label);
            line(row, &label, values(Which::WhiskPool, row.key));
        }
    }
    if args.pairs > 0 {
        match paired_table(&args) {
            Ok(table) => report.push_str(&table),
            Err(e) => {
                eprintln!("whisk-bench: paired throughput failed: {e}");
                std::process::exit(1);
            }
        }
    }
    print!("{report}");
    if let Some(out) = &args.out {
        if let Err(e) = std::fs::write(out, &report) {
            eprintln!("whisk-bench: cannot write {}: {e}", out.display());
            std::process::exit(1);
        }
    }
}
