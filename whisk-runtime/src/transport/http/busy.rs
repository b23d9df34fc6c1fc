//! The busy window: the protocol's `403` for a `/run` that overlaps
//! another when concurrency is off, with one owned [`Slot`] per activation.
//!
//! The slot is a flag claimed before an activation starts and released
//! when its [`Slot`] drops, wherever the activation ends (in place, or in a
//! task of its own). While the server's thread is inside the activation
//! (a sync action runs there), tokio cannot answer anyone, so the
//! [`Responder`] does:
//!
//! Without `__OW_ALLOW_CONCURRENT`, a sync action runs on the server's one
//! thread: no hop to another thread and back, which is most of the cost of an
//! activation. While it runs, tokio cannot accept connections, yet the
//! protocol wants an overlapping `/run` refused with `403 System not ready,
//! status is running.` rather than queued. The [`Responder`] does that, on
//! the log pump's thread (`os/logs/`: one helper thread, not two, because
//! each thread costs a cold start about 0.1 ms): once one activation has
//! been running for a whole tick of a [`TICK`] timer, it accepts on the same
//! listening socket and has every request that arrives meanwhile answered,
//! until the activation ends. The end is marked before the response is
//! sent, so a request that follows the response is always served normally.
//!
//! The timer ticks only while activations come: the first one after a quiet
//! spell starts it, and the helper thread stops it after [`IDLE_TICKS`]
//! ticks with none. An activation itself makes no syscall here, only two
//! uncontended lock operations.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::core::Outcome;
use crate::os::logs::Watch;
use crate::os::timerfd::TimerFd;

/// The single activation slot of a server that runs one activation at a
/// time, and the responder that answers for it.
pub(crate) struct Window {
    busy: AtomicBool,
    responder: Responder,
}

/// A claimed activation slot (or, with concurrency on, none needed):
/// released when dropped.
pub(crate) struct Slot(Option<Arc<Window>>);

impl Window {
    pub(crate) fn new(responder: Responder) -> Arc<Window> {
        Arc::new(Window {
            busy: AtomicBool::new(false),
            responder,
        })
    }

    /// The responder as the helper thread's work.
    pub(crate) fn watch(&self) -> Arc<dyn Watch> {
        self.responder.watch()
    }
}

impl Slot {
    /// Claims the slot of `window` (`None`: concurrency on, nothing to
    /// claim); `None` when another activation holds it.
    pub(crate) fn claim(window: Option<&Arc<Window>>) -> Option<Slot> {
        let Some(window) = window else {
            return Some(Slot(None));
        };
        window
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| Slot(Some(Arc::clone(window))))
    }

    /// Runs `f` on the server's thread, the responder answering for the
    /// server meanwhile.
    pub(crate) fn in_place<R>(&self, f: impl FnOnce() -> R) -> R {
        let _entered = self.0.as_ref().map(|window| window.responder.enter());
        f()
    }

    /// Polls `future` to its end, each poll [`in_place`](Slot::in_place):
    /// the responder answers while a poll runs (a sync action on the
    /// general path, or an async one that computes), tokio in between.
    pub(crate) async fn in_place_until<F: Future>(&self, future: F) -> F::Output {
        let mut future = pin!(future);
        std::future::poll_fn(|cx| self.in_place(|| future.as_mut().poll(cx))).await
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(window) = &self.0 {
            window.busy.store(false, Ordering::Release);
        }
    }
}

/// The timer's period: an activation is refused company once it has run
/// through a whole tick, so after between one and two ticks.
///
/// Each tick wakes the helper thread, and under a steady stream of
/// activations the timer never stops: at 2 ms the ticks cost invoker-like
/// traffic about 2% of the server's CPU per request (`bench/run.sh`,
/// paired). At 10 ms they cost a fifth of that, and a client that breaks
/// the protocol's one-at-a-time rule waits 10 to 20 ms for its `403`
/// (queued, not refused, if the activation it overlaps ends sooner).
const TICK: Duration = Duration::from_millis(10);
/// Ticks without a new activation after which the timer stops. One: an
/// isolated activation (OpenWhisk's usual traffic: a few per second at
/// most) then costs the helper thread two wake-ups, where ten idle ticks
/// cost it eleven; under a steady stream the timer never stops anyway.
const IDLE_TICKS: u32 = 1;
/// While refusing, how often the helper thread looks whether the
/// activation has ended, if no request comes.
const REFUSING_POLL_MS: i32 = 20;
/// At most this many refused requests are read at once, each on a thread
/// of its own; one that comes beyond is answered without being read.
const MAX_READERS: usize = 4;
/// How much of a refused request's head is kept (to find its length).
const HEAD_LIMIT: usize = 64 << 10;
/// The stack of a thread that reads a refused request.
const READER_STACK: usize = 64 << 10;

/// Refuses overlapping requests; served by the log pump's thread through
/// [`Watch`].
pub(crate) struct Responder {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Ticks every [`TICK`] while activations come.
    timer: TimerFd,
    listener: TcpListener,
    /// What only the helper thread reads and writes.
    helper: Mutex<Helper>,
    /// The real server's read timeout, which a refused request gets too.
    limits: Limits,
    /// Threads reading a refused request now.
    readers: Arc<AtomicUsize>,
}

/// What a refused request gets from the real server's settings.
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    /// The read timeout (`WHISK_READ_TIMEOUT_SECS`).
    pub(crate) timeout: Duration,
}

#[derive(Default)]
struct State {
    /// Whether a sync activation occupies the server's thread.
    active: bool,
    /// Counts activations, so a tick tells a new one from a long one.
    started: u64,
    /// Whether the timer is running.
    ticking: bool,
}

#[derive(Default)]
struct Helper {
    /// What the previous tick saw: (activation count, active).
    seen: (u64, bool),
    /// Ticks in a row without a new activation.
    quiet: u32,
    /// Whether requests are being refused (the listener is watched, not
    /// the timer).
    refusing: bool,
}

/// Marks the activation as running until dropped.
pub(crate) struct Entered<'a>(&'a Shared);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.0.lock().active = false;
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn helper(&self) -> std::sync::MutexGuard<'_, Helper> {
        self.helper.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A tick of the timer: starts refusing when the same activation has
    /// run through it, stops the timer when activations stopped coming.
    fn tick(&self, helper: &mut Helper) {
        if !self.timer.expired() {
            return; // Not a tick after all.
        }
        let mut state = self.lock();
        let now = (state.started, state.active);
        if now.1 && now == helper.seen {
            // The same activation as a tick ago: it has run a whole tick.
            helper.refusing = true;
            helper.quiet = 0;
            return;
        }
        if now.0 == helper.seen.0 && !now.1 {
            helper.quiet += 1;
            if helper.quiet >= IDLE_TICKS {
                state.ticking = false;
                self.timer.set(None);
                helper.quiet = 0;
            }
        } else {
            helper.quiet = 0;
        }
        helper.seen = now;
    }

    /// While refusing: accepts a request that came, if the activation still
    /// runs, and has it answered; goes back to ticking once it has ended.
    fn refuse_one(&self, helper: &mut Helper, readable: bool) {
        // Accept only while the activation runs: the lock orders this with
        // its end, which comes before its response.
        let state = self.lock();
        if !state.active {
            helper.refusing = false;
            return;
        }
        let accepted = if readable {
            self.listener.accept().ok()
        } else {
            None
        };
        drop(state);
        let Some((stream, _)) = accepted else {
            return;
        };
        // Reading the request may take up to the read timeout: on a thread
        // of its own, so that the helper thread keeps forwarding logs. Only
        // ever happens when a client breaks the protocol's one-at-a-time
        // rule, and at most MAX_READERS at once: beyond, or when a thread
        // cannot start, the request is answered unread.
        let limits = self.limits;
        let readers = Arc::clone(&self.readers);
        if readers.fetch_add(1, Ordering::Relaxed) >= MAX_READERS {
            readers.fetch_sub(1, Ordering::Relaxed);
            return answer_unread(stream);
        }
        let spawned = std::thread::Builder::new()
            .name("whisk-refuse".into())
            .stack_size(READER_STACK)
            .spawn({
                let readers = Arc::clone(&readers);
                let stream = stream.try_clone();
                move || {
                    if let Ok(stream) = stream {
                        refuse(stream, limits);
                    }
                    readers.fetch_sub(1, Ordering::Relaxed);
                }
            });
        if spawned.is_err() {
            readers.fetch_sub(1, Ordering::Relaxed);
            answer_unread(stream);
        }
    }
}

impl Responder {
    /// A responder on a clone of the server's (non-blocking) listener. It
    /// does its work once handed to the log pump (`logs::install`).
    pub(crate) fn new(listener: TcpListener, limits: Limits) -> io::Result<Responder> {
        let timer = TimerFd::new()?;
        Ok(Responder {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                timer,
                listener,
                helper: Mutex::new(Helper::default()),
                limits,
                readers: Arc::new(AtomicUsize::new(0)),
            }),
        })
    }

    /// The responder as the helper thread's work.
    pub(crate) fn watch(&self) -> Arc<dyn Watch> {
        self.shared.clone()
    }

    /// Marks a sync activation as running on the server's thread.
    pub(crate) fn enter(&self) -> Entered<'_> {
        let mut state = self.shared.lock();
        state.active = true;
        state.started = state.started.wrapping_add(1);
        if !state.ticking {
            // The first activation after a quiet spell. Under the lock, so
            // it cannot interleave with the thread stopping the timer.
            state.ticking = true;
            self.shared.timer.set(Some(TICK));
        }
        drop(state);
        Entered(&self.shared)
    }
}

impl Watch for Shared {
    fn next_wait(&self) -> (RawFd, i32) {
        let helper = self.helper();
        if helper.refusing {
            (self.listener.as_raw_fd(), REFUSING_POLL_MS)
        } else {
            (self.timer.as_raw_fd(), -1)
        }
    }

    fn woken(&self, readable: bool) {
        let mut helper = self.helper();
        if helper.refusing {
            self.refuse_one(&mut helper, readable);
        } else if readable {
            self.tick(&mut helper);
        }
    }
}

/// Reads the request (its head, then its body read and dropped as it
/// comes, never kept, for at most the server's read timeout) and answers
/// the `403`. A client that writes its whole body before it reads so gets
/// the answer, not a reset.
fn refuse(mut stream: TcpStream, limits: Limits) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(limits.timeout));
    let deadline = Instant::now() + limits.timeout;
    let mut head = Vec::new();
    let mut buf = [0u8; 8192];
    let mut body = None;
    let mut read = 0;
    while Instant::now() < deadline {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        match body {
            Some(_) => read += n,
            None if head.len() < HEAD_LIMIT => {
                head.extend_from_slice(&buf[..n]);
                if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    body = Some(content_length(&head[..end]));
                    read = head.len() - end - 4;
                    head = Vec::new();
                }
            }
            None => break,
        }
        // The whole body, or as much as the server would ever read of it
        // (the discard bound of an early answer).
        if body.is_some_and(|length| read >= length.min(super::DISCARD_LIMIT)) {
            break;
        }
    }
    let _ = stream.write_all(&forbidden());
}

/// Answers `403` at once, without reading: beyond [`MAX_READERS`].
fn answer_unread(mut stream: TcpStream) {
    let _ = stream.write_all(&forbidden());
    let _ = stream.shutdown(Shutdown::Write);
}

/// The `403` response (logged as the server logs it), closing the
/// connection.
fn forbidden() -> Vec<u8> {
    let body = Outcome::busy().body;
    let mut response = format!(
        "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    response
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}
