use serde_json::Value;
use whisk::{Context, State};

#[whisk::action]
fn echo(params: Value, _ctx: Context, _state: State<u32>) -> Result<Value, String> {
    Ok(params)
}
