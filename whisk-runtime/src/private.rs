//! Used by the code `#[whisk::action]` generates; not a public API.
//!
//! The attribute only adapts the signature: it passes the function to
//! [`run`] with every type of the signature spelled out
//! as a generic argument, carrying the span of the user's token. A bound
//! that fails is then reported once, at that token, with the message of
//! the marker trait below that says what an action needs.

use std::future::Future;
use std::marker::PhantomData;
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Context, InitFn, IntoErrorValue, State};

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

/// How the attribute's options reach [`run`].
#[derive(Clone, Copy)]
pub struct Options {
    /// `#[whisk::action(inline)]` ([`SyncFn::inline`](crate::SyncFn::inline)).
    pub inline: bool,
    /// False when the user's function takes no `Context` (the closure then
    /// ignores it), so that the runtime need not read the activation's
    /// metadata for it ([`Action::reads_context`](crate::Action::reads_context)).
    pub reads_context: bool,
}

/// `K` of [`run`] for a sync function: it returns the result.
pub struct Blocking;

/// `K` of [`run`] for an async function: it returns a future `Fut` of the
/// result.
pub struct Async<Fut>(PhantomData<Fut>);

/// `St` of [`run`] without `init = ...`: the closure takes (and ignores)
/// this instead of a state.
#[derive(Clone, Copy)]
pub struct NoState;

/// `I` of [`run`] without `init = ...`.
pub struct NoInit;

/// The one entry of the generated code: serves the user's function `f`
/// with [`run`](fn@crate::run).
///
/// The attribute passes every type of the signature as a generic argument
/// with the span of the user's token: `P` the parameters, `C` the context
/// (`Context` when the function takes none), `St` the state ([`NoState`]
/// without `init = ...`), `R` the result and its `O` and `E`, `K` sync or
/// async ([`Blocking`], [`Async`]), and `I` the init function ([`NoInit`]).
/// `f` is always a closure `|params, ctx, state|`.
///
/// Each bound checks one type of the signature, so a type an action cannot
/// use is reported once, at its token, with the message of its marker
/// trait. `F`'s bound holds by construction, except that an async
/// function's future must be `Send`. The result is a plain `ExitCode`: an
/// `impl Action` would check the bounds a second time, at the span of the
/// whole call.
pub fn run<P, C, St, R, O, E, K, F, I, M>(options: Options, init: I, f: F) -> ExitCode
where
    P: ActionParams + Send + 'static,
    C: ActionContext,
    St: ActionState<I, M>,
    R: ActionResult<Output = O, Error = E>,
    O: ActionOutput,
    E: IntoErrorValue,
    F: Body<P, C, St, R, K>,
{
    let f = Arc::new(f);
    St::serve(init, move |state: St| Arc::clone(&f).action(state, options))
}

/// The user's function, called sync ([`Blocking`]) or async ([`Async`]),
/// as an [`Action`](crate::Action).
pub trait Body<P, C, St, R, K>: Send + Sync + 'static {
    /// The action that calls the function with `state`.
    fn action(self: Arc<Self>, state: St, options: Options) -> impl crate::Action
    where
        P: ActionParams + Send + 'static,
        C: ActionContext,
        St: Clone + Send + Sync + 'static,
        R: ActionResult,
        R::Output: ActionOutput,
        R::Error: IntoErrorValue;
}

impl<P, C, St, R, F> Body<P, C, St, R, Blocking> for F
where
    F: Fn(P, C, St) -> R + Send + Sync + 'static,
{
    fn action(self: Arc<Self>, state: St, options: Options) -> impl crate::Action
    where
        P: ActionParams + Send + 'static,
        C: ActionContext,
        St: Clone + Send + Sync + 'static,
        R: ActionResult,
        R::Output: ActionOutput,
        R::Error: IntoErrorValue,
    {
        let action = crate::sync_fn(move |params: P, ctx: Context| {
            self(params, C::from_context(ctx), state.clone()).into_result()
        })
        .reading_context(options.reads_context);
        if options.inline {
            action.inline()
        } else {
            action
        }
    }
}

impl<P, C, St, R, F, Fut> Body<P, C, St, R, Async<Fut>> for F
where
    F: Fn(P, C, St) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    fn action(self: Arc<Self>, state: St, options: Options) -> impl crate::Action
    where
        P: ActionParams + Send + 'static,
        C: ActionContext,
        St: Clone + Send + Sync + 'static,
        R: ActionResult,
        R::Output: ActionOutput,
        R::Error: IntoErrorValue,
    {
        crate::async_fn(move |params: P, ctx: Context| {
            let future = self(params, C::from_context(ctx), state.clone());
            async move { future.await.into_result() }
        })
        .reading_context(options.reads_context)
    }
}

#[diagnostic::on_unimplemented(
    message = "the last parameter of an action with `init = ...` must be `whisk::State<S>`, not `{Self}`",
    label = "expected `whisk::State<S>`, where `S` is what the init function returns"
)]
pub trait ActionState<I, M>: Clone + Send + Sync + 'static {
    /// Serves the action `make` builds with the state: at once without
    /// state, after `init` with [`stateful`](crate::stateful).
    fn serve<A: crate::Action>(
        init: I,
        make: impl Fn(Self) -> A + Send + Sync + 'static,
    ) -> ExitCode;
}

impl ActionState<NoInit, NoInit> for NoState {
    fn serve<A: crate::Action>(
        _: NoInit,
        make: impl Fn(Self) -> A + Send + Sync + 'static,
    ) -> ExitCode {
        crate::run(make(NoState))
    }
}

impl<S: Send + Sync + 'static, I: InitFn<S, M>, M: 'static> ActionState<I, M> for State<S> {
    fn serve<A: crate::Action>(
        init: I,
        make: impl Fn(Self) -> A + Send + Sync + 'static,
    ) -> ExitCode {
        crate::run(crate::stateful(init, make))
    }
}

/// What the generated `main` returns: the exit code of the served action.
///
/// No other `main` returns it, which is how [`generated_main`] tells the
/// generated `main` from one the user wrote beside the attribute.
pub struct Main(pub ExitCode);

impl std::process::Termination for Main {
    fn report(self) -> ExitCode {
        self.0
    }
}

#[diagnostic::on_unimplemented(
    message = "this crate has its own `fn main`, but `#[whisk::action]` generates `main`",
    label = "the attribute's `main` would serve the action",
    note = "remove your `fn main`; or, to keep it, remove the attribute and call `whisk::run(whisk::sync_fn(action))` from it"
)]
pub trait GeneratedMain {}
impl GeneratedMain for Main {}

/// Checks that the crate's `main` is the generated one (see [`Main`]).
pub const fn generated_main<F: Fn() -> R, R: GeneratedMain>(_main: &F) {}

/// Installs the `tracing` subscriber (`#[whisk::action(tracing)]`).
#[cfg(feature = "tracing")]
pub fn init_tracing() {
    crate::tracing::init();
}

/// Without the `tracing` feature there is no subscriber to install.
#[cfg(not(feature = "tracing"))]
#[deprecated(note = "`#[whisk::action(tracing)]` needs whisk's `tracing` feature")]
pub fn init_tracing() {}
