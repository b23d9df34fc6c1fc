//! The runtime behind [`whisk`](https://docs.rs/whisk-rs) (the `whisk-rs`
//! package): the OpenWhisk action protocol and its three transports.
//!
//! Most users never name this crate: `#[whisk::action]` expands to a call of
//! [`run`](fn@run). Use it directly to serve an action without the attribute, the
//! way Go's `ow.RegisterAction` does:
//!
//! ```no_run
//! # extern crate whisk_runtime as whisk;
//! use whisk::{Context, Error, run, sync_fn};
//! use serde_json::{Value, json};
//!
//! fn main() -> std::process::ExitCode {
//!     run(sync_fn(|params: Value, ctx: Context| -> Result<Value, Error> {
//!         Ok(json!({"params": params, "activation": ctx.activation_id()}))
//!     }))
//! }
//! ```
//!
//! One activation core (decode the request, call the action, encode the
//! result, map errors) serves every transport:
//!
//! * **HTTP** (`POST /init`, `POST /run` on port 8080) for container images;
//! * **ActionLoop**, as the child of OpenWhisk's Go proxy (`--native` zips);
//! * **exec**, as the dockerskeleton runs `/action/exec` (and for local runs).
//!
//! The exact protocol (status codes, bodies, sentinels) is in the project's
//! [docs/PROTOCOL.md](https://github.com/whisk-rs/whisk/blob/main/docs/PROTOCOL.md)
//! and [README](https://github.com/whisk-rs/whisk#readme).

#![warn(missing_docs)]
// docs.rs (nightly, `--cfg docsrs`): show the feature an item needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
// Every `unsafe` block is in `os/`, which allows it, each with a SAFETY
// comment saying why it holds.
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

/// The sentinel's text, written once: [`SENTINEL`], and the line the log
/// pump writes (`os/logs/mod.rs`).
macro_rules! sentinel {
    () => {
        "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
    };
}

mod action;
mod config;
mod context;
mod core;
mod error;
mod metadata;
mod os;
mod params;
mod run;
mod state;
mod transport;

/// Helpers shared by the unit tests.
#[cfg(test)]
mod test_util {
    /// A current-thread runtime whose clock only moves when every task
    /// waits (tokio's `test-util`): timing tests run instantly and exactly.
    pub(crate) fn paused_runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }
}
pub mod web;

#[cfg(feature = "tracing")]
pub mod tracing;

pub use action::{Action, AsyncFn, Invocation, SyncFn, async_fn, sync_fn};
pub use config::{Config, ConfigError, Mode};
pub use context::Context;
pub use error::{Error, IntoErrorValue};
pub use run::{run, run_with};
pub use state::{InitFn, State, Stateful, stateful};

/// The log line OpenWhisk waits for on stdout and stderr after each
/// activation; the runtime writes it, actions never need to.
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// assert_eq!(whisk::SENTINEL, "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX");
/// ```
pub const SENTINEL: &str = sentinel!();

#[path = "bench.rs"]
pub mod __bench;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
