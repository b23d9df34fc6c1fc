//! Panic capture: a panic in an action, in its parameters' decoding or in
//! its future becomes a developer error, never the end of the server.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use super::outcome::{Kind, Outcome};

/// The developer error for a panic, with its message when it has one.
pub(crate) fn panicked(panic: Box<dyn std::any::Any + Send>) -> Outcome {
    Outcome::error(
        Kind::DeveloperError,
        format!("The action panicked: {}", panic_message(&panic)),
    )
}

/// The text of a panic's payload.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Polls a future, turning a panic into `Err` (like `futures`'
/// `catch_unwind`, without the dependency).
pub(crate) struct CatchUnwind<F>(pub(crate) F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}
