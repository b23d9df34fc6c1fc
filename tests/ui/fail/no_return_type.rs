use serde_json::Value;

#[whisk::action]
fn log(params: Value) {
    println!("{params}");
}
