//! `whisk-bench web AXUM TYPES [PAIRS] [SLICE_MS]`: the reverse action as a
//! raw web action, written as an axum app served by `whisk::web::service`
//! (`AXUM`) and with the `whisk::web` types (`TYPES`), paired under
//! keep-alive load (`paired.rs`; 8 connections, `__OW_ALLOW_CONCURRENT`),
//! every answer checked against each one's exact result.

use std::io;
use std::time::Duration;

use crate::{CONNECTIONS, PAYLOAD, median, paired, run_body_with, start};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// `POST .../reverse` with `{"payload": ...}`, as the controller sends it to
/// a raw web action (the JSON body base64-encoded), and the two answers:
/// the adapter sends the app's JSON bytes base64-encoded (exact bytes), the
/// `whisk::web::Response` a JSON value.
fn work() -> paired::Work {
    let body = format!(r#"{{"payload":"{PAYLOAD}"}}"#);
    let value = format!(
        concat!(
            r#"{{"__ow_method":"post","__ow_headers":{{"accept":"*/*","content-type":"application/json","#,
            r#""host":"openwhisk.example","user-agent":"curl/8.5.0"}},"__ow_path":"/reverse","#,
            r#""__ow_query":"","__ow_body":"{}"}}"#
        ),
        base64(body.as_bytes())
    );
    let reversed: String = PAYLOAD.chars().rev().collect();
    let result = format!(r#"{{"reversed":"{reversed}"}}"#);
    let head = r#"{"statusCode":200,"headers":{"content-type":"application/json"},"body":"#;
    paired::Work {
        body: run_body_with(&value),
        expected: [
            format!("{head}\"{}\"}}", base64(result.as_bytes())).into_bytes(),
            format!("{head}{result}}}").into_bytes(),
        ],
    }
}

pub(crate) fn run(argv: &[String]) -> io::Result<()> {
    let [axum, types, rest @ ..] = argv else {
        return Err(io::Error::other(
            "usage: whisk-bench web AXUM TYPES [PAIRS=100] [SLICE_MS=250]",
        ));
    };
    let number = |i: usize, default: u64| -> io::Result<u64> {
        rest.get(i)
            .map_or(Ok(default), |n| n.parse().map_err(io::Error::other))
    };
    let pairs = number(0, 100)?.clamp(1, 200) as usize;
    let slice = Duration::from_millis(number(1, 250)?.clamp(20, 5000));
    let servers = [start(axum.as_ref(), true)?, start(types.as_ref(), true)?];
    let ports = servers.each_ref().map(|server| server.port);
    let pids = servers.each_ref().map(|server| server.child.id());
    let load = paired::Load::KeepAlive {
        clients: CONNECTIONS,
    };
    let mut ratios = paired::ratios(ports, pids, load, pairs, slice, &work())?;
    println!(
        "Web reverse (raw web action), axum app via whisk::web::service / whisk::web types: \
         {CONNECTIONS} keep-alive connections, {pairs} pairs of {} ms slices.\n",
        slice.as_millis()
    );
    println!("| metric | axum/types (median of pair ratios) | quartiles | target |");
    println!("|---|---:|---|---|");
    for (label, values, target) in [
        (
            "keep-alive throughput, paired",
            &mut ratios.throughput,
            ">= 0.9x",
        ),
        (
            "server CPU per request, paired",
            &mut ratios.cpu_per_request,
            "",
        ),
    ] {
        let middle = median(values);
        let quartile = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        println!(
            "| {label} | {middle:.3} | {:.3} to {:.3} | {target} |",
            quartile(0.25),
            quartile(0.75)
        );
    }
    Ok(())
}
