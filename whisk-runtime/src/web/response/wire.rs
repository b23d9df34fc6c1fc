//! A [`Response`] as the controller reads it: `statusCode`, `headers` and
//! `body`, the body as text or base64 by its content type.

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::Response;
use crate::web::codec::base64_encode;

/// Bytes as the `body` string for a content type of this class: as text for
/// text types, base64 for the others (binary, or JSON-family, where the
/// controller decodes a string that looks like base64).
pub(super) fn encode(class: Class, bytes: &[u8]) -> Cow<'_, str> {
    match class {
        Class::Text => String::from_utf8_lossy(bytes),
        Class::Json | Class::Binary => Cow::Owned(base64_encode(bytes)),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Json,
    Text,
    Binary,
}

pub(super) enum WireBody<'a> {
    Text(Cow<'a, str>),
    Json(&'a Value),
}

/// `{"statusCode": .., "headers": {..}, "body": ..}`, per the controller's
/// `.http` rules (docs/PROTOCOL.md §11.2).
impl Serialize for Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let body = self.wire_body();
        let mut map = serializer.serialize_map(Some(if body.is_some() { 3 } else { 2 }))?;
        map.serialize_entry("statusCode", &self.status)?;
        map.serialize_entry(
            "headers",
            &Headers {
                response: self,
                content_type: body.is_some(),
            },
        )?;
        match &body {
            Some(WireBody::Text(text)) => map.serialize_entry("body", text)?,
            Some(WireBody::Json(value)) => map.serialize_entry("body", value)?,
            None => {}
        }
        map.end()
    }
}

/// The `headers` object: `content-type` first, then each name once, in the
/// order of first use, with a string or an array of strings.
struct Headers<'a> {
    response: &'a Response,
    content_type: bool,
}

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Values<'a>(&'a [(String, String)], &'a str);
        impl Serialize for Values<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut values = self
                    .0
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(self.1))
                    .map(|(_, v)| v);
                let first = values.next();
                match (first, values.next()) {
                    (Some(only), None) => serializer.serialize_str(only),
                    _ => serializer.collect_seq(
                        self.0
                            .iter()
                            .filter(|(n, _)| n.eq_ignore_ascii_case(self.1))
                            .map(|(_, v)| v),
                    ),
                }
            }
        }
        let headers = &self.response.headers;
        let mut map = serializer.serialize_map(None)?;
        if let (true, Some(ct)) = (self.content_type, &self.response.content_type) {
            map.serialize_entry("content-type", &ct.value)?;
        }
        for (i, (name, _)) in headers.iter().enumerate() {
            let seen = headers[..i]
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name));
            if !seen {
                map.serialize_entry(name, &Values(headers, name))?;
            }
        }
        map.end()
    }
}
