use serde_json::Value;

#[whisk::action]
fn echo(params: Value) -> Result<Value, String>
where
    Value: Clone,
{
    Ok(params)
}
