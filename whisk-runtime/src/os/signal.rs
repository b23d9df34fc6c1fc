//! Graceful shutdown on SIGTERM and SIGINT.

/// Completes on the first SIGTERM or SIGINT (Ctrl-C).
pub(crate) async fn signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the process keeps the default behaviour.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
