//! An async init function, and an async action with context and state.

use serde_json::{Value, json};
use whisk::{Context, Error, State};

mod config {
    pub struct Pool {
        pub size: usize,
    }

    pub async fn connect() -> Result<Pool, whisk::Error> {
        Ok(Pool { size: 4 })
    }
}

#[whisk::action(init = config::connect)]
async fn query(_params: Value, ctx: Context, pool: State<config::Pool>) -> Result<Value, Error> {
    Ok(json!({ "size": pool.size, "id": ctx.activation_id() }))
}
