//! `UnixStream`: a connected Unix-domain stream socket.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{SocketAddr, UCred, socket_addr};
use crate::context;
use crate::io::{AsyncRead, AsyncWrite};
use crate::reactor::{Direction, Interest, PollEvented, Ready};

/// A Unix-domain stream connection, readable and writable through [`AsyncRead`] and
/// [`AsyncWrite`], with the same readiness API as [`TcpStream`](crate::net::TcpStream):
/// any number of [`readable`](Self::readable), [`writable`](Self::writable) and
/// [`ready`](Self::ready) futures may wait on it at once, and
/// [`try_read`](Self::try_read) and [`try_write`](Self::try_write) never wait.
///
/// ```
/// use evloop::io::{AsyncReadExt, AsyncWriteExt};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (mut a, mut b) = evloop::net::UnixStream::pair()?;
///     a.write_all(b"over the pair").await?;
///     a.shutdown().await?;
///     let mut received = Vec::new();
///     b.read_to_end(&mut received).await?;
///     assert_eq!(received, b"over the pair");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// A read into an empty buffer, or a write of an empty buffer, completes at once with `Ok(0)`.
/// The `poll_*` methods share one waker per direction (the most recent caller's).
pub struct UnixStream {
    io: PollEvented<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path` (a leading NUL byte names an abstract socket: see
    /// the [module docs](crate::net::unix)).
    ///
    /// On Linux a Unix-domain connect never waits: it succeeds, or fails at once with
    /// `NotFound` (no such path), `ConnectionRefused` (a path no one listens on), or
    /// `WouldBlock` when the listener's accept queue is full (try again later; Linux gives no
    /// event for room in another socket's queue).
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        UnixStream::connect_addr(&socket_addr(path.as_ref())?).await
    }

    /// Connects to `addr` (a pathname or an abstract name); see [`connect`](Self::connect).
    pub async fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        let stream = match mio::net::UnixStream::connect_addr(addr) {
            Ok(stream) => stream,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "the Unix listener's accept queue is full; try to connect again later",
                ));
            }
            Err(error) => return Err(error),
        };
        let stream = UnixStream::from_mio(stream)?;
        // mio asks for a non-blocking connect, which for a Unix socket is already done; an
        // error that came with it is in SO_ERROR.
        match stream.take_error()? {
            Some(error) => Err(error),
            None => Ok(stream),
        }
    }

    /// Two streams connected to each other (`socketpair`), both unnamed.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    pub(crate) fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::new(stream, &context::current_reactor()?)?,
        })
    }

    /// Wraps a connected `std` stream (made non-blocking here) into the current runtime.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::from_mio(mio::net::UnixStream::from_std(stream))
    }

    /// Takes the stream out of the runtime: a `std` stream, still non-blocking. The
    /// descriptor is duplicated (a new number; fails only without a descriptor to spare).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        let fd: OwnedFd = self.io.get_ref().as_fd().try_clone_to_owned()?;
        drop(self);
        Ok(std::os::unix::net::UnixStream::from(fd))
    }

    /// The address of this end (usually unnamed for a client).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address of the other end (the listener's, for a client).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The credentials of the process at the other end, as of when it connected.
    pub fn peer_cred(&self) -> io::Result<UCred> {
        crate::sys::peer_cred(self.io.get_ref()).map(UCred::from_libc)
    }

    /// Takes the socket's pending error (`SO_ERROR`), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Waits until the stream is ready for any of `interest` and says for what. Any number
    /// may wait at once; readiness is a hint (see [`TcpStream::ready`](crate::net::TcpStream::ready)).
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.registration().ready(interest).await
    }

    /// Waits until a read is worth trying (data, EOF or an error); then
    /// [`try_read`](Self::try_read).
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Waits until a write is worth trying (room, or an error); then
    /// [`try_write`](Self::try_write).
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(drop)
    }

    /// Reads what has arrived into `buf`, without waiting: `WouldBlock` if nothing has,
    /// `Ok(0)` at EOF or for an empty `buf`.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.io
            .registration()
            .try_transfer(Direction::Read, buf.len(), || {
                (&mut self.io.get_ref()).read(buf)
            })
    }

    /// Writes as much of `buf` as the socket takes, without waiting: `WouldBlock` if it takes
    /// nothing, `Ok(0)` for an empty `buf`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.io
            .registration()
            .try_transfer(Direction::Write, buf.len(), || {
                (&mut self.io.get_ref()).write(buf)
            })
    }

    /// Polls for read readiness; only the most recent caller's waker is woken.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.registration().poll_ready(cx, Direction::Read, None)
    }

    /// Polls for write readiness; only the most recent caller's waker is woken.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io
            .registration()
            .poll_ready(cx, Direction::Write, None)
    }

    /// `poll_read` through a shared reference (the halves share one stream). A Unix stream
    /// read that returns less than asked emptied the receive queue, so the transfer shortcut
    /// of stream sockets applies.
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

/// `poll_read` wakes only the most recent caller's waker (the read direction's shared slot).
impl AsyncRead for UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_shared(cx, buf)
    }
}

/// `poll_write` wakes only the most recent caller's waker (the write direction's shared slot).
impl AsyncWrite for UnixStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_shared(cx, buf)
    }

    /// A Unix stream has no user-space buffer: flushing is always done.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_write())
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
