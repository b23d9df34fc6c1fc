use serde_json::Value;

#[whisk::action(inline = true)]
fn echo(params: Value) -> Result<Value, String> {
    Ok(params)
}
