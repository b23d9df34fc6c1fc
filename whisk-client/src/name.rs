//! Entity names: `action`, `pkg/action`, `/ns/action`, `/ns/pkg/action`,
//! `ns/pkg/action`, split and percent-encoded into URL path segments.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::Error;

/// Everything but RFC 3986's unreserved characters is escaped in a path
/// segment (as JavaScript's `encodeURIComponent`, which the Node client uses,
/// with `!*'()` escaped too): a space, `@`, `/`, `?`, `#`, `%` never change
/// the path.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one URL path segment or query value.
pub(crate) fn encode(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// A resolved entity name: its namespace (`None`: the client's default) and
/// its path below the collection, one or two segments (`pkg`, `action`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name<'a> {
    pub namespace: Option<&'a str>,
    pub package: Option<&'a str>,
    pub name: &'a str,
}

impl<'a> Name<'a> {
    /// Parses a name the way OpenWhisk's CLI and Node client read it:
    /// `a`, `pkg/a` (default namespace), `/ns/a`, `/ns/pkg/a`, `ns/pkg/a`.
    pub(crate) fn parse(full: &'a str) -> Result<Name<'a>, Error> {
        let invalid = |reason: &'static str| Error::InvalidName {
            name: full.to_owned(),
            reason,
        };
        let (absolute, rest) = match full.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, full),
        };
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(invalid("a part of the name is empty"));
        }
        if parts.iter().any(|p| *p == "." || *p == "..") {
            return Err(invalid("`.` and `..` are not entity names"));
        }
        if parts.iter().any(|p| p.chars().any(char::is_control)) {
            return Err(invalid("the name holds a control character"));
        }
        let name = match (absolute, parts.as_slice()) {
            (false, [a]) => Name {
                namespace: None,
                package: None,
                name: a,
            },
            (false, [p, a]) => Name {
                namespace: None,
                package: Some(p),
                name: a,
            },
            (true, [ns, a]) => Name {
                namespace: Some(ns),
                package: None,
                name: a,
            },
            (_, [ns, p, a]) => Name {
                namespace: Some(ns),
                package: Some(p),
                name: a,
            },
            (true, [_]) => {
                return Err(invalid(
                    "a name that starts with `/` needs a namespace and a name: `/namespace/name`",
                ));
            }
            _ => {
                return Err(invalid(
                    "too many parts: use `name`, `package/name`, `/namespace/name` or `/namespace/package/name`",
                ));
            }
        };
        Ok(name)
    }

    /// `namespaces/{ns}/{collection}/{pkg}/{name}`, every segment encoded.
    pub(crate) fn path(&self, default_namespace: &str, collection: &str) -> String {
        let mut path = format!(
            "namespaces/{}/{collection}/",
            encode(self.namespace.unwrap_or(default_namespace))
        );
        if let Some(package) = self.package {
            path.push_str(&encode(package));
            path.push('/');
        }
        path.push_str(&encode(self.name));
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str) -> String {
        Name::parse(name).unwrap().path("_", "actions")
    }

    #[test]
    fn the_five_forms() {
        assert_eq!(path("hello"), "namespaces/_/actions/hello");
        assert_eq!(path("pkg/hello"), "namespaces/_/actions/pkg/hello");
        assert_eq!(path("/ns/hello"), "namespaces/ns/actions/hello");
        assert_eq!(path("/ns/pkg/hello"), "namespaces/ns/actions/pkg/hello");
        assert_eq!(path("ns/pkg/hello"), "namespaces/ns/actions/pkg/hello");
    }

    #[test]
    fn segments_are_escaped() {
        assert_eq!(
            path("/me@example.com_dev/my pkg/a?b#c%d"),
            "namespaces/me%40example.com_dev/actions/my%20pkg/a%3Fb%23c%25d"
        );
        assert_eq!(path("ünï"), "namespaces/_/actions/%C3%BCn%C3%AF");
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        for (name, reason) in [
            ("", "empty"),
            ("a//b", "empty"),
            ("/ns", "needs a namespace and a name"),
            ("/a/b/c/d", "too many parts"),
            ("a/b/c/d", "too many parts"),
            ("pkg/..", "`..`"),
            ("a\nb", "control character"),
        ] {
            let err = Name::parse(name).unwrap_err().to_string();
            assert!(err.contains(reason), "{name:?}: {err}");
        }
    }
}
