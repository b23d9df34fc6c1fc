//! Arbitrary `/run` bodies through the activation core, for a typed action and
//! a `serde_json::Value` one. Whatever the input, the core must answer (no
//! panic, no hang) with a status of the protocol and a JSON object or array,
//! and the one-pass decoder of the usual request must answer exactly as the
//! general one does.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use whisk_runtime::__bench::{BenchCore, Bytes};
use whisk_runtime::{Action, Context, async_fn, sync_fn};

#[derive(Deserialize)]
struct Params {
    payload: String,
    #[allow(dead_code)]
    count: Option<u32>,
}

#[derive(Serialize)]
struct Reversed {
    reversed: String,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Runs `data` through a core of `action` and checks the answer.
fn check<A: Action>(action: A, data: &[u8]) {
    // Concurrency on: no `__OW_*` export, which is process-global.
    let core = BenchCore::new(action, true);
    let data = Bytes::copy_from_slice(data);
    let (status, body) = runtime().block_on(core.run_envelope(&data));
    // The usual path (one pass, `value` straight into the parameters) and
    // the general one (every check in order, `value` decoded from its
    // text) agree on every input: same status, same bytes.
    let general = runtime().block_on(core.run_general(&data));
    assert_eq!(
        (status, String::from_utf8_lossy(&body)),
        (general.0, String::from_utf8_lossy(&general.1)),
        "the one-pass and the general decoder disagree"
    );
    assert!(matches!(status, 200 | 400 | 502), "status {status}");
    let value: Value = serde_json::from_slice(&body).expect("the body is JSON");
    assert!(value.is_object() || value.is_array(), "body {value}");
    if status != 200 {
        assert!(
            value.get("error").is_some(),
            "an error names the problem: {value}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    check(
        sync_fn(|p: Params, _: Context| {
            Ok::<_, String>(Reversed {
                reversed: p.payload.chars().rev().collect(),
            })
        }),
        data,
    );
    check(
        async_fn(|v: Value, _: Context| async move { Ok::<_, String>(v) }),
        data,
    );
    metadata_round_trips(data);
});

/// The metadata an action sees is exactly the body's non-`value` keys, as
/// serde_json reads them (the core keeps them in its own compact form).
fn metadata_round_trips(data: &[u8]) {
    let core = BenchCore::new(
        sync_fn(|_: Value, ctx: Context| {
            Ok::<_, String>(serde_json::json!({
                "metadata": ctx.metadata(),
                "activation_id": ctx.activation_id(),
            }))
        }),
        true,
    );
    let (status, body) = runtime().block_on(core.run_envelope(&Bytes::copy_from_slice(data)));
    if status != 200 {
        return;
    }
    let Ok(mut expected) = serde_json::from_slice::<serde_json::Map<String, Value>>(data) else {
        return;
    };
    expected.remove("value");
    let answer: Value = serde_json::from_slice(&body).expect("the body is JSON");
    // The answer went through JSON text once more: so does the expectation
    // (serde_json's default float parsing does not always round-trip).
    let expected_text = serde_json::to_string(&expected).expect("a map serializes");
    let expected_answer: Value = serde_json::from_str(&expected_text).expect("and parses");
    assert_eq!(answer["metadata"], expected_answer, "{answer}");
    let id = expected
        .get("activation_id")
        .and_then(Value::as_str)
        .unwrap_or("");
    assert_eq!(answer["activation_id"], id, "{answer}");
}
