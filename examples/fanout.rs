//! Fan-out: invokes an action once per item, all at once, as the activation's
//! own subject (its api host, key and namespace), and answers the results in
//! the items' order.
//!
//! `{"action": "pkg/square", "items": [1, 2, 3]}` invokes `pkg/square` with
//! `{"item": 1}`, `{"item": 2}` and `{"item": 3}` (blocking, for the results)
//! and answers `{"results": [r1, r2, r3]}`; an item whose invoke failed
//! gives `{"error": ...}` in its place. Build it with the client feature:
//!
//! ```text
//! cargo build --release --example fanout --features client
//! ```
//!
//! OpenWhisk gives the action a key only with the `provide-api-key`
//! annotation (see the README's "Actions that invoke actions").

use serde::Deserialize;
use serde_json::{Value, json};
use whisk::client::{Client, Error as ClientError};

#[derive(Deserialize)]
struct Params {
    /// The action to invoke per item: `name`, `pkg/name`, `/ns/pkg/name`.
    action: String,
    items: Vec<Value>,
}

#[whisk::action]
async fn fanout(p: Params, ctx: whisk::Context) -> Result<Value, whisk::Error> {
    let client = Client::from_context(&ctx).map_err(whisk::Error::message)?;
    // One task per item: the invokes run concurrently on the runtime's
    // tokio; awaiting the handles in order keeps the items' order.
    let calls: Vec<_> = p
        .items
        .into_iter()
        .map(|item| {
            let (client, action) = (client.clone(), p.action.clone());
            tokio::spawn(async move { client.invoke(&action, json!({ "item": item })).await })
        })
        .collect();
    let mut results = Vec::with_capacity(calls.len());
    for call in calls {
        results.push(match call.await {
            Ok(Ok(result)) => result,
            // The invoked action's own error value.
            Ok(Err(ClientError::Application { error, .. })) => json!({ "error": error }),
            Ok(Err(other)) => json!({ "error": other.to_string() }),
            Err(join) => json!({ "error": join.to_string() }),
        });
    }
    Ok(json!({ "results": results }))
}
