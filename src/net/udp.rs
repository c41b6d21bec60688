//! `UdpSocket`: a UDP socket, connected to one peer or talking to many.
//!
//! # Invariants
//!
//! 1. A datagram operation clears readiness only when it returned `WouldBlock`: a datagram
//!    shorter than the buffer says nothing about the queue behind it, so nothing here uses the
//!    short-transfer shortcut of stream sockets (`poll_transfer`).
//! 2. Every `async fn` that waits (`send`, `recv`, `send_to`, `recv_from`, `peek`,
//!    `peek_from`, `ready`, ...) is a waiter of its own, so any number may wait on one socket;
//!    the `poll_*` methods share one waker per direction (the most recent caller's).
//! 3. Buffers are passed to the kernel as they are: an empty `recv` buffer still takes (and
//!    discards) one datagram, and an empty `send` sends an empty datagram, as they do in std.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, OwnedFd};
use std::task::{Context, Poll};

use super::resolve;
use crate::context;
use crate::reactor::{Direction, Interest, PollEvented, Ready};

/// A UDP socket, in the current runtime.
///
/// Bound with [`bind`](Self::bind), it sends to and receives from any address
/// ([`send_to`](Self::send_to), [`recv_from`](Self::recv_from)); after
/// [`connect`](Self::connect) it talks to one peer ([`send`](Self::send),
/// [`recv`](Self::recv)) and the kernel drops datagrams from anyone else.
///
/// ```
/// use evloop::net::UdpSocket;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let server = UdpSocket::bind("127.0.0.1:0").await?;
///     let client = UdpSocket::bind("127.0.0.1:0").await?;
///     client.connect(server.local_addr()?).await?;
///     client.send(b"ping").await?;
///
///     let mut buf = [0; 1500];
///     let (n, from) = server.recv_from(&mut buf).await?;
///     server.send_to(&buf[..n], from).await?;
///     let n = client.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # A datagram larger than the buffer
///
/// The receiving operations (`recv`, `recv_from`, `peek`, `peek_from` and their `try_` and
/// `poll_` forms) fill the buffer with the start of the datagram and return the buffer's
/// length: the rest of that datagram is discarded by the kernel (by a `recv`; a `peek` leaves
/// the datagram queued whole), and the next receive returns the next datagram. Nothing says
/// that this happened, so size the buffer one byte larger than the largest datagram you
/// accept: a receive that fills it completely was cut short. 65 536 bytes hold any UDP
/// datagram.
///
/// # Errors from the network
///
/// On a connected socket, an ICMP error about an earlier datagram (the peer's port was
/// closed: `ConnectionRefused`) is returned by the next `send` or `recv`, once, as on Linux
/// with std; a `recv` waiting when it arrives is woken to return it. An unconnected socket
/// does not report them.
///
/// # Waiting from many places
///
/// `&self` is enough for every operation, and any number of `recv`, `send`, `readable`, ...
/// futures may wait on one socket at once, in several tasks (share it in an `Rc`) or in one.
/// Each datagram goes to one receiver. [`try_recv`](Self::try_recv) and the other `try_`
/// operations never wait: after [`readable`](Self::readable) or [`ready`](Self::ready), they
/// take what is there or return `WouldBlock`.
pub struct UdpSocket {
    io: PollEvented<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (the first of its addresses that works). Port 0 picks a free port: read
    /// it back with [`local_addr`](Self::local_addr).
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let mut last_error = None;
        for addr in resolve(addr)? {
            match mio::net::UdpSocket::bind(addr) {
                Ok(socket) => return UdpSocket::from_mio(socket),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("resolve returns at least one address"))
    }

    fn from_mio(socket: mio::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: PollEvented::new(socket, &context::current_reactor()?)?,
        })
    }

    /// Wraps a bound `std` socket (made non-blocking here) into the current runtime.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        UdpSocket::from_mio(mio::net::UdpSocket::from_std(socket))
    }

    /// Takes the socket out of the runtime: a `std` socket, still in non-blocking mode (call
    /// `set_nonblocking(false)` to block on it). Datagrams already queued stay queued.
    ///
    /// The descriptor is duplicated and this socket closed, so the `std` socket has a new
    /// descriptor number; this fails only if the process has no descriptor to spare.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        let fd: OwnedFd = self.io.get_ref().as_fd().try_clone_to_owned()?;
        // Dropping `self` deregisters the original from the reactor and closes it; the copy
        // shares the same socket.
        drop(self);
        Ok(std::net::UdpSocket::from(fd))
    }

    /// Sets the socket's peer to `addr` (the first of its addresses that works): `send` and
    /// `recv` then talk to it alone, datagrams from other addresses are dropped, and ICMP
    /// errors about it are reported (see the type's docs). Calling it again changes the peer.
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let mut last_error = None;
        for addr in resolve(addr)? {
            match self.io.get_ref().connect(addr) {
                Ok(()) => return Ok(()),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("resolve returns at least one address"))
    }

    /// The address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer set by [`connect`](Self::connect); `NotConnected` if none is.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Waits until the socket is ready for any of `interest` and says for what. Any number
    /// may wait at once. Readiness is a hint: the `try_` operation that follows may still
    /// return `WouldBlock`, and the next wait then sleeps until the next event.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.registration().ready(interest).await
    }

    /// Waits until a receive is worth trying (a datagram, or an error to report).
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Waits until a send is worth trying (room in the send buffer, or an error to report).
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

    /// Runs `operation` until it does not return `WouldBlock`, waiting as a waiter of its own
    /// (invariant 2).
    async fn io_as<R>(
        &self,
        direction: Direction,
        mut operation: impl FnMut(&mio::net::UdpSocket) -> io::Result<R>,
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
        operation: impl FnOnce(&mio::net::UdpSocket) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io
            .registration()
            .try_io(direction, || operation(self.io.get_ref()))
    }

    /// Sends `buf` as one datagram to the connected peer; returns its length. A datagram
    /// larger than the protocol allows fails with `EMSGSIZE`.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io_as(Direction::Write, |socket| socket.send(buf))
            .await
    }

    /// [`send`](Self::send) without waiting: `WouldBlock` if the send buffer is full.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_op(Direction::Write, |socket| socket.send(buf))
    }

    /// [`send`](Self::send) for hand-written futures (the write direction's shared waker).
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |socket| socket.send(buf))
    }

    /// Receives one datagram from the connected peer into `buf`; returns its length (at most
    /// `buf.len()`: see the type's docs for a larger datagram).
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

    /// Sends `buf` as one datagram to `target` (its first address); returns its length.
    /// `InvalidInput` if `target` resolves to no address. A host name is resolved on every
    /// call, by the system resolver, which blocks the thread: pass a `SocketAddr` where that
    /// matters ([`try_send_to`](Self::try_send_to) takes nothing else).
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let target = resolve(target)?[0];
        self.io_as(Direction::Write, |socket| socket.send_to(buf, target))
            .await
    }

    /// [`send_to`](Self::send_to) without waiting: `WouldBlock` if the send buffer is full.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.try_op(Direction::Write, |socket| socket.send_to(buf, target))
    }

    /// [`send_to`](Self::send_to) for hand-written futures (the write direction's shared
    /// waker).
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |socket| socket.send_to(buf, target))
    }

    /// Receives one datagram into `buf`; returns its length (at most `buf.len()`) and its
    /// sender.
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

    /// Copies the next datagram from the connected peer into `buf` without taking it off the
    /// queue: the next receive returns it again.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io_as(Direction::Read, |socket| socket.peek(buf)).await
    }

    /// [`peek`](Self::peek) without waiting: `WouldBlock` if no datagram is queued.
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_op(Direction::Read, |socket| socket.peek(buf))
    }

    /// [`peek`](Self::peek) for hand-written futures (the read direction's shared waker).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Read, |socket| socket.peek(buf))
    }

    /// Copies the next datagram into `buf` without taking it off the queue; returns its length
    /// (at most `buf.len()`) and its sender.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io_as(Direction::Read, |socket| socket.peek_from(buf))
            .await
    }

    /// [`peek_from`](Self::peek_from) without waiting: `WouldBlock` if no datagram is queued.
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.try_op(Direction::Read, |socket| socket.peek_from(buf))
    }

    /// [`peek_from`](Self::peek_from) for hand-written futures (the read direction's shared
    /// waker).
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io
            .poll_io(cx, Direction::Read, |socket| socket.peek_from(buf))
    }

    /// Sets `SO_BROADCAST`: whether datagrams may be sent to a broadcast address.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with address `interface`
    /// (`Ipv4Addr::UNSPECIFIED`: the system picks one). Joining a group twice fails with
    /// `AddrInUse`.
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&multiaddr, &interface)
    }

    /// Leaves a group joined with [`join_multicast_v4`](Self::join_multicast_v4); leaving a
    /// group not joined fails with `AddrNotAvailable`.
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&multiaddr, &interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on the interface with index `interface` (0:
    /// the system picks one).
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves a group joined with [`join_multicast_v6`](Self::join_multicast_v6).
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(multiaddr, interface)
    }

    /// Sets `IP_MULTICAST_LOOP`: whether this host's own members of a group receive what this
    /// socket sends to it (on by default).
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// Whether `IP_MULTICAST_LOOP` is set.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_TTL`: how many routers an IPv4 multicast datagram may cross (1 by
    /// default: the local network only).
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// The `IP_MULTICAST_TTL` in force.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.get_ref().multicast_ttl_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP`, the IPv6 form of
    /// [`set_multicast_loop_v4`](Self::set_multicast_loop_v4).
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v6(on)
    }

    /// Whether `IPV6_MULTICAST_LOOP` is set.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v6()
    }

    /// Sets `IP_TTL`: how many routers a unicast datagram may cross. A TTL above 255 fails
    /// with `InvalidInput`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The `IP_TTL` in force.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Takes the socket's pending error (`SO_ERROR`), clearing it: `Ok(None)` if there is none.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
