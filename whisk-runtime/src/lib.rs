//! The runtime behind [`whisk`](https://docs.rs/whisk): the OpenWhisk action
//! protocol and its three transports.
//!
//! Most users never name this crate: `#[whisk::action]` expands to a call of
//! [`run`](fn@run). Use it directly to serve an action without the attribute, the
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
mod busy;
mod config;
mod context;
mod drain;
mod error;
mod exec;
mod export;
mod guard;
mod http;
mod logs;
mod metadata;
mod params;
mod run;
mod shutdown;
mod socket;
mod state;
mod timerfd;
mod trace;

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
    //!
    //! The attribute only adapts the signature: it passes the function to
    //! [`run_sync`] or [`run_async`] with every type of the signature spelled out
    //! as a generic argument, carrying the span of the user's token. A bound
    //! that fails is then reported once, at that token, with the message of
    //! the marker trait below that says what an action needs.

    use std::future::Future;
    use std::process::ExitCode;

    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use crate::{Context, IntoErrorValue};

    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be an action's parameters: it does not implement `serde::Deserialize`",
        label = "the parameters must implement `serde::de::DeserializeOwned`",
        note = "add `#[derive(serde::Deserialize)]` to the type, or take `serde_json::Value`"
    )]
    pub trait ActionParams: DeserializeOwned {}
    impl<T: DeserializeOwned> ActionParams for T {}

    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be an action's output: it does not implement `serde::Serialize`",
        label = "the output must implement `serde::Serialize`",
        note = "add `#[derive(serde::Serialize)]` to the type, or return `serde_json::Value`"
    )]
    pub trait ActionOutput: Serialize {}
    impl<T: Serialize> ActionOutput for T {}

    #[diagnostic::on_unimplemented(
        message = "the second parameter of an action must be `whisk::Context`, not `{Self}`",
        label = "expected `whisk::Context`"
    )]
    pub trait ActionContext {
        /// The context as the action takes it.
        fn from_context(ctx: Context) -> Self;
    }
    impl ActionContext for Context {
        fn from_context(ctx: Context) -> Self {
            ctx
        }
    }

    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be an action's result: an action returns `Result<Output, Error>`",
        label = "expected `Result<Output, Error>`",
        note = "return `Result<O, E>` with `O: serde::Serialize`, and `E: std::fmt::Display` or `whisk::Error`"
    )]
    pub trait ActionResult {
        /// `O` of `Result<O, E>`.
        type Output;
        /// `E` of `Result<O, E>`.
        type Error;
        /// The result as the runtime takes it (through an alias, say).
        fn into_result(self) -> Result<Self::Output, Self::Error>;
    }
    impl<O, E> ActionResult for Result<O, E> {
        type Output = O;
        type Error = E;
        fn into_result(self) -> Self {
            self
        }
    }

    /// Serves `f(params, ctx) -> R` (a sync action) with [`run`](fn@crate::run);
    /// `inline` is `#[whisk::action(inline)]` ([`SyncFn::inline`](crate::SyncFn::inline)),
    /// and `reads_context` is false when the user's function takes no
    /// `Context` (`f` then ignores it), so that the runtime need not read the
    /// activation's metadata for it
    /// ([`Action::reads_context`](crate::Action::reads_context)).
    ///
    /// Only `F`'s bound involves the function itself, and it holds by
    /// construction; the others check one type of the signature each. The
    /// result is a plain `ExitCode`: an `impl Action` would check the bounds
    /// a second time, at the span of the whole call.
    pub fn run_sync<P, C, R, O, E, F>(inline: bool, reads_context: bool, f: F) -> ExitCode
    where
        P: ActionParams + Send + 'static,
        C: ActionContext,
        R: ActionResult<Output = O, Error = E>,
        O: ActionOutput,
        E: IntoErrorValue,
        F: Fn(P, C) -> R + Send + Sync + 'static,
    {
        crate::run(placed(
            inline,
            crate::sync_fn(move |params: P, ctx: Context| {
                f(params, C::from_context(ctx)).into_result()
            })
            .reading_context(reads_context),
        ))
    }

    /// The action, [`inline`](crate::SyncFn::inline) when asked.
    fn placed<F, P>(inline: bool, action: crate::SyncFn<F, P>) -> crate::SyncFn<F, P> {
        if inline { action.inline() } else { action }
    }

    /// Serves `async f(params, ctx) -> R` (an async action) with
    /// [`run`](fn@crate::run); `reads_context` as for [`run_sync`].
    pub fn run_async<P, C, R, O, E, F, Fut>(reads_context: bool, f: F) -> ExitCode
    where
        P: ActionParams + Send + 'static,
        C: ActionContext,
        R: ActionResult<Output = O, Error = E>,
        O: ActionOutput,
        E: IntoErrorValue,
        F: Fn(P, C) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
    {
        crate::run(
            crate::async_fn(move |params: P, ctx: Context| {
                let future = f(params, C::from_context(ctx));
                async move { future.await.into_result() }
            })
            .reading_context(reads_context),
        )
    }

    #[diagnostic::on_unimplemented(
        message = "the last parameter of an action with `init = ...` must be `whisk::State<S>`, not `{Self}`",
        label = "expected `whisk::State<S>`, where `S` is what the init function returns"
    )]
    pub trait ActionState: Send + 'static {
        /// `S` of `State<S>`.
        type Inner: Send + Sync + 'static;
        /// The state as the action takes it.
        fn from_state(state: crate::State<Self::Inner>) -> Self;
    }
    impl<S: Send + Sync + 'static> ActionState for crate::State<S> {
        type Inner = S;
        fn from_state(state: crate::State<S>) -> Self {
            state
        }
    }

    /// Serves a sync action whose state `init` builds once
    /// (`#[whisk::action(init = ...)]`); `inline` and `reads_context` as for
    /// [`run_sync`].
    pub fn run_sync_with_state<P, C, St, R, O, E, F, I, M>(
        inline: bool,
        reads_context: bool,
        init: I,
        f: F,
    ) -> ExitCode
    where
        P: ActionParams + Send + 'static,
        C: ActionContext,
        St: ActionState,
        R: ActionResult<Output = O, Error = E>,
        O: ActionOutput,
        E: IntoErrorValue,
        F: Fn(P, C, St) -> R + Send + Sync + 'static,
        I: crate::InitFn<St::Inner, M>,
        M: 'static,
    {
        let f = std::sync::Arc::new(f);
        crate::run(crate::stateful(
            init,
            move |state: crate::State<St::Inner>| {
                let f = std::sync::Arc::clone(&f);
                placed(
                    inline,
                    crate::sync_fn(move |params: P, ctx: Context| {
                        f(params, C::from_context(ctx), St::from_state(state.clone())).into_result()
                    })
                    .reading_context(reads_context),
                )
            },
        ))
    }

    /// Serves an async action whose state `init` builds once
    /// (`#[whisk::action(init = ...)]`); `reads_context` as for [`run_sync`].
    pub fn run_async_with_state<P, C, St, R, O, E, F, Fut, I, M>(
        reads_context: bool,
        init: I,
        f: F,
    ) -> ExitCode
    where
        P: ActionParams + Send + 'static,
        C: ActionContext,
        St: ActionState,
        R: ActionResult<Output = O, Error = E>,
        O: ActionOutput,
        E: IntoErrorValue,
        F: Fn(P, C, St) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        I: crate::InitFn<St::Inner, M>,
        M: 'static,
    {
        let f = std::sync::Arc::new(f);
        crate::run(crate::stateful(
            init,
            move |state: crate::State<St::Inner>| {
                let f = std::sync::Arc::clone(&f);
                crate::async_fn(move |params: P, ctx: Context| {
                    let future = f(params, C::from_context(ctx), St::from_state(state.clone()));
                    async move { future.await.into_result() }
                })
                .reading_context(reads_context)
            },
        ))
    }

    /// Installs the `tracing` subscriber (`#[whisk::action(tracing)]`).
    #[cfg(feature = "tracing")]
    pub fn init_tracing() {
        crate::tracing::init();
    }

    /// Without the `tracing` feature there is no subscriber to install.
    #[cfg(not(feature = "tracing"))]
    #[deprecated(note = "`#[whisk::action(tracing)]` needs whisk's `tracing` feature")]
    pub fn init_tracing() {}
}
