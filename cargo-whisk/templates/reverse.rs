//! An Apache OpenWhisk action written with whisk: `{"payload":"hello"}` ->
//! `{"reversed":"olleh"}`.

use serde::{Deserialize, Serialize};

/// The action's parameters: `{"payload": "..."}`.
#[derive(Deserialize)]
struct Params {
    payload: String,
}

/// The result: `{"reversed": "..."}`.
#[derive(Serialize, Debug, PartialEq)]
struct Reversed {
    reversed: String,
}

/// `#[whisk::action]` keeps this function as written and generates `main`,
/// which serves it as OpenWhisk expects (`/init` and `/run` on port 8080, or
/// one activation per process under the `--native` proxy).
#[whisk::action]
fn reverse(p: Params) -> Result<Reversed, whisk::Error> {
    Ok(Reversed {
        reversed: p.payload.chars().rev().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverses_the_payload() {
        let params: Params = serde_json::from_str(r#"{"payload":"hello"}"#).unwrap();
        assert_eq!(
            reverse(params).unwrap(),
            Reversed {
                reversed: "olleh".into()
            }
        );
    }
}
