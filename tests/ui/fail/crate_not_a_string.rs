use serde_json::Value;

#[whisk::action(crate = whisk)]
fn echo(params: Value) -> Result<Value, String> {
    Ok(params)
}
