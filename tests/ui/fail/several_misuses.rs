use serde_json::Value;

#[whisk::action(verbose)]
async unsafe fn main<T>(params: Value, ctx: whisk::Context, extra: T) {
    let _ = (params, ctx, extra);
}
