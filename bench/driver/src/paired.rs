//! Paired throughput: both servers up at once, and the load switched
//! between them in short alternating slices (A B, B A, A B, ...), so that
//! the two slices of a pair see the same machine.
//!
//! Each slice also records the loaded server's own CPU time (`cpu_time`:
//! all its threads, to the nanosecond), so that a pair gives a second
//! ratio: CPU per request. Throughput falls when a neighbour takes the CPU
//! away; CPU per request moves much less, and shows what each server's work
//! costs.
//!
//! The rounds of the main table run each server for a whole phase (two
//! seconds, after a start and a warm-up) and then the other: on a shared
//! machine whose other load comes and goes over seconds, one round's ratio
//! can be 0.7x and the next 1.3x. Two neighbouring slices of a quarter of a
//! second are far more likely to see the same load; alternating which
//! server goes first cancels a trend within a pair.
//!
//! The same pairs give the latency percentiles a ratio each: each slice's
//! p50 and p99 (from connect to the answer's last byte), whisk's slice
//! against its neighbour's. Two whole phases seconds apart, as in the main
//! table, compare tails drawn from different loads of the machine: one
//! round's p99 ratio can be 0.3x and the next 2.5x.

use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::{
    RunRequest, check, connect, cpu_time, expected_run_answer, one_shot, read_answer, run_body,
};

/// How the clients talk to the servers.
#[derive(Clone, Copy)]
pub(crate) enum Load {
    /// `clients` threads, each with one keep-alive connection per server.
    KeepAlive { clients: usize },
    /// One client, one activation at a time, each on a new connection.
    Invoker,
}

/// Which server slice `s` loads: 0 or 1, in the order A B, B A, A B, ...
fn target(s: usize) -> usize {
    (s % 2) ^ ((s / 2) % 2)
}

/// What each request sends, and each server's exact answer to it.
pub(crate) struct Work {
    /// The `/run` body (with the metadata `RunRequest` varies).
    pub(crate) body: Vec<u8>,
    /// Server 0's answer, server 1's answer.
    pub(crate) expected: [Vec<u8>; 2],
}

impl Work {
    /// The reverse action's activation, answered alike by both servers.
    pub(crate) fn reverse() -> Self {
        Work {
            body: run_body(),
            expected: [expected_run_answer(), expected_run_answer()],
        }
    }
}

/// One ratio server 0 / server 1 per counted pair.
pub(crate) struct Ratios {
    /// Requests answered in the pair's two slices.
    pub(crate) throughput: Vec<f64>,
    /// The server's CPU time in its slice per request answered in it.
    pub(crate) cpu_per_request: Vec<f64>,
    /// The median latency of the pair's slices (invoker-like load only;
    /// empty under keep-alive load).
    pub(crate) p50: Vec<f64>,
    /// The 99th percentile latency of the pair's slices (likewise).
    pub(crate) p99: Vec<f64>,
}

/// Latencies (nanoseconds) of the requests counted in each slice.
type SliceLatencies = Vec<Vec<u64>>;

/// The `q` quantile of `latencies`, which are sorted; NaN if empty.
fn quantile(latencies: &[u64], q: f64) -> f64 {
    match latencies.len() {
        0 => f64::NAN,
        n => latencies[((n - 1) as f64 * q).round() as usize] as f64,
    }
}

/// The ratios of the servers (`ports`, `pids`) in each of `pairs` pairs,
/// after one pair that is not counted (the warm-up). Every answer is
/// checked.
pub(crate) fn ratios(
    ports: [u16; 2],
    pids: [u32; 2],
    load: Load,
    pairs: usize,
    slice: Duration,
    work: &Work,
) -> io::Result<Ratios> {
    let work = Arc::new((work.body.clone(), work.expected.clone()));
    let slices = 2 * (pairs + 1);
    let current = Arc::new(AtomicUsize::new(0));
    let counts: Arc<Vec<AtomicU64>> = Arc::new((0..slices).map(|_| AtomicU64::new(0)).collect());
    let (clients, new_connections) = match load {
        Load::KeepAlive { clients } => (clients, false),
        Load::Invoker => (1, true),
    };
    let workers: Vec<_> = (0..clients)
        .map(|client| {
            let (current, counts) = (Arc::clone(&current), Arc::clone(&counts));
            let work = Arc::clone(&work);
            std::thread::spawn(move || -> io::Result<SliceLatencies> {
                let (body, expected) = &*work;
                let client = client as u64;
                let mut requests = ports.map(|port| RunRequest::with_body(port, client, body));
                let mut streams: [Option<TcpStream>; 2] = [None, None];
                let mut buf = Vec::with_capacity(1024);
                let mut latencies: SliceLatencies = vec![Vec::new(); slices];
                loop {
                    let s = current.load(Ordering::Relaxed);
                    if s >= slices {
                        return Ok(latencies);
                    }
                    let began = Instant::now();
                    let t = target(s);
                    let answer = if new_connections {
                        one_shot(ports[t], requests[t].next(), &mut buf)?
                    } else {
                        let stream = match &mut streams[t] {
                            Some(stream) => stream,
                            none => none.insert(connect(ports[t])?),
                        };
                        stream.write_all(requests[t].next())?;
                        read_answer(stream, &mut buf)?
                    };
                    let latency = began.elapsed().as_nanos() as u64;
                    check(&answer, &expected[t])?;
                    // Counted only if it ended in the slice it began in.
                    if current.load(Ordering::Relaxed) == s {
                        counts[s].fetch_add(1, Ordering::Relaxed);
                        if new_connections {
                            latencies[s].push(latency);
                        }
                    }
                }
            })
        })
        .collect();
    // run[s]: each server's CPU time when slice s began.
    let mut run = Vec::with_capacity(slices + 1);
    run.push(pids.map(cpu_time));
    for s in 1..=slices {
        std::thread::sleep(slice);
        current.store(s, Ordering::Relaxed);
        run.push(pids.map(cpu_time));
    }
    let mut latencies: SliceLatencies = vec![Vec::new(); slices];
    for worker in workers {
        let theirs = worker
            .join()
            .map_err(|_| io::Error::other("client panicked"))??;
        for (all, theirs) in latencies.iter_mut().zip(theirs) {
            all.extend(theirs);
        }
    }
    for slice in &mut latencies {
        slice.sort_unstable();
    }
    let count = |s: usize| counts[s].load(Ordering::Relaxed) as f64;
    let cpu = |s: usize| {
        let t = target(s);
        run[s + 1][t].saturating_sub(run[s][t]).as_secs_f64() / count(s)
    };
    // The slices of pair p, server 0's first.
    let pair = |p: usize| {
        let (first, second) = (2 * p, 2 * p + 1);
        if target(first) == 0 {
            (first, second)
        } else {
            (second, first)
        }
    };
    let mut ratios = Ratios {
        throughput: Vec::with_capacity(pairs),
        cpu_per_request: Vec::with_capacity(pairs),
        p50: Vec::with_capacity(pairs),
        p99: Vec::with_capacity(pairs),
    };
    for p in 1..=pairs {
        let (a, b) = pair(p);
        ratios.throughput.push(count(a) / count(b));
        ratios.cpu_per_request.push(cpu(a) / cpu(b));
        if new_connections {
            let ratio = |q: f64| quantile(&latencies[a], q) / quantile(&latencies[b], q);
            ratios.p50.push(ratio(0.5));
            ratios.p99.push(ratio(0.99));
        }
    }
    Ok(ratios)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_pick_the_nearest_rank() {
        let latencies: Vec<u64> = (1..=200).collect();
        assert_eq!(quantile(&latencies, 0.5), 101.0);
        assert_eq!(quantile(&latencies, 0.99), 198.0);
        assert!(quantile(&[], 0.99).is_nan());
    }

    #[test]
    fn pairs_alternate_which_server_goes_first() {
        let order: Vec<usize> = (0..8).map(target).collect();
        assert_eq!(order, [0, 1, 1, 0, 0, 1, 1, 0]);
    }
}
