//! # whisk: Rust actions for Apache OpenWhisk
//!
//! Annotate one typed function and get a binary that OpenWhisk can run: as a
//! container image (`wsk action create --docker`), as a `--native` zip on
//! OpenWhisk's own images, or as the child of its ActionLoop proxy.
//!
//! ```no_run
//! # // rustdoc puts an example without `fn main` in one; the attribute makes its own.
//! # mod action {
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
//! # }
//! # fn main() {}
//! ```
//!
//! The attribute keeps `reverse` as written (call it from your tests) and
//! generates `main`, which serves it through [`run`]. The function may be
//! `async`, and may take a second parameter, [`Context`], with the
//! activation's metadata. It returns `Result<O, E>` where `O: Serialize`
//! must be a JSON object or array, and `E` is any `Display` error or
//! [`Error`] (a JSON value). The
//! [README](https://github.com/whisk-rs/whisk/blob/main/README.md#what-the-platform-sees)
//! maps every outcome to what OpenWhisk sees;
//! [docs/PROTOCOL.md](https://github.com/whisk-rs/whisk/blob/main/docs/PROTOCOL.md)
//! is the protocol itself.
//!
//! ## Adding it
//!
//! The package is `whisk-rs`; its library is `whisk`. Either of these:
//!
//! ```toml
//! [dependencies]
//! whisk-rs = "0.1"                                   # what `cargo add whisk-rs` writes
//! whisk = { package = "whisk-rs", version = "0.1" }  # the same, spelled as code names it
//! ```
//!
//! Renamed to anything else, the attribute needs to be told:
//! `#[my_whisk::action(crate = "my_whisk")]`. An async action runs on
//! whisk's tokio runtime; add `tokio` yourself only to call its APIs.
//!
//! ## Web actions as axum apps
//!
//! [`web::service`] serves an axum `Router` (any tower `Service`) as a web
//! action, in every mode, with the activation's [`Context`] as a request
//! extension. Create the action with `--web raw`.
//!
//! ```no_run
//! use axum::{Extension, Json, Router, extract::Path, routing::get};
//! use serde_json::{Value, json};
//!
//! async fn item(Path(id): Path<u32>, Extension(ctx): Extension<whisk::Context>) -> Json<Value> {
//!     Json(json!({"id": id, "activation": ctx.activation_id()}))
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     whisk::run(whisk::web::service(Router::new().route("/items/{id}", get(item))))
//! }
//! ```
//!
//! With state built once after `/init`:
//!
//! ```no_run
//! use axum::{Router, extract::State, routing::get};
//!
//! struct Config { greeting: String }
//!
//! fn setup() -> Result<Config, std::env::VarError> {
//!     Ok(Config { greeting: std::env::var("GREETING")? })
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     whisk::run(whisk::stateful(setup, |config: whisk::State<Config>| {
//!         let app = Router::new()
//!             .route("/", get(|State(c): State<whisk::State<Config>>| async move {
//!                 c.greeting.clone()
//!             }))
//!             .with_state(config);
//!         whisk::web::service(app)
//!     }))
//! }
//! ```

#![warn(missing_docs)]
// docs.rs (nightly, `--cfg docsrs`): show the feature an item needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

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
