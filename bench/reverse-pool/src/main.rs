//! `examples/reverse.rs` as a sync action takes it by default: without
//! `inline`, so that under `__OW_ALLOW_CONCURRENT=true` each activation runs
//! on tokio's blocking pool. `bench/run.sh` measures it in the keep-alive
//! phase only, to show what `inline` saves.

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Params {
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
