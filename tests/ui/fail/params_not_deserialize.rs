use serde_json::{Value, json};

struct Params {
    name: String,
}

#[whisk::action]
fn greet(p: Params) -> Result<Value, String> {
    Ok(json!({ "greeting": format!("Hello, {}!", p.name) }))
}
