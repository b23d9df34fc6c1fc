//! A small JSON API as a web action (`--web true`):
//!
//! * `GET  .../web_api?name=Jane` answers `200 {"greeting":"Hello, Jane!"}`;
//! * `POST .../web_api` with a JSON body answers `201 {"created": <body>}`
//!   and a `location` header;
//! * any other method answers `405` with an `allow` header, through the
//!   error mapping (`Err(response)` becomes `{"error": {"statusCode": 405, ...}}`,
//!   which the controller answers with that status).
//!
//! ```text
//! wsk action create web_api --docker <image> --web true
//! curl "https://$APIHOST/api/v1/web/guest/default/web_api?name=Jane"
//! curl -X POST -H 'content-type: application/json' -d '{"id":7}' \
//!      "https://$APIHOST/api/v1/web/guest/default/web_api"
//! ```

use serde::Deserialize;
use serde_json::{Value, json};
use whisk::web::{Method, Request, Response};

/// The query of a `GET`: merged into the parameters by the controller.
#[derive(Deserialize)]
struct Greet {
    name: Option<String>,
}

#[whisk::action]
fn web_api(req: Request) -> Result<Response, whisk::Error> {
    match req.method() {
        Method::Get => {
            // A bad request (e.g. `name` is not a string) answers 400.
            let greet: Greet = req.json()?;
            let name = greet.name.as_deref().unwrap_or("stranger");
            Ok(Response::ok().json(&json!({ "greeting": format!("Hello, {name}!") })))
        }
        Method::Post => {
            let body: Value = req.json()?;
            Ok(Response::created()
                .header("location", format!("/web_api{}", req.path()))
                .json(&json!({ "created": body })))
        }
        other => Err(Response::new(405)
            .header("allow", "GET, POST")
            .json(&json!({ "error": format!("{other} is not allowed") }))
            .into()),
    }
}
