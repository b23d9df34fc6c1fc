//! An Apache OpenWhisk action with state built once per container, written
//! with whisk: `{"by": 2}` -> `{"count": N}`, counting up while the container
//! stays warm.
//!
//! `setup` runs once, after `/init` has exported the action's environment
//! (here an optional `START`); every activation then shares the counter.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use whisk::{Error, State};

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
    Ok(Counter {
        count: AtomicU64::new(start),
    })
}

/// The action's parameters: `{"by": N}` (default 1).
#[derive(Deserialize)]
struct Params {
    #[serde(default = "one")]
    by: u64,
}

fn one() -> u64 {
    1
}

/// The result: `{"count": N}`.
#[derive(Serialize, Debug, PartialEq)]
struct Count {
    count: u64,
}

#[whisk::action(init = setup)]
fn count(p: Params, counter: State<Counter>) -> Result<Count, Error> {
    let count = counter.count.fetch_add(p.by, Ordering::Relaxed) + p.by;
    Ok(Count { count })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_up_across_activations() {
        let counter = State::new(Counter {
            count: AtomicU64::new(0),
        });
        assert_eq!(count(Params { by: 1 }, counter.clone()).unwrap().count, 1);
        assert_eq!(count(Params { by: 2 }, counter).unwrap().count, 3);
    }
}
