//! The reverse action as a raw web action: an axum app, `POST /reverse`
//! with `{"payload": ...}`, served by `whisk::web::service`.

mod reverse;
use axum::routing::post;
use axum::{Json, Router};
use reverse::{Params, Reversed};

async fn reverse(Json(p): Json<Params>) -> Json<Reversed> {
    Json(Reversed::of(&p.payload))
}

fn main() -> std::process::ExitCode {
    whisk::run(whisk::web::service(
        Router::new().route("/reverse", post(reverse)),
    ))
}
