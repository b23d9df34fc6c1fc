use serde_json::Value;

#[whisk::action]
fn echo(params: Value, ctx: whisk::Context, extra: u32) -> Result<Value, String> {
    let _ = (ctx, extra);
    Ok(params)
}
