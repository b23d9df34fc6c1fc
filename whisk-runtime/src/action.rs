//! What the runtime serves: the [`Action`] trait and the two ways to make one
//! from a function, [`sync_fn`] and [`async_fn`].

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::context::Context;
use crate::core::outcome::{Outcome, encode};
use crate::error::IntoErrorValue;

/// A function the runtime can serve as an OpenWhisk action.
///
/// Made with [`sync_fn`] or [`async_fn`] (which is what `#[whisk::action]`
/// expands to), or [`stateful`](crate::stateful), and passed to
/// [`run`](fn@crate::run). The trait is sealed: its method is the runtime's
/// business. Write `impl Action` to hand an action around:
///
/// ```no_run
/// # extern crate whisk_runtime as whisk;
/// use whisk::{Action, Context, run, sync_fn};
/// use serde_json::{Value, json};
///
/// fn echo() -> impl Action {
///     sync_fn(|v: Value, _: Context| Ok::<_, String>(json!({"echo": v})))
/// }
///
/// fn main() -> std::process::ExitCode {
///     run(echo())
/// }
/// ```
pub trait Action: sealed::Sealed + Send + Sync + 'static {
    /// What the `/run` `value` is decoded into before [`Action::invoke`].
    #[doc(hidden)]
    type Params: DeserializeOwned;

    /// Calls the function; `overlapping` says whether activations may
    /// overlap (`__OW_ALLOW_CONCURRENT`), when a sync function runs on the
    /// blocking pool unless it is [`SyncFn::inline`].
    #[doc(hidden)]
    fn invoke(&self, params: Self::Params, ctx: Context, overlapping: bool) -> Invocation;

    /// Whether the function reads the [`Context`] it is given. When it does
    /// not (`#[whisk::action]` on a function without a `Context`
    /// parameter), and nothing else needs the activation's metadata, the
    /// runtime skips reading it and passes an empty context.
    #[doc(hidden)]
    fn reads_context(&self) -> bool {
        true
    }

    /// Work to do once before the first activation (building shared state);
    /// `None` when the action is ready.
    #[doc(hidden)]
    fn prepare(&self) -> Option<Preparation<'_>> {
        None
    }
}

/// The one-time work of [`Action::prepare`]; its error is the JSON of
/// `{"error": ...}`.
#[doc(hidden)]
pub type Preparation<'a> = Pin<Box<dyn Future<Output = Result<(), Value>> + Send + 'a>>;

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// The work one activation has to do, as prepared by [`Action::invoke`].
#[doc(hidden)]
pub struct Invocation(pub(crate) Work);

pub(crate) enum Work {
    /// Already answered: the parameters did not decode, or a sync function
    /// ran in place (on the caller's thread, inside [`Action::invoke`]).
    Ready(Outcome),
    /// An async function's future, polled on the runtime.
    Future(Pin<Box<dyn Future<Output = Outcome> + Send>>),
    /// A sync function for the blocking pool: activations may overlap, and
    /// it must not stall the server (it is not [`SyncFn::inline`]).
    Sync(Box<dyn FnOnce() -> Outcome + Send>),
}

/// A synchronous action: `Fn(P, Context) -> Result<O, E>`. Made by [`sync_fn`].
pub struct SyncFn<F, P> {
    f: Arc<F>,
    inline: bool,
    reads_context: bool,
    _params: PhantomData<fn(P)>,
}

/// Serves a synchronous function as an action.
///
/// The function gets the `/run` `value` deserialized into `P`, and the
/// activation's [`Context`]. When activations cannot overlap (OpenWhisk's
/// default) it runs on the server's thread, with no hop to another thread.
/// With `__OW_ALLOW_CONCURRENT=true` it runs on a thread of the blocking
/// pool, so that a slow function never stalls the other activations; see
/// [`SyncFn::inline`] for quick functions.
///
/// ```no_run
/// # extern crate whisk_runtime as whisk;
/// use whisk::{Context, run, sync_fn};
/// use serde_json::Value;
///
/// fn main() -> std::process::ExitCode {
///     run(sync_fn(|v: Value, _ctx: Context| Ok::<_, String>(v)))
/// }
/// ```
pub fn sync_fn<F, P, O, E>(f: F) -> SyncFn<F, P>
where
    F: Fn(P, Context) -> Result<O, E> + Send + Sync + 'static,
    P: DeserializeOwned + Send + 'static,
    O: Serialize,
    E: IntoErrorValue,
{
    SyncFn {
        f: Arc::new(f),
        inline: false,
        reads_context: true,
        _params: PhantomData,
    }
}

impl<F, P> SyncFn<F, P> {
    /// Runs the function on the server's thread even when activations may
    /// overlap (`__OW_ALLOW_CONCURRENT=true`), rather than on the blocking
    /// pool: what `#[whisk::action(inline)]` does.
    ///
    /// For quick, CPU-only functions (microseconds: parsing, reshaping,
    /// computing) this saves two thread hand-offs per activation: about
    /// 1.5x the throughput under concurrency (see BENCHMARKS.md). The price:
    /// while the function runs, nothing else is served, so overlapping
    /// activations run one after another. Leave it off for a function that
    /// blocks (file or network I/O, `sleep`, heavy computation), or write
    /// that one as an `async fn`. Without concurrency it changes nothing:
    /// sync functions always run on the server's thread then.
    ///
    /// ```no_run
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::{Context, run, sync_fn};
    /// use serde_json::{Value, json};
    ///
    /// fn main() -> std::process::ExitCode {
    ///     run(sync_fn(|v: Value, _: Context| Ok::<_, String>(json!({"echo": v}))).inline())
    /// }
    /// ```
    pub fn inline(mut self) -> Self {
        self.inline = true;
        self
    }

    /// Whether the function reads its [`Context`] (see
    /// [`Action::reads_context`]); only the code `#[whisk::action]`
    /// generates says it does not, for a function that takes none.
    pub(crate) fn reading_context(mut self, reads: bool) -> Self {
        self.reads_context = reads;
        self
    }
}

impl<F, P> sealed::Sealed for SyncFn<F, P> {}

impl<F, P, O, E> Action for SyncFn<F, P>
where
    F: Fn(P, Context) -> Result<O, E> + Send + Sync + 'static,
    P: DeserializeOwned + Send + 'static,
    O: Serialize,
    E: IntoErrorValue,
{
    type Params = P;

    fn invoke(&self, params: P, ctx: Context, overlapping: bool) -> Invocation {
        if !overlapping || self.inline {
            // One activation at a time, or overlapping activations of a
            // quick function: run it right here; the others wait.
            return Invocation::ready(encode((self.f)(params, ctx)));
        }
        let f = Arc::clone(&self.f);
        Invocation(Work::Sync(Box::new(move || encode(f(params, ctx)))))
    }

    fn reads_context(&self) -> bool {
        self.reads_context
    }
}

/// An asynchronous action: `Fn(P, Context) -> impl Future<Output =
/// Result<O, E>>`. Made by [`async_fn`].
///
/// ```no_run
/// # extern crate whisk_runtime as whisk;
/// use whisk::{AsyncFn, Context, Error, async_fn, run};
/// use serde_json::{Value, json};
///
/// fn main() -> std::process::ExitCode {
///     let action: AsyncFn<_, Value> = async_fn(|v: Value, _: Context| async move {
///         Ok::<_, Error>(json!({"got": v}))
///     });
///     run(action)
/// }
/// ```
pub struct AsyncFn<F, P> {
    f: F,
    reads_context: bool,
    _params: PhantomData<fn(P)>,
}

/// Serves an async function (or a closure returning a future) as an action.
///
/// ```no_run
/// # extern crate whisk_runtime as whisk;
/// use whisk::{Context, Error, async_fn, run};
/// use serde_json::{Value, json};
///
/// fn main() -> std::process::ExitCode {
///     run(async_fn(|v: Value, ctx: Context| async move {
///         Ok::<_, Error>(json!({"got": v, "id": ctx.activation_id()}))
///     }))
/// }
/// ```
pub fn async_fn<F, Fut, P, O, E>(f: F) -> AsyncFn<F, P>
where
    F: Fn(P, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send + 'static,
    P: DeserializeOwned + 'static,
    O: Serialize,
    E: IntoErrorValue,
{
    AsyncFn {
        f,
        reads_context: true,
        _params: PhantomData,
    }
}

impl<F, P> AsyncFn<F, P> {
    /// As [`SyncFn::reading_context`].
    pub(crate) fn reading_context(mut self, reads: bool) -> Self {
        self.reads_context = reads;
        self
    }
}

impl<F, P> sealed::Sealed for AsyncFn<F, P> {}

impl<F, Fut, P, O, E> Action for AsyncFn<F, P>
where
    F: Fn(P, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send + 'static,
    P: DeserializeOwned + 'static,
    O: Serialize,
    E: IntoErrorValue,
{
    type Params = P;

    fn invoke(&self, params: P, ctx: Context, _overlapping: bool) -> Invocation {
        let future = (self.f)(params, ctx);
        Invocation(Work::Future(Box::pin(async move { encode(future.await) })))
    }

    fn reads_context(&self) -> bool {
        self.reads_context
    }
}
