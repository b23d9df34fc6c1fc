//! The integration tests, as one test binary (one link instead of one per
//! file): each module drives real example binaries over real pipes and
//! sockets; `common` is their shared support. The macro's compile tests
//! (`tests/compile.rs`) stay a binary of their own: they set environment
//! variables that the processes started here must not inherit.
//!
//! Run one module with `cargo test --test it http_kit::`.

mod common;

mod actionloop;
#[cfg(feature = "axum")]
mod axum_web;
mod exec;
mod hardening;
mod http_kit;
mod http_protocol;
mod renamed_dependency;
mod robustness;
mod state_and_logs;
mod static_binary;
mod web;
