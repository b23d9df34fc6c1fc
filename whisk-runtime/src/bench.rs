//! Hooks for the runtime's micro-benchmarks (`benches/core.rs`); not a
//! public API, and not covered by semver.
//!
//! The activation core is crate-private; this module wraps it without
//! changing it, so a benchmark measures exactly what the transports run.
#![doc(hidden)]

use crate::action::Action;
use crate::core::{Begun, Core};

/// The body type [`BenchCore::run_envelope`] takes (`bytes::Bytes`, as
/// hyper hands the HTTP transport a body).
pub use axum::body::Bytes;

/// The activation core of one action, as the HTTP transport holds it.
pub struct BenchCore<A>(Core<A>);

impl<A: Action> BenchCore<A> {
    /// A core for `action`; `concurrent` is `__OW_ALLOW_CONCURRENT` (when it
    /// is off, each run exports the metadata as `__OW_*` variables).
    pub fn new(action: A, concurrent: bool) -> Self {
        BenchCore(Core::new(action, concurrent))
    }

    /// `Core::run_envelope`: decodes a `/run` body, calls the action, encodes
    /// the result. Returns the HTTP status the transport would answer and the
    /// body. Needs a tokio runtime (a current-thread one, as the server
    /// uses): with `concurrent`, sync actions run through `spawn_blocking`
    /// unless they are [`inline`](crate::SyncFn::inline).
    pub async fn run_envelope(&self, body: &Bytes) -> (u16, Vec<u8>) {
        let outcome = self.0.run_envelope(body).await;
        (outcome.status(), outcome.body)
    }

    /// As [`run_envelope`](BenchCore::run_envelope), but on the general
    /// path alone (the envelope decoded with `value` kept as text, checked,
    /// then decoded into the parameters), never the one-pass decoder of the
    /// usual request: the fuzz target checks that both answer alike.
    pub async fn run_general(&self, body: &Bytes) -> (u16, Vec<u8>) {
        let outcome = self.0.finish(Begun::General, body).await;
        (outcome.status(), outcome.body)
    }
}
