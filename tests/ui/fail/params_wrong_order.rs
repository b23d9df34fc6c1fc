use serde::Deserialize;
use whisk::Context;

#[derive(Deserialize)]
struct Params {
    name: String,
}

#[whisk::action]
fn greet(ctx: Context, p: Params) -> Result<String, String> {
    Ok(format!("{} {}", p.name, ctx.activation_id()))
}
