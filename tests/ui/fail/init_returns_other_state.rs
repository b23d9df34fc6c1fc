use serde_json::Value;
use whisk::State;

fn setup() -> Result<u32, String> {
    Ok(1)
}

#[whisk::action(init = setup)]
fn echo(params: Value, state: State<String>) -> Result<Value, String> {
    Ok(params)
}
