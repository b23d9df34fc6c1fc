//! `inline` on a sync function.

use serde_json::Value;

#[whisk::action(inline)]
fn echo(params: Value) -> Result<Value, String> {
    Ok(params)
}
