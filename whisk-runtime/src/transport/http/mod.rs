//! The HTTP transport: `POST /init` and `POST /run` on port 8080, served
//! on hyper's HTTP/1 connections through hyper's `service_fn`, with axum's
//! response and body types.
//!
//! Not an `axum::Router`: measured paired against this `service_fn` (160
//! pairs), the Router cost 3.3% of the server's CPU per keep-alive `/run`
//! (2.3% invoker-like) and 120 KB of binary, which put the static binary at
//! 1,418,048 bytes, over its 1.3 MB target (BENCHMARKS.md, decisions).

pub(crate) mod busy;
pub(crate) mod drain;
pub(crate) mod guard;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::body::HttpBody as _;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use tokio::net::TcpListener;

use self::busy::{Limits, Responder, Slot, Window};
use self::drain::Drain;
use self::guard::Progress;
use crate::action::Action;
use crate::config::Config;
use crate::core::{Begun, CatchUnwind, Core, Kind, Outcome};
use crate::os::logs::{self, Tail, Watch};
use crate::os::socket::{self, Socket};
use crate::os::timerfd::Ticker;

struct Server<A> {
    core: Core<A>,
    /// The busy window (concurrency off); `None` with concurrency on.
    window: Option<Arc<Window>>,
    init_max_bytes: usize,
    run_max_bytes: usize,
    read_timeout: Duration,
}

/// The listening socket, and the busy window on a clone of it.
pub(crate) struct Listening {
    listener: std::net::TcpListener,
    window: Option<Arc<Window>>,
}

impl Listening {
    /// The address listened on (the port the system chose for port 0).
    pub(crate) fn local_addr(&self) -> String {
        self.listener
            .local_addr()
            .map_or_else(|e| format!("? ({e})"), |addr| addr.to_string())
    }

    /// The busy responder, for the helper thread to serve (`logs::install`).
    pub(crate) fn watch(&self) -> Option<Arc<dyn Watch>> {
        self.window.as_ref().map(|window| window.watch())
    }
}

/// Listens on the configured address: the first thing the process does in
/// HTTP mode, so that a client's connect succeeds, and its request waits in
/// the socket, while the rest of the runtime starts. Without concurrency,
/// the busy window's responder gets a clone of the socket (a `dup`: the
/// same file, so non-blocking too).
pub(crate) fn listen(config: &Config) -> io::Result<Listening> {
    let listener = std::net::TcpListener::bind(config.addr)?;
    listener.set_nonblocking(true)?;
    socket::set_nodelay(&listener);
    if let Some(path) = &config.port_file {
        let port = listener.local_addr()?.port();
        // Write then rename, so a reader never sees a half-written file.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, port.to_string())?;
        std::fs::rename(&tmp, path)?;
    }
    let window = if config.concurrent {
        None
    } else {
        let limits = Limits {
            timeout: config.read_timeout,
        };
        Some(Window::new(Responder::new(listener.try_clone()?, limits)?))
    };
    Ok(Listening { listener, window })
}

/// How long a stopping server waits for in-flight activations.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// At most this much of a body that is refused early (404, 405, 413) is
/// read and dropped before the answer, so that a client that writes its
/// whole body before reading (Python's `http.client`) reads the answer
/// rather than a reset; within the read timeout too.
pub(crate) const DISCARD_LIMIT: usize = 64 << 20;

/// Serves the action until SIGTERM or SIGINT, then stops accepting and lets
/// in-flight activations finish (for at most [`DRAIN_TIMEOUT`]).
pub(crate) fn serve<A: Action>(
    listening: Listening,
    core: Core<A>,
    config: &Config,
    runtime: &tokio::runtime::Runtime,
) -> ExitCode {
    match runtime.block_on(accept_loop(listening, core, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("whisk: cannot serve HTTP on {}: {e}", config.addr);
            ExitCode::FAILURE
        }
    }
}

/// The server: accepts connections and serves each with [`dispatch`].
///
/// The accept loop is hyper's own (rather than `axum::serve`) to bound how
/// long a client may keep a connection waiting (`guard.rs`) and take to
/// send a body (`read_body`).
async fn accept_loop<A: Action>(
    listening: Listening,
    core: Core<A>,
    config: &Config,
) -> io::Result<()> {
    let Listening { listener, window } = listening;
    let listener = TcpListener::from_std(listener)?;
    let server = Arc::new(Server {
        core,
        window,
        init_max_bytes: config.init_max_bytes,
        run_max_bytes: config.run_max_bytes,
        read_timeout: config.read_timeout,
    });
    let mut http = http1::Builder::new();
    http.keep_alive(true);
    // A client may shut down its sending side once its request is out, and
    // still read the answer. Without this, hyper reads the connection while
    // an activation runs off the server's thread, takes the end of the
    // stream for a client gone, and drops the answer of an activation that
    // ran. A client that is really gone is seen when the answer is written.
    http.half_close(true);
    let connections = Drain::default();
    // The signals are awaited in a task of their own, so that the accept
    // loop polls a oneshot, not two signal streams, per connection. The
    // same task runs the slow-client guard's sweeps until then; a stop
    // bounds what is left anyway (DRAIN_TIMEOUT).
    let (stopped, mut stop) = tokio::sync::oneshot::channel::<()>();
    let guard = connections.guard(Ticker::new(config.read_timeout));
    tokio::spawn(async move {
        tokio::select! {
            () = crate::os::signal::signal() => {}
            () = guard => {}
        }
        let _ = stopped.send(());
    });
    let mut nodelay_inherited = None;
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors and the like: back off, keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let stream = Socket::accepted(stream, &mut nodelay_inherited);
        let progress = Arc::new(Progress::default());
        let shared = Arc::clone(&progress);
        let server = Arc::clone(&server);
        // Each request counted for the slow-client guard while it is
        // handled.
        let service = service_fn(move |request: hyper::Request<Incoming>| {
            let handling = Arc::clone(&shared);
            let response = dispatch(Arc::clone(&server), request);
            async move {
                let _handling = handling.handling();
                Ok::<_, std::convert::Infallible>(response.await)
            }
        });
        let served = http.serve_connection(stream, service);
        tokio::spawn(connections.watch(served, progress));
    }
    // Stop listening for good: the busy responder holds a dup of this
    // socket, so dropping ours would leave the port accepting into a queue
    // nobody serves; `shutdown` acts on the socket itself.
    socket::stop_listening(&listener);
    drop(listener);
    connections.stop(DRAIN_TIMEOUT).await;
    Ok(())
}

async fn init<A: Action>(server: Arc<Server<A>>, body: Incoming) -> Response {
    let body = match read_body(body, server.init_max_bytes, server.read_timeout).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let outcome = server.core.init(&body).await;
    if outcome.kind == Kind::DeveloperError {
        // A failed init is logged like an activation (docs/PROTOCOL.md 2.4).
        logs::end_activation(Tail::Sentinels);
    }
    respond(outcome)
}

async fn run<A: Action>(server: Arc<Server<A>>, body: Incoming) -> Response {
    let body = match read_body(body, server.run_max_bytes, server.read_timeout).await {
        Ok(body) => body,
        Err(response) => {
            logs::end_activation(Tail::Sentinels);
            return response;
        }
    };
    let Some(slot) = Slot::claim(server.window.as_ref()) else {
        return respond(Outcome::busy());
    };
    // The usual activation ends right here, with no await: nothing to box,
    // and no client going away can cut it short.
    let begun = match slot.in_place(|| server.core.begin(&body)) {
        Begun::Done(outcome) => return respond(ended(outcome, slot)),
        begun => begun,
    };
    // One that has to wait carries its slot with it.
    let activation = Box::pin(async move {
        let outcome = slot.in_place_until(server.core.finish(begun, &body)).await;
        ended(outcome, slot)
    });
    match run_to_completion(activation).await {
        Ok(outcome) => respond(outcome),
        Err(e) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Internal error: {e}"),
        ),
    }
}

/// Ends an activation: its sentinels, then its slot released, both before
/// the response goes out, so that a request that follows the response
/// finds the logs complete and the slot free.
fn ended(outcome: Outcome, slot: Slot) -> Outcome {
    logs::end_activation(Tail::Sentinels);
    drop(slot);
    outcome
}

/// Runs an activation so that it completes, and writes its sentinels, even
/// if the client goes away (hyper then drops the request's future).
///
/// It is polled here first: one that is ready at once (an async action
/// that never waits, an unusual request answered by the general path)
/// needs no task to spawn, schedule and join. Only an activation that does
/// wait (an async action, the blocking pool) moves to a task of its own,
/// which a dropped connection cannot cancel. (The usual activation, a sync
/// action, never gets here: `Core::begin` finishes it in place.)
async fn run_to_completion(
    activation: Pin<Box<dyn Future<Output = Outcome> + Send>>,
) -> Result<Outcome, tokio::task::JoinError> {
    // A panic in this first poll would otherwise end the connection's task;
    // in a task of its own it is a JoinError, the same 500 as below.
    let mut first = CatchUnwind(activation);
    match poll_once(&mut first).await {
        Poll::Ready(Ok(outcome)) => Ok(outcome),
        Poll::Ready(Err(panic)) => {
            tokio::spawn(async move { std::panic::resume_unwind(panic) }).await
        }
        Poll::Pending => tokio::spawn(first.0).await,
    }
}

/// Polls a future once: its output if it is ready now, `Pending` if it has
/// to wait (it can be polled on, or moved elsewhere, afterwards).
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

async fn not_found<A: Action>(server: Arc<Server<A>>, path: String, body: Incoming) -> Response {
    discard(body, server.read_timeout).await;
    json_error(
        StatusCode::NOT_FOUND,
        &format!("There is no {path} here: an action serves POST /init and POST /run."),
    )
}

async fn method_not_allowed<A: Action>(server: Arc<Server<A>>, body: Incoming) -> Response {
    discard(body, server.read_timeout).await;
    let mut response = json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Only POST is allowed on /init and /run.",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// Where a request goes.
enum Route {
    Init,
    Run,
    /// `/init` or `/run` with another method than POST: 405.
    MethodNotAllowed,
    /// Any other path: 404, naming it.
    NotFound(String),
}

/// Routes a request: `/init` and `/run` take POST only; any other path is
/// 404. Not an `async fn`: the request is routed here, and only its body
/// goes into the future (hyper keeps that future in the connection's
/// state; the request head would make it some hundreds of bytes larger).
fn dispatch<A: Action>(
    server: Arc<Server<A>>,
    request: hyper::Request<Incoming>,
) -> impl Future<Output = Response> {
    let post = request.method() == Method::POST;
    let route = match request.uri().path() {
        "/init" | "/run" if !post => Route::MethodNotAllowed,
        "/init" => Route::Init,
        "/run" => Route::Run,
        path => Route::NotFound(path.to_owned()),
    };
    let body = request.into_body();
    async move {
        match route {
            Route::Init => init(server, body).await,
            Route::Run => run(server, body).await,
            Route::MethodNotAllowed => method_not_allowed(server, body).await,
            Route::NotFound(path) => not_found(server, path, body).await,
        }
    }
}

/// Reads and drops what is left of a body the server will not use, so that
/// a client that writes its whole body before reading (Python's
/// `http.client`) reads the early answer rather than a reset: up to
/// [`DISCARD_LIMIT`] bytes, for at most `timeout`, and only while the body
/// keeps coming (a pause of [`DISCARD_IDLE`] ends it: a client that sent
/// only the head gets its answer at once). hyper closes the connection
/// after the answer when the body was not read to its end.
async fn discard(mut body: Incoming, timeout: Duration) {
    if body.is_end_stream() {
        return;
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let mut read = 0;
    while read < DISCARD_LIMIT {
        let pause = tokio::time::Instant::now() + DISCARD_IDLE;
        match tokio::time::timeout_at(pause.min(deadline), body.frame()).await {
            Ok(Some(Ok(frame))) => read += frame.data_ref().map_or(0, Bytes::len),
            _ => return,
        }
    }
}

/// A pause in a discarded body after which the answer goes out.
const DISCARD_IDLE: Duration = Duration::from_millis(200);

/// Reads the whole body, refusing one over `limit` without buffering past
/// it, and one that takes longer than `timeout` to arrive.
async fn read_body(body: Incoming, limit: usize, timeout: Duration) -> Result<Bytes, Response> {
    let too_large = || {
        json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("The request body is larger than the limit of {limit} bytes."),
        )
    };
    // A `Content-Length` body's exact size, which hyper has checked and
    // parsed (a chunked body has no upper bound until it has been read).
    if body.size_hint().upper().is_some_and(|n| n > limit as u64) {
        discard(body, timeout).await;
        return Err(too_large());
    }
    let mut collect = std::pin::pin!(collect(body, limit));
    // Usually the whole body came in with the headers: then it is read in
    // one poll, and no timer is armed (and disarmed) for it.
    let collected = match poll_once(&mut collect).await {
        Poll::Ready(collected) => collected,
        // Boxed: the timer would make every request's future ~100 bytes
        // larger.
        Poll::Pending => match Box::pin(tokio::time::timeout(timeout, collect)).await {
            Ok(collected) => collected,
            Err(_) => {
                return Err(json_error(
                    StatusCode::REQUEST_TIMEOUT,
                    &format!(
                        "The request body did not arrive within {} s.",
                        seconds(timeout)
                    ),
                ));
            }
        },
    };
    match collected {
        Ok(body) => Ok(body),
        Err(BodyError::TooLarge(rest)) => {
            discard(rest, timeout).await;
            Err(too_large())
        }
        Err(BodyError::Read(e)) => Err(json_error(
            StatusCode::BAD_REQUEST,
            &format!("The request body could not be read: {e}."),
        )),
    }
}

/// Why a body could not be read whole.
enum BodyError {
    /// Over the limit: the rest of the body, to discard.
    TooLarge(Incoming),
    Read(hyper::Error),
}

/// Reads a body of at most `limit` bytes. A body that arrives in one piece,
/// the usual case, is that piece as is: no copy, and no list of pieces to
/// allocate and free per `/run`, as `Limited` and `Collected` do.
async fn collect(mut body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    let mut first = Bytes::new();
    let mut joined: Option<Vec<u8>> = None;
    while let Some(frame) = body.frame().await {
        // Trailers (after a chunked body) are not part of it.
        let Ok(data) = frame.map_err(BodyError::Read)?.into_data() else {
            continue;
        };
        let len = joined.as_ref().map_or(first.len(), Vec::len);
        if len + data.len() > limit {
            return Err(BodyError::TooLarge(body));
        }
        match &mut joined {
            Some(joined) => joined.extend_from_slice(&data),
            None if first.is_empty() => first = data,
            None => joined = Some([&first[..], &data[..]].concat()),
        }
    }
    Ok(joined.map_or(first, Bytes::from))
}

fn respond(outcome: Outcome) -> Response {
    let status = StatusCode::from_u16(outcome.status()).unwrap_or(StatusCode::OK);
    json_response(status, outcome.body)
}

fn json_error(status: StatusCode, message: &str) -> Response {
    json_response(status, Outcome::error(Kind::BadRequest, message).body)
}

/// Every response: JSON with an exact `Content-Length`, never chunked.
///
/// hyper writes the `Content-Length` itself, from the body's exact size hint
/// (a whole buffer has one), so it is not formatted and allocated here.
fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A duration in seconds as the settings write it (`30`, `0.5`, `0.25`),
/// to the millisecond. Not through `f64`'s `Display`: the float formatting
/// code costs the static binary about 12 KB, for one message.
fn seconds(duration: Duration) -> String {
    let millis = duration.as_millis();
    let (whole, fraction) = (millis / 1000, millis % 1000);
    if fraction == 0 {
        whole.to_string()
    } else {
        let fraction = format!("{fraction:03}");
        format!("{whole}.{}", fraction.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_written_as_the_settings_take_them() {
        for (millis, text) in [
            (30_000, "30"),
            (500, "0.5"),
            (250, "0.25"),
            (100, "0.1"),
            (1_001, "1.001"),
            (86_400_000, "86400"),
        ] {
            assert_eq!(seconds(Duration::from_millis(millis)), text);
        }
    }
}
