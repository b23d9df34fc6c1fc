//! Stopping gracefully: the connections being served, so that a stop reaches
//! the idle ones too, and a wait until the last one has finished.
//!
//! hyper-util's `GracefulShutdown` does this with a `watch` channel whose
//! `changed()` future every connection polls on every wake-up: a lock and a
//! waker update per poll, some 450 instructions per keep-alive `/run`
//! (callgrind, BENCHMARKS.md). Here a connection is counted when it is
//! accepted, hands over its waker once, on its first poll (again only if
//! the task's waker changes), and each poll reads one flag.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::Notify;

/// A connection that can be asked to finish its current request and close.
pub(crate) trait Stoppable: Future {
    /// Finish the request in progress, if any, then end (hyper's
    /// `graceful_shutdown`: an idle connection ends at once).
    fn stop(self: Pin<&mut Self>);
}

impl<I, S, B> Stoppable for hyper::server::conn::http1::Connection<I, S>
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn stop(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// The connections being served; see the module docs.
#[derive(Default)]
pub(crate) struct Drain {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    stopping: AtomicBool,
    state: Mutex<State>,
    /// Notified when the last connection ends after a stop.
    done: Notify,
}

#[derive(Default)]
struct State {
    /// The wakers of connections that have been polled, by slot.
    wakers: Vec<Option<Waker>>,
    /// Slots free for the next connection.
    free: Vec<usize>,
    /// Connections counted and not yet ended.
    live: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drain {
    /// Counts `connection` from now on (so a stop waits for it even if it
    /// has not been polled yet).
    pub(crate) fn watch<F: Stoppable>(&self, connection: F) -> Drained<F> {
        self.shared.lock().live += 1;
        Drained {
            connection,
            shared: Arc::clone(&self.shared),
            slot: None,
            waker: None,
            stopped: false,
        }
    }

    /// Asks every connection to finish its request in progress and close,
    /// and waits until all have ended, for at most `timeout`.
    pub(crate) async fn stop(self, timeout: Duration) {
        let shared = self.shared;
        shared.stopping.store(true, Ordering::Release);
        // Wake them all: an idle connection sees the flag on that poll.
        let wakers: Vec<Waker> = shared.lock().wakers.iter().flatten().cloned().collect();
        wakers.into_iter().for_each(Waker::wake);
        let all_ended = async {
            loop {
                let notified = shared.done.notified();
                if shared.lock().live == 0 {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(timeout, all_ended).await;
    }
}

pin_project_lite::pin_project! {
    /// A connection counted by a [`Drain`]; made by [`Drain::watch`].
    pub(crate) struct Drained<F> {
        #[pin]
        connection: F,
        shared: Arc<Shared>,
        // Where its waker is, once polled.
        slot: Option<usize>,
        // The waker handed over (to tell when the task's changes).
        waker: Option<Waker>,
        stopped: bool,
    }

    impl<F> PinnedDrop for Drained<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let mut state = this.shared.lock();
            if let Some(slot) = this.slot.take() {
                state.wakers[slot] = None;
                state.free.push(slot);
            }
            state.live -= 1;
            if state.live == 0 && this.shared.stopping.load(Ordering::Acquire) {
                // A permit if `stop` is not waiting yet: it checks `live`
                // again after making its `notified` future anyway.
                this.shared.done.notify_one();
            }
        }
    }
}

impl<F: Stoppable> Future for Drained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        if !this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            let waker = cx.waker().clone();
            let mut state = this.shared.lock();
            match *this.slot {
                Some(slot) => state.wakers[slot] = Some(waker.clone()),
                None => {
                    let slot = match state.free.pop() {
                        Some(slot) => {
                            state.wakers[slot] = Some(waker.clone());
                            slot
                        }
                        None => {
                            state.wakers.push(Some(waker.clone()));
                            state.wakers.len() - 1
                        }
                    };
                    *this.slot = Some(slot);
                }
            }
            drop(state);
            *this.waker = Some(waker);
        }
        if !*this.stopped && this.shared.stopping.load(Ordering::Acquire) {
            *this.stopped = true;
            this.connection.as_mut().stop();
        }
        this.connection.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::paused_runtime;

    /// A connection that is idle until stopped (then ends at once), or
    /// busy for `busy` and then ends on its own.
    struct Fake {
        busy: Option<Pin<Box<tokio::time::Sleep>>>,
        stopped: bool,
    }

    impl Fake {
        fn idle() -> Fake {
            Fake {
                busy: None,
                stopped: false,
            }
        }

        fn busy(d: Duration) -> Fake {
            Fake {
                busy: Some(Box::pin(tokio::time::sleep(d))),
                stopped: false,
            }
        }
    }

    impl Future for Fake {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let stopped = self.stopped;
            match &mut self.busy {
                // A request in progress finishes, stopped or not.
                Some(busy) => busy.as_mut().poll(cx),
                None if stopped => Poll::Ready(()),
                None => Poll::Pending,
            }
        }
    }

    impl Stoppable for Fake {
        fn stop(mut self: Pin<&mut Self>) {
            self.stopped = true;
        }
    }

    #[test]
    fn a_stop_ends_idle_connections_and_waits_for_busy_ones() {
        paused_runtime().block_on(async {
            let drain = Drain::default();
            let idle = tokio::spawn(drain.watch(Fake::idle()));
            let busy = tokio::spawn(drain.watch(Fake::busy(Duration::from_secs(3))));
            // Both polled once (idle and busy), then the stop.
            tokio::time::sleep(Duration::from_millis(10)).await;
            let started = tokio::time::Instant::now();
            drain.stop(Duration::from_secs(10)).await;
            assert_eq!(started.elapsed(), Duration::from_millis(2990));
            assert!(idle.is_finished() && busy.is_finished());
        });
    }

    #[test]
    fn a_connection_not_polled_yet_is_waited_for_and_stopped() {
        paused_runtime().block_on(async {
            let drain = Drain::default();
            // Accepted, not yet run: the stop comes first.
            let late = tokio::spawn(drain.watch(Fake::idle()));
            drain.stop(Duration::from_secs(10)).await;
            assert!(late.is_finished());
        });
    }

    #[test]
    fn the_wait_is_bounded() {
        paused_runtime().block_on(async {
            let drain = Drain::default();
            let _slow = tokio::spawn(drain.watch(Fake::busy(Duration::from_secs(60))));
            tokio::time::sleep(Duration::from_millis(10)).await;
            let started = tokio::time::Instant::now();
            drain.stop(Duration::from_secs(10)).await;
            assert_eq!(started.elapsed(), Duration::from_secs(10));
        });
    }

    #[test]
    fn slots_are_reused() {
        paused_runtime().block_on(async {
            let drain = Drain::default();
            for _ in 0..5 {
                let quick = drain.watch(Fake::busy(Duration::from_millis(1)));
                quick.await;
            }
            let state = drain.shared.lock();
            assert_eq!((state.wakers.len(), state.live), (1, 0));
        });
    }
}
