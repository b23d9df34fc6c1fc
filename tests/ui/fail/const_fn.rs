use serde_json::Value;

#[whisk::action]
const fn echo(params: Value) -> Result<Value, String> {
    Ok(params)
}
