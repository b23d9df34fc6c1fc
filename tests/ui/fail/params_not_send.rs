use std::rc::Rc;

use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Params {
    name: String,
    #[serde(skip)]
    cache: Option<Rc<String>>,
}

#[whisk::action]
fn greet(p: Params) -> Result<Value, String> {
    let greeting = p
        .cache
        .map_or_else(|| format!("Hello, {}!", p.name), |c| c.to_string());
    Ok(json!({ "greeting": greeting }))
}
