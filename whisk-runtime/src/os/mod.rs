//! What the runtime asks of the operating system: the log pipes and their
//! helper thread, the `__OW_*` environment, timers, signals and sockets.
//! A leaf: nothing here imports the rest of the runtime, except the
//! metadata whose values `export` writes.
//!
//! The only module where the crate allows `unsafe` (system calls through
//! `libc`, the environment); each block says why it is sound.
#![allow(unsafe_code)]

pub(crate) mod env;
pub(crate) mod export;
pub(crate) mod fd;
pub(crate) mod logs;
pub(crate) mod signal;
pub(crate) mod socket;
pub(crate) mod timerfd;
