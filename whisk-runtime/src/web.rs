//! Web actions: typed HTTP [`Request`] and [`Response`], or a whole axum
//! app with [`service`] (feature `axum`, on by default).
//!
//! A *web action* (`wsk action create NAME --web true`, or `--web raw`) is
//! called by plain HTTP at `https://APIHOST/api/v1/web/NAMESPACE/PACKAGE/NAME`.
//! OpenWhisk's controller passes the HTTP request to the action as `__ow_*`
//! keys of its `value`, and turns the action's result object
//! `{"statusCode", "headers", "body"}` into the HTTP response. Nothing
//! special happens in the runtime: these types only decode and encode those
//! two JSON shapes, following the controller's rules (`WebActions.scala`;
//! [docs/PROTOCOL.md](https://github.com/whisk-rs/whisk/blob/main/docs/PROTOCOL.md)
//! §11) so that an action never handles base64 or `__ow_*`
//! keys itself.
//!
//! ```
//! # extern crate whisk_runtime as whisk;
//! use whisk::Error;
//! use whisk::web::{self, Method, Request, Response};
//! use serde::Deserialize;
//! use serde_json::json;
//!
//! #[derive(Deserialize)]
//! struct Hello { name: Option<String> }
//!
//! // With `whisk`, mark this `#[whisk::action]`.
//! fn hello(req: Request) -> Result<Response, Error> {
//!     match req.method() {
//!         Method::Get => {
//!             let hello: Hello = req.json()?; // a bad request answers 400
//!             let name = hello.name.as_deref().unwrap_or("stranger");
//!             Ok(Response::ok().json(&json!({ "greeting": format!("Hello, {name}!") })))
//!         }
//!         _ => Err(web::error(405, "only GET is allowed")),
//!     }
//! }
//!
//! // What the controller sends for `GET .../hello?name=Jane` (--web true):
//! let req: Request = serde_json::from_value(json!({
//!     "__ow_method": "get",
//!     "__ow_headers": {"accept": "*/*"},
//!     "__ow_path": "",
//!     "name": "Jane"
//! })).unwrap();
//! let response = serde_json::to_value(hello(req).unwrap()).unwrap();
//! assert_eq!(response, json!({
//!     "statusCode": 200,
//!     "headers": {"content-type": "application/json"},
//!     "body": {"greeting": "Hello, Jane!"}
//! }));
//! ```
//!
//! An error is a [`Response`] too: `Err` of [`crate::Error`] made from a
//! response ([`error`], [`Response::into_error`], `From<Response>`,
//! `From<RequestError>`) is sent as `{"error": {"statusCode": ..., ...}}`,
//! which the controller answers with that status. A plain message error
//! (`Err("...")`) is not an object, and the controller answers it with a
//! generic `400 Response is not valid 'message/http'.`

#[cfg(feature = "axum")]
mod app;
mod codec;
mod media;
mod method;
mod request;
mod response;

#[cfg(feature = "axum")]
pub use app::{User, service};
pub use method::Method;
pub use request::{Request, RequestError};
pub use response::{Response, error};

#[cfg(test)]
mod tests;
