use serde_json::Value;

struct Greeting {
    greeting: String,
}

#[whisk::action]
fn greet(_params: Value) -> Result<Greeting, String> {
    Ok(Greeting {
        greeting: "hello".to_owned(),
    })
}
