//! An async action with one parameter.

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Params {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Serialize)]
struct Greeting {
    greeting: String,
}

#[whisk::action]
async fn greet(p: Params) -> Result<Greeting, whisk::Error> {
    let name = p.name.unwrap_or_else(|| "world".to_owned());
    Ok(Greeting {
        greeting: format!("Hello, {name}!"),
    })
}
