//! The HTTP transport: `POST /init` and `POST /run` on port 8080.

pub(crate) mod busy;
pub(crate) mod drain;
pub(crate) mod guard;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use axum::body::HttpBody as _;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use std::os::fd::AsRawFd;
use std::time::Duration;
use tokio::net::TcpListener;

use crate::action::Action;
use crate::config::Config;
use crate::core::{BUSY, Begun, CatchUnwind, Core, Kind, Outcome};
use crate::os::logs::{self, Tail};
use crate::os::socket::{self, Socket};
use crate::os::timerfd::Ticker;
use crate::transport::http::busy::Responder;
use crate::transport::http::drain::Drain;
use crate::transport::http::guard::Progress;

struct Server<A> {
    core: Core<A>,
    init_max_bytes: usize,
    run_max_bytes: usize,
    read_timeout: Duration,
}

/// One client connection: the server, and what its requests have done (for
/// the slow-client guard).
struct Connection<A> {
    server: Arc<Server<A>>,
    progress: Progress,
}

impl<A> AsRef<Progress> for Connection<A> {
    fn as_ref(&self) -> &Progress {
        &self.progress
    }
}

/// Listens on the configured address: the first thing the process does in
/// HTTP mode, so that a client's connect succeeds, and its request waits in
/// the socket, while the rest of the runtime starts.
pub(crate) fn listen(config: &Config) -> io::Result<std::net::TcpListener> {
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
    Ok(listener)
}

/// The busy responder for a server that runs one activation at a time
/// (`None` with concurrency on), on a clone of its listening socket (a
/// `dup`: the same file, so non-blocking too).
pub(crate) fn responder(
    listener: &std::net::TcpListener,
    config: &Config,
) -> io::Result<Option<Responder>> {
    if config.concurrent {
        return Ok(None);
    }
    Responder::new(listener.try_clone()?).map(Some)
}

/// How long a stopping server waits for in-flight activations.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the action until SIGTERM or SIGINT, then stops accepting and lets
/// in-flight activations finish (for at most [`DRAIN_TIMEOUT`]).
///
/// The accept loop is hyper's own (rather than `axum::serve`) to bound how
/// long a client may keep a connection waiting (`guard.rs`) and take to
/// send a body (`read_body`).
pub(crate) async fn serve<A: Action>(
    listener: std::net::TcpListener,
    core: Core<A>,
    config: &Config,
) -> io::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let server = Arc::new(Server {
        core,
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
    // The signals are awaited in a task of their own: polling a signal
    // stream costs some 600 instructions, and the accept loop below polls
    // its stop condition once per connection (with the invoker, once per
    // activation); a oneshot's receiver costs a few. The same task runs
    // the slow-client guard's sweeps until then (a task of its own would
    // cost the binary another copy of tokio's task code, some 3 KB); a
    // stop bounds what is left anyway (DRAIN_TIMEOUT).
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
        let connection = Arc::new(Connection {
            server: Arc::clone(&server),
            progress: Progress::default(),
        });
        // One function for both routes, as hyper's own service: with two
        // fixed paths, a `match` routes as well as `Router` does, without its
        // per-request boxing and extension map. And hyper's service, rather
        // than an axum handler behind tower's adapters, boxes neither the
        // request's future nor its body, and needs no `Oneshot`: some 730
        // instructions fewer per `/run` (BENCHMARKS.md, twelfth round). The
        // responses are still axum's.
        let shared = Arc::clone(&connection);
        let service = service_fn(move |request| {
            let response = dispatch::<A>(Arc::clone(&shared), request);
            async move { Ok::<_, std::convert::Infallible>(response.await) }
        });
        let served = http.serve_connection(stream, service);
        tokio::spawn(connections.watch(served, connection));
    }
    // Stop listening for good: the busy responder holds a dup of this
    // socket, so dropping ours would leave the port accepting into a queue
    // nobody serves. shutdown() acts on the socket itself: new connections
    // are refused while the running activations drain.
    // SAFETY: shutdown on a valid socket descriptor.
    unsafe { libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR) };
    drop(listener);
    connections.stop(DRAIN_TIMEOUT).await;
    Ok(())
}

/// Routes a request: `/init` and `/run` take POST only; any other path is 404.
///
/// Not an `async fn`: the request is routed here, and only its body goes
/// into the future (hyper's request head would make that future, which
/// hyper keeps in the connection's state, some hundreds of bytes larger).
fn dispatch<A: Action>(
    connection: Arc<Connection<A>>,
    request: Request<Incoming>,
) -> impl Future<Output = Response> {
    let route = match (request.uri().path(), request.method() == Method::POST) {
        ("/init" | "/run", false) => Err(method_not_allowed()),
        ("/init", true) => Ok(false),
        ("/run", true) => Ok(true),
        _ => Err(not_found(&request)),
    };
    let body = request.into_body();
    async move {
        let _handling = connection.progress.handling();
        match route {
            Ok(true) => run(Arc::clone(&connection), body).await,
            Ok(false) => init(&connection.server, body).await,
            Err(response) => response,
        }
    }
}

async fn init<A: Action>(server: &Server<A>, body: Incoming) -> Response {
    let body = match read_body(body, server.init_max_bytes, server.read_timeout).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let outcome = server.core.init(&body).await;
    if outcome.kind == Kind::DeveloperError {
        // A failed init is logged like an activation (PROTOCOL.md 2.4).
        logs::end_activation(Tail::Sentinels);
    }
    respond(outcome)
}

async fn run<A: Action>(connection: Arc<Connection<A>>, body: Incoming) -> Response {
    let limit = connection.server.run_max_bytes;
    let body = match read_body(body, limit, connection.server.read_timeout).await {
        Ok(body) => body,
        Err(response) => {
            logs::end_activation(Tail::Sentinels);
            return response;
        }
    };
    let core = &connection.server.core;
    let Some(busy) = core.try_begin() else {
        eprintln!("Internal system error: {BUSY}");
        return respond(Outcome::error(Kind::Rejected, BUSY));
    };
    // The usual activation ends right here, with no await: nothing to box,
    // and no client going away can cut it short.
    let begun = match core.begin(&body) {
        Begun::Done(outcome) => return respond(ended(outcome, busy)),
        begun => begun,
    };
    // One that has to wait carries the slot with it.
    let slot = busy.map(|busy| {
        busy.hand_over();
        HeldSlot(Arc::clone(&connection))
    });
    let activation = Box::pin(async move {
        let outcome = connection.server.core.finish(begun, &body).await;
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

/// Ends an activation: its sentinels, then its slot (`Busy` or
/// [`HeldSlot`]) released, both before the response goes out, so that a
/// request that follows the response finds the logs complete and the slot
/// free.
fn ended<Slot>(outcome: Outcome, slot: Slot) -> Outcome {
    logs::end_activation(Tail::Sentinels);
    drop(slot);
    outcome
}

/// The activation slot (concurrency off), held by an activation that has
/// to wait: released when it ends, wherever it ends.
struct HeldSlot<A: Action>(Arc<Connection<A>>);

impl<A: Action> Drop for HeldSlot<A> {
    fn drop(&mut self) {
        self.0.server.core.end_busy();
    }
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

fn not_found(request: &Request<Incoming>) -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        &format!(
            "There is no {} here: an action serves POST /init and POST /run.",
            request.uri().path()
        ),
    )
}

fn method_not_allowed() -> Response {
    let mut response = json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Only POST is allowed on /init and /run.",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

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
                        timeout.as_secs_f64()
                    ),
                ));
            }
        },
    };
    match collected {
        Ok(body) => Ok(body),
        Err(BodyError::TooLarge) => Err(too_large()),
        Err(BodyError::Read(e)) => Err(json_error(
            StatusCode::BAD_REQUEST,
            &format!("The request body could not be read: {e}."),
        )),
    }
}

/// Why a body could not be read whole.
enum BodyError {
    TooLarge,
    Read(hyper::Error),
}

/// Reads a body of at most `limit` bytes. A body that arrives in one piece,
/// the usual case, is that piece as is: no copy, and no list of pieces to
/// allocate and free (`Limited` and `Collected` cost some 400 instructions
/// per `/run`).
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
            return Err(BodyError::TooLarge);
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
    let status = match outcome.kind {
        Kind::Success | Kind::ApplicationError => StatusCode::OK,
        Kind::DeveloperError => StatusCode::BAD_GATEWAY,
        Kind::BadRequest => StatusCode::BAD_REQUEST,
        Kind::Rejected => StatusCode::FORBIDDEN,
    };
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
