use serde_json::{Value, json};

#[whisk::action]
fn greet(name: &str) -> Result<Value, String> {
    Ok(json!({ "greeting": format!("Hello, {name}!") }))
}
