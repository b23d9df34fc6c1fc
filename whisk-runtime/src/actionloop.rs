//! The ActionLoop transport: OpenWhisk's Go proxy starts the binary with fd 3
//! open, writes one request line per activation on stdin and reads one result
//! line from fd 3.

use std::fs::File;
use std::io::{self, BufRead, Write};
use std::os::fd::FromRawFd;

use axum::body::Bytes;

use crate::action::Action;
use crate::activation::Core;
use crate::logs::{self, Tail};

/// The descriptor the proxy reads results from.
pub(crate) const RESULT_FD: i32 = 3;

/// Whether fd 3 is an open pipe, as the ActionLoop proxy leaves it.
pub(crate) fn detected() -> bool {
    // SAFETY: fstat on a descriptor number only fills `stat`.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::fstat(RESULT_FD, &mut stat) } == 0;
    ok && (stat.st_mode & libc::S_IFMT) == libc::S_IFIFO
}

/// Whether fd 3 is open at all (any kind of file): checked before the log
/// pump starts, which would otherwise take the free number 3 for its copy
/// of stdout, and the results would go into the logs.
pub(crate) fn result_fd_open() -> bool {
    // SAFETY: F_GETFD on a descriptor number only reads its flags.
    unsafe { libc::fcntl(RESULT_FD, libc::F_GETFD) >= 0 }
}

/// How the loop ended without an I/O error.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// stdin reached EOF: the proxy is done with us.
    Eof,
    /// Building the action's state failed (logged on stderr).
    InitFailed,
}

/// Serves activations until stdin ends.
pub(crate) fn serve<A: Action>(
    core: &Core<A>,
    runtime: &tokio::runtime::Runtime,
) -> io::Result<Ended> {
    // SAFETY: fcntl on a descriptor number only changes its flags. The
    // result pipe's write end is ours alone: make it blocking (a parent may
    // leave O_NONBLOCK set, and a result larger than the pipe would then
    // fail with EAGAIN) and close-on-exec (a process the action starts must
    // not hold it open, nor write into it).
    unsafe {
        let flags = libc::fcntl(RESULT_FD, libc::F_GETFL);
        if flags >= 0 && flags & libc::O_NONBLOCK != 0 {
            libc::fcntl(RESULT_FD, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
        libc::fcntl(RESULT_FD, libc::F_SETFD, libc::FD_CLOEXEC);
    }
    // SAFETY: fd 3 is the result pipe the proxy handed us; nothing else
    // in the process owns it.
    let mut results = io::BufWriter::new(unsafe { File::from_raw_fd(RESULT_FD) });
    // Shared state is built before the ack: a failure (already logged on
    // stderr) ends the process, which the proxy reports as a failed start
    // (`Command exited abruptly during initialization.` with the ack,
    // `command exited` without).
    if runtime.block_on(core.prepare()).is_err() {
        return Ok(Ended::InitFailed);
    }
    if std::env::var_os("__OW_WAIT_FOR_ACK").is_some_and(|v| !v.is_empty()) {
        results.write_all(b"{\"ok\":true}\n")?;
        results.flush()?;
    }
    let mut stdin = io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        if stdin.read_until(b'\n', &mut line)? == 0 {
            return Ok(Ended::Eof);
        }
        // Moved, not copied: the metadata may be read in place.
        let body = Bytes::from(std::mem::take(&mut line));
        let outcome = runtime.block_on(core.run_envelope(&body));
        // The proxy answers a developer error with its own text: the
        // message goes to stderr, in the activation's logs.
        if let Some(message) = outcome.failure() {
            eprintln!("{message}");
        }
        // The proxy writes its sentinels as soon as it reads fd 3, so the
        // action's output must be out (and its lines finished) before.
        logs::end_activation(Tail::LineBreaks);
        results.write_all(&outcome.proxy_line())?;
        results.write_all(b"\n")?;
        results.flush()?;
    }
}
