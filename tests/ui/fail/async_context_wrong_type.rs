use serde_json::Value;

#[whisk::action]
async fn echo(params: Value, ctx: &whisk::Context) -> Result<Value, String> {
    let _ = ctx;
    Ok(params)
}
