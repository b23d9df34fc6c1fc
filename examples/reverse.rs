//! The seed's action: reverses a string by Unicode scalar values.
//!
//! ```text
//! cargo run --example reverse -- '{"payload":"hello"}'   # exec mode, prints {"reversed":"olleh"}
//! WHISK_MODE=http cargo run --example reverse            # serves /init and /run on :8080
//! ```

use serde::{Deserialize, Serialize};

/// The action's parameters: `{"payload": "..."}`.
#[derive(Deserialize)]
struct Params {
    payload: String,
}

/// The result: `{"reversed": "..."}`.
#[derive(Serialize)]
struct Reversed {
    reversed: String,
}

// `inline`: a quick, CPU-only function runs on the server's thread even
// when activations may overlap (`__OW_ALLOW_CONCURRENT=true`), with no hop
// to the blocking pool. Without concurrency (OpenWhisk's default) every
// sync action runs there anyway.
#[whisk::action(inline)]
fn reverse(p: Params) -> Result<Reversed, whisk::Error> {
    Ok(Reversed {
        reversed: p.payload.chars().rev().collect(),
    })
}
