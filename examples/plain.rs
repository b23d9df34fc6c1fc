//! The runtime without the attribute (like Go's `ow.RegisterAction`), with
//! state built once per container and `tracing` logs that carry the
//! activation id.
//!
//! `setup` runs when `/init` arrives, after its `env` is exported, so
//! `GREETING` may come from an init parameter (`wsk action create ...
//! --param-file` with `"init": true`, or `-p` on the image).

use serde_json::{Value, json};
use whisk::{Context, Error, State, tracing};

/// Built once, shared by every activation of this container.
struct Greeter {
    greeting: String,
    built_at: std::time::SystemTime,
}

fn setup() -> Result<Greeter, Error> {
    let greeting = std::env::var("GREETING").unwrap_or_else(|_| "Hello".to_owned());
    if greeting.is_empty() {
        return Err(Error::message("GREETING must not be empty"));
    }
    tracing::info!(%greeting, "state built");
    Ok(Greeter {
        greeting,
        built_at: std::time::SystemTime::now(),
    })
}

fn greet(params: Value, greeter: &Greeter) -> Result<Value, Error> {
    let name = params["name"].as_str().unwrap_or("stranger");
    tracing::info!(name, "greeting");
    let age = greeter.built_at.elapsed().unwrap_or_default();
    Ok(json!({
        "greeting": format!("{}, {name}!", greeter.greeting),
        "state_age_ms": age.as_millis() as u64,
    }))
}

fn main() -> std::process::ExitCode {
    tracing::init();
    whisk::run(whisk::stateful(setup, |greeter: State<Greeter>| {
        whisk::sync_fn(move |params: Value, _ctx: Context| greet(params, &greeter))
    }))
}
