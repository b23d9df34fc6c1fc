//! Micro-benchmarks of the activation core: decode the `/run` envelope, call
//! the reverse action, encode its result (`Core::run_envelope`), for a small
//! payload and a 1 MiB one, with a sync action (in place, on the blocking
//! pool, or `inline` under concurrency) and an async one, on a
//! current-thread tokio runtime as the HTTP server uses. `serde_only` is the floor: the same decode, reverse
//! and encode with plain serde_json and no runtime.
//!
//! ```text
//! cargo bench -p whisk-runtime --bench core
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use whisk_runtime::__bench::{BenchCore, Bytes};
use whisk_runtime::{Action, Context, async_fn, sync_fn};

#[derive(Deserialize)]
struct Params {
    payload: String,
}

#[derive(Serialize)]
struct Reversed {
    reversed: String,
}

fn reverse(p: Params) -> Reversed {
    Reversed {
        reversed: p.payload.chars().rev().collect(),
    }
}

/// A `/run` body as the invoker sends it: `value` plus the metadata.
fn envelope(payload: &str) -> Vec<u8> {
    let value = serde_json::json!({
        "value": {"payload": payload},
        "namespace": "guest",
        "action_name": "/guest/reverse",
        "action_version": "0.0.1",
        "activation_id": "9fa0c9e9b1e54e1ba0c9e9b1e5ae1b2c",
        "transaction_id": "iHeq9cJyzVmNK0BWpMzr7K0Ubxkvkf9d",
        "deadline": "4102444800000",
    });
    serde_json::to_vec(&value).expect("JSON")
}

/// At most `bytes` bytes of text with some multi-byte characters.
fn payload(bytes: usize) -> String {
    let unit = "The quick brown fox jumps over the lazy dog · ÆØÅ ✓ 1234567890 ";
    let mut text = unit.repeat(bytes / unit.len() + 1);
    let cut = (0..=bytes).rev().find(|&i| text.is_char_boundary(i));
    text.truncate(cut.unwrap_or(0));
    text
}

#[derive(Deserialize)]
struct RunRequest {
    value: Params,
}

fn serde_only(body: &[u8]) -> Vec<u8> {
    let request: RunRequest = serde_json::from_slice(body).expect("decodes");
    serde_json::to_vec(&reverse(request.value)).expect("encodes")
}

/// One benchmarked way to answer a `/run` body: (status, body).
type Case<'r> = Box<dyn Fn(&Bytes) -> (u16, Vec<u8>) + 'r>;

/// `action`'s activation core, run to completion on `runtime`.
fn runner<A: Action>(runtime: &tokio::runtime::Runtime, action: A, concurrent: bool) -> Case<'_> {
    let core = BenchCore::new(action, concurrent);
    Box::new(move |body| runtime.block_on(core.run_envelope(body)))
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let sync = || sync_fn(|p: Params, _: Context| Ok::<_, String>(reverse(p)));
    let asynchronous =
        || async_fn(|p: Params, _: Context| async move { Ok::<_, String>(reverse(p)) });
    // `concurrent` is `__OW_ALLOW_CONCURRENT`: when it is off, each run also
    // exports the metadata as `__OW_*` variables, and a sync function runs
    // in place; when it is on, a sync function goes to the blocking pool
    // unless it is `inline`.
    let rt = &runtime;
    let cases: Vec<(&str, Case<'_>)> = vec![
        ("serde_only", Box::new(|body| (200, serde_only(body)))),
        ("sync_fn", runner(rt, sync(), false)),
        ("sync_fn_concurrent", runner(rt, sync(), true)),
        (
            "sync_fn_inline_concurrent",
            runner(rt, sync().inline(), true),
        ),
        ("async_fn", runner(rt, asynchronous(), false)),
        ("async_fn_concurrent", runner(rt, asynchronous(), true)),
    ];

    for (name, bytes, samples) in [("small", 64, 100), ("1MiB", 1 << 20, 20)] {
        let body = Bytes::from(envelope(&payload(bytes)));
        let expected = (200, serde_only(&body));
        for (case, run) in &cases {
            assert_eq!(run(&body), expected, "{case}");
        }
        let mut group = c.benchmark_group(format!("run_envelope/{name}"));
        group
            .throughput(Throughput::Bytes(body.len() as u64))
            .sample_size(samples)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for (case, run) in &cases {
            group.bench_function(BenchmarkId::from_parameter(case), |b| {
                b.iter(|| run(black_box(&body)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
