//! The two encodings web actions meet: standard base64 (RFC 4648 §4, the
//! alphabet of Java's `Base64.getEncoder()`, which the controller uses for
//! bodies) and `application/x-www-form-urlencoded` query strings.
//!
//! Both are small enough to write out rather than add a dependency: the
//! runtime already links nothing that provides them.

use std::fmt;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes bytes as padded standard base64.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Why a string is not base64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Base64Error {
    /// A byte outside the alphabet (or `=` before the end), at this offset.
    InvalidByte { offset: usize, byte: u8 },
    /// The length cannot be a whole number of bytes (`4n + 1` symbols), or
    /// the padding does not complete the last group of four.
    InvalidLength,
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base64Error::InvalidByte { offset, byte } if byte.is_ascii_graphic() => {
                write!(
                    f,
                    "invalid character `{}` at offset {offset}",
                    *byte as char
                )
            }
            Base64Error::InvalidByte { offset, byte } => {
                write!(f, "invalid byte 0x{byte:02x} at offset {offset}")
            }
            Base64Error::InvalidLength => f.write_str("invalid length or padding"),
        }
    }
}

fn symbol(byte: u8) -> Option<u32> {
    let value = match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

/// Decodes standard base64, padded or not (as Java's basic decoder does).
/// Whitespace and the URL-safe alphabet are rejected.
pub(crate) fn base64_decode(input: &str) -> Result<Vec<u8>, Base64Error> {
    let bytes = input.as_bytes();
    let unpadded = match bytes {
        [rest @ .., b'=', b'='] => rest,
        [rest @ .., b'='] => rest,
        _ => bytes,
    };
    let padded = unpadded.len() != bytes.len();
    if unpadded.len() % 4 == 1 || (padded && bytes.len() % 4 != 0) {
        // Report a stray byte first: it is the more useful message.
        if let Some(offset) = unpadded.iter().position(|&b| symbol(b).is_none()) {
            return Err(Base64Error::InvalidByte {
                offset,
                byte: unpadded[offset],
            });
        }
        return Err(Base64Error::InvalidLength);
    }
    let mut out = Vec::with_capacity(unpadded.len() / 4 * 3 + 2);
    for (group, chunk) in unpadded.chunks(4).enumerate() {
        let mut n = 0u32;
        for (i, &byte) in chunk.iter().enumerate() {
            let value = symbol(byte).ok_or(Base64Error::InvalidByte {
                offset: group * 4 + i,
                byte,
            })?;
            n |= value << (18 - 6 * i);
        }
        // 4 symbols give 3 bytes, 3 give 2, 2 give 1.
        let [_, a, b, c] = n.to_be_bytes();
        out.extend_from_slice(&[a, b, c][..chunk.len() - 1]);
    }
    Ok(out)
}

/// Decodes one component of a form-urlencoded string: `+` is a space and
/// `%XX` a byte; a `%` not followed by two hex digits stays as it is, and
/// bytes that are not UTF-8 become U+FFFD (as the WHATWG URL standard says).
pub(crate) fn form_decode(component: &str) -> String {
    fn hex(byte: u8) -> Option<u8> {
        (byte as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Encodes one component of a form-urlencoded string, as browsers and
/// `form_urlencoded` do: ASCII letters, digits and `*-._` stay, a space is
/// `+`, every other byte is `%XX`. [`form_decode`] undoes it.
#[cfg(feature = "axum")]
pub(crate) fn form_encode(component: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in component.as_bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(byte as char);
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[usize::from(byte >> 4)] as char);
                out.push(HEX[usize::from(byte & 0xf)] as char);
            }
        }
    }
}

/// Splits a query string into decoded `(name, value)` pairs, in order;
/// empty segments are skipped and a segment without `=` has an empty value.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment.split_once('=') {
            Some((name, value)) => (form_decode(name), form_decode(value)),
            None => (form_decode(segment), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        // RFC 4648 §10.
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64_encode(plain.as_bytes()), encoded, "encode {plain:?}");
            assert_eq!(
                base64_decode(encoded).unwrap(),
                plain.as_bytes(),
                "decode {encoded:?}"
            );
            let unpadded = encoded.trim_end_matches('=');
            assert_eq!(
                base64_decode(unpadded).unwrap(),
                plain.as_bytes(),
                "decode {unpadded:?}"
            );
        }
    }

    #[test]
    fn base64_round_trips_every_byte_and_length() {
        let data: Vec<u8> = (0..=255u8).rev().chain(0..=255).collect();
        for len in 0..data.len() {
            let encoded = base64_encode(&data[..len]);
            assert_eq!(encoded.len() % 4, 0);
            assert_eq!(base64_decode(&encoded).unwrap(), &data[..len]);
        }
        // Both 62 and 63 appear.
        assert_eq!(base64_encode(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn base64_rejects_what_java_rejects() {
        use Base64Error::*;
        assert_eq!(
            base64_decode("Zm9v YmFy"),
            Err(InvalidByte {
                offset: 4,
                byte: b' '
            })
        );
        assert_eq!(
            base64_decode("Zm9v\nYmFy"),
            Err(InvalidByte {
                offset: 4,
                byte: b'\n'
            })
        );
        assert_eq!(
            base64_decode("Zm9-"),
            Err(InvalidByte {
                offset: 3,
                byte: b'-'
            })
        );
        assert_eq!(
            base64_decode("Zg=a"),
            Err(InvalidByte {
                offset: 2,
                byte: b'='
            })
        );
        assert_eq!(base64_decode("Z"), Err(InvalidLength));
        assert_eq!(base64_decode("Zm9vY"), Err(InvalidLength));
        assert_eq!(base64_decode("Zg="), Err(InvalidLength));
        assert_eq!(base64_decode("Zm9v=="), Err(InvalidLength));
        assert_eq!(base64_decode("=="), Err(InvalidLength));
        assert_eq!(
            InvalidByte {
                offset: 3,
                byte: b'*'
            }
            .to_string(),
            "invalid character `*` at offset 3"
        );
        assert_eq!(
            InvalidByte { offset: 0, byte: 0 }.to_string(),
            "invalid byte 0x00 at offset 0"
        );
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("Jane+Doe"), "Jane Doe");
        assert_eq!(form_decode("a%20b%2Bc%3d%26"), "a b+c=&");
        assert_eq!(form_decode("caf%C3%A9"), "café");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz%4"), "%zz%4");
        assert_eq!(form_decode("%FF"), "\u{fffd}");
        assert_eq!(form_decode("ünï"), "ünï");
    }

    #[cfg(feature = "axum")]
    #[test]
    fn form_encoding_round_trips() {
        for text in ["Jane Doe", "a+b=c&d", "café 100%", "*-._~!", ""] {
            let mut encoded = String::new();
            form_encode(text, &mut encoded);
            assert_eq!(form_decode(&encoded), text, "{encoded}");
        }
        let mut encoded = String::new();
        form_encode("a b&c=é", &mut encoded);
        assert_eq!(encoded, "a+b%26c%3D%C3%A9");
    }

    #[test]
    fn query_splitting() {
        assert_eq!(
            query_pairs("name=Jane+Doe&tag=a&tag=b&&flag&e=&x=1=2"),
            vec![
                ("name".to_owned(), "Jane Doe".to_owned()),
                ("tag".to_owned(), "a".to_owned()),
                ("tag".to_owned(), "b".to_owned()),
                ("flag".to_owned(), String::new()),
                ("e".to_owned(), String::new()),
                ("x".to_owned(), "1=2".to_owned()),
            ]
        );
        assert!(query_pairs("").is_empty());
        assert_eq!(
            query_pairs("a%3Db=c%26d"),
            vec![("a=b".to_owned(), "c&d".to_owned())]
        );
    }
}
