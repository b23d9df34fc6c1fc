//! `whisk::Error` as the error type, with `?` on a standard error.

use serde_json::{Value, json};

#[whisk::action]
fn parse(params: Value) -> Result<Value, whisk::Error> {
    let text = params["n"].as_str().unwrap_or("0");
    let n: i64 = text.parse()?;
    if n < 0 {
        return Err(whisk::Error::new(
            json!({ "statusCode": 400, "body": "negative" }),
        ));
    }
    Ok(json!({ "n": n }))
}
