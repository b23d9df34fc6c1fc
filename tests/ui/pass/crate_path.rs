// `crate = "..."` names the library in the generated code: here through a
// module that re-exports it, as a crate that renames the dependency would.
mod facade {
    pub use whisk::*;
}

use serde_json::Value;

#[facade::action(crate = "crate::facade")]
fn echo(params: Value) -> Result<Value, String> {
    Ok(params)
}
