//! The slow-client guard: a connection that keeps the server waiting is
//! closed.
//!
//! A client may open a connection and then send its request a byte at a
//! time, or never, or never read the answer (slowloris). hyper can bound the
//! time to read a request head, but arms a timer for every request to do so,
//! on every keep-alive `/run` and every invoker connection (kept for that:
//! BENCHMARKS.md, decisions). Here one periodic sweep looks
//! at every connection being served (the registry `drain.rs` keeps): a
//! connection is closed once a whole period has passed in which no request
//! reached or left the handler and none was being handled. A slow client
//! so gets between one and two periods (`WHISK_READ_TIMEOUT_SECS`); an
//! activation, however long, never counts against it.
//!
//! A connection's part is two counter increments per request and, on each
//! of its wake-ups, one load (see [`Progress::stalled`]).

use std::sync::atomic::{AtomicU64, Ordering};

/// What a connection's requests have done: counts each request once when it
/// reaches the handler and once when the handler is done with it, so the
/// count is odd while one is being handled. Also holds the sweep's verdict.
#[derive(Debug)]
pub(crate) struct Progress {
    count: AtomicU64,
    /// The count at which a sweep found the connection stalled ([`NEVER`]
    /// while it is not).
    stalled_at: AtomicU64,
}

/// No verdict: a count can never reach it.
const NEVER: u64 = u64::MAX;

impl Default for Progress {
    fn default() -> Self {
        Progress {
            count: AtomicU64::new(0),
            stalled_at: AtomicU64::new(NEVER),
        }
    }
}

impl Progress {
    /// Marks a request as being handled until the returned value drops
    /// (also when the handler's future is dropped half-way).
    pub(crate) fn handling(&self) -> Handling<'_> {
        self.count.fetch_add(1, Ordering::Relaxed);
        Handling(self)
    }

    // Relaxed throughout: the sweep and the connection run on the server's
    // one thread, and the sweep's verdict reaches the connection through a
    // wake-up, which orders it anyway.
    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The sweep's look at the connection, given what the previous sweep
    /// saw (`seen`, [`Progress::NOT_SEEN`] at first; updated here): whether
    /// it made no progress since then and is not handling a request. Then
    /// its task is to be woken, to close it.
    pub(crate) fn sweep(&self, seen: &mut u64) -> bool {
        let now = self.count();
        let stalled = now == *seen && now % 2 == 0;
        *seen = now;
        if stalled {
            self.stalled_at.store(now, Ordering::Relaxed);
        }
        stalled
    }

    /// What a sweep is given for a connection it has not seen yet.
    pub(crate) const NOT_SEEN: u64 = NEVER;

    /// Whether the connection is to be closed: a sweep found it stalled,
    /// and it has made no progress since (a request that came between the
    /// sweep and this wake-up keeps it open). Called after the connection
    /// has been polled, so that such a request is counted first.
    pub(crate) fn stalled(&self) -> bool {
        let at = self.stalled_at.load(Ordering::Relaxed);
        if at == NEVER {
            return false;
        }
        if self.count() == at {
            return true;
        }
        self.stalled_at.store(NEVER, Ordering::Relaxed);
        false
    }
}

/// A request being handled; see [`Progress::handling`].
pub(crate) struct Handling<'a>(&'a Progress);

impl Drop for Handling<'_> {
    fn drop(&mut self) {
        self.0.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// What [`Drain::watch`](super::drain::Drain::watch) is given for a
/// connection.
impl AsRef<Progress> for Progress {
    fn as_ref(&self) -> &Progress {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::timerfd::Ticker;
    use crate::test_util::paused_runtime;
    use crate::transport::http::drain::Drain;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use std::time::Duration;

    const PERIOD: Duration = Duration::from_millis(40);

    /// A connection that does what `requests` does with its progress,
    /// then waits for ever (a graceful stop does not concern these tests).
    struct Fake(Pin<Box<dyn Future<Output = ()> + Send>>);

    impl Future for Fake {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.0.as_mut().poll(cx)
        }
    }

    impl crate::transport::http::drain::Stoppable for Fake {
        fn stop(self: Pin<&mut Self>) {}
    }

    /// How long a guarded connection that does what `requests` does lived
    /// (the sweeps start with it).
    fn lifetime<R>(requests: impl FnOnce(Arc<Progress>) -> R) -> Duration
    where
        R: Future<Output = ()> + Send + 'static,
    {
        paused_runtime().block_on(async {
            let drain = Drain::default();
            let sweeper = tokio::spawn(drain.guard(Ticker::on_runtime(PERIOD)));
            let progress = Arc::new(Progress::default());
            let work = requests(Arc::clone(&progress));
            let connection = Fake(Box::pin(async move {
                work.await;
                std::future::pending::<()>().await;
            }));
            let started = tokio::time::Instant::now();
            drain.watch(connection, progress).await;
            sweeper.abort();
            started.elapsed()
        })
    }

    #[test]
    fn a_connection_without_requests_is_closed_after_two_sweeps() {
        // The first sweep sees it, the second finds it unchanged.
        assert_eq!(lifetime(|_| async {}), PERIOD * 2);
    }

    #[test]
    fn a_long_request_keeps_its_connection() {
        let lived = lifetime(|progress| async move {
            let _handling = progress.handling();
            tokio::time::sleep(PERIOD * 21 / 2).await;
        });
        // Handled until 10.5 periods; idle from then, seen by the sweep at
        // 11, closed by the one at 12.
        assert_eq!(lived, PERIOD * 12);
    }

    #[test]
    fn requests_keep_it_open_and_a_stall_after_them_closes_it() {
        let lived = lifetime(|progress| async move {
            // A quick request every half period, from a quarter on, four
            // times (the last at 1.75 periods)...
            tokio::time::sleep(PERIOD / 4).await;
            for _ in 0..4 {
                drop(progress.handling());
                tokio::time::sleep(PERIOD / 2).await;
            }
        });
        // ...so the sweep at 2 periods sees progress, the one at 3 none.
        assert_eq!(lived, PERIOD * 3);
    }

    #[test]
    fn the_count_is_even_between_requests() {
        let progress = Progress::default();
        let handling = progress.handling();
        assert_eq!(progress.count() % 2, 1);
        drop(handling);
        assert_eq!(progress.count(), 2);
    }

    #[test]
    fn a_sweep_needs_two_looks_and_a_request_in_between_cancels_it() {
        let progress = Progress::default();
        let mut seen = Progress::NOT_SEEN;
        assert!(!progress.sweep(&mut seen), "first look");
        assert!(progress.sweep(&mut seen), "no progress for a whole period");
        // A request reached the handler before the connection was woken.
        drop(progress.handling());
        assert!(!progress.stalled());
        assert!(!progress.sweep(&mut seen));
        assert!(progress.sweep(&mut seen));
        assert!(progress.stalled());
        // Never while one is handled.
        let _handling = progress.handling();
        let mut seen = Progress::NOT_SEEN;
        assert!(!progress.sweep(&mut seen) && !progress.sweep(&mut seen));
    }
}
