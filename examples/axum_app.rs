//! A small REST API written with axum and served as an OpenWhisk web action
//! by `whisk::web::service`: items to list, get and create (`Path`,
//! `Query`, `Json`), an HTML page that reads a header and a cookie, a PNG,
//! a login that sets cookies, a middleware layer (a token check and an
//! activation id header), and a store built once per container.
//!
//! Build it static, pack it, and create it as a **raw** web action (the app
//! then gets the exact query and body; see `whisk::web::service` for what
//! `--web true` loses):
//!
//! ```text
//! cargo build --release --target x86_64-unknown-linux-musl --example axum_app
//! cargo whisk pack --binary target/x86_64-unknown-linux-musl/release/examples/axum_app -o items.zip
//! wsk action create items items.zip --native --web raw
//! wsk action get items --url
//! # https://APIHOST/api/v1/web/guest/default/items
//! ```
//!
//! Everything after the action's name is the app's path:
//!
//! ```text
//! URL=https://APIHOST/api/v1/web/guest/default/items
//! curl $URL/                                   # 200 text/html page
//! curl -o logo.png $URL/logo.png               # 200 image/png (1x1)
//! curl "$URL/items?tag=fruit&limit=10"         # 200 [{"id":1,"name":"apple","tag":"fruit"},...]
//! curl $URL/items/2                            # 200 {"id":2,"name":"bread","tag":null}
//! curl $URL/items/99                           # 404 {"error":"no item 99"}
//! curl -X POST -H 'content-type: application/json' \
//!      -H 'authorization: Bearer s3cret' \
//!      -d '{"name":"cherry","tag":"fruit"}' $URL/items   # 201 + location: /items/3
//! curl -i -X POST $URL/login?name=Jane         # 204, two set-cookie headers
//! curl $URL/nowhere                            # 404 from the router's fallback
//! ```
//!
//! The store is built by `setup` once per container, after `/init` has
//! exported its `env` (`ITEMS_TOKEN`, when set there, guards `POST`), and
//! shared by every activation the container serves (not between
//! containers: a real API keeps its data in a database).

use std::sync::Mutex;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{AppendHeaders, Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Clone, Serialize)]
struct Item {
    id: u64,
    name: String,
    tag: Option<String>,
}

#[derive(Deserialize)]
struct NewItem {
    name: String,
    tag: Option<String>,
}

#[derive(Deserialize)]
struct ListQuery {
    tag: Option<String>,
    limit: Option<usize>,
}

/// The container's store: built once by `setup`.
struct Store {
    items: Mutex<Vec<Item>>,
    /// When set, `POST` needs `authorization: Bearer <token>`.
    token: Option<String>,
}

type Shared = whisk::State<Store>;

fn setup() -> Result<Store, std::convert::Infallible> {
    let item = |id, name: &str, tag: Option<&str>| Item {
        id,
        name: name.to_owned(),
        tag: tag.map(str::to_owned),
    };
    Ok(Store {
        items: Mutex::new(vec![
            item(1, "apple", Some("fruit")),
            item(2, "bread", None),
        ]),
        token: std::env::var("ITEMS_TOKEN").ok().filter(|t| !t.is_empty()),
    })
}

async fn list(State(store): State<Shared>, Query(q): Query<ListQuery>) -> Json<Vec<Item>> {
    let items = store.items.lock().unwrap();
    Json(
        items
            .iter()
            .filter(|item| q.tag.is_none() || item.tag == q.tag)
            .take(q.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect(),
    )
}

async fn one(State(store): State<Shared>, Path(id): Path<u64>) -> Response {
    let items = store.items.lock().unwrap();
    match items.iter().find(|item| item.id == id) {
        Some(item) => Json(item.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no item {id}") })),
        )
            .into_response(),
    }
}

async fn create(State(store): State<Shared>, Json(new): Json<NewItem>) -> impl IntoResponse {
    let mut items = store.items.lock().unwrap();
    let id = items.iter().map(|item| item.id).max().unwrap_or(0) + 1;
    let item = Item {
        id,
        name: new.name,
        tag: new.tag,
    };
    items.push(item.clone());
    (
        StatusCode::CREATED,
        [(header::LOCATION, format!("/items/{id}"))],
        Json(item),
    )
}

/// The HTML page: reads the `user-agent` header and the `name` cookie.
async fn page(headers: HeaderMap) -> Html<String> {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("an unknown agent");
    let name = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("name="))
        .unwrap_or("stranger");
    Html(format!(
        "<!doctype html><title>items</title><h1>Hello, {}!</h1><p>You use {}.</p>\
         <img src=\"logo.png\" alt=\"logo\">",
        escape(name),
        escape(agent)
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A 1x1 PNG; `whisk::web::service` sends it base64-encoded, and the
/// controller decodes it for the client.
const LOGO: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0dIDAT\x78\xda\x63\x64\x60\xf8\x5f\x0f\x00\x02\x87\x01\x80\xeb\x47\xba\x92\x00\x00\x00\x00IEND\xae\x42\x60\x82";

async fn logo() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/png")], LOGO)
}

#[derive(Deserialize)]
struct Login {
    name: String,
}

/// Sets two cookies: two `set-cookie` headers, sent as a JSON array.
async fn login(Query(login): Query<Login>) -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        // `AppendHeaders` keeps both (an array of pairs keeps the last).
        AppendHeaders([
            (header::SET_COOKIE, format!("name={}; Path=/", login.name)),
            (header::SET_COOKIE, "theme=dark; Path=/".to_owned()),
        ]),
    )
}

/// A middleware on the item routes: when the store has a token, `POST`
/// needs `authorization: Bearer <token>`.
async fn require_token(State(store): State<Shared>, request: Request, next: Next) -> Response {
    if let Some(token) = &store.token {
        let bearer = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if request.method() == "POST" && bearer != Some(token.as_str()) {
            return (StatusCode::UNAUTHORIZED, "a bearer token is required\n").into_response();
        }
    }
    next.run(request).await
}

/// A middleware on every answer, the fallback's included: which activation
/// served it, from the `whisk::Context` request extension.
async fn activation_header(request: Request, next: Next) -> Response {
    let activation = request
        .extensions()
        .get::<whisk::Context>()
        .map(|ctx| ctx.activation_id().to_owned())
        .unwrap_or_default();
    let mut response = next.run(request).await;
    if let Ok(value) = activation.parse() {
        response.headers_mut().insert("x-activation-id", value);
    }
    response
}

fn app(store: Shared) -> Router {
    let items = Router::new()
        .route("/items", get(list).post(create))
        .route("/items/{id}", get(one))
        // `route_layer`: only these routes (not the fallback).
        .route_layer(middleware::from_fn_with_state(store.clone(), require_token));
    Router::new()
        .route("/", get(page))
        .route("/logo.png", get(logo))
        .route("/login", post(login))
        .merge(items)
        .layer(middleware::from_fn(activation_header))
        .with_state(store)
}

fn main() -> std::process::ExitCode {
    whisk::run(whisk::stateful(setup, |store: Shared| {
        whisk::web::service(app(store))
    }))
}
