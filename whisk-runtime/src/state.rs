//! State built once per container and shared by every activation:
//! [`State`], [`stateful`] and the [`InitFn`] it takes.

use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::OnceCell;

use crate::action::{Action, Invocation, Preparation, sealed};
use crate::context::Context;
use crate::core::outcome::{Kind, Outcome};
use crate::error::IntoErrorValue;

/// Shared state of an action: built once, before the first activation (after
/// `/init` has exported its `env`), and handed to every activation.
///
/// Cheap to clone (an `Arc`), and derefs to the state.
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use whisk::State;
/// struct Config { greeting: String }
/// let state = State::new(Config { greeting: "hi".into() });
/// let copy = state.clone();
/// assert_eq!(copy.greeting, "hi");
/// ```
pub struct State<S>(Arc<S>);

impl<S> State<S> {
    /// Wraps a value (for unit tests of actions that take a `State`).
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// let state = whisk::State::new(42);
    /// assert_eq!(*state, 42);
    /// ```
    pub fn new(value: S) -> Self {
        State(Arc::new(value))
    }
}

impl<S> Clone for State<S> {
    fn clone(&self) -> Self {
        State(Arc::clone(&self.0))
    }
}

impl<S> Deref for State<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for State<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("State").field(&self.0).finish()
    }
}

type InitFuture<S> = Pin<Box<dyn Future<Output = Result<S, Value>> + Send>>;

/// A function that builds an action's state: `fn() -> Result<S, E>` or
/// `async fn() -> Result<S, E>`, with `E` any `Display` error or
/// [`Error`](crate::Error).
///
/// The `Marker` parameter only tells the two kinds apart; it is inferred.
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// fn setup() -> Result<String, std::env::VarError> {
///     std::env::var("HOME")
/// }
/// fn takes<M>(_: impl whisk::InitFn<String, M>) {}
/// takes(setup);
/// takes(|| async { Ok::<_, String>("built".to_owned()) });
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot build the state `{S}`",
    label = "expected `fn() -> Result<{S}, E>` or `async fn() -> Result<{S}, E>`",
    note = "the init function must return `Result<S, E>` (or a future of it) where `S` is the `T` of the action's `State<T>` parameter and `E` is any `Display` error or `whisk::Error`"
)]
pub trait InitFn<S, Marker>: Send + Sync + 'static {
    #[doc(hidden)]
    fn build(&self) -> InitFuture<S>;
}

#[doc(hidden)]
pub struct SyncInit;
#[doc(hidden)]
pub struct AsyncInit;

impl<F, S, E> InitFn<S, SyncInit> for F
where
    F: Fn() -> Result<S, E> + Send + Sync + 'static,
    S: Send + 'static,
    E: IntoErrorValue,
{
    fn build(&self) -> InitFuture<S> {
        let result = self().map_err(IntoErrorValue::into_error_value);
        Box::pin(std::future::ready(result))
    }
}

impl<F, Fut, S, E> InitFn<S, AsyncInit> for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<S, E>> + Send + 'static,
    S: Send + 'static,
    E: IntoErrorValue,
{
    fn build(&self) -> InitFuture<S> {
        let future = self();
        Box::pin(async move { future.await.map_err(IntoErrorValue::into_error_value) })
    }
}

/// An action with shared state. Made by [`stateful`].
///
/// ```no_run
/// # extern crate whisk_runtime as whisk;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use whisk::{Context, State, run, stateful, sync_fn};
/// use serde_json::{Value, json};
///
/// fn counter() -> Result<AtomicU64, String> {
///     Ok(AtomicU64::new(0))
/// }
///
/// fn main() -> std::process::ExitCode {
///     // A `Stateful`: the counter is built once, shared by every activation.
///     let action = stateful(counter, |count: State<AtomicU64>| {
///         sync_fn(move |_: Value, _: Context| {
///             Ok::<_, String>(json!({"count": count.fetch_add(1, Ordering::Relaxed) + 1}))
///         })
///     });
///     run(action)
/// }
/// ```
pub struct Stateful<I, M, S, A, Marker> {
    init: I,
    make: M,
    action: OnceCell<A>,
    _types: PhantomData<fn(Marker) -> S>,
}

/// Serves an action whose state `init` builds once, before the first
/// activation; `make` then builds the action around the [`State`].
///
/// `init` runs when `/init` arrives, after its `env` is exported (or before
/// the first activation if `/init` never comes; in ActionLoop and exec mode,
/// at start-up). When it fails, `/init` answers `502 {"error": ...}`, the
/// error is logged, and a later `/init` may try again.
///
/// ```no_run
/// # extern crate whisk_runtime as whisk;
/// use whisk::{Context, State, run, stateful, sync_fn};
/// use serde_json::{Value, json};
///
/// struct Config { greeting: String }
///
/// fn setup() -> Result<Config, std::env::VarError> {
///     Ok(Config { greeting: std::env::var("GREETING")? })
/// }
///
/// fn main() -> std::process::ExitCode {
///     run(stateful(setup, |state: State<Config>| {
///         sync_fn(move |_: Value, _: Context| Ok::<_, String>(json!({"greeting": state.greeting})))
///     }))
/// }
/// ```
pub fn stateful<I, M, S, A, Marker>(init: I, make: M) -> Stateful<I, M, S, A, Marker>
where
    I: InitFn<S, Marker>,
    M: Fn(State<S>) -> A + Send + Sync + 'static,
    S: Send + Sync + 'static,
    A: Action,
{
    Stateful {
        init,
        make,
        action: OnceCell::new(),
        _types: PhantomData,
    }
}

impl<I, M, S, A, Marker> sealed::Sealed for Stateful<I, M, S, A, Marker> {}

impl<I, M, S, A, Marker> Action for Stateful<I, M, S, A, Marker>
where
    I: InitFn<S, Marker>,
    M: Fn(State<S>) -> A + Send + Sync + 'static,
    S: Send + Sync + 'static,
    A: Action,
    Marker: 'static,
{
    type Params = A::Params;

    fn invoke(&self, params: A::Params, ctx: Context, overlapping: bool) -> Invocation {
        match self.action.get() {
            Some(action) => action.invoke(params, ctx, overlapping),
            // The core prepares the action before any activation.
            None => Invocation::ready(Outcome::error(
                Kind::DeveloperError,
                "The action's state was not initialized.",
            )),
        }
    }

    fn reads_context(&self) -> bool {
        // Before init there is no activation to read it for.
        self.action.get().is_none_or(A::reads_context)
    }

    fn prepare(&self) -> Option<Preparation<'_>> {
        if self.action.initialized() {
            return None;
        }
        Some(Box::pin(async move {
            self.action
                .get_or_try_init(|| async {
                    let state = self.init.build().await?;
                    Ok::<_, Value>((self.make)(State(Arc::new(state))))
                })
                .await
                .map(|_| ())
        }))
    }
}
