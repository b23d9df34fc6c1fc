//! How the real stdout and stderr take the output the pump forwards: a
//! stream nobody reads holds nothing up for more than [`STUCK_AFTER`], and
//! what was dropped is said once it is read again ([`Sink`]).

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use super::millis_until;

/// How long a real stream that takes nothing (its pipe full, nobody
/// reading) holds up a write before the output is dropped.
pub(crate) const STUCK_AFTER: Duration = Duration::from_secs(2);

/// What became of a write to a real stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// All of it.
    All,
    /// Not all: the stream took nothing for [`STUCK_AFTER`] (or was already
    /// stuck), or is gone (no reader, closed).
    Dropped,
}

/// A real stream's state: whether it is stuck, and what was dropped.
///
/// The policy for a stream nobody reads: a write waits for it at most
/// [`STUCK_AFTER`]; then the rest is dropped and the stream is stuck, and
/// while it is, output is written only as far as the stream takes it at
/// once (no waiting), the rest dropped and counted. So `/init`, `/run`,
/// other requests and SIGTERM are never held up longer than that, and the
/// pipes in front of fd 1 and fd 2 are still emptied (an action's `print!`
/// never blocks on them). Nothing is reordered: what is written is written
/// in order, whole or up to where it was cut. Once the stream takes output
/// again, a line says how much was lost, after a line break if it was cut
/// mid-line.
#[derive(Default)]
pub(super) struct Sink {
    stuck: bool,
    /// Bytes dropped since the stream was last written to.
    dropped: u64,
    /// Whether the last byte written was not a line break.
    mid_line: bool,
}

impl Sink {
    /// Writes `parts` to `fd` under the policy above.
    pub(super) fn write(&mut self, fd: RawFd, parts: [&[u8]; 3]) -> Written {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if total == 0 {
            return Written::All;
        }
        if self.dropped > 0 {
            // Taken again? Then first the note, on a line of its own.
            let note = format!(
                "{}whisk: {} bytes of output were dropped: nobody read this stream for {} s\n",
                if self.mid_line { "\n" } else { "" },
                self.dropped,
                STUCK_AFTER.as_secs()
            );
            let (n, _) = write_all(fd, [note.as_bytes(), b"", b""], None);
            if n == note.len() {
                self.dropped = 0;
                self.stuck = false;
                self.mid_line = false;
            } else {
                // Nothing more fits: drop this too (a cut note is ended
                // by the next one's line break).
                self.mid_line |= n > 0;
                self.dropped += total as u64;
                return Written::Dropped;
            }
        }
        let wait = if self.stuck { None } else { Some(STUCK_AFTER) };
        let (n, gone) = write_all(fd, parts, wait);
        if n > 0 {
            let last = parts.iter().flat_map(|p| p.iter()).nth(n - 1).copied();
            self.mid_line = last != Some(b'\n');
        }
        if n == total {
            return Written::All;
        }
        if !gone {
            self.stuck = true;
            self.dropped += (total - n) as u64;
        }
        Written::Dropped
    }
}

/// Writes `parts`, in order, in one `write` or `writev` when the stream
/// takes it all, retrying short writes and EINTR. When the stream is full
/// (`EAGAIN`: our own non-blocking pipe, or a parent's left non-blocking),
/// waits for it at most `wait` in all (`None`: not at all). Returns how
/// many bytes were written, and whether the stream is gone (an error other
/// than a full stream: no reader, closed); logs must never kill the
/// action.
fn write_all(fd: RawFd, parts: [&[u8]; 3], wait: Option<Duration>) -> (usize, bool) {
    let deadline = wait.map(|wait| Instant::now() + wait);
    let mut slices = [IoSlice::new(&[]); 3];
    let mut n = 0;
    for part in parts.into_iter().filter(|part| !part.is_empty()) {
        slices[n] = IoSlice::new(part);
        n += 1;
    }
    let mut slices = &mut slices[..n];
    let mut done = 0;
    while !slices.is_empty() {
        let written = match slices {
            // SAFETY: writing from a live slice to a descriptor.
            [one] => unsafe { libc::write(fd, one.as_ptr().cast(), one.len()) },
            // SAFETY: `IoSlice` is ABI-compatible with `iovec` on Unix; at
            // most three of them, all live.
            _ => unsafe { libc::writev(fd, slices.as_ptr().cast(), slices.len() as libc::c_int) },
        };
        if written > 0 {
            IoSlice::advance_slices(&mut slices, written as usize);
            done += written as usize;
            continue;
        }
        match io::Error::last_os_error().kind() {
            _ if written == 0 => return (done, true),
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock => {
                let Some(deadline) = deadline else {
                    return (done, false);
                };
                let left = millis_until(deadline);
                if left == 0 {
                    return (done, false);
                }
                let mut writable = libc::pollfd {
                    fd,
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one valid pollfd. An error or a hang-up shows in
                // the next write.
                unsafe { libc::poll(&mut writable, 1, left) };
            }
            _ => return (done, true),
        }
    }
    (done, false)
}

/// The real stream `fd` opened anew, non-blocking, when it is a pipe (what
/// a container's stdout and stderr are): a file description of our own,
/// so that `O_NONBLOCK` changes nothing for the parent or anyone sharing
/// the old one, and a write to a pipe nobody reads never blocks (the
/// policy of [`Sink`]). `None` for anything else (a file keeps its offset
/// and `O_APPEND`; a terminal), or without `/proc`.
pub(super) fn reopen_nonblocking(fd: RawFd) -> Option<OwnedFd> {
    if !crate::os::fd::is_pipe(fd) {
        return None;
    }
    let path = std::ffi::CString::new(format!("/proc/self/fd/{fd}")).ok()?;
    // SAFETY: opens a path; the result is a new descriptor or -1. With
    // O_NONBLOCK, opening a pipe without a reader fails (ENXIO) rather
    // than waits.
    let reopened = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if reopened < 0 {
        return None;
    }
    // SAFETY: just opened, owned by nobody else.
    let reopened = unsafe { OwnedFd::from_raw_fd(reopened) };
    // Above fd 2, as the duplicate was (a stream closed at start would
    // otherwise be reused).
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor we own, or -1.
    let high = unsafe { libc::fcntl(reopened.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    // SAFETY: as above.
    (high >= 0).then(|| unsafe { OwnedFd::from_raw_fd(high) })
}
