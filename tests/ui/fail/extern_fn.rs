use serde_json::Value;

#[whisk::action]
extern "C" fn echo(params: Value) -> Result<Value, String> {
    Ok(params)
}
