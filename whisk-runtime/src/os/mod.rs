//! What the runtime asks of the operating system: the log pipes and their
//! helper thread, the `__OW_*` environment, timers, signals and sockets.
//! A leaf: nothing here imports the rest of the runtime, except the
//! metadata whose values `export` writes.

pub(crate) mod env;
pub(crate) mod export;
pub(crate) mod logs;
pub(crate) mod signal;
pub(crate) mod socket;
pub(crate) mod timerfd;
