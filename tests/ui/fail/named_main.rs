use serde_json::Value;

#[whisk::action]
fn main(params: Value) -> Result<Value, String> {
    Ok(params)
}
