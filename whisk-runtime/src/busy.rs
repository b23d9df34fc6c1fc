//! Answering `403` while a sync action occupies the server's thread.
//!
//! Without `__OW_ALLOW_CONCURRENT`, a sync action runs on the server's one
//! thread: no hop to another thread and back, which is most of the cost of an
//! activation. While it runs, tokio cannot accept connections, yet the
//! protocol wants an overlapping `/run` refused with `403 System not ready,
//! status is running.` rather than queued. This small thread does that: once
//! one activation has been running for a whole tick of a [`TICK`] timer, it
//! accepts on the same listening socket and answers every request that
//! arrives meanwhile, until the activation ends. The end is marked before the
//! response is sent, so a request that follows the response is always served
//! normally.
//!
//! The timer ticks only while activations come: the first one after a quiet
//! spell starts it, and the thread stops it after [`IDLE_TICKS`] ticks with
//! none. An activation itself makes no syscall here, only two uncontended
//! lock operations.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::activation::{BUSY, Kind, Outcome};

/// The timer's period: an activation is refused company once it has run
/// through a whole tick, so after between one and two ticks.
const TICK: Duration = Duration::from_millis(2);
/// Ticks without a new activation after which the timer stops. One: an
/// isolated activation (OpenWhisk's usual traffic: a few per second at
/// most) then costs the thread two wake-ups, where ten idle ticks cost it
/// eleven; under a steady stream the timer never stops anyway.
const IDLE_TICKS: u32 = 1;
/// How long a refused client may take to send its request.
const READ_LIMIT: Duration = Duration::from_secs(1);
/// How much of a refused request is read (and dropped) at most.
const BODY_LIMIT: usize = 16 << 20;

/// The thread that refuses overlapping requests.
pub(crate) struct Responder {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Ticks every [`TICK`] while activations come (a `timerfd`).
    timer: OwnedFd,
    listener: TcpListener,
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

    /// Starts (`Some(period)`) or stops (`None`) the periodic timer.
    fn set_timer(&self, period: Option<Duration>) {
        let spec = period.map_or(timespec(Duration::ZERO), timespec);
        let spec = libc::itimerspec {
            it_interval: spec,
            it_value: spec,
        };
        // SAFETY: a valid timerfd and a valid itimerspec.
        unsafe { libc::timerfd_settime(self.timer.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
    }
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        // Only ever a few milliseconds (`TICK`) or zero.
        tv_sec: d.as_secs() as _,
        tv_nsec: d.subsec_nanos() as _,
    }
}

impl Responder {
    /// Starts the thread on a clone of the server's (non-blocking) listener.
    pub(crate) fn start(listener: TcpListener) -> io::Result<Responder> {
        // SAFETY: timerfd_create returns a new descriptor we own, or -1.
        let timer = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_CLOEXEC | libc::TFD_NONBLOCK,
            )
        };
        if timer < 0 {
            return Err(io::Error::last_os_error());
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            // SAFETY: just created, owned by nobody else.
            timer: unsafe { OwnedFd::from_raw_fd(timer) },
            listener,
        });
        let thread_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("whisk-busy".into())
            .spawn(move || respond_loop(&thread_shared))?;
        Ok(Responder { shared })
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
            self.shared.set_timer(Some(TICK));
        }
        drop(state);
        Window(&self.shared)
    }
}

fn respond_loop(shared: &Shared) {
    // What the previous tick saw: (activation count, active).
    let mut seen = (0, false);
    let mut quiet = 0;
    loop {
        let mut timer = libc::pollfd {
            fd: shared.timer.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut timer, 1, -1) } <= 0 {
            continue;
        }
        let mut expirations = [0u8; 8];
        // SAFETY: reading the 8-byte counter of our own timerfd.
        unsafe { libc::read(shared.timer.as_raw_fd(), expirations.as_mut_ptr().cast(), 8) };
        let mut state = shared.lock();
        let now = (state.started, state.active);
        if now.1 && now == seen {
            // The same activation as a tick ago: it has run a whole tick.
            drop(state);
            refuse_while_active(shared);
            quiet = 0;
            continue;
        }
        if now.0 == seen.0 && !now.1 {
            quiet += 1;
            if quiet >= IDLE_TICKS {
                state.ticking = false;
                shared.set_timer(None);
                quiet = 0;
            }
        } else {
            quiet = 0;
        }
        seen = now;
    }
}

/// Answers every request that arrives until the running activation ends.
fn refuse_while_active(shared: &Shared) {
    while shared.lock().active {
        let mut ready = libc::pollfd {
            fd: shared.listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; a short timeout to notice the end.
        if unsafe { libc::poll(&mut ready, 1, 20) } <= 0 {
            continue;
        }
        // Accept only while the activation runs: the lock orders this with
        // its end, which comes before its response.
        let state = shared.lock();
        let accepted = if state.active {
            shared.listener.accept().ok()
        } else {
            None
        };
        drop(state);
        if let Some((stream, _)) = accepted {
            refuse(stream);
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
