//! `inline` with the other arguments, in any order, and a context.

use serde_json::{Value, json};
use whisk::{Context, State};

struct Config {
    greeting: String,
}

fn setup() -> Result<Config, String> {
    Ok(Config {
        greeting: "hello".into(),
    })
}

#[whisk::action(tracing, inline, init = setup)]
fn greet(_params: Value, ctx: Context, config: State<Config>) -> Result<Value, String> {
    Ok(json!({ "greeting": config.greeting, "id": ctx.activation_id() }))
}
