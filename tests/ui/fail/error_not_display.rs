use serde_json::Value;

#[derive(Debug)]
struct Failure;

#[whisk::action]
fn fail(_params: Value) -> Result<Value, Failure> {
    Err(Failure)
}
