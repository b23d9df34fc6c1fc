use std::rc::Rc;

use serde_json::Value;

async fn tick() {}

#[whisk::action]
async fn count(params: Value) -> Result<Value, String> {
    let seen = Rc::new(params);
    tick().await;
    Ok((*seen).clone())
}
