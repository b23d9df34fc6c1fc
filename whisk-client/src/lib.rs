//! # whisk-client: an async OpenWhisk client
//!
//! Invoke actions, fire triggers, read activations and manage actions
//! through OpenWhisk's REST API (`/api/v1`), on tokio and hyper (the whisk
//! runtime's own stack) with rustls. With the `whisk-rs` crate's `client`
//! feature it is `whisk::client`.
//!
//! Inside an action (annotated `provide-api-key`, so that OpenWhisk passes
//! it a key), the activation's [`Context`](whisk_runtime::Context) has all
//! it needs:
//!
//! ```no_run
//! # // rustdoc puts an example without `fn main` in one; the attribute makes its own.
//! # mod action {
//! use serde_json::{json, Value};
//! use whisk::client::Client;
//!
//! #[whisk::action]
//! async fn handle(_: Value, ctx: whisk::Context) -> Result<Value, whisk::Error> {
//!     let client = Client::from_context(&ctx).map_err(|e| whisk::Error::new(e.to_string()))?;
//!     let result = client
//!         .invoke("pkg/other", json!({"n": 1}))
//!         .await
//!         .map_err(|e| whisk::Error::new(e.to_string()))?;
//!     Ok(json!({"other": result}))
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! Outside, configure it from the environment (`__OW_API_HOST`,
//! `__OW_API_KEY`, `__OW_NAMESPACE`, `__OW_IGNORE_CERTS`) with
//! [`Client::from_env`] or explicitly with [`Config`].
//!
//! ## Behaviour
//! - Names: `action`, `pkg/action`, `/namespace/action`,
//!   `/namespace/pkg/action`, `namespace/pkg/action` (as `wsk` and the Node
//!   client read them); each part is percent-encoded.
//! - Errors are typed ([`Error`]): the HTTP status with OpenWhisk's
//!   `{"error", "code"}` body, the blocking wait's 202 with the activation
//!   id, an action's error (502) with its error value. No error and no
//!   `Debug` output holds the api key.
//! - Every call has a timeout ([`Config::timeout`], per call
//!   [`Client::with_timeout`]), retries included. Reads are retried with
//!   exponential backoff after transport errors and 502/503/504; any call is
//!   retried when its connection could not be made (the request was not
//!   sent); a sent invoke, fire, put or delete never is.
//! - The activation's transaction id goes out as `x-request-id`, as the
//!   Node client sends `__OW_TRANSACTION_ID`.
//!
//! ## TLS and static builds
//! Certificates are verified against the bundled Mozilla roots
//! (webpki-roots: a `FROM scratch` image has no system store);
//! [`Config::ignore_certs`] (or `__OW_IGNORE_CERTS=true`) accepts a
//! self-signed controller. The crypto provider is a feature:
//!
//! - `ring` (the default; the facade's `client` feature): rustls' audited
//!   provider. It compiles a little C and assembly, so a static build needs a
//!   C compiler for the target:
//!   - `x86_64-unknown-linux-musl`: `rustup target add
//!     x86_64-unknown-linux-musl`; the host's `cc` (gcc or clang) compiles
//!     ring's C for it. Nothing else.
//!   - `aarch64-unknown-linux-musl`: `rustup target add
//!     aarch64-unknown-linux-musl`, `linker = "rust-lld"`, and clang
//!     (Debian: `apt-get install clang`) as the C compiler:
//!     `CC_aarch64_unknown_linux_musl=clang`,
//!     `CFLAGS_aarch64_unknown_linux_musl=--target=aarch64-linux-musl` and
//!     `AR_aarch64_unknown_linux_musl=llvm-ar` (or a musl cross gcc).
//! - `rustcrypto` (the facade's `client-rustcrypto`): the pure-Rust
//!   RustCrypto provider (`rustls-rustcrypto`, an alpha that has not been
//!   audited); it is used whenever the feature is on. With `ring` off (the
//!   facade's `client-rustcrypto` without `client`), both musl targets build
//!   with nothing but `rustup target add` and rust-lld.
//!
//! `aws-lc-rs` (rustls' own default) was left out: it needs cmake and a C
//! compiler for every target. The README has the measured sizes.

#![warn(missing_docs)]
// docs.rs (nightly, `--cfg docsrs`): show the feature an item needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod config;
mod error;
mod name;
mod transport;
mod types;

pub use client::Client;
pub use config::{Config, DEFAULT_TIMEOUT};
pub use error::Error;
pub use types::{
    Action, ActionPut, Activation, ActivationResponse, Exec, KeyValue, Limits, ListOptions,
    NATIVE_IMAGE,
};
