//! The exec transport of OpenWhisk's dockerskeleton: the `value` as JSON in
//! `argv[1]` (or on stdin when it is too long for an argument), the metadata
//! in `__OW_*` variables, and the result as the last line of stdout.

use std::io::{self, IsTerminal, Read};
use std::process::ExitCode;

use crate::action::Action;
use crate::config::Config;
use crate::context::Context;
use crate::core::{Core, Kind};
use crate::os::logs::{self, Tail};

/// Whether the process looks like a dockerskeleton exec: an argument, or
/// input piped or redirected on stdin.
pub(crate) fn detected() -> bool {
    if std::env::args_os().nth(1).is_some() {
        return true;
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return false;
    }
    crate::os::fd::is_pipe_or_file(0)
}

/// The activation's input: `argv[1]`, or stdin when there is no argument;
/// exit status 2 when stdin cannot be read.
pub(crate) fn input() -> Result<Vec<u8>, ExitCode> {
    match std::env::args_os().nth(1) {
        Some(arg) => Ok(arg.into_encoded_bytes()),
        None => {
            let mut buf = Vec::new();
            if let Err(e) = io::stdin().read_to_end(&mut buf) {
                eprintln!("whisk: cannot read the input from stdin: {e}");
                return Err(ExitCode::from(2));
            }
            Ok(buf)
        }
    }
}

/// The exit status when the result could not be written to stdout
/// (`EX_IOERR` of `sysexits.h`).
pub(crate) const NOT_DELIVERED: u8 = 74;

/// Runs one activation on `input`. Exit status: 0 on success, 1 when the
/// action failed (`{"error":...}` is printed, or for a developer error its
/// message as a JSON string), 2 when the input was not usable, 74 when the
/// result could not be written to stdout.
pub(crate) fn serve<A: Action>(
    input: Vec<u8>,
    core: Core<A>,
    _config: &Config,
    runtime: &tokio::runtime::Runtime,
) -> ExitCode {
    let outcome = runtime.block_on(core.run_value(&input, Context::from_env()));
    // The dockerskeleton echoes a line that is not an object to stdout,
    // in the activation's logs, and answers 502.
    let mut line = outcome.proxy_line().into_owned();
    line.push(b'\n');
    if !logs::end_activation(Tail::Result(&line)) {
        eprintln!(
            "whisk: the result could not be written to stdout (closed, or not read for {} s): it was not delivered",
            logs::STUCK_AFTER.as_secs()
        );
        return ExitCode::from(NOT_DELIVERED);
    }
    match outcome.kind {
        Kind::Success => ExitCode::SUCCESS,
        Kind::BadRequest => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    }
}
