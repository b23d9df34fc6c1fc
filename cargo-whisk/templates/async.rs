//! An async Apache OpenWhisk action written with whisk: `{"name":"Jane"}` ->
//! `{"greeting":"Hello, Jane!"}`, from an async lookup bounded by the
//! activation's deadline.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The action's parameters: `{"name": "..."}` (default: `"stranger"`).
#[derive(Deserialize)]
struct Params {
    #[serde(default = "stranger")]
    name: String,
}

fn stranger() -> String {
    "stranger".into()
}

/// The result: `{"greeting": "..."}`.
#[derive(Serialize, Debug, PartialEq)]
struct Greeting {
    greeting: String,
}

/// Stands in for real I/O (an HTTP call, a database query): replace it.
async fn lookup(name: &str) -> String {
    tokio::time::sleep(Duration::from_millis(5)).await;
    format!("Hello, {name}!")
}

/// An `async fn` runs on whisk's tokio runtime; `whisk::Context` carries the
/// activation's metadata, its deadline included.
#[whisk::action]
async fn greet(p: Params, ctx: whisk::Context) -> Result<Greeting, whisk::Error> {
    // Give up before OpenWhisk's own timeout, with an error that says why.
    let budget = ctx.remaining_time().unwrap_or(Duration::from_secs(60));
    let greeting = tokio::time::timeout(budget, lookup(&p.name))
        .await
        .map_err(|_| whisk::Error::message("the lookup did not answer in time"))?;
    Ok(Greeting { greeting })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn greets_by_name() {
        let params: Params = serde_json::from_str(r#"{"name":"Jane"}"#).unwrap();
        let ctx = whisk::Context::from_metadata(serde_json::Map::new());
        assert_eq!(
            greet(params, ctx).await.unwrap(),
            Greeting {
                greeting: "Hello, Jane!".into()
            }
        );
    }

    #[tokio::test]
    async fn greets_a_stranger_without_a_name() {
        let params: Params = serde_json::from_str("{}").unwrap();
        let ctx = whisk::Context::from_metadata(serde_json::Map::new());
        assert_eq!(greet(params, ctx).await.unwrap().greeting, "Hello, stranger!");
    }
}
