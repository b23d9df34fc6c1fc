//! A small JSON API as an Apache OpenWhisk web action (`--web true`),
//! written with whisk:
//!
//! * `GET  .../NAME?name=Jane` answers `200 {"greeting":"Hello, Jane!"}`;
//! * `POST .../NAME` with a JSON body answers `201 {"created": <body>}`;
//! * any other method answers `405` with an `allow` header.

use serde::Deserialize;
use serde_json::{Value, json};
use whisk::web::{Method, Request, Response};

/// The query of a `GET`: merged into the parameters by the controller.
#[derive(Deserialize)]
struct Greet {
    name: Option<String>,
}

#[whisk::action]
fn api(req: Request) -> Result<Response, whisk::Error> {
    match req.method() {
        Method::Get => {
            // A bad request (e.g. `name` is not a string) answers 400.
            let greet: Greet = req.json()?;
            let name = greet.name.as_deref().unwrap_or("stranger");
            Ok(Response::ok().json(&json!({ "greeting": format!("Hello, {name}!") })))
        }
        Method::Post => {
            let body: Value = req.json()?;
            Ok(Response::created().json(&json!({ "created": body })))
        }
        other => Err(Response::new(405)
            .header("allow", "GET, POST")
            .json(&json!({ "error": format!("{other} is not allowed") }))
            .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `value` OpenWhisk's controller sends for a web request.
    fn request(value: Value) -> Request {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn get_greets_by_name() {
        let req = request(json!({"__ow_method": "get", "__ow_path": "", "name": "Jane"}));
        let res = api(req).unwrap();
        assert_eq!(res.status(), 200);
    }

    #[test]
    fn post_creates() {
        let req = request(json!({"__ow_method": "post", "__ow_path": "", "id": 7}));
        assert_eq!(api(req).unwrap().status(), 201);
    }

    #[test]
    fn other_methods_are_refused() {
        let req = request(json!({"__ow_method": "delete", "__ow_path": ""}));
        assert!(api(req).is_err());
    }
}
