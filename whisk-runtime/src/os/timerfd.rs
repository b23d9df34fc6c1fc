//! Periodic timers that the kernel keeps: a Linux `timerfd`, read as a
//! descriptor, and a [`Ticker`] on it for tasks on the runtime.
//!
//! A task could sleep on tokio's timer instead, but while any timer is armed
//! in tokio's wheel, every park of the runtime looks for the next one to
//! expire and processes the wheel after the wait, and the slow-client
//! guard's sweep (`guard.rs`) is always armed (kept for that: BENCHMARKS.md,
//! decisions). A `timerfd` is one more descriptor in the I/O driver's
//! epoll set, which costs a park nothing.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A periodic timer on the monotonic clock, non-blocking.
pub(crate) struct TimerFd(OwnedFd);

impl TimerFd {
    /// A timer that does not run yet.
    pub(crate) fn new() -> io::Result<TimerFd> {
        // SAFETY: timerfd_create returns a new descriptor we own, or -1.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_CLOEXEC | libc::TFD_NONBLOCK,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: just created, owned by nobody else.
        Ok(TimerFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Starts the timer to expire every `period` from now (at least every
    /// microsecond), or stops it (`None`).
    pub(crate) fn set(&self, period: Option<Duration>) {
        let period = period.map_or(Duration::ZERO, |p| p.max(Duration::from_micros(1)));
        let spec = libc::timespec {
            // Capped (at 68 years) rather than wrapped for an absurd period;
            // `time_t` may be 32 bits.
            tv_sec: period.as_secs().min(i32::MAX as u64) as _,
            tv_nsec: period.subsec_nanos() as _,
        };
        let spec = libc::itimerspec {
            it_interval: spec,
            it_value: spec,
        };
        // SAFETY: a valid timerfd and a valid itimerspec.
        unsafe { libc::timerfd_settime(self.0.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
    }

    /// Whether the timer expired since the last call (which resets it).
    pub(crate) fn expired(&self) -> bool {
        let mut expirations = [0u8; 8];
        // SAFETY: reading the 8-byte counter of our own (non-blocking) timerfd.
        let n = unsafe { libc::read(self.0.as_raw_fd(), expirations.as_mut_ptr().cast(), 8) };
        n == 8
    }
}

impl AsRawFd for TimerFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Ticks for a task on the runtime: from a [`TimerFd`] in tokio's I/O
/// driver (see the module docs), or from tokio's timer where no `timerfd`
/// can be had (out of descriptors, say).
pub(crate) struct Ticker(Source);

enum Source {
    Kernel(AsyncFd<TimerFd>),
    Runtime(Duration),
}

impl Ticker {
    /// Ticks every `period`, the first a `period` from now. Called on the
    /// runtime.
    pub(crate) fn new(period: Duration) -> Ticker {
        let Ok(timer) = TimerFd::new() else {
            return Ticker::on_runtime(period);
        };
        timer.set(Some(period));
        // SAFETY: the descriptor is the timer's own (an `OwnedFd`), open
        // for as long as the `TimerFd` lives, which the `AsyncFd` owns.
        match unsafe { AsyncFd::register_with_interest(timer, Interest::READABLE) } {
            Ok(timer) => Ticker(Source::Kernel(timer)),
            Err(_) => Ticker::on_runtime(period),
        }
    }

    /// Ticks every `period` from tokio's timer (which a test can pause).
    pub(crate) fn on_runtime(period: Duration) -> Ticker {
        Ticker(Source::Runtime(period))
    }

    /// Waits for the next tick. Ticks missed meanwhile are not made up for.
    pub(crate) async fn tick(&mut self) {
        match &self.0 {
            Source::Kernel(timer) => loop {
                let Ok(mut ready) = timer.readable().await else {
                    // The runtime is shutting down: no more ticks.
                    return std::future::pending().await;
                };
                if ready.get_inner().expired() {
                    return;
                }
                ready.clear_ready();
            },
            Source::Runtime(period) => tokio::time::sleep(*period).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_timer_expires_once_per_period_and_stops() {
        let timer = TimerFd::new().unwrap();
        assert!(!timer.expired());
        timer.set(Some(Duration::from_millis(5)));
        std::thread::sleep(Duration::from_millis(20));
        assert!(timer.expired());
        // Read: reset until the next period.
        assert!(!timer.expired());
        timer.set(None);
        std::thread::sleep(Duration::from_millis(20));
        assert!(!timer.expired());
    }

    #[test]
    fn a_kernel_ticker_ticks_on_the_runtime_without_its_timer() {
        // A runtime without tokio's time driver: only the timerfd can tick.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        runtime.block_on(async {
            let period = Duration::from_millis(10);
            let mut ticker = Ticker::new(period);
            assert!(matches!(ticker.0, Source::Kernel(_)));
            let started = Instant::now();
            for _ in 0..3 {
                ticker.tick().await;
            }
            // Three periods at least (no upper bound: the machine may be
            // slow); a ticker that did not wait would take none.
            assert!(started.elapsed() >= period * 3, "{:?}", started.elapsed());
        });
    }
}
