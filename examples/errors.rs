//! Errors, the three ways: a `Display` error type of your own, `whisk::Error`
//! with structured JSON, and `?` on any standard error.
//!
//! Every `Err` answers `200 {"error": ...}`: OpenWhisk records an application
//! error and keeps the container warm.

use std::fmt;

use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Params {
    kind: String,
    #[serde(default)]
    number: String,
}

/// A domain error: becomes `{"error": "<its Display text>"}`.
#[derive(Debug)]
enum TransferError {
    InsufficientFunds { needed: u64 },
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferError::InsufficientFunds { needed } => {
                write!(f, "insufficient funds: {needed} more needed")
            }
        }
    }
}

fn transfer() -> Result<Value, TransferError> {
    Err(TransferError::InsufficientFunds { needed: 42 })
}

#[whisk::action]
fn errors(p: Params) -> Result<Value, whisk::Error> {
    match p.kind.as_str() {
        // A Display error, turned into whisk::Error by its message.
        "display" => transfer().map_err(whisk::Error::message),
        // Structured: a web action picks its HTTP status this way.
        "structured" => Err(whisk::Error::new(json!({
            "statusCode": 409,
            "body": {"reason": "conflict", "retry": false},
        }))),
        // `?` on a std error: ParseIntError -> "invalid digit found in string".
        "parse" => {
            let n: i64 = p.number.parse()?;
            Ok(json!({ "doubled": n * 2 }))
        }
        other => Err(whisk::Error::message(format!("unknown kind {other:?}"))),
    }
}
