//! `init = ...` builds the state once; the action takes it last.

use serde_json::{Value, json};
use whisk::State;

struct Config {
    greeting: String,
}

fn setup() -> Result<Config, String> {
    Ok(Config {
        greeting: "hello".into(),
    })
}

#[whisk::action(init = setup, tracing)]
fn greet(_params: Value, config: State<Config>) -> Result<Value, String> {
    Ok(json!({ "greeting": config.greeting }))
}
