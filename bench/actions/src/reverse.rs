//! The reverse example's parameters and result, shared by the variants.

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct Params {
    pub payload: String,
}

#[derive(Serialize)]
pub struct Reversed {
    pub reversed: String,
}

impl Reversed {
    /// `payload` reversed by Unicode scalar values, as `examples/reverse.rs`.
    pub fn of(payload: &str) -> Self {
        Reversed {
            reversed: payload.chars().rev().collect(),
        }
    }
}
