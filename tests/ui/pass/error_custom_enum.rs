//! A custom error enum that implements `Display`.

use std::fmt;

use serde_json::{Value, json};

#[derive(Debug)]
enum CheckError {
    NotAnObject,
    TooManyFields,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::NotAnObject => f.write_str("expected an object"),
            CheckError::TooManyFields => f.write_str("expected at most 100 fields"),
        }
    }
}

#[whisk::action]
fn check(params: Value) -> Result<Value, CheckError> {
    let Some(fields) = params.as_object() else {
        return Err(CheckError::NotAnObject);
    };
    if fields.len() > 100 {
        return Err(CheckError::TooManyFields);
    }
    Ok(json!({ "fields": fields.len() }))
}
