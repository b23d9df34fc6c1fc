//! The ActionLoop transport: OpenWhisk's Go proxy starts the binary with fd 3
//! open, writes one request line per activation on stdin and reads one result
//! line from fd 3.

use std::fs::File;
use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use axum::body::Bytes;

use crate::action::Action;
use crate::config::Config;
use crate::core::Core;
use crate::os::fd::{self, RESULT_FD};
use crate::os::logs::{self, Tail};

/// Whether fd 3 is an open pipe, as the ActionLoop proxy leaves it.
pub(crate) fn detected() -> bool {
    fd::is_pipe(RESULT_FD)
}

/// How the loop ended without an I/O error.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// stdin reached EOF: the proxy is done with us.
    Eof,
    /// Building the action's state failed (logged on stderr).
    InitFailed,
}

/// Serves activations until stdin ends, writing each result line to
/// `results` (fd 3, [`fd::take_result_pipe`]).
pub(crate) fn serve<A: Action>(
    results: File,
    core: Core<A>,
    _config: &Config,
    runtime: &tokio::runtime::Runtime,
) -> ExitCode {
    match serve_lines(results, &core, runtime) {
        Ok(Ended::Eof) => ExitCode::SUCCESS,
        Ok(Ended::InitFailed) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("whisk: the ActionLoop connection failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The loop of [`serve`]: one request line in, one result line out.
fn serve_lines<A: Action>(
    results: File,
    core: &Core<A>,
    runtime: &tokio::runtime::Runtime,
) -> io::Result<Ended> {
    let mut results = io::BufWriter::new(results);
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
