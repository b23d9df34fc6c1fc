//! `&'static str` as the error type.

use serde_json::{Value, json};

#[whisk::action]
fn check(params: Value) -> Result<Value, &'static str> {
    if params.is_object() {
        Ok(json!({ "ok": true }))
    } else {
        Err("expected an object")
    }
}
