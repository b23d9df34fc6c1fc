//! The entry points: [`run`] and [`run_with`].

use std::process::ExitCode;

use crate::action::Action;
use crate::config::Config;
use crate::os::logs;
use crate::transport::{self, Transport};

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
/// In HTTP mode the server listens on `WHISK_HOST` and `WHISK_PORT` (default `0.0.0.0:8080`,
/// every interface, as a container's port must be reachable from the
/// invoker). Nothing is printed at start-up, except one
/// `whisk: listening on ADDR` line on stderr when stderr is a terminal (a
/// run by hand; never in a container, where start-up output would land in
/// the first activation's logs). A setting that cannot be used is reported
/// on stderr with exit status 2. In ActionLoop mode the runtime takes
/// descriptor 3 (the proxy's result pipe) as its own: nothing else in the
/// process may use it.
///
/// ```no_run
/// # extern crate whisk_runtime as whisk;
/// use whisk::{Context, run, sync_fn};
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
/// # extern crate whisk_runtime as whisk;
/// use whisk::{Config, Context, Mode, run_with, sync_fn};
/// use serde_json::Value;
///
/// let mut config = Config::from_env().unwrap();
/// config.mode = Some(Mode::Http);
/// config.addr = "127.0.0.1:9000".parse().unwrap();
/// run_with(config, sync_fn(|v: Value, _: Context| Ok::<_, String>(v)));
/// ```
pub fn run_with<A: Action>(config: Config, action: A) -> ExitCode {
    let mode = config.mode.unwrap_or_else(transport::detect);
    // Before anything else: the transport's own descriptors (see
    // `Transport::open`).
    let transport = match Transport::open(mode, &config) {
        Ok(transport) => transport,
        Err(status) => return status,
    };
    if let Err(e) = logs::install(transport.watch()) {
        eprintln!("whisk: cannot start the runtime's helper thread: {e}");
        return ExitCode::FAILURE;
    }
    // One thread serves everything: sync actions run in place (see
    // `transport/http/busy.rs` for how overlapping requests are still
    // refused).
    let runtime = match build_runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("whisk: cannot start the async runtime: {e}");
            // The message went into the log pipe: forward it before exiting.
            logs::drain();
            return ExitCode::FAILURE;
        }
    };
    let status = transport.serve(action, &config, &runtime);
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
        Err(panic) => Err(crate::core::panic_message(&panic)),
    }
}
