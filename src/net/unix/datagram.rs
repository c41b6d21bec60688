//! `UnixDatagram`: a Unix-domain datagram socket.
//!
//! Datagram operations clear readiness only on `WouldBlock` (a short datagram says nothing
//! about the queue behind it), and each waiting `async fn` is a waiter of its own, as on
//! [`UdpSocket`](crate::net::UdpSocket).

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::task::{Context, Poll};

use super::{SocketAddr, socket_addr, with_std_view};
use crate::context;
use crate::reactor::{Direction, Interest, PollEvented, Ready};

type StdDatagram = std::os::unix::net::UnixDatagram;

/// A Unix-domain datagram socket: bound to a path or an abstract name, unbound, or one of a
/// connected [`pair`](Self::pair). Unlike UDP it is reliable and ordered; a full receive queue
/// makes the sender wait instead of dropping datagrams.
///
/// ```
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (a, b) = evloop::net::UnixDatagram::pair()?;
///     a.send(b"one").await?;
///     a.send(b"two").await?;
///     let mut buf = [0; 16];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"one");
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"two");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// A datagram larger than the receive buffer is cut to the buffer's length, and the rest is
/// discarded, exactly as for [`UdpSocket`](crate::net::UdpSocket#a-datagram-larger-than-the-buffer):
/// the receive returns `buf.len()`.
///
/// Sending to a peer whose receive queue is full waits for room. Linux signals that room to
/// a *connected* sender; an unconnected `send_to` to a full queue is woken only when one of
/// its own earlier datagrams leaves that queue, so prefer [`connect`](Self::connect) for a
/// peer that may fall behind.
pub struct UnixDatagram {
    io: PollEvented<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds a socket to `path` (a leading NUL byte names an abstract socket). `AddrInUse` if
    /// the path exists: like a listener's, the socket file is never removed by evloop.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::bind_addr(&socket_addr(path.as_ref())?)
    }

    /// Binds a socket to `addr` (a pathname or an abstract name).
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::bind_addr(addr)?)
    }

    /// A socket bound to nothing: it can send with [`send_to`](Self::send_to) (or connect),
    /// but nobody can address a reply to it.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::unbound()?)
    }

    /// Two unnamed sockets connected to each other (`socketpair`).
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_mio(a)?, UnixDatagram::from_mio(b)?))
    }

    fn from_mio(socket: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: PollEvented::new(socket, &context::current_reactor()?)?,
        })
    }

    /// Wraps a `std` socket (made non-blocking here) into the current runtime.
    pub fn from_std(socket: StdDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        UnixDatagram::from_mio(mio::net::UnixDatagram::from_std(socket))
    }

    /// Takes the socket out of the runtime: a `std` socket, still non-blocking. The
    /// descriptor is duplicated (a new number; fails only without a descriptor to spare).
    pub fn into_std(self) -> io::Result<StdDatagram> {
        let fd: OwnedFd = self.io.get_ref().as_fd().try_clone_to_owned()?;
        drop(self);
        Ok(StdDatagram::from(fd))
    }

    /// Sets the peer to the socket at `path` (a leading NUL byte names an abstract socket):
    /// [`send`](Self::send) and [`recv`](Self::recv) then talk to it alone. `NotFound` or
    /// `ConnectionRefused` if no socket is bound there.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let addr = socket_addr(path.as_ref())?;
        with_std_view(self.io.get_ref(), |socket: &StdDatagram| {
            socket.connect_addr(&addr)
        })
    }

    /// The address this socket is bound to (unnamed if it is not).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address; `NotConnected` if there is none.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Shuts down the reading, writing or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Waits until the socket is ready for any of `interest` and says for what. Any number
    /// may wait at once; readiness is a hint.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.registration().ready(interest).await
    }

    /// Waits until a receive is worth trying.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Waits until a send is worth trying.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(drop)
    }

    /// Polls for read readiness; only the most recent caller's waker is woken.
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.registration().poll_ready(cx, Direction::Read, None)
    }

    /// Polls for write readiness; only the most recent caller's waker is woken.
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io
            .registration()
            .poll_ready(cx, Direction::Write, None)
    }

    /// Runs `operation` until it does not return `WouldBlock`, waiting as a waiter of its own.
    async fn io_as<R>(
        &self,
        direction: Direction,
        mut operation: impl FnMut(&mio::net::UnixDatagram) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut waiter = self.io.registration().waiter();
        poll_fn(|cx| {
            self.io
                .poll_io_as(cx, direction, Some(&mut waiter), &mut operation)
        })
        .await
    }

    /// Runs `operation` once if the socket may be ready in `direction`, else `WouldBlock`.
    fn try_op<R>(
        &self,
        direction: Direction,
        operation: impl FnOnce(&mio::net::UnixDatagram) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io
            .registration()
            .try_io(direction, || operation(self.io.get_ref()))
    }

    /// Sends `buf` as one datagram to the connected peer; returns its length.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io_as(Direction::Write, |socket| socket.send(buf))
            .await
    }

    /// [`send`](Self::send) without waiting: `WouldBlock` if the peer's queue is full.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_op(Direction::Write, |socket| socket.send(buf))
    }

    /// [`send`](Self::send) for hand-written futures (the write direction's shared waker).
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |socket| socket.send(buf))
    }

    /// Receives one datagram from the connected peer into `buf`; returns its length (at most
    /// `buf.len()`).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io_as(Direction::Read, |socket| socket.recv(buf)).await
    }

    /// [`recv`](Self::recv) without waiting: `WouldBlock` if no datagram is queued.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_op(Direction::Read, |socket| socket.recv(buf))
    }

    /// [`recv`](Self::recv) for hand-written futures (the read direction's shared waker).
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Read, |socket| socket.recv(buf))
    }

    /// Sends `buf` as one datagram to the socket at `target` (a leading NUL byte names an
    /// abstract socket); returns its length.
    pub async fn send_to(&self, buf: &[u8], target: impl AsRef<Path>) -> io::Result<usize> {
        let target = socket_addr(target.as_ref())?;
        self.io_as(Direction::Write, |socket| {
            send_to_addr(socket, buf, &target)
        })
        .await
    }

    /// [`send_to`](Self::send_to) without waiting: `WouldBlock` if the peer's queue is full.
    pub fn try_send_to(&self, buf: &[u8], target: impl AsRef<Path>) -> io::Result<usize> {
        let target = socket_addr(target.as_ref())?;
        self.try_op(Direction::Write, |socket| {
            send_to_addr(socket, buf, &target)
        })
    }

    /// [`send_to`](Self::send_to) for hand-written futures (the write direction's shared
    /// waker).
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: impl AsRef<Path>,
    ) -> Poll<io::Result<usize>> {
        let target = socket_addr(target.as_ref())?;
        self.io.poll_io(cx, Direction::Write, |socket| {
            send_to_addr(socket, buf, &target)
        })
    }

    /// Receives one datagram into `buf`; returns its length (at most `buf.len()`) and the
    /// sender's address (unnamed if the sender is not bound).
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io_as(Direction::Read, |socket| socket.recv_from(buf))
            .await
    }

    /// [`recv_from`](Self::recv_from) without waiting: `WouldBlock` if no datagram is queued.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.try_op(Direction::Read, |socket| socket.recv_from(buf))
    }

    /// [`recv_from`](Self::recv_from) for hand-written futures (the read direction's shared
    /// waker).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io
            .poll_io(cx, Direction::Read, |socket| socket.recv_from(buf))
    }
}

/// `sendto` to a pathname or an abstract address: mio's `send_to` takes pathnames only.
fn send_to_addr(
    socket: &mio::net::UnixDatagram,
    buf: &[u8],
    target: &SocketAddr,
) -> io::Result<usize> {
    with_std_view(socket, |socket: &StdDatagram| {
        socket.send_to_addr(buf, target)
    })
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
