//! The standard descriptors the transports look at: what fd 0 and fd 3 are
//! (mode detection), and fd 3 taken as the ActionLoop result pipe.

use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, RawFd};

/// The descriptor OpenWhisk's ActionLoop proxy reads results from.
pub(crate) const RESULT_FD: RawFd = 3;

/// The file type bits (`S_IFMT`) of an open descriptor, `None` if closed.
fn file_type(fd: RawFd) -> Option<libc::mode_t> {
    // SAFETY: `stat` is plain data, valid all zero; fstat only fills it,
    // and refuses a descriptor number that is not open.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `stat` is a live, writable `struct stat`.
    let ok = unsafe { libc::fstat(fd, &mut stat) } == 0;
    ok.then_some(stat.st_mode & libc::S_IFMT)
}

/// Whether `fd` is an open pipe (a FIFO).
pub(crate) fn is_pipe(fd: RawFd) -> bool {
    file_type(fd) == Some(libc::S_IFIFO)
}

/// Whether `fd` is an open pipe or regular file (input piped or redirected).
pub(crate) fn is_pipe_or_file(fd: RawFd) -> bool {
    matches!(file_type(fd), Some(libc::S_IFIFO | libc::S_IFREG))
}

/// Takes fd 3 as the ActionLoop result pipe: blocking (a parent may leave
/// `O_NONBLOCK` set, and a result larger than the pipe would then fail with
/// `EAGAIN`) and close-on-exec (a process the action starts must not hold
/// it open, nor write into it). Called before the runtime opens any
/// descriptor of its own (the log capture's copies would take fd 3 when it
/// is free), so an open fd 3 is the one the process inherited, which
/// `run` documents it takes in ActionLoop mode.
pub(crate) fn take_result_pipe() -> io::Result<File> {
    // SAFETY: fcntl on a descriptor number reads or changes its flags, no
    // memory; it fails on a number that is not open.
    let flags = unsafe { libc::fcntl(RESULT_FD, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::O_NONBLOCK != 0 {
        // SAFETY: as above.
        unsafe { libc::fcntl(RESULT_FD, libc::F_SETFL, flags & !libc::O_NONBLOCK) };
    }
    // SAFETY: as above.
    unsafe { libc::fcntl(RESULT_FD, libc::F_SETFD, libc::FD_CLOEXEC) };
    // SAFETY: fd 3 is open (F_GETFL succeeded) and inherited: nothing in
    // the runtime has opened a descriptor yet, and `run` takes fd 3 in
    // ActionLoop mode by its documented contract, so the `File` is its
    // only owner.
    Ok(unsafe { File::from_raw_fd(RESULT_FD) })
}
