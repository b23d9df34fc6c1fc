//! The three ways a request reaches the [`Core`]: HTTP, OpenWhisk's
//! ActionLoop proxy, and the dockerskeleton's exec. Each has one `serve`:
//! `serve(its descriptors, core, config, runtime) -> ExitCode`.

pub(crate) mod actionloop;
pub(crate) mod exec;
pub(crate) mod http;

use std::fs::File;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use crate::action::Action;
use crate::config::{Config, Mode};
use crate::core::Core;
use crate::os::fd;
use crate::os::logs::Watch;

/// The mode a process started without `WHISK_MODE` is in: ActionLoop when
/// fd 3 is an open pipe, exec when there is an argument or piped input,
/// HTTP otherwise.
pub(crate) fn detect() -> Mode {
    if actionloop::detected() {
        Mode::ActionLoop
    } else if exec::detected() {
        Mode::Exec
    } else {
        Mode::Http
    }
}

/// A transport with its descriptors open, before the runtime starts.
pub(crate) enum Transport {
    /// The listening socket (and the busy window's clone of it).
    Http(http::Listening),
    /// fd 3, the result pipe.
    ActionLoop(File),
    /// The activation's input, read before the runtime starts.
    Exec(Vec<u8>),
}

impl Transport {
    /// Opens what `mode` serves on, first of all: HTTP listens at once, so
    /// that a client's connect succeeds while the rest starts; ActionLoop
    /// takes fd 3 before the runtime opens a descriptor of its own. A
    /// failure is reported here, with the exit status.
    pub(crate) fn open(mode: Mode, config: &Config) -> Result<Transport, ExitCode> {
        match mode {
            Mode::Http => match http::listen(config) {
                Ok(listening) => {
                    if std::io::stderr().is_terminal() {
                        eprintln!("whisk: listening on {}", listening.local_addr());
                    }
                    Ok(Transport::Http(listening))
                }
                Err(e) => {
                    eprintln!("whisk: cannot serve HTTP on {}: {e}", config.addr);
                    Err(ExitCode::FAILURE)
                }
            },
            Mode::ActionLoop => match fd::take_result_pipe() {
                Ok(results) => Ok(Transport::ActionLoop(results)),
                Err(_) => {
                    eprintln!(
                        "whisk: ActionLoop mode needs the result pipe on fd 3, as OpenWhisk's \
                         ActionLoop proxy passes it, and fd 3 is not open (start the binary from \
                         the proxy, or set WHISK_MODE=http or exec)"
                    );
                    Err(ExitCode::from(2))
                }
            },
            Mode::Exec => exec::input().map(Transport::Exec),
        }
    }

    /// What the helper thread serves for the transport (the busy
    /// responder, HTTP without concurrency).
    pub(crate) fn watch(&self) -> Option<Arc<dyn Watch>> {
        match self {
            Transport::Http(listening) => listening.watch(),
            _ => None,
        }
    }

    /// Serves `action` until the transport is done; the process's exit
    /// status. Concurrency is HTTP's alone: the proxies send one
    /// activation at a time.
    pub(crate) fn serve<A: Action>(
        self,
        action: A,
        config: &Config,
        runtime: &tokio::runtime::Runtime,
    ) -> ExitCode {
        match self {
            Transport::Http(listening) => http::serve(
                listening,
                Core::new(action, config.concurrent),
                config,
                runtime,
            ),
            Transport::ActionLoop(results) => {
                actionloop::serve(results, Core::new(action, false), config, runtime)
            }
            Transport::Exec(input) => exec::serve(input, Core::new(action, false), config, runtime),
        }
    }
}
