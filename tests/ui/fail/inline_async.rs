use serde_json::Value;

#[whisk::action(inline)]
async fn echo(params: Value) -> Result<Value, String> {
    Ok(params)
}
