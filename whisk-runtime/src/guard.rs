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
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

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

/// For the tests, which guard a future with a bare `&Progress`.
#[cfg(test)]
impl AsRef<Progress> for Progress {
    fn as_ref(&self) -> &Progress {
        self
    }
}

pin_project_lite::pin_project! {
    /// A connection that is closed (dropped) at the end of the first whole
    /// `period` in which it made no progress: no request reached or left the
    /// handler, and none was being handled.
    ///
    /// The timer is made on the connection's first wait (a connection
    /// answered in the poll that accepted it, the usual invoker request,
    /// never needs one) and polled once per period, to arm it; the
    /// connection's other wake-ups only read its state. A request costs the
    /// check two counter increments.
    pub(crate) struct Guarded<F, P> {
        #[pin]
        connection: F,
        progress: P,
        period: Duration,
        timer: Option<Pin<Box<Sleep>>>,
        armed: bool,
        seen: u64,
    }
}

impl<F, P> Guarded<F, P> {
    /// Guards `connection`, whose requests count into `progress`.
    pub(crate) fn new(connection: F, progress: P, period: Duration) -> Self {
        Guarded {
            connection,
            progress,
            period,
            timer: None,
            armed: false,
            seen: 0,
        }
    }
}

impl<F, P> Future for Guarded<F, P>
where
    F: Future,
    P: Deref<Target: AsRef<Progress>>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.connection.poll(cx).is_ready() {
            return Poll::Ready(());
        }
        let progress = (**this.progress).as_ref();
        loop {
            let timer = match this.timer {
                Some(timer) => timer,
                None => {
                    *this.seen = progress.count();
                    this.timer
                        .insert(Box::pin(tokio::time::sleep(*this.period)))
                }
            };
            if !*this.armed {
                // Registers this task's waker with the timer.
                if timer.as_mut().poll(cx).is_pending() {
                    *this.armed = true;
                    return Poll::Pending;
                }
            } else if !timer.is_elapsed() {
                return Poll::Pending;
            }
            // A whole period has passed.
            let now = progress.count();
            if now == *this.seen && now % 2 == 0 {
                return Poll::Ready(());
            }
            *this.seen = now;
            timer
                .as_mut()
                .reset(tokio::time::Instant::now() + *this.period);
            *this.armed = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::paused_runtime;

    const PERIOD: Duration = Duration::from_millis(40);

    #[test]
    fn a_connection_without_requests_is_closed_after_one_period() {
        paused_runtime().block_on(async {
            let progress = Progress::default();
            let started = tokio::time::Instant::now();
            Guarded::new(std::future::pending::<()>(), &progress, PERIOD).await;
            assert_eq!(started.elapsed(), PERIOD);
        });
    }

    #[test]
    fn a_long_request_keeps_its_connection() {
        paused_runtime().block_on(async {
            let progress = Progress::default();
            let connection = async {
                let _handling = progress.handling();
                tokio::time::sleep(PERIOD * 10).await;
            };
            let started = tokio::time::Instant::now();
            Guarded::new(connection, &progress, PERIOD).await;
            // It ended on its own, after ten periods of handling.
            assert_eq!(started.elapsed(), PERIOD * 10);
        });
    }

    #[test]
    fn requests_keep_it_open_and_a_stall_after_them_closes_it() {
        paused_runtime().block_on(async {
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
            Guarded::new(connection, &progress, PERIOD).await;
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
