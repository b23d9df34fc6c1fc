use serde_json::Value;

#[whisk::action]
fn echo<T: Into<Value>>(params: Value) -> Result<Value, String> {
    Ok(params)
}
