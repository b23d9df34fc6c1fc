//! What the decoder's errors say: serde_json's text where it is clear, a
//! clearer one where it is not (surrogate escapes), and a refusal of an
//! array for parameters that are a struct.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// What replaces serde_json's two messages for a `\u` escape of a lone
/// UTF-16 surrogate: `"\ud800"` is "unexpected end of hex escape" there,
/// and a lone trailing one (`"\udc00"`) "lone leading surrogate".
const LONE_SURROGATE: &str = "a \\u escape of a lone UTF-16 surrogate (D800 to DFFF): \
     a surrogate must be followed by its pair, a high one (D800 to DBFF) by a low one (DC00 to DFFF)";

/// serde_json's message for `err`, with its position (" at line L column
/// C") when `position` is true, the surrogate messages made clear.
pub(crate) fn message(err: &serde_json::Error, position: bool) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let (body, at) = match text.strip_suffix(&suffix) {
        Some(body) if err.line() > 0 => (body, suffix.as_str()),
        _ => (text.as_str(), ""),
    };
    // serde_json exposes no error code: its two fixed texts are the code.
    let body = match body {
        "unexpected end of hex escape" | "lone leading surrogate in hex escape" => LONE_SURROGATE,
        other => other,
    };
    if position {
        format!("{body}{at}")
    } else {
        body.to_owned()
    }
}

/// The name and fields of `P` when it deserializes as a struct with named
/// fields (`deserialize_struct`), as a derived `Deserialize` does. serde
/// would fill such a struct from an array by position, silently, and
/// report an array longer than its fields as "trailing characters": the
/// runtime refuses an array for it instead. Asked of `P` itself, through a
/// deserializer that only records the question.
pub(crate) fn struct_fields<P: for<'de> Deserialize<'de>>()
-> Option<(&'static str, &'static [&'static str])> {
    let mut seen = None;
    let _ = P::deserialize(Probe(&mut seen));
    seen
}

/// The refusal of an array for the struct `name` with `fields`.
pub(crate) fn array_for_struct(name: &str, fields: &[&str]) -> String {
    let mut list = fields
        .iter()
        .take(8)
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if fields.len() > 8 {
        list.push_str(", …");
    }
    format!("expected an object with the fields of `{name}` ({list}), not an array")
}

/// A deserializer that answers every request with an error, noting the
/// struct's name and fields when asked for one.
struct Probe<'a>(&'a mut Option<(&'static str, &'static [&'static str])>);

#[derive(Debug)]
struct Asked;

impl fmt::Display for Asked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("asked")
    }
}

impl std::error::Error for Asked {}

impl de::Error for Asked {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Asked
    }
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Asked;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Asked> {
        Err(Asked)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Asked> {
        *self.0 = Some((name, fields));
        Err(Asked)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Named {
        a: i64,
        b: String,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Pair(i64, String);

    #[test]
    fn only_named_structs_are_structs() {
        assert_eq!(struct_fields::<Named>(), Some(("Named", &["a", "b"][..])));
        assert_eq!(struct_fields::<Pair>(), None);
        assert_eq!(struct_fields::<Value>(), None);
        assert_eq!(struct_fields::<Vec<i64>>(), None);
        assert_eq!(
            struct_fields::<std::collections::HashMap<String, i64>>(),
            None
        );
    }

    #[test]
    fn surrogates_are_named_as_such() {
        for input in [
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            r#""x\ud800y""#,
        ] {
            let err = serde_json::from_str::<String>(input).unwrap_err();
            let text = message(&err, true);
            assert!(text.starts_with(LONE_SURROGATE), "{input}: {text}");
            assert!(
                text.ends_with(&format!("column {}", err.column())),
                "{text}"
            );
            assert_eq!(message(&err, false), LONE_SURROGATE);
        }
        let err = serde_json::from_str::<String>("5").unwrap_err();
        assert_eq!(
            message(&err, true),
            "invalid type: integer `5`, expected a string at line 1 column 1"
        );
        assert_eq!(
            message(&err, false),
            "invalid type: integer `5`, expected a string"
        );
    }

    #[test]
    fn the_refusal_lists_the_fields() {
        assert_eq!(
            array_for_struct("P", &["a", "b"]),
            "expected an object with the fields of `P` (`a`, `b`), not an array"
        );
        let many: Vec<&str> = "abcdefghij".split("").filter(|s| !s.is_empty()).collect();
        assert!(array_for_struct("P", &many).ends_with("`h`, …), not an array"));
    }
}
