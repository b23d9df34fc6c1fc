use super::outcome::{NOT_A_DICTIONARY, NOT_A_DICTIONARY_ARGUMENT, encode};
use super::*;
use serde::de::DeserializeOwned;
use serde_json::json;

fn raw(s: &str) -> &RawValue {
    serde_json::from_str(s).unwrap()
}

fn body(o: &Outcome) -> Value {
    serde_json::from_slice(&o.body).unwrap()
}

#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct Params {
    payload: String,
    nested: Option<Nested>,
}
#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct Nested {
    count: u32,
}

#[test]
fn the_usual_path_reads_plain_metadata_in_place_and_copies_escaped() {
    let body = Bytes::from(
        r#"{"value": {}, "activation_id": "abc", "deadline": 12, "k\u0065y": "v", "escaped": "a\"b", "": ""}"#,
    );
    let (_, metadata) = parse_direct::<Value>(&body, true).unwrap();
    assert!(metadata.keeps_body());
    // Only what had escapes was copied: the key "key", the value a"b.
    assert_eq!(metadata.copied(), "keya\"b");
    let expected =
        json!({"activation_id": "abc", "deadline": 12, "key": "v", "escaped": "a\"b", "": ""});
    assert_eq!(metadata.to_map(), *expected.as_object().unwrap());
    // The same as the general path reads.
    assert_eq!(
        parse_envelope(&body).unwrap().metadata.to_map(),
        metadata.to_map()
    );
    // What becomes of the body's other handles does not matter.
    let copy = metadata.clone();
    drop((metadata, body));
    assert_eq!(copy.get_str("activation_id"), Some("abc"));
}

#[test]
fn the_usual_path_can_skip_the_metadata_and_still_checks_it_is_json() {
    let body = Bytes::from(
        r#"{"activation_id": "abc", "value": {"payload": "x"}, "deadline": 12, "o": {"k": [1, "s"]}}"#,
    );
    let (value, metadata) = parse_direct::<Value>(&body, false).unwrap();
    assert_eq!(value, json!({"payload": "x"}));
    assert_eq!(metadata.len(), 0);
    assert!(!metadata.keeps_body());
    // Metadata that is not JSON, or that the metadata reader refuses, is
    // refused either way (the general path then answers 400).
    let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
    for bad in [
        r#"{"value": {}, "deadline": 12x}"#,
        r#"{"value": {}, "o": {"k": [1,]}}"#,
        r#"{"value": {}, "s": "a\qb"}"#,
        r#"{"value": {}, "n": nul}"#,
        r#"{"value": {}, "n": 1e400}"#,
        &format!(r#"{{"value": {{}}, "deep": {deep}}}"#),
    ] {
        let bad = Bytes::copy_from_slice(bad.as_bytes());
        assert!(parse_direct::<Value>(&bad, false).is_none(), "{bad:?}");
        assert!(parse_direct::<Value>(&bad, true).is_none(), "{bad:?}");
    }
}

/// Under concurrency the metadata is read for an action that takes a
/// `Context` (or for a `tracing` subscriber), and not for one without.
/// (Without concurrency it is always read, for the `__OW_*` variables:
/// `tests/it/http_kit.rs`, which does not change this process's
/// environment.)
#[test]
fn the_metadata_is_read_only_when_someone_needs_it() {
    let request = Bytes::from(r#"{"value": {}, "activation_id": "abc"}"#);
    let seen = |reads_context: bool| {
        let action = crate::sync_fn(|_: Value, ctx: Context| {
            Ok::<_, String>(json!({"id": ctx.activation_id(), "keys": ctx.metadata().len()}))
        })
        .inline()
        .reading_context(reads_context);
        let core = Core::new(action, true);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        body(&runtime.block_on(core.run_envelope(&request)))
    };
    let read = json!({"id": "abc", "keys": 1});
    assert_eq!(seen(true), read);
    let skipped = if trace::needs_id() {
        read.clone()
    } else {
        json!({"id": "", "keys": 0})
    };
    assert_eq!(seen(false), skipped);
}

#[test]
fn the_metadata_of_a_large_body_is_copied_and_the_body_not_kept() {
    let pad = "x".repeat(crate::metadata::SHARED_BODY_MAX);
    let body = Bytes::from(format!(r#"{{"value": {{}}, "pad": "{pad}", "id": "abc"}}"#));
    let (_, metadata) = parse_direct::<Value>(&body, true).unwrap();
    assert!(!metadata.keeps_body());
    assert_eq!(metadata.get_str("id"), Some("abc"));
    assert_eq!(metadata.get_str("pad"), Some(pad.as_str()));
}

#[test]
fn decode_names_the_failing_field() {
    let err = decode::<Params>(raw(r#"{"payload":5}"#)).unwrap_err();
    assert_eq!(err.kind, Kind::ApplicationError);
    assert_eq!(
        body(&err),
        json!({"error": "Invalid parameter `payload`: invalid type: integer `5`, expected a string. The action was not called."})
    );
    let err = decode::<Params>(raw(r#"{"payload":"x","nested":{"count":-1}}"#)).unwrap_err();
    assert_eq!(
        body(&err),
        json!({"error": "Invalid parameter `nested.count`: invalid value: integer `-1`, expected u32. The action was not called."})
    );
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let err = decode::<Value>(raw(&deep)).unwrap_err();
    assert_eq!(
        body(&err),
        json!({"error": format!("Invalid parameter `{}…`: recursion limit exceeded. The action was not called.", "[0]".repeat(20))})
    );
    let err = decode::<Params>(raw(r#"{}"#)).unwrap_err();
    assert_eq!(
        body(&err),
        json!({"error": "Invalid parameters: missing field `payload`. The action was not called."})
    );
}

#[test]
fn encode_maps_results() {
    let ok = encode::<_, String>(Ok(json!({"a": 1})));
    assert_eq!(
        (ok.kind, ok.body.as_slice()),
        (Kind::Success, &br#"{"a":1}"#[..])
    );
    let arr = encode::<_, String>(Ok(vec![1, 2]));
    assert_eq!(
        (arr.kind, arr.body.as_slice()),
        (Kind::Success, &b"[1,2]"[..])
    );
    let s = encode::<_, String>(Ok("hello"));
    assert_eq!(s.kind, Kind::DeveloperError);
    assert_eq!(body(&s), json!({"error": NOT_A_DICTIONARY}));
    let e = encode::<Value, _>(Err("boom"));
    assert_eq!(
        (e.kind, body(&e)),
        (Kind::ApplicationError, json!({"error": "boom"}))
    );
    let mut bad = std::collections::HashMap::new();
    bad.insert(vec![1u8], 1);
    let unserializable = encode::<_, String>(Ok(bad));
    assert_eq!(unserializable.kind, Kind::DeveloperError);
}

#[test]
fn proxy_lines_are_objects_only_for_what_http_answers_200() {
    let ok = encode::<_, String>(Ok(json!({"a": 1})));
    assert_eq!(&*ok.proxy_line(), br#"{"a":1}"#);
    let app = encode::<Value, _>(Err("boom"));
    assert_eq!(&*app.proxy_line(), br#"{"error":"boom"}"#);
    let dev = encode::<_, String>(Ok("text"));
    assert_eq!(
        String::from_utf8(dev.proxy_line().into_owned()).unwrap(),
        format!("\"{NOT_A_DICTIONARY}\"")
    );
    let bad = Outcome::error(Kind::BadRequest, "a \"quoted\"\nline");
    assert_eq!(&*bad.proxy_line(), br#""a \"quoted\"\nline""#);
    let structured = Outcome::error_value(Kind::DeveloperError, &json!({"k": [1]}));
    assert_eq!(&*structured.proxy_line(), br#""{\"k\":[1]}""#);
}

#[test]
fn envelope_keeps_value_raw_and_metadata() {
    let e = parse_envelope(br#"{"value":{"x":[1, 2]},"deadline":123,"new_key":{"a":1}}"#).unwrap();
    assert_eq!(e.value.unwrap().get(), r#"{"x":[1, 2]}"#);
    let metadata = e.metadata.to_map();
    assert_eq!(metadata["deadline"], json!(123));
    assert_eq!(metadata["new_key"], json!({"a": 1}));
    // Escaped keys mean what they spell.
    let e = parse_envelope(br#"{"val\u0075e":[1],"n\u0061me":"x"}"#).unwrap();
    assert_eq!(e.value.unwrap().get(), "[1]");
    assert_eq!(
        e.metadata.to_map(),
        *json!({"name": "x"}).as_object().unwrap()
    );
    assert!(parse_envelope(b"").unwrap().value.is_none());
    let bad = parse_envelope(b"[1]").unwrap_err();
    assert_eq!(bad.kind, Kind::BadRequest);
    // A body that is a string is not quoted back.
    let bad = parse_envelope(br#""api_key=23bc46b1-71f6-4ed5""#).unwrap_err();
    assert_eq!(
        body(&bad),
        json!({"error": "The request body is not a valid activation: invalid type: string, expected a JSON object such as {\"value\":{...}} at line 1 column 28."})
    );
}

#[test]
fn envelope_text_is_utf8_checked_once_and_errors_say_where() {
    let e = parse_envelope("{\"value\":{\"s\":\"ÆØÅ ✓\"},\"namespace\":\"é\"}".as_bytes()).unwrap();
    assert_eq!(e.value.unwrap().get(), r#"{"s":"ÆØÅ ✓"}"#);
    assert_eq!(e.metadata.to_map()["namespace"], json!("é"));
    // Not UTF-8, in metadata or in `value`: serde_json's own message,
    // with the position, as before the single check.
    for (input, column) in [
        (&b"{\"namespace\":\"\xff\"}"[..], 15),
        (&b"{\"value\":{\"a\":\"\xc3\"}}"[..], 16),
    ] {
        let bad = parse_envelope(input).unwrap_err();
        assert_eq!(
            body(&bad),
            json!({"error": format!(
                "The request body is not a valid activation: invalid unicode code point at line 1 column {column}."
            )})
        );
    }
}

#[test]
fn value_must_be_an_object_or_array() {
    assert_eq!(checked_value(None).unwrap().get(), "{}");
    assert_eq!(checked_value(Some(raw("null"))).unwrap().get(), "{}");
    assert_eq!(checked_value(Some(raw("[1]"))).unwrap().get(), "[1]");
    let err = checked_value(Some(raw("5"))).unwrap_err();
    assert_eq!(body(&err), json!({"error": NOT_A_DICTIONARY_ARGUMENT}));
}

#[test]
fn init_env_is_stringified() {
    let env = parse_init(
        br#"{"value":{"code":null,"env":{"A":"x","B":"","C":null,"D":5,"E":true,"F":{"k":[1]}}}}"#,
    )
    .unwrap();
    let expected = [
        ("A", "x"),
        ("B", ""),
        ("C", ""),
        ("D", "5"),
        ("E", "true"),
        ("F", r#"{"k":[1]}"#),
    ];
    let got: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(got, expected);
    assert!(parse_init(b"{}").unwrap().is_empty());
    assert!(parse_init(br#"{"value":null}"#).unwrap().is_empty());
    assert!(parse_init(br#"{"value":{"env":null}}"#).unwrap().is_empty());
    assert_eq!(
        parse_init(br#"{"value":5}"#).unwrap_err().kind,
        Kind::BadRequest
    );
    assert!(parse_init(br#"{"value":{"code":"x"}}"#).unwrap().is_empty());
    assert_eq!(
        parse_init(br#"{"value":{"env":{"A=B":"x"}}}"#)
            .unwrap_err()
            .kind,
        Kind::BadRequest
    );
}

/// Whatever shape the `/init` body has, the error names the field and
/// the JSON type, never a value (`env` holds secrets).
#[test]
fn init_errors_never_quote_a_value() {
    for (input, message) in [
        (
            r#"{"value":{"env":"DB_PASSWORD=hunter2"}}"#,
            "`value.env` is a string, expected an object of environment variables",
        ),
        (
            r#"{"value":{"env":["DB_PASSWORD=hunter2"]}}"#,
            "`value.env` is an array, expected an object of environment variables",
        ),
        (
            r#"{"value":"DB_PASSWORD=hunter2"}"#,
            "`value` is a string, expected an object with the action's name, main, code and env",
        ),
        (
            r#""DB_PASSWORD=hunter2""#,
            r#"it is a string, expected a JSON object such as {"value":{...}}"#,
        ),
        (
            r#"{"value":{"env":{"K":"hunter2"},}}"#,
            "trailing comma at line 1 column 33",
        ),
        (
            r#"{"value":{"env":{"K":"hunter2\q"}}}"#,
            "invalid escape at line 1 column 31",
        ),
    ] {
        let err = parse_init(input.as_bytes()).unwrap_err();
        assert_eq!(err.kind, Kind::BadRequest);
        assert_eq!(
            body(&err),
            json!({"error": format!("The /init body is not valid: {message}.")}),
            "{input}"
        );
        assert!(!String::from_utf8_lossy(&err.body).contains("hunter2"));
    }
}

/// The one-pass decode (`run_envelope`'s usual path) against the
/// general path alone (`run_checked`): for many bodies and parameter
/// types, the same answer every time, and the one-pass path taken where
/// it should be (so that this cannot pass with it never used).
#[test]
fn one_pass_decode_answers_as_the_general_path() {
    use serde::{Deserialize, Serialize};
    use std::collections::BTreeMap;

    #[derive(Serialize, Deserialize)]
    struct Payload {
        payload: String,
        #[serde(default)]
        count: Option<i64>,
    }
    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        payload: String,
    }
    #[derive(Serialize, Deserialize)]
    struct Flat {
        count: i64,
        #[serde(flatten)]
        rest: BTreeMap<String, Value>,
    }
    #[derive(Serialize, Deserialize)]
    enum External {
        A(i64),
        B { payload: String },
    }
    #[derive(Serialize, Deserialize)]
    #[serde(tag = "type")]
    enum Internal {
        A { count: i64 },
        B,
    }
    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Untagged {
        Payload(Payload),
        List(Vec<i64>),
    }
    #[derive(Serialize, Deserialize)]
    struct Unit;
    #[derive(Serialize, Deserialize)]
    struct Pair(i64, String);

    // A fixed-seed generator (xorshift), so a failure repeats.
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    fn random_value(next: &mut impl FnMut(u64) -> u64, depth: u32) -> Value {
        const KEYS: [&str; 7] = ["payload", "count", "type", "A", "B", "x", "é\"k"];
        let scalar = |next: &mut dyn FnMut(u64) -> u64| match next(7) {
            0 => Value::Null,
            1 => json!(next(2) == 0),
            2 => json!(next(1000) as i64 - 500),
            3 => json!(next(1000) as f64 / 7.0),
            4 => json!(u64::MAX - next(3)),
            5 => json!("A"),
            _ => json!(format!("s\u{e9}\n\"{}", next(100))),
        };
        match (depth, next(4)) {
            (0, _) | (_, 0) => scalar(next),
            (_, 1) => (0..next(4))
                .map(|_| random_value(next, depth - 1))
                .collect(),
            _ => Value::Object(
                (0..next(4))
                    .map(|_| {
                        let key = KEYS[next(KEYS.len() as u64) as usize].to_owned();
                        (key, random_value(next, depth - 1))
                    })
                    .collect(),
            ),
        }
    }
    // Bodies written by hand (a `Map` would sort the keys): the value
    // random, or one that fits the types above; first, last, absent or
    // twice; the metadata of the invoker, or of other types.
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    for i in 0..600 {
        let value = match next(6) {
            0 => json!({"payload": format!("p{i}"), "count": i}),
            1 => json!({"type": "A", "count": i}),
            2 => json!({"B": {"payload": "q"}}),
            3 => json!([i, "s"]),
            _ => random_value(&mut next, 4),
        };
        let mut fields = vec![
            r#""namespace":"guest""#.to_owned(),
            format!(r#""activation_id":"{i:032x}""#),
            r#""deadline":"4102444800000""#.to_owned(),
        ];
        if next(5) == 0 {
            fields.push(format!(r#""extra":{}"#, random_value(&mut next, 2)));
        }
        match next(8) {
            0 => {}
            1 => {
                fields.insert(0, format!(r#""value":{}"#, random_value(&mut next, 2)));
                fields.push(format!(r#""value":{value}"#));
            }
            2 => fields.push(format!(r#""value":{value}"#)),
            _ => fields.insert(0, format!(r#""value":{value}"#)),
        }
        bodies.push(format!("{{{}}}", fields.join(",")).into_bytes());
    }
    let deep = format!("{}{}", "[".repeat(127), "]".repeat(127));
    for special in [
        String::new(),
        " \n".to_owned(),
        "[1]".to_owned(),
        r#"{"value":{"payload":"x"}} trailing"#.to_owned(),
        r#"{"value":{"payload":"x"},}"#.to_owned(),
        r#"{"val\u0075e":{"payload":"escaped key"}}"#.to_owned(),
        r#"{"value":{"payload":"x"},"deadline":12x}"#.to_owned(),
        r#"{"value":{"payload":"x"},"extra":{"k":[1,]}}"#.to_owned(),
        format!(r#"{{"value":{deep}}}"#),
        format!(r#"{{"value":{{"payload":"x"}},"extra":{deep}}}"#),
        format!(r#"{{"value":{{"payload":"x"}},"extra":[{deep}]}}"#),
    ] {
        bodies.push(special.into_bytes());
    }
    bodies.push(b"{\"value\":{\"payload\":\"\xff\"}}".to_vec());

    fn one_pass_count<P>(bodies: &[Vec<u8>]) -> usize
    where
        P: DeserializeOwned + Serialize + Send + 'static,
    {
        // The usual path reads the metadata for an action that takes a
        // `Context`, and only checks it for one that does not.
        let cores = [true, false].map(|reads_context| {
            let action = crate::sync_fn(|p: P, _: Context| Ok::<_, String>(json!({"got": p})));
            Core::new(action.reading_context(reads_context), true)
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut one_pass = 0;
        for body in bodies {
            let body = &Bytes::copy_from_slice(body);
            for core in &cores {
                let usual = runtime.block_on(core.run_envelope(body));
                let general = runtime.block_on(core.run_checked(body));
                assert_eq!(
                    usual,
                    general,
                    "{}: {}",
                    std::any::type_name::<P>(),
                    String::from_utf8_lossy(body)
                );
            }
            let direct = parse_direct::<P>(body, true).is_some();
            assert_eq!(
                direct,
                parse_direct::<P>(body, false).is_some(),
                "{}",
                String::from_utf8_lossy(body)
            );
            one_pass += usize::from(direct);
        }
        one_pass
    }
    // How many bodies each type took in one pass: some for every type
    // that an object or an array can be, none for the last three (an
    // `Option` and a unit struct read a map differently through serde's
    // adapters, and an `i64` is never a map).
    let counts = [
        one_pass_count::<Value>(&bodies),
        one_pass_count::<Payload>(&bodies),
        one_pass_count::<Strict>(&bodies),
        one_pass_count::<Flat>(&bodies),
        one_pass_count::<BTreeMap<String, Value>>(&bodies),
        one_pass_count::<Vec<Value>>(&bodies),
        one_pass_count::<Pair>(&bodies),
        one_pass_count::<External>(&bodies),
        one_pass_count::<Internal>(&bodies),
        one_pass_count::<Untagged>(&bodies),
        one_pass_count::<Option<Payload>>(&bodies),
        one_pass_count::<Unit>(&bodies),
        one_pass_count::<i64>(&bodies),
    ];
    let (some, none) = counts.split_at(10);
    assert!(some.iter().all(|&n| n > 0), "{counts:?}");
    assert_eq!(none, [0, 0, 0]);
}

#[test]
fn json_text_is_the_compact_json_display_writes() {
    for value in [
        json!(null),
        json!("a \"quoted\"\nline"),
        json!({"k": [1, 2.5, true], "é": {}}),
    ] {
        assert_eq!(outcome::json_text(&value), value.to_string());
    }
}
