//! The reverse action as a raw web action written with the `whisk::web`
//! types (`POST .../reverse` with `{"payload": ...}`), in the reverse
//! example's form (`inline`): the baseline of `web-reverse-axum`.

mod reverse;
use reverse::{Params, Reversed};
use whisk::web::{Method, Request, Response};

#[whisk::action(inline)]
fn reverse(req: Request) -> Result<Response, whisk::Error> {
    if req.method() != Method::Post || req.path() != "/reverse" {
        return Err(whisk::web::error(404, "not found"));
    }
    let p: Params = req.json()?;
    Ok(Response::ok().json(&Reversed::of(&p.payload)))
}
