//! An async action that uses its `Context`: it stops its work before the
//! activation's deadline instead of being killed by the platform.
//!
//! `{"work_ms": 200}` simulates 200 ms of async work (a slow HTTP call, say).
//! When the time left before the deadline (minus a safety margin) is shorter,
//! the work is cut off and the action answers an application error in time.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use whisk::{Context, Error};

#[derive(Deserialize)]
struct Params {
    work_ms: u64,
    #[serde(default)]
    panic_after_await: bool,
}

#[derive(Serialize)]
struct Done {
    activation_id: String,
    worked_ms: u64,
}

/// Time kept back to answer and flush logs before the deadline.
const MARGIN: Duration = Duration::from_millis(50);

#[whisk::action]
async fn work(p: Params, ctx: Context) -> Result<Done, Error> {
    let budget = ctx
        .remaining_time()
        .map_or(Duration::MAX, |left| left.saturating_sub(MARGIN));
    let job = tokio::time::sleep(Duration::from_millis(p.work_ms));
    if tokio::time::timeout(budget, job).await.is_err() {
        return Err(Error::new(serde_json::json!({
            "message": "stopped before the deadline",
            "budget_ms": budget.as_millis() as u64,
        })));
    }
    if p.panic_after_await {
        panic!("panicked while the future was polled");
    }
    Ok(Done {
        activation_id: ctx.activation_id().to_owned(),
        worked_ms: p.work_ms,
    })
}
