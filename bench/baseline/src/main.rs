//! The baseline for whisk's benchmarks: the reverse action written by hand on
//! hyper 1.x and serde_json, doing the same protocol work as whisk's HTTP
//! transport and nothing more:
//!
//! * `POST /init` answers `{"ok":true}`;
//! * `POST /run` decodes `{"value":{"payload":...}}` (other top-level keys are
//!   ignored), reverses the payload by chars, answers `{"reversed":...}`, and
//!   writes the sentinel line to stdout and to stderr before answering;
//! * every answer is JSON with a `Content-Length`;
//! * with `BASELINE_PRINT=1` in its environment, `/run` also prints the
//!   line `bench/actions/src/print.rs` prints (`reversing N bytes`) to stdout, for
//!   the benchmark of actions that log;
//! * with `BASELINE_THREAD=1`, it starts one more thread that does nothing
//!   (parked for good), to measure what a second thread costs by merely
//!   existing (whisk has one: its log pump); with `BASELINE_THREAD=unshare`
//!   that thread first takes its own copy of the file table
//!   (`unshare(CLONE_FILES)`), so the server's thread keeps one it uses
//!   alone (BENCHMARKS.md, decisions);
//! * it listens on `WHISK_HOST`:`WHISK_PORT` (default `0.0.0.0:8080`) and,
//!   like whisk, writes the bound port to `WHISK_PORT_FILE` when it is set.
//!
//! Like whisk's server it runs on a current-thread tokio runtime, one task
//! per connection, and sets `TCP_NODELAY` on accepted connections. Unlike
//! whisk it has no header/body read timeouts, no body limit, no log pump, no
//! per-activation task and no blocking pool: those are the costs the
//! comparison shows.

use std::convert::Infallible;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

const SENTINEL: &[u8] = b"XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n";

#[derive(Deserialize)]
struct RunRequest {
    value: Params,
}

#[derive(Deserialize)]
struct Params {
    payload: String,
}

#[derive(Serialize)]
struct Reversed {
    reversed: String,
}

fn error(message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "error": message })).unwrap_or_default()
}

/// Whether `/run` prints a line, as `bench/actions/src/print.rs` does.
static PRINT: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var_os("BASELINE_PRINT").is_some_and(|v| v == "1"));

fn run(body: &[u8]) -> (StatusCode, Vec<u8>) {
    match serde_json::from_slice::<RunRequest>(body) {
        Ok(request) => {
            if *PRINT {
                println!("reversing {} bytes", request.value.payload.len());
            }
            let out = Reversed {
                reversed: request.value.payload.chars().rev().collect(),
            };
            match serde_json::to_vec(&out) {
                Ok(body) => (StatusCode::OK, body),
                Err(e) => (StatusCode::BAD_GATEWAY, error(&e.to_string())),
            }
        }
        Err(e) => (StatusCode::OK, error(&e.to_string())),
    }
}

fn sentinels() {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(SENTINEL);
    let _ = out.flush();
    drop(out);
    let _ = std::io::stderr().lock().write_all(SENTINEL);
}

async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let post = request.method() == Method::POST;
    let (status, body) = match (post, path.as_str()) {
        (true, "/init") => match request.into_body().collect().await {
            Ok(_) => (StatusCode::OK, br#"{"ok":true}"#.to_vec()),
            Err(e) => (StatusCode::BAD_REQUEST, error(&e.to_string())),
        },
        (true, "/run") => {
            let answer = match request.into_body().collect().await {
                Ok(body) => run(&body.to_bytes()),
                Err(e) => (StatusCode::BAD_REQUEST, error(&e.to_string())),
            };
            sentinels();
            answer
        }
        (false, "/init" | "/run") => (StatusCode::METHOD_NOT_ALLOWED, error("POST only")),
        _ => (StatusCode::NOT_FOUND, error("not found")),
    };
    let length = HeaderValue::from(body.len());
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, length);
    Ok(response)
}

fn addr() -> SocketAddr {
    let host: IpAddr = std::env::var("WHISK_HOST")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let port: u16 = std::env::var("WHISK_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    SocketAddr::new(host, port)
}

async fn serve() -> std::io::Result<()> {
    let listener = TcpListener::bind(addr()).await?;
    if let Ok(path) = std::env::var("WHISK_PORT_FILE") {
        let tmp = format!("{path}.tmp");
        std::fs::write(&tmp, listener.local_addr()?.port().to_string())?;
        std::fs::rename(&tmp, &path)?;
    }
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => continue,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}

/// `BASELINE_THREAD`: one idle thread more, with its own file table when
/// the value is `unshare`.
fn start_idle_thread() {
    let Some(mode) = std::env::var_os("BASELINE_THREAD") else {
        return;
    };
    let unshare = mode == "unshare";
    std::thread::spawn(move || {
        // SAFETY: unshare(CLONE_FILES) only copies this thread's table.
        if unshare && unsafe { libc::unshare(libc::CLONE_FILES) } != 0 {
            eprintln!("baseline: unshare: {}", std::io::Error::last_os_error());
        }
        loop {
            std::thread::park();
        }
    });
}

fn main() -> std::process::ExitCode {
    start_idle_thread();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(serve()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baseline: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
