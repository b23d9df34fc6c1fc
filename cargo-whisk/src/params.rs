//! Parameters as `wsk` reads them, and small helpers shared by the commands.
//!
//! `wsk -p KEY VALUE` (`commands/flags.go` and `commands/util.go` of
//! apache/openwhisk-cli, `getFormattedJSON`): the value is taken as JSON when
//! it parses as JSON, otherwise as a string. So `-p n 3` is the number 3,
//! `-p ok true` a boolean, `-p list '[1,2]'` an array and `-p name Jane` the
//! string `"Jane"`; `-p id '"3"'` is the string `"3"`.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde_json::{Map, Value};

/// A `-p` value as `wsk` types it: JSON when it is JSON, else a string.
///
/// ```ignore
/// assert_eq!(typed("3"), json!(3));
/// assert_eq!(typed("Jane"), json!("Jane"));
/// ```
pub fn typed(value: &str) -> Value {
    serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()))
}

/// `-p KEY VALUE` pairs (clap hands them as a flat list) as an object; a
/// later key wins, as in `wsk`.
pub fn from_pairs(flat: &[String]) -> Map<String, Value> {
    flat.chunks(2)
        .filter(|pair| pair.len() == 2)
        .map(|pair| (pair[0].clone(), typed(&pair[1])))
        .collect()
}

/// A `-P FILE` parameter file: one JSON object.
pub fn from_file(path: &Path) -> anyhow::Result<Map<String, Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the parameter file {}", path.display()))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => bail!("the parameter file {} is not a JSON object", path.display()),
        Err(e) => bail!(
            "the parameter file {} is not valid JSON: {e}",
            path.display()
        ),
    }
}

/// `KEY=VALUE` of `--init-env`.
pub fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// `n` random bytes as lower-case hex (activation and transaction ids).
pub fn random_hex(bytes: usize) -> String {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_err()
    {
        // No /dev/urandom: the clock and a counter still make distinct ids.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = epoch_nanos(SystemTime::now()) as u64;
        for (i, b) in buf.iter_mut().enumerate() {
            *b = ((t ^ n.rotate_left(17)) >> ((i % 8) * 8)) as u8 ^ (i as u8);
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Nanoseconds since the Unix epoch.
pub fn epoch_nanos(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos()
}

/// Milliseconds since the Unix epoch.
pub fn epoch_millis(t: SystemTime) -> u64 {
    (epoch_nanos(t) / 1_000_000) as u64
}

/// A time as Docker's json-file log driver records it (Go's RFC 3339 with
/// nanoseconds, trailing zeros of the fraction dropped): the `time` of each
/// log line that OpenWhisk copies into the activation record.
pub fn rfc3339_nanos(t: SystemTime) -> String {
    let nanos = epoch_nanos(t);
    let secs = (nanos / 1_000_000_000) as i64;
    let frac = (nanos % 1_000_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if frac != 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// JSON pretty-printed with an indent of `indent` spaces.
pub fn pretty(value: &Value, indent: usize) -> String {
    use serde::Serialize;
    let spaces = " ".repeat(indent);
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(spaces.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut ser).expect("a JSON value serializes");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn values_are_typed_as_wsk_types_them() {
        assert_eq!(typed("3"), json!(3));
        assert_eq!(typed("-2.5"), json!(-2.5));
        assert_eq!(typed("true"), json!(true));
        assert_eq!(typed("null"), json!(null));
        assert_eq!(typed("[1,\"a\"]"), json!([1, "a"]));
        assert_eq!(typed("{\"a\":1}"), json!({"a": 1}));
        assert_eq!(typed("\"3\""), json!("3"));
        assert_eq!(typed("Jane"), json!("Jane"));
        assert_eq!(typed("3 apples"), json!("3 apples"));
        assert_eq!(typed(""), json!(""));
        let pairs: Vec<String> = ["a", "1", "b", "x", "a", "2"].map(String::from).into();
        assert_eq!(Value::Object(from_pairs(&pairs)), json!({"a": 2, "b": "x"}));
    }

    #[test]
    fn times_are_formatted_as_docker_records_them() {
        let t = UNIX_EPOCH + Duration::new(1_796_701_200, 123_456_000);
        assert_eq!(rfc3339_nanos(t), "2026-12-08T03:40:00.123456Z");
        let t = UNIX_EPOCH + Duration::new(1_796_701_200, 0);
        assert_eq!(rfc3339_nanos(t), "2026-12-08T03:40:00Z");
        let t = UNIX_EPOCH + Duration::new(951_782_400, 7);
        assert_eq!(rfc3339_nanos(t), "2000-02-29T00:00:00.000000007Z");
    }

    #[test]
    fn init_env_needs_a_key() {
        assert_eq!(key_value("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(key_value("A="), Ok(("A".into(), String::new())));
        assert!(key_value("=x").is_err());
        assert!(key_value("A").is_err());
    }
}
