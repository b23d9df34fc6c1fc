//! A custom error enum that implements `Display`.

use std::fmt;

use serde_json::{Value, json};

#[derive(Debug)]
enum CheckError {
    NotAnObject,
    Empty,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::NotAnObject => f.write_str("expected an object"),
            CheckError::Empty => f.write_str("expected at least one field"),
        }
    }
}

#[whisk::action]
fn check(params: Value) -> Result<Value, CheckError> {
    let Some(fields) = params.as_object() else {
        return Err(CheckError::NotAnObject);
    };
    if fields.len() > 100 {
        return Err(CheckError::Empty);
    }
    Ok(json!({ "fields": fields.len() }))
}
