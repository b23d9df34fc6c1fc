//! The connections being served: so that a stop reaches the idle ones too,
//! and waits until the last one has finished; and so that one periodic
//! sweep finds those that keep the server waiting (the slow-client guard,
//! `guard.rs`).
//!
//! hyper-util's `GracefulShutdown` does this with a `watch` channel whose
//! `changed()` future every connection polls on every wake-up: a lock and a
//! waker update per poll (kept for that: BENCHMARKS.md, decisions). Here a connection is counted when it is
//! accepted, hands over its waker once, on its first poll (again only if
//! the task's waker changes), and each poll reads one flag (and, once the
//! connection has been polled, the guard's verdict).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::Notify;

use crate::os::timerfd::Ticker;
use crate::transport::http::guard::Progress;

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
    /// The connections that have been polled.
    slots: Vec<Option<Slot>>,
    /// Slots free for the next connection.
    free: Vec<usize>,
    /// Connections counted and not yet ended.
    live: usize,
}

/// A connection that has been polled: how to wake it, and what the guard
/// needs to judge it.
struct Slot {
    waker: Waker,
    progress: Arc<dyn AsRef<Progress> + Send + Sync>,
    /// What the previous sweep saw (`Progress::sweep`).
    seen: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the connections that made no progress since the previous
    /// sweep, so that they close.
    fn sweep(&self) {
        for slot in self.lock().slots.iter_mut().flatten() {
            if (*slot.progress).as_ref().sweep(&mut slot.seen) {
                slot.waker.wake_by_ref();
            }
        }
    }
}

impl Drain {
    /// Counts `connection` from now on (so a stop waits for it even if it
    /// has not been polled yet); its requests count into `progress`.
    pub(crate) fn watch<F, P>(&self, connection: F, progress: Arc<P>) -> Drained<F, P>
    where
        F: Stoppable,
        P: AsRef<Progress> + Send + Sync + 'static,
    {
        self.shared.lock().live += 1;
        Drained {
            connection,
            progress,
            shared: Arc::clone(&self.shared),
            slot: None,
            waker: None,
            stopped: false,
        }
    }

    /// The slow-client guard (`guard.rs`): on every tick (once a period),
    /// closes the connections that made no progress for a whole period. It
    /// runs until dropped.
    pub(crate) fn guard(&self, mut ticker: Ticker) -> impl Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        async move {
            loop {
                ticker.tick().await;
                shared.sweep();
            }
        }
    }

    /// Asks every connection to finish its request in progress and close,
    /// and waits until all have ended, for at most `timeout`.
    pub(crate) async fn stop(self, timeout: Duration) {
        let shared = self.shared;
        shared.stopping.store(true, Ordering::Release);
        // Wake them all: an idle connection sees the flag on that poll.
        let wakers: Vec<Waker> = shared
            .lock()
            .slots
            .iter()
            .flatten()
            .map(|slot| slot.waker.clone())
            .collect();
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
    /// A connection counted by a [`Drain`]; made by [`Drain::watch`]. It
    /// ends when the connection does, or when the guard closes it.
    pub(crate) struct Drained<F, P> {
        #[pin]
        connection: F,
        progress: Arc<P>,
        shared: Arc<Shared>,
        // Where its waker is, once polled.
        slot: Option<usize>,
        // The waker handed over (to tell when the task's changes).
        waker: Option<Waker>,
        stopped: bool,
    }

    impl<F, P> PinnedDrop for Drained<F, P> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let mut state = this.shared.lock();
            if let Some(slot) = this.slot.take() {
                state.slots[slot] = None;
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

impl<F, P> Future for Drained<F, P>
where
    F: Stoppable,
    P: AsRef<Progress> + Send + Sync + 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        if !this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            let waker = cx.waker().clone();
            let mut state = this.shared.lock();
            match *this.slot {
                Some(slot) => {
                    if let Some(slot) = &mut state.slots[slot] {
                        slot.waker = waker.clone();
                    }
                }
                None => {
                    let progress: Arc<dyn AsRef<Progress> + Send + Sync> = this.progress.clone();
                    let new = Slot {
                        waker: waker.clone(),
                        progress,
                        seen: Progress::NOT_SEEN,
                    };
                    let slot = match state.free.pop() {
                        Some(slot) => {
                            state.slots[slot] = Some(new);
                            slot
                        }
                        None => {
                            state.slots.push(Some(new));
                            state.slots.len() - 1
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
        match this.connection.poll(cx) {
            Poll::Ready(_) => Poll::Ready(()),
            // Closed by the guard: dropped, so the socket closes.
            Poll::Pending if (**this.progress).as_ref().stalled() => Poll::Ready(()),
            Poll::Pending => Poll::Pending,
        }
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

    fn progress() -> Arc<Progress> {
        Arc::new(Progress::default())
    }

    #[test]
    fn a_stop_ends_idle_connections_and_waits_for_busy_ones() {
        paused_runtime().block_on(async {
            let drain = Drain::default();
            let idle = tokio::spawn(drain.watch(Fake::idle(), progress()));
            let busy = tokio::spawn(drain.watch(Fake::busy(Duration::from_secs(3)), progress()));
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
            let late = tokio::spawn(drain.watch(Fake::idle(), progress()));
            drain.stop(Duration::from_secs(10)).await;
            assert!(late.is_finished());
        });
    }

    #[test]
    fn the_wait_is_bounded() {
        paused_runtime().block_on(async {
            let drain = Drain::default();
            let _slow = tokio::spawn(drain.watch(Fake::busy(Duration::from_secs(60)), progress()));
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
                let quick = drain.watch(Fake::busy(Duration::from_millis(1)), progress());
                quick.await;
            }
            let state = drain.shared.lock();
            assert_eq!((state.slots.len(), state.live), (1, 0));
        });
    }
}
