use serde_json::Value;

#[whisk::action]
fn echo(params: impl serde::de::DeserializeOwned) -> Result<Value, String> {
    let _ = params;
    Ok(Value::Null)
}
