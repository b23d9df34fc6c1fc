//! `/init`'s environment variables, written while no other thread of the
//! runtime can read the environment.
//!
//! `std::env::set_var` is unsound while another thread reads the
//! environment (`getenv` in libc, `std::env::var`). The runtime's own
//! threads never do: the log helper thread only polls, reads and writes
//! descriptors, and tokio's idle blocking threads run nothing. What can
//! is an action: an async one runs on the server's thread, so never
//! during a write; a sync one under `__OW_ALLOW_CONCURRENT` runs on the
//! blocking pool, and may have been started by a `/run` that came before
//! `/init`. [`Gate`] keeps the two apart: every activation on the blocking
//! pool holds it shared until it ends, and `/init` holds it exclusively
//! while it writes (tokio's lock is fair: runs that arrive meanwhile wait
//! behind it). Threads an action spawns itself are its own business
//! (the README says so).

use std::sync::Arc;

use tokio::sync::{OwnedRwLockReadGuard, RwLock};

/// Shared by activations on the blocking pool, exclusive for `/init`'s
/// writes.
#[derive(Default)]
pub(crate) struct Gate(Arc<RwLock<()>>);

/// An activation on the blocking pool; the environment is not written
/// while it lives.
pub(crate) type Running = OwnedRwLockReadGuard<()>;

impl Gate {
    /// Waits until no `/init` is writing, then holds the gate shared.
    pub(crate) async fn running(&self) -> Running {
        Arc::clone(&self.0).read_owned().await
    }

    /// Sets the variables once no activation runs on the blocking pool.
    pub(crate) async fn set_vars(&self, vars: Vec<(String, String)>) {
        let _exclusive = self.0.write().await;
        // No other thread reads the environment now: the runtime's own
        // never do, and every action that runs off the server's thread
        // holds the gate shared (module docs), which `_exclusive` excludes.
        // `parse_init` refused names with `=` or NUL and values with NUL.
        // `set_all` writes them all at once (linear, where `set_var` per
        // name is quadratic in the environment's size).
        super::export::set_all(&vars);
    }
}
