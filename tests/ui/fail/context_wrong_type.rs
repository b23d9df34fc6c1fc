use serde_json::Value;

#[whisk::action]
fn echo(params: Value, activation_id: String) -> Result<Value, String> {
    let _ = activation_id;
    Ok(params)
}
