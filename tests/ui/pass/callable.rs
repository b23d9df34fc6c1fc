//! The function stays as written: other code (a helper here, a unit test in
//! a real crate) can still call it, and the generated `main` serves it.

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Params {
    #[serde(default)]
    payload: String,
}

#[derive(Serialize, Debug, PartialEq)]
struct Reversed {
    reversed: String,
    activation: String,
}

#[whisk::action]
fn reverse(p: Params, ctx: whisk::Context) -> Result<Reversed, whisk::Error> {
    Ok(Reversed {
        reversed: p.payload.chars().rev().collect(),
        activation: ctx.activation_id().to_owned(),
    })
}

#[allow(dead_code)]
fn reverse_hello() -> Reversed {
    let ctx = whisk::Context::from_metadata(serde_json::Map::new());
    let params = Params {
        payload: "hello".into(),
    };
    reverse(params, ctx).expect("reverse never fails")
}
