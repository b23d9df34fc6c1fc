//! `serde_json::Value` accepts any input.

#[whisk::action]
fn echo(params: serde_json::Value) -> Result<serde_json::Value, String> {
    Ok(params)
}
