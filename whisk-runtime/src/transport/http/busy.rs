//! Answering `403` while a sync action occupies the server's thread.
//!
//! Without `__OW_ALLOW_CONCURRENT`, a sync action runs on the server's one
//! thread: no hop to another thread and back, which is most of the cost of an
//! activation. While it runs, tokio cannot accept connections, yet the
//! protocol wants an overlapping `/run` refused with `403 System not ready,
//! status is running.` rather than queued. The [`Responder`] does that, on
//! the log pump's thread (`logs.rs`: one helper thread, not two, because
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

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::core::{BUSY, Kind, Outcome};
use crate::os::logs::Watch;
use crate::os::timerfd::TimerFd;

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
/// How long a refused client may take to send its request.
const READ_LIMIT: Duration = Duration::from_secs(1);
/// How much of a refused request is read (and dropped) at most.
const BODY_LIMIT: usize = 16 << 20;

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
pub(crate) struct Window<'a>(&'a Shared);

impl Drop for Window<'_> {
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
        if let Some((stream, _)) = accepted {
            // Reading the request may take up to READ_LIMIT: on a thread of
            // its own, so that the helper thread keeps forwarding logs. Only
            // ever happens when a client breaks the protocol's one-at-a-time
            // rule; a thread that cannot start just closes the connection.
            let _ = std::thread::Builder::new()
                .name("whisk-refuse".into())
                .spawn(move || refuse(stream));
        }
    }
}

impl Responder {
    /// A responder on a clone of the server's (non-blocking) listener. It
    /// does its work once handed to the log pump (`logs::install`).
    pub(crate) fn new(listener: TcpListener) -> io::Result<Responder> {
        let timer = TimerFd::new()?;
        Ok(Responder {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                timer,
                listener,
                helper: Mutex::new(Helper::default()),
            }),
        })
    }

    /// The responder as the helper thread's work.
    pub(crate) fn watch(&self) -> Arc<dyn Watch> {
        self.shared.clone()
    }

    /// Marks a sync activation as running on the server's thread.
    pub(crate) fn enter(&self) -> Window<'_> {
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
        Window(&self.shared)
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

/// Reads the request (bounded in time and size) and answers the 403.
fn refuse(mut stream: TcpStream) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(READ_LIMIT));
    let started = Instant::now();
    let mut request = Vec::new();
    let mut buf = [0u8; 8192];
    let mut needed = None;
    while started.elapsed() < READ_LIMIT && request.len() < BODY_LIMIT {
        if let Some(total) = needed {
            if request.len() >= total {
                break;
            }
        } else if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            needed = Some(end + 4 + content_length(&request[..end]));
            continue;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    eprintln!("Internal system error: {BUSY}");
    let body = Outcome::error(Kind::Rejected, BUSY).body;
    let mut response = format!(
        "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    let _ = stream.write_all(&response);
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}
