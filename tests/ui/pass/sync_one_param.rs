//! The plainest action: sync, one parameter.

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Params {
    #[serde(default)]
    payload: String,
}

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
