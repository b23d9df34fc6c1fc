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

/// Runs one activation on `input`. Exit status: 0 on success, 1 when the action failed
/// (`{"error":...}` is printed), 2 when the input was not usable.
pub(crate) fn serve<A: Action>(
    input: Vec<u8>,
    core: Core<A>,
    _config: &Config,
    runtime: &tokio::runtime::Runtime,
) -> ExitCode {
    let outcome = runtime.block_on(core.run_value(&input, Context::from_env()));
    let mut line = outcome.body;
    line.push(b'\n');
    logs::end_activation(Tail::Result(&line));
    match outcome.kind {
        Kind::Success => ExitCode::SUCCESS,
        Kind::BadRequest => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    }
}
