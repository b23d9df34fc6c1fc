//! `String` as the error type.

use serde_json::{Value, json};

#[whisk::action]
fn check(params: Value) -> Result<Value, String> {
    if params.is_object() {
        Ok(json!({ "ok": true }))
    } else {
        Err(format!("expected an object, got {params}"))
    }
}
