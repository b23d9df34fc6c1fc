use serde_json::Value;

#[whisk::action]
fn echo(params: Value) -> Result<Value, String> {
    Ok(params)
}

fn main() {
    println!("my own main");
}
