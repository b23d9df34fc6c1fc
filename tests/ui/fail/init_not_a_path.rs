use serde_json::Value;

#[whisk::action(init = "setup")]
fn echo(params: Value) -> Result<Value, String> {
    Ok(params)
}
