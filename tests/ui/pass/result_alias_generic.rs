//! A result alias under another name: `type R<T> = Result<T, String>;`. The
//! attribute does not need to see `Result`: the compiler checks the type.

use serde_json::{Value, json};

type R<T> = Result<T, String>;

#[whisk::action]
async fn count(params: Value) -> R<Value> {
    let fields = params.as_object().ok_or("expected an object")?;
    Ok(json!({ "fields": fields.len() }))
}
