use serde_json::Value;

struct Echo;

impl Echo {
    #[whisk::action]
    fn echo(&self, params: Value) -> Result<Value, String> {
        Ok(params)
    }
}

// Inside an `impl` the attribute cannot generate the crate's `main` (it
// would be an associated function), so it generates none; this file has
// its own, as a crate with such an `impl` would.
fn main() {}
