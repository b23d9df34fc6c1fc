//! # whisk: Rust actions for Apache OpenWhisk
//!
//! Annotate one typed function and get a binary that OpenWhisk can run: as a
//! container image (`wsk action create --docker`), as a `--native` zip on
//! OpenWhisk's own images, or as the child of its ActionLoop proxy.
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct Params { payload: String }
//!
//! #[derive(Serialize)]
//! struct Reversed { reversed: String }
//!
//! #[whisk::action]
//! fn reverse(p: Params) -> Result<Reversed, whisk::Error> {
//!     Ok(Reversed { reversed: p.payload.chars().rev().collect() })
//! }
//! ```
//!
//! The attribute keeps `reverse` as written (call it from your tests) and
//! generates `main`, which serves it through [`run`]. The function may be
//! `async`, and may take a second parameter, [`Context`], with the
//! activation's metadata. It returns `Result<O, E>` where `O: Serialize`
//! must be a JSON object or array, and `E` is any `Display` error or
//! [`Error`] (a JSON value). See the README for the protocol mapping.

#![warn(missing_docs)]

pub use whisk_macros::action;
pub use whisk_runtime::{
    Action, AsyncFn, Config, ConfigError, Context, Error, InitFn, IntoErrorValue, Mode, SENTINEL,
    State, Stateful, SyncFn, async_fn, run, run_with, stateful, sync_fn,
};

#[cfg(feature = "tracing")]
pub use whisk_runtime::tracing;

pub use whisk_runtime::web;

#[doc(hidden)]
pub use whisk_runtime::__private;

/// An OpenWhisk client (the `client` feature, or `client-rustcrypto`):
/// invoke actions, fire triggers, read activations, manage actions. See
/// [`client::Client`].
#[cfg(any(feature = "client", feature = "client-rustcrypto"))]
pub use whisk_client as client;
