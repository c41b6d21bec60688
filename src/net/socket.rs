//! `TcpSocket`: a TCP socket not yet connected or listening, to set options on before it
//! becomes a [`TcpStream`] or a [`TcpListener`].
//!
//! # Invariants
//!
//! 1. The socket is created non-blocking and close-on-exec (`sys::tcp_socket`). A socket that
//!    came from elsewhere ([`TcpSocket::from_std_stream`], `FromRawFd`) may be blocking, so
//!    [`connect`](TcpSocket::connect) and [`listen`](TcpSocket::listen) make it non-blocking
//!    before anything can wait on it: a blocking `connect` or `accept` would stall the loop.
//! 2. A `TcpSocket` is registered with no reactor; only the stream or listener it becomes is.
//!    So it may be created, configured and bound on any thread and moved to another (it is
//!    `Send`): how `echo-server --shards` binds every shard's socket before the shards start.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::{TcpListener, TcpStream};
use crate::sys;

/// A TCP socket that is neither connected nor listening yet: set its options, maybe
/// [`bind`](Self::bind) it, then turn it into a [`TcpListener`] with [`listen`](Self::listen)
/// or into a [`TcpStream`] with [`connect`](Self::connect). The same shape as tokio's
/// `TcpSocket`.
///
/// Closed when dropped. [`TcpListener::bind`] and [`TcpStream::connect`] cover the common
/// cases; this is for the rest, such as several listeners sharing one port, one per runtime
/// (see DESIGN.md, "One runtime per core"):
///
/// ```
/// use evloop::net::TcpSocket;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let first = TcpSocket::new_v4()?;
///     first.set_reuseport(true)?;
///     first.bind("127.0.0.1:0".parse().unwrap())?;
///     let addr = first.local_addr()?;
///     let first = first.listen(1024)?;
///
///     // A second listener on the same port: the kernel spreads connections over both.
///     let second = TcpSocket::new_v4()?;
///     second.set_reuseport(true)?;
///     second.bind(addr)?;
///     let second = second.listen(1024)?;
///     assert_eq!(second.local_addr()?, first.local_addr()?);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Every setter is one `setsockopt(2)` and every getter one `getsockopt(2)`; their errors are
/// the kernel's.
pub struct TcpSocket {
    fd: OwnedFd,
}

impl TcpSocket {
    /// A new IPv4 TCP socket (`AF_INET`), non-blocking and close-on-exec.
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(libc::AF_INET)
    }

    /// A new IPv6 TCP socket (`AF_INET6`), non-blocking and close-on-exec.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(libc::AF_INET6)
    }

    fn new(domain: libc::c_int) -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: sys::tcp_socket(domain)?,
        })
    }

    /// Sets `SO_REUSEADDR`: binding succeeds although connections of an earlier socket on
    /// the same address linger in `TIME_WAIT`, so a restarted server can listen at once.
    /// (It does not let two sockets listen on one port: that is
    /// [`set_reuseport`](Self::set_reuseport).)
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        sys::set_socket_flag(&self.fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, reuseaddr)
    }

    /// Whether `SO_REUSEADDR` is set.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        sys::socket_flag(&self.fd, libc::SOL_SOCKET, libc::SO_REUSEADDR)
    }

    /// Sets `SO_REUSEPORT`: several sockets may bind (and listen on) the same address if every
    /// one of them sets it before `bind`, and all belong to the same user. The kernel then
    /// spreads incoming connections over the listening ones by a hash of each connection's
    /// addresses and ports; a listener that closes leaves the group, and the connections
    /// still queued on it are reset.
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        sys::set_socket_flag(&self.fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, reuseport)
    }

    /// Whether `SO_REUSEPORT` is set.
    pub fn reuseport(&self) -> io::Result<bool> {
        sys::socket_flag(&self.fd, libc::SOL_SOCKET, libc::SO_REUSEPORT)
    }

    /// Sets the size of the kernel's send buffer (`SO_SNDBUF`). Linux doubles the value (the
    /// extra half is its bookkeeping), caps it at `net.core.wmem_max` and raises it to a small
    /// minimum: [`send_buffer_size`](Self::send_buffer_size) reads back what it chose.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        sys::set_socket_option(
            &self.fd,
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            buffer_size(size),
        )
    }

    /// The size of the kernel's send buffer (`SO_SNDBUF`), as the kernel chose it.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        read_buffer_size(&self.fd, libc::SO_SNDBUF)
    }

    /// Sets the size of the kernel's receive buffer (`SO_RCVBUF`); doubled, capped (at
    /// `net.core.rmem_max`) and raised to a minimum like the send buffer's. Set it before
    /// `listen` or `connect`: the TCP window scale is fixed when the connection is made.
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        sys::set_socket_option(
            &self.fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            buffer_size(size),
        )
    }

    /// The size of the kernel's receive buffer (`SO_RCVBUF`), as the kernel chose it.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        read_buffer_size(&self.fd, libc::SO_RCVBUF)
    }

    /// Sets `SO_LINGER`. With `Some(duration)`, closing the socket blocks the closing thread
    /// for up to `duration` (whole seconds) while unsent data goes out, and `Some(ZERO)`
    /// resets the connection (RST) instead of closing it in order; with `None` (the default),
    /// close returns at once and the kernel sends what is left in the background. A close that
    /// blocks blocks the whole runtime: on an event loop, use `None` or `Some(ZERO)`.
    pub fn set_linger(&self, duration: Option<Duration>) -> io::Result<()> {
        sys::set_linger(&self.fd, duration)
    }

    /// `SO_LINGER` as [`set_linger`](Self::set_linger) takes it.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        sys::linger(&self.fd)
    }

    /// Sets `TCP_NODELAY`: send small writes at once instead of coalescing them (Nagle).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        sys::set_socket_flag(&self.fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        sys::socket_flag(&self.fd, libc::IPPROTO_TCP, libc::TCP_NODELAY)
    }

    /// Sets `SO_KEEPALIVE`: probe an idle connection so that a vanished peer ends it with an
    /// error (after the system's keep-alive timers, two hours by default on Linux) instead of
    /// leaving it open forever.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        sys::set_socket_flag(&self.fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, keepalive)
    }

    /// Whether `SO_KEEPALIVE` is set.
    pub fn keepalive(&self) -> io::Result<bool> {
        sys::socket_flag(&self.fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE)
    }

    /// The address the socket is bound to: after [`bind`](Self::bind) to port 0, the port the
    /// kernel picked. An unbound socket reports the unspecified address and port 0.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::local_addr(&self.fd)
    }

    /// The error pending on the socket (`SO_ERROR`), if any, which this call clears.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let errno: libc::c_int = sys::socket_option(&self.fd, libc::SOL_SOCKET, libc::SO_ERROR)?;
        Ok((errno != 0).then(|| io::Error::from_raw_os_error(errno)))
    }

    /// Binds the socket to `addr` (port 0: the kernel picks a free port). The address family
    /// must be the socket's: an IPv6 address on a [`new_v4`](Self::new_v4) socket fails.
    ///
    /// Fails with `AddrInUse` when another socket listens on `addr`, unless both set
    /// [`set_reuseport`](Self::set_reuseport) before binding.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        sys::bind(&self.fd, addr)
    }

    /// Starts listening, with room for `backlog` connections that completed the handshake but
    /// were not accepted yet (the kernel caps it at `net.core.somaxconn`; a larger `backlog`,
    /// even past `i32::MAX`, means that cap), and registers the listener with the current
    /// runtime. Not `async`: listening never waits.
    ///
    /// An unbound socket listens on a port the kernel picks. Fails outside a runtime.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = libc::c_int::try_from(backlog).unwrap_or(libc::c_int::MAX);
        sys::listen(&self.fd, backlog)?;
        // `from_std` makes it non-blocking (Invariant 1) and registers it.
        TcpListener::from_std(std::net::TcpListener::from(self.fd))
    }

    /// Connects to `addr` and returns the connected stream, registered with the current
    /// runtime.
    ///
    /// The connect does not block: it starts, the task waits until the socket is writable,
    /// and the outcome is read from `SO_ERROR` (a refused connection fails with
    /// `ConnectionRefused`). An unreachable peer that never answers fails only when the
    /// kernel gives up (minutes, with Linux's default SYN retries): bound the wait with
    /// [`time::timeout`](crate::time::timeout). Fails outside a runtime.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = std::net::TcpStream::from(self.fd);
        // Invariant 1: a socket from `from_std_stream` or `FromRawFd` may be blocking.
        stream.set_nonblocking(true)?;
        sys::start_connect(&stream, addr)?;
        TcpStream::connecting(stream).await
    }

    /// Wraps a `std` TCP stream that is neither connected nor listening (made with another
    /// library, for options this type does not offer). It is made non-blocking when it
    /// connects or listens.
    pub fn from_std_stream(stream: std::net::TcpStream) -> TcpSocket {
        TcpSocket {
            fd: OwnedFd::from(stream),
        }
    }
}

/// A buffer size as `setsockopt` takes it: an `int`; larger sizes mean the largest.
fn buffer_size(size: u32) -> libc::c_int {
    libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX)
}

/// Reads buffer size option `name`, an `int` the kernel keeps non-negative.
fn read_buffer_size(fd: &OwnedFd, name: libc::c_int) -> io::Result<u32> {
    let size: libc::c_int = sys::socket_option(fd, libc::SOL_SOCKET, name)?;
    u32::try_from(size).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the kernel reported a negative buffer size ({size})"),
        )
    })
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl FromRawFd for TcpSocket {
    /// Takes ownership of `fd`.
    ///
    /// # Safety
    ///
    /// `fd` must be an open TCP socket descriptor that nothing else owns or closes (the
    /// contract of [`OwnedFd::from_raw_fd`]).
    unsafe fn from_raw_fd(fd: RawFd) -> TcpSocket {
        TcpSocket {
            // SAFETY: the caller's contract above is `OwnedFd::from_raw_fd`'s.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        }
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.fd.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
