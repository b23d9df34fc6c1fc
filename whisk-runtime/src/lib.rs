//! The runtime behind [`whisk`](https://docs.rs/whisk): the OpenWhisk action
//! protocol and its three transports.
//!
//! Most users never name this crate: `#[whisk::action]` expands to a call of
//! [`run`]. Use it directly to serve an action without the attribute, the
//! way Go's `ow.RegisterAction` does:
//!
//! ```no_run
//! use whisk_runtime::{Context, Error, run, sync_fn};
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
//! `PROTOCOL.md` and README.

#![warn(missing_docs)]

mod action;
mod actionloop;
mod activation;
mod config;
mod context;
mod error;
mod exec;
mod http;
mod logs;
mod run;
mod shutdown;
mod state;
mod trace;
pub mod web;

#[cfg(feature = "tracing")]
#[path = "logging.rs"]
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
/// assert_eq!(whisk_runtime::SENTINEL, "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX");
/// ```
pub const SENTINEL: &str = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

#[path = "bench.rs"]
pub mod __bench;

#[doc(hidden)]
pub mod __private {
    //! Used by the code `#[whisk::action]` generates; not a public API.
    //! Each check carries a message that says what an action needs.
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be an action's parameters: it does not implement `serde::Deserialize`",
        label = "the parameters must implement `serde::de::DeserializeOwned`",
        note = "add `#[derive(serde::Deserialize)]` to the type, or take `serde_json::Value`"
    )]
    pub trait ActionParams {}
    impl<T: DeserializeOwned> ActionParams for T {}

    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be an action's output: it does not implement `serde::Serialize`",
        label = "the output must implement `serde::Serialize`",
        note = "add `#[derive(serde::Serialize)]` to the type, or return `serde_json::Value`"
    )]
    pub trait ActionOutput {}
    impl<T: Serialize> ActionOutput for T {}

    #[diagnostic::on_unimplemented(
        message = "the second parameter of an action must be `whisk::Context`, not `{Self}`",
        label = "expected `whisk::Context`"
    )]
    pub trait ActionContext {}
    impl ActionContext for crate::Context {}

    /// Checks the parameter type at its own span.
    pub fn assert_params<T: ActionParams>() {}
    /// Checks the output type at its own span.
    pub fn assert_output<T: ActionOutput>() {}
    /// Checks the error type at its own span.
    pub fn assert_error<T: crate::IntoErrorValue>() {}
    /// Checks the context type at its own span.
    pub fn assert_context<T: ActionContext>() {}
}
