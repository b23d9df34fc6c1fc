//! The slow-client guard: a connection that keeps the server waiting is
//! closed.
//!
//! A client may open a connection and then send its request a byte at a
//! time, or never, or never read the answer (slowloris). hyper can bound the
//! time to read a request head, but arms a timer for every request to do so,
//! about 6% of the instructions of a keep-alive `/run` (BENCHMARKS.md). Here
//! each connection has one periodic check instead: it is closed once a whole
//! period has passed in which no request reached or left the handler and
//! none was being handled. A slow client so gets between one and two
//! periods (`WHISK_READ_TIMEOUT_SECS`); an activation, however long, never
//! counts against it.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

/// What a connection's requests have done: counts each request once when it
/// reaches the handler and once when the handler is done with it, so the
/// count is odd while one is being handled.
#[derive(Debug, Default)]
pub(crate) struct Progress(AtomicU64);

impl Progress {
    /// Marks a request as being handled until the returned value drops
    /// (also when the handler's future is dropped half-way).
    pub(crate) fn handling(&self) -> Handling<'_> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Handling(self)
    }

    fn count(&self) -> u64 {
        // Relaxed: the handler runs inside the connection's future, which
        // the check below polls, on the same task.
        self.0.load(Ordering::Relaxed)
    }
}

/// A request being handled; see [`Progress::handling`].
pub(crate) struct Handling<'a>(&'a Progress);

impl Drop for Handling<'_> {
    fn drop(&mut self) {
        self.0.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Drives `connection` to its end, or drops it (which closes it) at the end
/// of the first whole `period` in which it made no progress: no request
/// reached or left the handler, and none was being handled.
///
/// The timer is polled once per period, to arm it; the many wake-ups of the
/// connection in between only read its state, so a request costs the check
/// nothing but two counter increments.
pub(crate) async fn close_when_stalled<F: Future>(
    connection: F,
    progress: &Progress,
    period: Duration,
) {
    let mut connection = std::pin::pin!(connection);
    let mut timer = std::pin::pin!(tokio::time::sleep(period));
    let mut armed = false;
    let mut seen = progress.count();
    std::future::poll_fn(|cx| {
        if connection.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        loop {
            if !armed {
                // Registers this task's waker with the timer.
                if timer.as_mut().poll(cx).is_pending() {
                    armed = true;
                    return Poll::Pending;
                }
            } else if !timer.is_elapsed() {
                return Poll::Pending;
            }
            // A whole period has passed.
            let now = progress.count();
            if now == seen && now % 2 == 0 {
                return Poll::Ready(());
            }
            seen = now;
            timer.as_mut().reset(tokio::time::Instant::now() + period);
            armed = false;
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_millis(40);

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    #[test]
    fn a_connection_without_requests_is_closed_after_one_period() {
        runtime().block_on(async {
            let progress = Progress::default();
            let started = tokio::time::Instant::now();
            close_when_stalled(std::future::pending::<()>(), &progress, PERIOD).await;
            assert_eq!(started.elapsed(), PERIOD);
        });
    }

    #[test]
    fn a_long_request_keeps_its_connection() {
        runtime().block_on(async {
            let progress = Progress::default();
            let connection = async {
                let _handling = progress.handling();
                tokio::time::sleep(PERIOD * 10).await;
            };
            let started = tokio::time::Instant::now();
            close_when_stalled(connection, &progress, PERIOD).await;
            // It ended on its own, after ten periods of handling.
            assert_eq!(started.elapsed(), PERIOD * 10);
        });
    }

    #[test]
    fn requests_keep_it_open_and_a_stall_after_them_closes_it() {
        runtime().block_on(async {
            let progress = Progress::default();
            let connection = async {
                // A quick request every half period, four times...
                for _ in 0..4 {
                    tokio::time::sleep(PERIOD / 2).await;
                    drop(progress.handling());
                }
                // ...then nothing.
                std::future::pending::<()>().await;
            };
            let started = tokio::time::Instant::now();
            close_when_stalled(connection, &progress, PERIOD).await;
            // Requests end at 2 periods; the first whole period without any
            // ends at 3 (the check runs at whole periods).
            assert_eq!(started.elapsed(), PERIOD * 3);
        });
    }

    #[test]
    fn the_count_is_even_between_requests() {
        let progress = Progress::default();
        let handling = progress.handling();
        assert_eq!(progress.count() % 2, 1);
        drop(handling);
        assert_eq!(progress.count(), 2);
    }
}
