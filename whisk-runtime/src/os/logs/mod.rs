//! The action's stdout and stderr, and the lines that end each activation.
//!
//! OpenWhisk reads an action's logs up to a sentinel line on each stream, and
//! on Kubernetes the sentinel must be alone on its line. A user's
//! `print!("no newline")` would glue the sentinel to its text, and nothing in
//! Rust's `Stdout` tells whether the last byte written was a newline. So at
//! start-up the runtime puts a pipe in front of fd 1 and fd 2, and forwards
//! every byte to the real streams, remembering whether each stream stands at
//! the start of a line. At the end of an activation the activation itself,
//! under a lock, drains what is left in the pipes, adds `\n` where a line is
//! unfinished, and writes the tail (the sentinel, or in exec mode the result
//! line) in one `write`: no round trip to another thread. When the pipes
//! cannot be set up the tails are written directly.
//!
//! A small pump thread empties the pipes during long or chatty activations,
//! but not the moment output comes: woken by output, it waits [`DEFER`] and
//! then forwards whatever the pipes hold. Most activations end sooner and
//! drain their own output, so an action that prints a line per activation
//! does not wake the pump thread each time. (It did: in the keep-alive
//! benchmark, `bench/actions/src/print.rs`, that cost half again the
//! server's CPU per request.) The pipes are enlarged to [`PIPE_SIZE`] where
//! the kernel allows it, so that a writer blocks on a full pipe only past
//! 100 MB/s of logs (6.4 MB/s with the kernel's default 64 KiB). Output
//! still in a pipe when the process calls `exit` is forwarded by an `atexit`
//! handler.
//!
//! The pump thread is the runtime's one helper thread: it also serves a
//! [`Watch`], the HTTP transport's busy responder (`busy.rs`), so that
//! start-up spawns one thread, not two.

use std::io::{self, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

mod sink;

pub(crate) use sink::{STUCK_AFTER, Written};
use sink::{Sink, reopen_nonblocking};

/// The line OpenWhisk waits for on both streams after each activation.
pub(crate) const SENTINEL: &[u8] = concat!(sentinel!(), "\n").as_bytes();

/// What to write after the action's output once an activation is over.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Tail<'a> {
    /// HTTP mode: the sentinel on stdout and stderr.
    Sentinels,
    /// ActionLoop mode: only finish unfinished lines (the proxy writes the
    /// sentinels once it has read the result).
    LineBreaks,
    /// Exec mode: the result as the last line of stdout.
    Result(&'a [u8]),
}

static PUMP: OnceLock<Option<Pump>> = OnceLock::new();

/// How long output may wait in the pipes once the pump thread has seen it.
const DEFER: Duration = Duration::from_millis(10);

/// The capacity asked for each pipe (`F_SETPIPE_SZ`; 1 MiB is the most an
/// unprivileged process gets by default). Pages are only used while they
/// hold output.
const PIPE_SIZE: libc::c_int = 1 << 20;

/// More work for the helper thread: a descriptor to wait on besides the
/// pipes, and what to do when it is ready.
pub(crate) trait Watch: Send + Sync {
    /// The descriptor to wait for input on next, and at most how long to
    /// wait (milliseconds; -1 for no limit).
    fn next_wait(&self) -> (RawFd, i32);
    /// Called on the helper thread after each wait: whether the descriptor
    /// became readable (`false`: the wait timed out, or only a pipe woke it).
    fn woken(&self, readable: bool);
}

/// Puts the pump in front of stdout and stderr, and starts the helper
/// thread that forwards them and serves `watch` (once; later calls do
/// nothing). When the pipes cannot be set up, the thread serves `watch`
/// alone.
pub(crate) fn install(watch: Option<Arc<dyn Watch>>) -> io::Result<()> {
    let mut started = Ok(());
    PUMP.get_or_init(|| {
        let diverted = Pump::divert().ok();
        // The helper thread's handle on the streams.
        let shared = diverted.as_ref().map(|(streams, _)| Arc::clone(streams));
        if shared.is_some() {
            // SAFETY: registers a function with no arguments that never
            // unwinds. If registration fails, output is still forwarded by
            // every path but an action's own call to `exit`.
            unsafe { libc::atexit(drain_at_exit) };
        }
        if shared.is_some() || watch.is_some() {
            started = std::thread::Builder::new()
                .name("whisk-logs".into())
                .spawn(move || helper_loop(shared.as_deref(), watch.as_deref()))
                .map(drop);
        }
        diverted.map(|(streams, output)| Pump { streams, output })
    });
    started
}

/// Ends an activation's output: flushes what the action wrote, finishes
/// unfinished lines, writes the tail. Returns once all of it has reached the
/// real streams, or been dropped (see [`Written`]): whether stdout's tail
/// was written (exec mode's result; a stdout without a reader, or one
/// nobody reads, loses it).
pub(crate) fn end_activation(tail: Tail<'_>) -> bool {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    let (out, err): (&[u8], &[u8]) = match tail {
        Tail::Sentinels => (SENTINEL, SENTINEL),
        Tail::LineBreaks => (b"", b""),
        Tail::Result(line) => (line, b""),
    };
    match PUMP.get() {
        Some(Some(pump)) => pump.finish(out, err, true),
        _ => {
            let written = io::stdout().lock().write_all(out).is_ok();
            let _ = io::stderr().lock().write_all(err);
            written
        }
    }
}

/// Forwards everything written so far (before the process exits).
pub(crate) fn drain() {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    if let Some(Some(pump)) = PUMP.get() {
        pump.finish(b"", b"", false);
    }
}

/// [`drain`] when the process exits through `exit`, e.g. an action calling
/// `std::process::exit`: what it printed last is not lost in the pipes.
extern "C" fn drain_at_exit() {
    drain();
}

/// The two diverted streams. Whoever holds the lock (the pump thread
/// [`DEFER`] after the action writes, or the activation when it ends) drains
/// the pipes into the real streams, so the end of an activation never waits
/// for another thread, and output keeps its order.
struct Pump {
    streams: Arc<Mutex<[Stream; 2]>>,
    /// An epoll instance watching both pipes: which of them hold output.
    output: OwnedFd,
}

impl Pump {
    /// Puts a pipe in front of stdout and stderr each, and an epoll
    /// instance on the pipes.
    fn divert() -> io::Result<(Arc<Mutex<[Stream; 2]>>, OwnedFd)> {
        let mut out = Stream::divert(libc::STDOUT_FILENO)?;
        let mut err = Stream::divert(libc::STDERR_FILENO)?;
        let output = watch_input([&out.read, &err.read])?;
        // All is ready: only now swap the pipes in, so a failure above
        // leaves the real streams untouched.
        out.swap_in()?;
        err.swap_in()?;
        // The write ends now live on fds 1 and 2; drop our extra copies,
        // here rather than in the helper thread (which may run late), so
        // that the pipes report EOF if those are ever closed and the
        // process holds the same descriptors from the first request on.
        out.write = None;
        err.write = None;
        Ok((Arc::new(Mutex::new([out, err])), output))
    }

    /// Forwards what the action wrote, finishes its lines, writes the
    /// tails; whether stdout's was written.
    fn finish(&self, out: &[u8], err: &[u8], finish_lines: bool) -> bool {
        let mut streams = lock(&self.streams);
        // Which pipes hold output (usually neither): one `epoll_wait` with
        // no timeout. When neither does, it costs what a system call that
        // does nothing costs; a `poll` of the two pipes costs half as much
        // again. The kernel marks a pipe ready within the writer's own
        // `write`, so all output written before the activation ended is
        // seen.
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 2];
        let max = events.len() as libc::c_int;
        // SAFETY: `events` is valid for writes of `max` entries; the kernel
        // refuses a descriptor that is not an epoll instance.
        let ready =
            unsafe { libc::epoll_wait(self.output.as_raw_fd(), events.as_mut_ptr(), max, 0) };
        let has_output = |index: u64| {
            ready < 0
                || events[..ready as usize]
                    .iter()
                    .any(|event| event.u64 == index)
        };
        let mut written = [true; 2];
        for (index, (stream, tail)) in streams.iter_mut().zip([out, err]).enumerate() {
            let end = End {
                tail,
                finish_line: finish_lines,
            };
            // On an epoll error, read anyway. The buffer is left
            // uninitialized: zeroing it cost more than the rest of this
            // function.
            written[index] = if has_output(index as u64) {
                stream.forward(&mut [MaybeUninit::uninit(); 16 * 1024], end)
            } else {
                stream.write(&[], end)
            } == Written::All;
        }
        written[0]
    }
}

/// One diverted stream: the pipe the process now writes to, and the real
/// destination.
struct Stream {
    fd: RawFd,
    real: OwnedFd,
    read: OwnedFd,
    write: Option<OwnedFd>,
    at_line_start: bool,
    open: bool,
    /// How the real stream takes output: see [`Sink`].
    sink: Sink,
}

impl Stream {
    fn divert(fd: RawFd) -> io::Result<Stream> {
        // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor we own, or -1.
        let real = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if real < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `real` was just created and is owned by nobody else.
        let real = unsafe { OwnedFd::from_raw_fd(real) };
        // A pipe of its own, non-blocking, where the stream is one.
        let real = reopen_nonblocking(fd).unwrap_or(real);
        let (read, write) = pipe()?;
        set_nonblocking(&read)?;
        // SAFETY: F_SETPIPE_SZ on a pipe we own. On failure (a lower
        // `pipe-max-size`, or the user's pipe pages used up) the pipe keeps
        // its 64 KiB: a chatty action then waits for the pump sooner.
        unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE) };
        Ok(Stream {
            fd,
            real,
            read,
            write: Some(write),
            at_line_start: true,
            open: true,
            sink: Sink::default(),
        })
    }

    fn swap_in(&self) -> io::Result<()> {
        let write = self.write.as_ref().expect("swapped in once");
        // SAFETY: dup2 onto a standard descriptor; both descriptors are valid.
        if unsafe { libc::dup2(write.as_raw_fd(), self.fd) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Forwards whatever the pipe holds right now, then `end`: in the same
    /// `write` as the last chunk read, the usual case being one chunk (a
    /// line or a few) and one `writev`.
    fn forward(&mut self, buf: &mut [MaybeUninit<u8>], end: End<'_>) -> Written {
        while self.open {
            // SAFETY: reading into a buffer we own, from a descriptor we own.
            let n =
                unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            match n {
                n if n > 0 => {
                    // SAFETY: `read` initialized the first `n` bytes.
                    let chunk =
                        unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), n as usize) };
                    // A pipe's `read` returns all it holds, up to the
                    // buffer's size: a shorter one emptied it, and no `read`
                    // is needed to say so.
                    if chunk.len() < buf.len() {
                        return self.write(chunk, end);
                    }
                    self.write(chunk, End::NONE);
                }
                0 => self.open = false,
                _ => match io::Error::last_os_error().kind() {
                    io::ErrorKind::Interrupted => continue,
                    _ => break, // WouldBlock: the pipe is empty.
                },
            }
        }
        self.write(&[], end)
    }

    /// Writes `chunk` of the action's output, then `end`, in one call (none
    /// when both are empty).
    fn write(&mut self, chunk: &[u8], end: End<'_>) -> Written {
        if !chunk.is_empty() {
            self.at_line_start = chunk.ends_with(b"\n");
        }
        let line_break: &[u8] = if end.finish_line && !self.at_line_start {
            self.at_line_start = true;
            b"\n"
        } else {
            b""
        };
        if !end.tail.is_empty() {
            self.at_line_start = end.tail.ends_with(b"\n");
        }
        self.sink
            .write(self.real.as_raw_fd(), [chunk, line_break, end.tail])
    }
}

/// What ends a stream's output for an activation.
#[derive(Clone, Copy)]
struct End<'a> {
    /// Written last.
    tail: &'a [u8],
    /// Whether a line left unfinished gets its `\n` first.
    finish_line: bool,
}

impl End<'_> {
    /// Nothing: output forwarded in the middle of an activation. Writes no
    /// bytes and leaves the line state as it is.
    const NONE: End<'static> = End {
        tail: b"",
        finish_line: false,
    };
}

/// The helper thread: forwards the action's output [`DEFER`] after it comes,
/// so a chatty action never fills the pipes, and serves the watch.
fn helper_loop(streams: Option<&Mutex<[Stream; 2]>>, watch: Option<&dyn Watch>) {
    let mut buf = vec![MaybeUninit::uninit(); 64 * 1024];
    // When output has been seen: by when it is forwarded. Until then the
    // pipes are left out of the `poll`, which would return at once.
    let mut due: Option<Instant> = None;
    loop {
        let [out, err] = match (streams, due) {
            (Some(streams), None) => {
                let streams = lock(streams);
                [poll_fd(&streams[0]), poll_fd(&streams[1])]
            }
            _ => [pollin(-1), pollin(-1)],
        };
        let (watched, mut timeout) = watch.map_or((-1, -1), Watch::next_wait);
        if let Some(due) = due {
            let left = millis_until(due);
            timeout = if timeout < 0 { left } else { timeout.min(left) };
        } else if out.fd < 0 && err.fd < 0 && watched < 0 {
            return; // Both streams were closed for good, nothing to watch.
        }
        let mut fds = [out, err, pollin(watched)];
        // SAFETY: `fds` is a valid array of three pollfd structs (poll
        // skips negative descriptors).
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            continue; // EINTR
        }
        if let Some(streams) = streams {
            if fds[..2].iter().any(|fd| fd.revents != 0) {
                due = Some(Instant::now() + DEFER);
            } else if due.is_some_and(|due| Instant::now() >= due) {
                due = None;
                for stream in lock(streams).iter_mut() {
                    stream.forward(&mut buf, End::NONE);
                }
            }
        }
        if let Some(watch) = watch {
            watch.woken(fds[2].revents != 0);
        }
    }
}

/// Milliseconds from now until `due`, rounded up (for `poll`).
pub(super) fn millis_until(due: Instant) -> i32 {
    let left = due.saturating_duration_since(Instant::now());
    left.as_micros()
        .div_ceil(1000)
        .try_into()
        .unwrap_or(i32::MAX)
}

/// The two streams, whoever else panicked holding them.
fn lock(streams: &Mutex<[Stream; 2]>) -> std::sync::MutexGuard<'_, [Stream; 2]> {
    streams.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits for input on a stream's pipe while it is open.
fn poll_fd(stream: &Stream) -> libc::pollfd {
    pollin(if stream.open {
        stream.read.as_raw_fd()
    } else {
        -1
    })
}

/// Waits for input on `fd` (`poll` skips a negative one).
fn pollin(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// An epoll instance that reports input on `fds` (level-triggered, each
/// event's `u64` being its index in `fds`).
fn watch_input(fds: [&OwnedFd; 2]) -> io::Result<OwnedFd> {
    // SAFETY: epoll_create1 returns a new descriptor, or -1.
    let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epoll < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `epoll` was just created and is owned by nobody else.
    let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
    for (index, fd) in fds.into_iter().enumerate() {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: index as u64,
        };
        // SAFETY: adds a valid descriptor to a valid epoll instance.
        let added = unsafe {
            libc::epoll_ctl(
                epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &mut event,
            )
        };
        if added < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(epoll)
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by us.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a valid descriptor.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
