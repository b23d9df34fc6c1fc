use serde_json::{Value, json};

#[whisk::action]
fn hello() -> Result<Value, String> {
    Ok(json!({ "greeting": "hello" }))
}
