//! `impl Serialize` as the output type: it cannot be named in the generated
//! code, so it is inferred.

use serde_json::json;

#[whisk::action]
fn hello(_params: serde_json::Value) -> Result<impl serde::Serialize, String> {
    Ok(json!({ "greeting": "hello" }))
}
