//! Logging with [`tracing`](https://docs.rs/tracing), the way OpenWhisk
//! collects it: [`init`] installs a subscriber that writes one line per event
//! to stdout, with the activation id on each line.
//!
//! The `tracing` macros are re-exported here, so an action needs no other
//! dependency:
//!
//! ```no_run
//! # extern crate whisk_runtime as whisk;
//! use whisk::{Context, run, sync_fn, tracing};
//! use serde_json::Value;
//!
//! fn main() -> std::process::ExitCode {
//!     tracing::init();
//!     run(sync_fn(|v: Value, _: Context| {
//!         tracing::info!(keys = v.as_object().map_or(0, |o| o.len()), "got params");
//!         Ok::<_, String>(v)
//!     }))
//! }
//! ```
//!
//! `wsk activation logs` then shows, for activation `4f0c…`:
//!
//! ```text
//! 2026-11-25T10:00:00.000000000Z stdout:  INFO activation{id=4f0c…}: reverse: got params keys=1
//! ```
//!
//! (OpenWhisk adds the timestamp and stream, so the subscriber prints none.)

pub use tracing::*;

/// Installs the subscriber: level from `RUST_LOG` (`info` by default; the
/// `target=level,...` syntax works), plain text, or one JSON object per line
/// when `WHISK_LOG_FORMAT=json`. Prints nothing itself, and does nothing if a
/// subscriber is already installed.
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// whisk::tracing::init();
/// whisk::tracing::info!("hello");
/// ```
pub fn init() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;

    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| spec.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let json = std::env::var("WHISK_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .without_time();
    let installed = if json {
        tracing_subscriber::registry()
            .with(
                layer
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_filter(filter),
            )
            .try_init()
    } else {
        tracing_subscriber::registry()
            .with(layer.with_filter(filter))
            .try_init()
    };
    let _ = installed;
}
