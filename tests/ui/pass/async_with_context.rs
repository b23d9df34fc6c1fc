//! An async action that also takes the activation's context.

use serde_json::{Value, json};

#[whisk::action]
async fn whoami(params: Value, ctx: whisk::Context) -> Result<Value, whisk::Error> {
    Ok(json!({ "params": params, "namespace": ctx.namespace() }))
}
