use serde_json::Value;

#[whisk::action]
fn echo(params: Value) -> String {
    params.to_string()
}
