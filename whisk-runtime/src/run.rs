//! The entry points: [`run`] and [`run_with`].

use std::process::ExitCode;

use crate::action::Action;
use crate::activation::Core;
use crate::busy::Responder;
use crate::config::{Config, Mode};
use crate::{actionloop, exec, http, logs};

/// Serves an action with the settings from the environment, in the mode the
/// process was started in, and returns the process exit status.
///
/// This is what `#[whisk::action]` expands to. The mode is `WHISK_MODE` when
/// set, otherwise:
///
/// 1. **ActionLoop** when fd 3 is an open pipe (OpenWhisk's Go proxy started us);
/// 2. **exec** when there is an argument, or stdin is a pipe or a file (the
///    dockerskeleton, or a local `reverse '{"payload":"hi"}'`);
/// 3. **HTTP** on `0.0.0.0:8080` otherwise (a container image's entrypoint).
///
/// Nothing is printed at start-up. A setting that cannot be used is reported
/// on stderr with exit status 2.
///
/// ```no_run
/// use whisk_runtime::{Context, run, sync_fn};
/// use serde_json::{Value, json};
///
/// fn main() -> std::process::ExitCode {
///     run(sync_fn(|v: Value, _: Context| Ok::<_, String>(json!({"echo": v}))))
/// }
/// ```
pub fn run<A: Action>(action: A) -> ExitCode {
    match Config::from_env() {
        Ok(config) => run_with(config, action),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// Serves an action with the given settings; see [`run`].
///
/// ```no_run
/// use whisk_runtime::{Config, Context, Mode, run_with, sync_fn};
/// use serde_json::Value;
///
/// let mut config = Config::from_env().unwrap();
/// config.mode = Some(Mode::Http);
/// config.addr = "127.0.0.1:9000".parse().unwrap();
/// run_with(config, sync_fn(|v: Value, _: Context| Ok::<_, String>(v)));
/// ```
pub fn run_with<A: Action>(config: Config, action: A) -> ExitCode {
    let mode = config.mode.unwrap_or_else(|| {
        if actionloop::detected() {
            Mode::ActionLoop
        } else if exec::detected() {
            Mode::Exec
        } else {
            Mode::Http
        }
    });
    if mode == Mode::ActionLoop && !actionloop::result_fd_open() {
        eprintln!(
            "whisk: ActionLoop mode needs the result pipe on fd 3, as OpenWhisk's ActionLoop \
             proxy passes it, and fd 3 is not open (start the binary from the proxy, or set \
             WHISK_MODE=http or exec)"
        );
        return ExitCode::from(2);
    }
    // HTTP: listen before anything else (see `http::listen`).
    let http = match mode {
        Mode::Http => match http::listen(&config)
            .and_then(|listener| Ok((http::responder(&listener, &config)?, listener)))
        {
            Ok(listening) => Some(listening),
            Err(e) => {
                eprintln!("whisk: cannot serve HTTP on {}: {e}", config.addr);
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let watch = http
        .as_ref()
        .and_then(|(responder, _)| responder.as_ref().map(Responder::watch));
    if let Err(e) = logs::install(watch) {
        eprintln!("whisk: cannot start the runtime's helper thread: {e}");
        return ExitCode::FAILURE;
    }
    // One thread serves everything: sync actions run in place (see
    // `busy.rs` for how overlapping requests are still refused).
    let runtime = match build_runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("whisk: cannot start the async runtime: {e}");
            // The message went into the log pipe: forward it before exiting.
            logs::drain();
            return ExitCode::FAILURE;
        }
    };
    // `http` is there exactly in HTTP mode.
    let status = if let Some((responder, listener)) = http {
        let mut core = Core::new(action, config.concurrent);
        if let Some(responder) = responder {
            core.set_responder(responder);
        }
        match runtime.block_on(http::serve(listener, core, &config)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("whisk: cannot serve HTTP on {}: {e}", config.addr);
                ExitCode::FAILURE
            }
        }
    } else if mode == Mode::ActionLoop {
        let core = Core::new(action, false);
        match actionloop::serve(&core, &runtime) {
            Ok(actionloop::Ended::Eof) => ExitCode::SUCCESS,
            Ok(actionloop::Ended::InitFailed) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("whisk: the ActionLoop connection failed: {e}");
                ExitCode::FAILURE
            }
        }
    } else {
        exec::serve(&Core::new(action, false), &runtime)
    };
    logs::drain();
    status
}

/// The server's one-thread runtime, or why it cannot start.
///
/// tokio reports most failures as an error, but its signal driver panics
/// when it cannot make its socket pair (out of descriptors, for one):
/// that, too, is an error here, said once, rather than a panic's
/// message, backtrace note and exit code 101.
fn build_runtime() -> Result<tokio::runtime::Runtime, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let built = std::panic::catch_unwind(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    });
    std::panic::set_hook(hook);
    match built {
        Ok(runtime) => runtime.map_err(|e| e.to_string()),
        Err(panic) => Err(crate::activation::panic_message(&panic)),
    }
}
