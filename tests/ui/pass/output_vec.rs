//! A `Vec<T>` output (a JSON array).

use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
struct Field {
    name: String,
}

#[whisk::action]
fn fields(params: Value) -> Result<Vec<Field>, String> {
    let object = params.as_object().ok_or("expected an object")?;
    Ok(object
        .keys()
        .map(|name| Field { name: name.clone() })
        .collect())
}
