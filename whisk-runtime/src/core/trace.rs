//! The activation span: every activation runs inside
//! `activation{id=<activation id>}`, so a `tracing` subscriber can put the id
//! on each log line. Without the `tracing` feature these are no-ops.

use std::future::Future;

#[cfg(feature = "tracing")]
pub(crate) use tracing::Span;

/// Without `tracing`, a span that does nothing.
#[cfg(not(feature = "tracing"))]
#[derive(Clone)]
pub(crate) struct Span;

#[cfg(not(feature = "tracing"))]
impl Span {
    pub(crate) fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        f()
    }
}

/// Whether [`activation`] may record the activation id: with `tracing`,
/// unless no subscriber takes `INFO` spans (none is installed, say), which
/// is what `LevelFilter::current` is for ("can be used for determining if
/// something is disabled"). A relaxed atomic load.
pub(crate) fn needs_id() -> bool {
    #[cfg(feature = "tracing")]
    {
        use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
        tracing::Level::INFO <= STATIC_MAX_LEVEL && tracing::Level::INFO <= LevelFilter::current()
    }
    #[cfg(not(feature = "tracing"))]
    {
        false
    }
}

/// The span of one activation.
pub(crate) fn activation(id: &str) -> Span {
    #[cfg(feature = "tracing")]
    {
        tracing::info_span!("activation", id = %id)
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = id;
        Span
    }
}

/// Polls `future` inside `span`.
pub(crate) fn instrument<F: Future>(span: Span, future: F) -> impl Future<Output = F::Output> {
    #[cfg(feature = "tracing")]
    {
        tracing::Instrument::instrument(future, span)
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = span;
        future
    }
}
