//! State built once per container with `#[whisk::action(init = ...)]`, and
//! logs through `tracing` with the activation id on each line.
//!
//! `setup` runs once, after `/init` has exported its `env` (here an optional
//! `START` value); every activation then shares the same counter. A warm
//! container counts up; a new one starts again.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use whisk::{Context, Error, State, tracing};

/// Shared by every activation of this container.
struct Counter {
    count: AtomicU64,
}

fn setup() -> Result<Counter, Error> {
    let start = match std::env::var("START") {
        Ok(text) => text
            .parse()
            .map_err(|e| Error::message(format!("START={text:?} is not a number: {e}")))?,
        Err(_) => 0,
    };
    tracing::info!(start, "counter ready");
    Ok(Counter {
        count: AtomicU64::new(start),
    })
}

#[derive(Deserialize)]
struct Params {
    #[serde(default = "one")]
    by: u64,
}

fn one() -> u64 {
    1
}

#[derive(Serialize)]
struct Count {
    count: u64,
    activation: String,
}

#[whisk::action(init = setup, tracing)]
fn count(p: Params, ctx: Context, counter: State<Counter>) -> Result<Count, Error> {
    let count = counter.count.fetch_add(p.by, Ordering::Relaxed) + p.by;
    tracing::info!(count, "counted");
    Ok(Count {
        count,
        activation: ctx.activation_id().to_owned(),
    })
}
