//! `TcpListener`: accepts connections.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll, ready};

use super::{TcpStream, resolve};
use crate::reactor::{Direction, PollEvented};

/// A TCP socket listening for connections.
///
/// ```
/// use evloop::io::{AsyncReadExt, AsyncWriteExt};
/// use evloop::net::{TcpListener, TcpStream};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let client = evloop::spawn(async move {
///         let mut stream = TcpStream::connect(addr).await?;
///         stream.write_all(b"hello").await?;
///         stream.shutdown().await
///     });
///     let (mut conn, _peer) = listener.accept().await?;
///     let mut received = Vec::new();
///     conn.read_to_end(&mut received).await?;
///     assert_eq!(received, b"hello");
///     client.await?
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (the first of its addresses that works) and listens.
    ///
    /// Port 0 picks a free port: read it back with [`local_addr`](Self::local_addr). The
    /// listen backlog is the operating system's maximum (`SOMAXCONN`), so bursts of
    /// connections wait in the kernel instead of being refused.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let mut last_error = None;
        for addr in resolve(addr)? {
            match bind_listen(addr) {
                Ok(listener) => return TcpListener::from_std(listener),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("resolve returns at least one address"))
    }

    /// Wraps a listening `std` socket (made non-blocking here) into the current runtime.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: PollEvented::new(mio::net::TcpListener::from_std(listener))?,
        })
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// One task at a time should wait in `accept`: the listener keeps one waker for its read
    /// direction, so a second task waiting at the same time takes the first one's place.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection (for use in hand-written futures).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, peer) = ready!(self.io.poll_io(
            cx,
            Direction::Read,
            mio::net::TcpListener::accept
        ))?;
        Poll::Ready(Ok((TcpStream::from_mio(stream)?, peer)))
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

/// Binds with std (which sets `SO_REUSEADDR` and listens with a backlog of 128), then raises
/// the backlog to `SOMAXCONN`: Linux lets `listen` be called again on a listening socket.
fn bind_listen(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    crate::sys::listen(&listener, libc::SOMAXCONN)?;
    Ok(listener)
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
