//! [`Method`]: the HTTP method of a web action request.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// The HTTP method of a web action request (`__ow_method`).
///
/// The controller accepts exactly these seven methods and sends them in
/// lower case (`"get"`); deserialization accepts any case. `OPTIONS`
/// reaches the action only when it is annotated `web-custom-options`;
/// otherwise the controller answers it with CORS headers.
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use whisk::web::Method;
///
/// let method: Method = serde_json::from_str(r#""post""#).unwrap();
/// assert_eq!(method, Method::Post);
/// assert_eq!(method.as_str(), "POST");
/// assert_eq!(method.to_string(), "POST");
/// assert!(serde_json::from_str::<Method>(r#""trace""#).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
}

impl Method {
    const ALL: [Method; 7] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Head,
        Method::Options,
    ];

    /// The method's name in upper case, as on the wire: `"GET"`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// assert_eq!(whisk::web::Method::Delete.as_str(), "DELETE");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }

    /// Parses a method name in any case; `None` for other methods.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::web::Method;
    /// assert_eq!(Method::parse("get"), Some(Method::Get));
    /// assert_eq!(Method::parse("Patch"), Some(Method::Patch));
    /// assert_eq!(Method::parse("CONNECT"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MethodVisitor;
        impl Visitor<'_> for MethodVisitor {
            type Value = Method;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an HTTP method such as \"get\"")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Method, E> {
                Method::parse(name).ok_or_else(|| {
                    E::custom(format_args!(
                        "unsupported HTTP method `{name}`, expected one of get, post, put, patch, \
                         delete, head, options"
                    ))
                })
            }
        }
        deserializer.deserialize_str(MethodVisitor)
    }
}
