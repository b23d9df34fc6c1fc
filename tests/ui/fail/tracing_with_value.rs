use serde_json::Value;

#[whisk::action(tracing = true)]
fn echo(params: Value) -> Result<Value, String> {
    Ok(params)
}
