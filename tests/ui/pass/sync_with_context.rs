//! A sync action that also takes the activation's context.

use serde_json::{Value, json};

#[whisk::action]
fn whoami(params: Value, ctx: whisk::Context) -> Result<Value, String> {
    Ok(json!({ "params": params, "activation": ctx.activation_id() }))
}
