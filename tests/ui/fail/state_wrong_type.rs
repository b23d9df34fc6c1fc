use serde_json::Value;

fn setup() -> Result<u32, String> {
    Ok(1)
}

#[whisk::action(init = setup)]
fn echo(params: Value, state: u32) -> Result<Value, String> {
    Ok(params)
}
