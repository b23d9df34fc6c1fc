// An axum app is served with `whisk::web::service`; the attribute says so.
use axum::{Router, routing::get};

#[whisk::action]
fn app() -> Router {
    Router::new().route("/", get(|| async { "hello" }))
}
