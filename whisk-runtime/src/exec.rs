//! The exec transport of OpenWhisk's dockerskeleton: the `value` as JSON in
//! `argv[1]` (or on stdin when it is too long for an argument), the metadata
//! in `__OW_*` variables, and the result as the last line of stdout.

use std::io::{self, IsTerminal, Read};
use std::process::ExitCode;

use crate::action::Action;
use crate::activation::{Core, Kind};
use crate::context::Context;
use crate::logs::{self, Tail};

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
    // SAFETY: fstat on fd 0 only fills `stat`.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(0, &mut stat) } != 0 {
        return false;
    }
    matches!(stat.st_mode & libc::S_IFMT, libc::S_IFIFO | libc::S_IFREG)
}

/// The exit status when the result could not be written to stdout
/// (`EX_IOERR` of `sysexits.h`).
pub(crate) const NOT_DELIVERED: u8 = 74;

/// Runs one activation. Exit status: 0 on success, 1 when the action failed
/// (`{"error":...}` is printed, or for a developer error its message as a
/// JSON string), 2 when the input was not usable, 74 when the result could
/// not be written to stdout.
pub(crate) fn serve<A: Action>(core: &Core<A>, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let input = match std::env::args_os().nth(1) {
        Some(arg) => arg.into_encoded_bytes(),
        None => {
            let mut buf = Vec::new();
            if let Err(e) = io::stdin().read_to_end(&mut buf) {
                eprintln!("whisk: cannot read the input from stdin: {e}");
                return ExitCode::from(2);
            }
            buf
        }
    };
    let outcome = runtime.block_on(core.run_value(&input, Context::from_env()));
    // The dockerskeleton echoes a line that is not an object to stdout,
    // in the activation's logs, and answers 502.
    let mut line = outcome.proxy_line();
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
