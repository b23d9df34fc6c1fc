//! Reading a [`Request`] from the `value` the controller sends: its
//! `Deserialize` impl, and the errors that name the failing field.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::{Method, Request, RequestError};

pub(super) fn from_value<T: DeserializeOwned>(
    value: &Value,
    what: &str,
) -> Result<T, RequestError> {
    serde_path_to_error::deserialize(value).map_err(|e| path_error(what, e))
}

pub(super) fn path_error(
    what: &str,
    error: serde_path_to_error::Error<serde_json::Error>,
) -> RequestError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        RequestError::new(format!("{what} is not valid JSON: {inner}"))
    } else if path == "." {
        RequestError::new(format!("cannot read {what}: {inner}"))
    } else {
        RequestError::new(format!("cannot read {what} at `{path}`: {inner}"))
    }
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RequestVisitor;
        impl<'de> Visitor<'de> for RequestVisitor {
            type Value = Request;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a web action request: an object with `__ow_method`, `__ow_headers`, ...",
                )
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Request, M::Error> {
                let mut method = None;
                let mut headers = BTreeMap::new();
                let mut path = String::new();
                let mut user = None;
                let mut query = None;
                let mut body = None;
                let mut params = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "__ow_method" => method = Some(map.next_value::<Method>()?),
                        "__ow_headers" => {
                            headers = map
                                .next_value::<BTreeMap<String, String>>()?
                                .into_iter()
                                .map(|(name, value)| (name.to_ascii_lowercase(), value))
                                .collect();
                        }
                        "__ow_path" => path = map.next_value()?,
                        "__ow_user" => user = map.next_value()?,
                        "__ow_query" => query = Some(map.next_value()?),
                        "__ow_body" => body = Some(map.next_value()?),
                        _ => {
                            let value = map.next_value()?;
                            params.insert(key, value);
                        }
                    }
                }
                let method = method.ok_or_else(|| {
                    de::Error::custom(
                        "missing field `__ow_method`: this action takes a web request; invoke \
                         it through its web URL (/api/v1/web/...) after `wsk action update \
                         <name> --web true` (or `--web raw`)",
                    )
                })?;
                Ok(Request {
                    method,
                    headers,
                    path,
                    user,
                    query,
                    body,
                    params: Value::Object(params),
                })
            }
        }
        deserializer.deserialize_map(RequestVisitor)
    }
}
