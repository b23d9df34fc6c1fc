use serde_json::Value;

#[derive(Debug)]
struct Failure;

type Result<T> = std::result::Result<T, Failure>;

#[whisk::action]
fn fail(_params: Value) -> Result<Value> {
    Err(Failure)
}
