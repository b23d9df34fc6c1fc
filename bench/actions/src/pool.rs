//! `examples/reverse.rs` as a sync action takes it by default: without
//! `inline`, so that under `__OW_ALLOW_CONCURRENT=true` each activation runs
//! on tokio's blocking pool. `bench/run.sh` measures it in the keep-alive
//! phase only, to show what `inline` saves.

mod reverse;
use reverse::{Params, Reversed};

#[whisk::action]
fn reverse(p: Params) -> Result<Reversed, whisk::Error> {
    Ok(Reversed::of(&p.payload))
}
