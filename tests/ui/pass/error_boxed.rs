//! `Box<dyn std::error::Error + Send + Sync>` as the error type.

use serde_json::{Value, json};

#[whisk::action]
fn parse(params: Value) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
    let text = params["n"].as_str().unwrap_or("0");
    let n: i64 = text.parse()?;
    Ok(json!({ "n": n }))
}
