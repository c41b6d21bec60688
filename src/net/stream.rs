//! `TcpStream`: a connected TCP socket.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::resolve;
use crate::context;
use crate::io::{AsyncRead, AsyncWrite};
use crate::reactor::{Direction, PollEvented};

/// A TCP connection, readable and writable through [`AsyncRead`] and [`AsyncWrite`] (use the
/// methods of [`AsyncReadExt`](crate::io::AsyncReadExt) and
/// [`AsyncWriteExt`](crate::io::AsyncWriteExt)).
///
/// The read and write directions wait independently: after [`split`](Self::split) or
/// [`into_split`](Self::into_split), one task may read while another writes.
///
/// A read into an empty buffer, or a write of an empty buffer, completes at once with `Ok(0)`
/// whatever the socket's state: there is nothing to wait for.
pub struct TcpStream {
    io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each of its addresses in turn; the error of the last one
    /// if none accepts.
    ///
    /// ```no_run
    /// use evloop::io::AsyncWriteExt;
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut stream = evloop::net::TcpStream::connect("127.0.0.1:7000").await?;
    ///     stream.write_all(b"ping\n").await
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let mut last_error = None;
        for addr in resolve(addr)? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("resolve returns at least one address"))
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        poll_fn(|cx| stream.poll_connected(cx)).await?;
        Ok(stream)
    }

    /// Ready once a non-blocking connect has finished: writable, then either an error in
    /// `SO_ERROR` or a peer address (no peer address yet means a spurious wake-up).
    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.io.registration().poll_ready(cx, Direction::Write))?;
            if let Some(error) = self.io.get_ref().take_error()? {
                return Poll::Ready(Err(error));
            }
            match self.io.get_ref().peer_addr() {
                Ok(_) => return Poll::Ready(Ok(())),
                Err(error) if error.kind() == io::ErrorKind::NotConnected => {
                    self.io.registration().clear_ready(Direction::Write);
                }
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }

    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(stream, &context::current_reactor()?)?,
        })
    }

    /// Wraps a connected `std` stream (made non-blocking here) into the current runtime.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// The address of the peer at the other end of the connection.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The address of this end of the connection (the port the kernel picked, for a client).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY`: send small writes at once instead of coalescing them (Nagle).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// `poll_read` through a shared reference: the halves share one stream.
    ///
    /// An empty `buf` gives `Ok(0)` at once, without a system call: asking for nothing must
    /// not wait for data that may never come.
    pub(crate) fn poll_read_shared(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.io
            .poll_transfer(cx, Direction::Read, buf.len(), |mut stream| {
                stream.read(buf)
            })
    }

    /// `poll_write` through a shared reference.
    ///
    /// An empty `buf` gives `Ok(0)` at once, without a system call: writing nothing must not
    /// wait for room in a full send buffer, which a peer that stopped reading never makes.
    pub(crate) fn poll_write_shared(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.io
            .poll_transfer(cx, Direction::Write, buf.len(), |mut stream| {
                stream.write(buf)
            })
    }

    /// Closes the write direction: the peer reads EOF once it has read what was sent.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        self.io.get_ref().shutdown(Shutdown::Write)
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_shared(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_shared(cx, buf)
    }

    /// A TCP stream has no user-space buffer: flushing is always done.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_write())
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
