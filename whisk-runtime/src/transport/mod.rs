//! The three ways a request reaches the [`Core`](crate::core::Core): HTTP,
//! OpenWhisk's ActionLoop proxy, and the dockerskeleton's exec.

pub(crate) mod actionloop;
pub(crate) mod exec;
pub(crate) mod http;
