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

#[whisk::action]
fn reverse(p: Params) -> Result<Reversed, whisk::Error> {
    Ok(Reversed {
        reversed: p.payload.chars().rev().collect(),
    })
}
