//! The HTTP transport's sockets: what is set on the listening socket, and
//! the accepted connections as hyper reads and writes them.
//!
//! With OpenWhisk's invoker every activation comes on a new connection, so
//! each system call made per connection is one made per activation (about
//! fourteen in all). Two that a plain hyper server makes are not needed:
//! `setsockopt(TCP_NODELAY)` on each connection, which Linux copies from
//! the listening socket, and `shutdown(SHUT_WR)` before the `close` that
//! follows it at once and sends the same FIN.

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Sets `TCP_NODELAY` on the listening socket, for the connections it
/// accepts to inherit ([`Socket::accepted`]). A failure leaves it to each
/// connection.
pub(crate) fn set_nodelay(listener: &std::net::TcpListener) {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt on a valid socket, from a live `c_int` of the size
    // given.
    unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&raw const on).cast(),
            std::mem::size_of_val(&on) as libc::socklen_t,
        )
    };
}

/// Stops a listening socket for good, for every descriptor of it (the busy
/// responder holds a `dup`): new connections are refused from now on.
pub(crate) fn stop_listening(listener: &impl AsRawFd) {
    // SAFETY: shutdown on a socket descriptor that `listener` keeps open
    // for the call; it changes the socket's state, no memory.
    unsafe { libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR) };
}

/// An accepted connection, as hyper reads and writes it.
///
/// hyper shuts the write side down before it lets a connection go, and the
/// server drops the connection in the same poll, which closes the socket.
/// Closing sends the same FIN (or the same RST, if the client left unread
/// data), so [`Socket`] leaves the shutdown to the `close`: one system call
/// less per connection.
pub(crate) struct Socket(TokioIo<TcpStream>);

impl Socket {
    /// Wraps a connection the listener accepted, with Nagle's algorithm
    /// off, so that a response goes out at once, not after the client's
    /// delayed ACK. Linux copies the option from the listening socket
    /// ([`set_nodelay`]): the first connection is asked whether it has it
    /// (`inherited`, `None` until then), and if so no later one needs a
    /// system call for it.
    pub(crate) fn accepted(stream: TcpStream, inherited: &mut Option<bool>) -> Socket {
        if !*inherited.get_or_insert_with(|| stream.nodelay().unwrap_or(false)) {
            let _ = stream.set_nodelay(true);
        }
        Socket(TokioIo::new(stream))
    }
}

impl Read for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl Write for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    /// Nothing: the `close` that follows sends the FIN (see [`Socket`]).
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts one connection on `listener` (made non-blocking) as the
    /// server does, and returns whether it has `TCP_NODELAY` and what
    /// `inherited` became.
    fn accept_one(listener: std::net::TcpListener) -> (bool, Option<bool>) {
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let mut inherited = None;
            let socket = Socket::accepted(stream, &mut inherited);
            (socket.0.inner().nodelay().unwrap(), inherited)
        })
    }

    #[test]
    fn connections_inherit_nodelay_from_the_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        set_nodelay(&listener);
        // Linux copies the option: no call per connection.
        assert_eq!(accept_one(listener), (true, Some(true)));
    }

    #[test]
    fn a_connection_that_did_not_inherit_nodelay_gets_it() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        // From now on, each connection is set.
        assert_eq!(accept_one(listener), (true, Some(false)));
    }
}
