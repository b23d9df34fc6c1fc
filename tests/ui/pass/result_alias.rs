//! A `Result` alias with the error type fixed, as `std::io::Result<T>` does:
//! the attribute only sees `Result<Output>` and the compiler checks the rest.

use serde_json::{Value, json};

type Result<T> = std::result::Result<T, String>;

#[whisk::action]
fn count(params: Value) -> Result<Value> {
    let fields = params.as_object().ok_or("expected an object")?;
    Ok(json!({ "fields": fields.len() }))
}
