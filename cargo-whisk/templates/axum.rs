//! An axum router served as an Apache OpenWhisk web action (`--web raw`),
//! written with whisk:
//!
//! * `GET  .../NAME/?name=Jane` answers `{"greeting":"Hello, Jane!"}`;
//! * `POST .../NAME/echo` with a JSON body answers that body.
//!
//! `whisk::web::service` turns each activation's web request into an
//! `http::Request` for the router, and the router's response back into the
//! activation's result.

use axum::extract::Query;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
struct Greet {
    name: Option<String>,
}

#[derive(Serialize)]
struct Greeting {
    greeting: String,
}

async fn hello(Query(greet): Query<Greet>) -> Json<Greeting> {
    let name = greet.name.as_deref().unwrap_or("stranger");
    Json(Greeting {
        greeting: format!("Hello, {name}!"),
    })
}

async fn echo(Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

/// The application: an ordinary axum router, testable without OpenWhisk.
fn app() -> Router {
    Router::new()
        .route("/", get(hello))
        .route("/echo", post(echo))
}

fn main() -> std::process::ExitCode {
    whisk::run(whisk::web::service(app()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    #[tokio::test]
    async fn greets_by_name() {
        let request = Request::get("/?name=Jane").body(Body::empty()).unwrap();
        let response = app().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], br#"{"greeting":"Hello, Jane!"}"#);
    }

    #[tokio::test]
    async fn echoes_json() {
        let request = Request::post("/echo")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"id":7}"#))
            .unwrap();
        let response = app().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], br#"{"id":7}"#);
    }
}
