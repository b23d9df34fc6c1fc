//! `examples/reverse.rs` printing one line to stdout per activation, as most
//! real actions log something. Measured against the baseline run with
//! `BASELINE_PRINT=1`, which prints the same line straight to its stdout:
//! the difference is what whisk's log pump (the pipe in front of stdout,
//! drained at the end of each activation so the sentinel starts a line)
//! costs an action that prints.

mod reverse;
use reverse::{Params, Reversed};

#[whisk::action(inline)]
fn reverse(p: Params) -> Result<Reversed, whisk::Error> {
    println!("reversing {} bytes", p.payload.len());
    Ok(Reversed::of(&p.payload))
}
