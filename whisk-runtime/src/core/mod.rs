//! The activation core shared by every transport: decode the request, call the
//! action, encode the result, map errors. Transports only move bytes.

mod envelope;
pub(crate) mod outcome;
mod panic;
pub(crate) mod trace;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

use axum::body::Bytes;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::action::{Action, Invocation, Work};
use crate::context::Context;
use crate::metadata::Metadata;
use crate::os::env::Gate;
use crate::os::export::{Exports, MAX_EXPORTED};
use crate::params;

pub(crate) use envelope::{
    checked_value, decode, is_blank, parse_direct, parse_envelope, parse_init,
};
pub(crate) use outcome::{Kind, Outcome, SECOND_INIT};
pub(crate) use panic::{CatchUnwind, panic_message, panicked};

/// The protocol state of one action: whether it is initialized, which
/// `__OW_*` variables the last activation exported, and the gate that
/// keeps `/init`'s environment writes apart from running activations.
pub(crate) struct Core<A> {
    action: A,
    concurrent: bool,
    /// Whether `/init` succeeded; held across `/init` so two cannot race.
    initialized: tokio::sync::Mutex<bool>,
    exports: Mutex<Exports>,
    /// Held by each activation on the blocking pool, and by `/init` while
    /// it writes the environment.
    env: Gate,
}

/// How far [`Core::begin`] got with an activation without waiting.
pub(crate) enum Begun {
    /// Answered: the usual request to a sync action, run in place.
    Done(Outcome),
    /// The action has been called and left work to wait for (an async
    /// action, the blocking pool).
    Waiting(Started),
    /// Not the usual request: the general path, from the body.
    General,
}

impl<A: Action> Core<A> {
    pub(crate) fn new(action: A, concurrent: bool) -> Self {
        Core {
            action,
            concurrent,
            initialized: tokio::sync::Mutex::new(false),
            exports: Mutex::new(Exports::default()),
            env: Gate::default(),
        }
    }

    /// Handles `/init`: applies `env` once, then prepares the action (builds
    /// its state). A second call after a success is refused; after a failure
    /// it may try again.
    pub(crate) async fn init(&self, body: &[u8]) -> Outcome {
        let mut initialized = self.initialized.lock().await;
        if *initialized {
            eprintln!("{SECOND_INIT}");
            return Outcome::error(Kind::Rejected, SECOND_INIT);
        }
        let env = match parse_init(body) {
            Ok(env) => env,
            Err(outcome) => return outcome,
        };
        self.env.set_vars(env).await;
        if let Err(outcome) = self.prepare().await {
            return outcome;
        }
        *initialized = true;
        Outcome {
            kind: Kind::Success,
            body: br#"{"ok":true}"#.to_vec(),
        }
    }

    /// Builds what the action needs before its first activation, once. A
    /// failure is logged to stderr and is a developer error.
    pub(crate) async fn prepare(&self) -> Result<(), Outcome> {
        let Some(work) = self.action.prepare() else {
            return Ok(());
        };
        let failure = match CatchUnwind(work).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(value)) => value,
            Err(panic) => Value::String(panic_message(&panic)),
        };
        let text = match &failure {
            Value::String(s) => s.clone(),
            other => outcome::json_text(other),
        };
        eprintln!("The action failed to initialize: {text}");
        Err(Outcome::error_value(Kind::DeveloperError, &failure))
    }

    /// Runs one activation from a `/run` body (HTTP and ActionLoop).
    pub(crate) async fn run_envelope(&self, body: &Bytes) -> Outcome {
        let begun = self.begin(body);
        self.finish(begun, body).await
    }

    /// Does as much of a `/run` as it can without waiting; the HTTP
    /// transport so needs no box and no task for an activation that ends
    /// here, the usual one.
    ///
    /// The usual request, to an action that is ready: `value` decoded into
    /// the parameters in the pass that reads the envelope, rather than kept
    /// as text and read again; then the action is called, and a sync one
    /// that runs in place finishes. Anything unusual, from a bad body to
    /// parameters that do not fit, is left to the general path, which gives
    /// the exact answer (a request that fails here would fail there too, or
    /// succeed the same way).
    ///
    /// The metadata is read only for whoever needs it: the `__OW_*`
    /// variables (concurrency off), an action that takes a [`Context`], the
    /// activation's `tracing` span. Otherwise, as for an action without a
    /// `Context` under concurrency, the action gets an empty one, and the
    /// body's other keys are only checked to be JSON (BENCHMARKS.md,
    /// decisions).
    pub(crate) fn begin(&self, body: &Bytes) -> Begun {
        let metadata = !self.concurrent || self.action.reads_context() || trace::needs_id();
        let direct = match self.action.prepare() {
            None => parse_direct::<A::Params>(body, metadata),
            Some(_) => None,
        };
        let Some((params, metadata)) = direct else {
            return Begun::General;
        };
        if let Err(outcome) = self.export(&metadata) {
            return Begun::Done(outcome);
        }
        let started = self.start(|| Ok(params), Context::from_compact(metadata));
        match self.complete_now(started) {
            Ok(outcome) => Begun::Done(outcome),
            Err(started) => Begun::Waiting(started),
        }
    }

    /// Finishes what [`Core::begin`] began, `body` being the same.
    pub(crate) async fn finish(&self, begun: Begun, body: &[u8]) -> Outcome {
        match begun {
            Begun::Done(outcome) => outcome,
            Begun::Waiting(started) => self.complete(started).await,
            Begun::General => self.run_checked(body).await,
        }
    }

    /// The general path of [`Core::run_envelope`]: every check in the
    /// protocol's order, then `value` decoded from its text.
    async fn run_checked(&self, body: &[u8]) -> Outcome {
        let envelope = match parse_envelope(body) {
            Ok(envelope) => envelope,
            Err(outcome) => return outcome,
        };
        let value = match checked_value(envelope.value) {
            Ok(value) => value,
            Err(outcome) => return outcome,
        };
        if let Err(outcome) = self.prepare().await {
            return outcome;
        }
        if let Err(outcome) = self.export(&envelope.metadata) {
            return outcome;
        }
        self.call(|| decode(value), Context::from_compact(envelope.metadata))
            .await
    }

    /// Without concurrency, sets the `__OW_*` variables for the activation;
    /// `400` for a request with more keys than can be exported.
    fn export(&self, metadata: &Metadata) -> Result<(), Outcome> {
        if self.concurrent {
            return Ok(());
        }
        let mut exports = self.exports.lock().unwrap_or_else(|e| e.into_inner());
        exports.update(metadata).map_err(|keys| {
            Outcome::error(
                Kind::BadRequest,
                format!(
                    "The request has {keys} keys besides `value`; at most {MAX_EXPORTED} are \
                     accepted (each becomes an __OW_* environment variable)."
                ),
            )
        })
    }

    /// Runs one activation from a bare `value` and a context (exec mode).
    pub(crate) async fn run_value(&self, value: &[u8], ctx: Context) -> Outcome {
        let text = if is_blank(value) {
            "{}".as_bytes()
        } else {
            value
        };
        let raw = match serde_json::from_slice::<&RawValue>(text) {
            Ok(raw) => raw,
            Err(e) => {
                return Outcome::error(
                    Kind::BadRequest,
                    format!(
                        "The input is not valid JSON: {}.",
                        params::message(&e, true)
                    ),
                );
            }
        };
        let value = match checked_value(Some(raw)) {
            Ok(value) => value,
            Err(outcome) => return outcome,
        };
        if let Err(outcome) = self.prepare().await {
            return outcome;
        }
        self.call(|| decode(value), ctx).await
    }

    /// Calls the action with the parameters `params` gives, then
    /// completes the activation; see [`Core::start`] and
    /// [`Core::complete`].
    async fn call(
        &self,
        params: impl FnOnce() -> Result<A::Params, Outcome>,
        ctx: Context,
    ) -> Outcome {
        let started = self.start(params, ctx);
        self.complete(started).await
    }

    /// Decodes the parameters (`params`) and calls the action, inside the
    /// activation's span: a sync function that runs on the server's thread
    /// runs to its end here. Not async: the parameters never cross an
    /// `.await`, so they need not be `Send`.
    fn start(&self, params: impl FnOnce() -> Result<A::Params, Outcome>, ctx: Context) -> Started {
        let span = trace::activation(ctx.activation_id());
        let invoke = || {
            catch_unwind(AssertUnwindSafe(|| match params() {
                Ok(params) => self.action.invoke(params, ctx, self.concurrent),
                Err(outcome) => Invocation::ready(outcome),
            }))
        };
        let work = match span.in_scope(invoke) {
            Ok(invocation) => invocation.0,
            Err(panic) => Work::Ready(panicked(panic)),
        };
        Started { span, work }
    }

    /// Runs what [`Core::start`] left to do; a panic, in decoding, in a
    /// sync function or while a future is polled, becomes a developer
    /// error.
    async fn complete(&self, started: Started) -> Outcome {
        let Started { span, work } = match self.complete_now(started) {
            Ok(outcome) => return outcome,
            Err(started) => started,
        };
        match work {
            Work::Future(future) => match trace::instrument(span, CatchUnwind(future)).await {
                Ok(outcome) => outcome,
                Err(panic) => panicked(panic),
            },
            Work::Sync(call) => {
                // Overlapping activations: a slow sync action must not hold
                // the server's thread. It holds the environment gate until
                // it ends, wherever its future went meanwhile.
                let env = self.env.running().await;
                let call = move || {
                    let _env = env;
                    span.in_scope(|| catch_unwind(AssertUnwindSafe(call)))
                };
                match tokio::task::spawn_blocking(call).await {
                    Ok(Ok(outcome)) => outcome,
                    Ok(Err(panic)) => panicked(panic),
                    Err(e) => Outcome::error(
                        Kind::DeveloperError,
                        format!("The action was cancelled: {e}"),
                    ),
                }
            }
            // Answered by `complete_now`.
            Work::Ready(outcome) => outcome,
        }
    }

    /// The outcome of a started activation when it needs no waiting (an
    /// answer, or a sync function that ran in place); `Err` gives it back
    /// otherwise.
    fn complete_now(&self, Started { span, work }: Started) -> Result<Outcome, Started> {
        match work {
            Work::Ready(outcome) => Ok(outcome),
            work => Err(Started { span, work }),
        }
    }
}

/// An activation whose action has been called: what is left to do, and the
/// span to do it in.
pub(crate) struct Started {
    span: trace::Span,
    work: Work,
}

impl Invocation {
    /// Work that is already done.
    pub(crate) fn ready(outcome: Outcome) -> Self {
        Invocation(Work::Ready(outcome))
    }
}

#[cfg(test)]
mod tests;
