use serde_json::Value;

#[whisk::action]
unsafe fn echo(params: Value) -> Result<Value, String> {
    Ok(params)
}
