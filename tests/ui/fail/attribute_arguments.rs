use serde_json::Value;

#[whisk::action(foo)]
fn echo(params: Value) -> Result<Value, String> {
    Ok(params)
}
