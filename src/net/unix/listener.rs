//! `UnixListener`: accepts Unix-domain stream connections.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::task::{Context, Poll};

use super::{SocketAddr, UnixStream, socket_addr};
use crate::context;
use crate::reactor::{Direction, Interest, PollEvented, Ready};

/// A Unix-domain socket listening for stream connections.
///
/// ```
/// use evloop::io::{AsyncReadExt, AsyncWriteExt};
/// use evloop::net::{UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("evloop-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("listener.sock");
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let listener = UnixListener::bind(&path)?;
///     let mut client = UnixStream::connect(&path).await?;
///     let (mut conn, _) = listener.accept().await?;
///     client.write_all(b"hello").await?;
///     let mut buf = [0; 5];
///     conn.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// // The socket file stays after the listener is dropped: remove it.
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Binding to a path creates the socket file, and nothing removes it (see the
/// [module docs](crate::net::unix)). Binding to a path that already exists, socket or not,
/// fails with `AddrInUse`: evloop never removes a file it did not create, so a stale socket
/// of an earlier run must be removed by whoever knows it is stale.
///
/// # Running out of descriptors
///
/// Unlike [`TcpListener`](crate::net::TcpListener), `accept` returns `EMFILE` and `ENFILE` as
/// they come, as tokio's does. The connection stays queued and the listener stays readable,
/// so an accept loop that retries at once would spin: pause (`evloop::time::sleep`) before
/// the next `accept`, as `examples/echo-server.rs` does.
pub struct UnixListener {
    io: PollEvented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds a socket to `path` and listens. A path that starts with a NUL byte binds the
    /// abstract name after it (see the [module docs](crate::net::unix)).
    ///
    /// `AddrInUse` if the path exists; `NotFound` if its directory does not; `InvalidInput`
    /// if it is longer than the 107 bytes a socket address holds.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::bind_addr(&socket_addr(path.as_ref())?)
    }

    /// Binds a socket to `addr` (a pathname or an abstract name) and listens.
    ///
    /// ```
    /// use std::os::linux::net::SocketAddrExt;
    /// use evloop::net::unix::SocketAddr;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let name = format!("evloop-doc-{}", std::process::id());
    ///     let addr = SocketAddr::from_abstract_name(&name)?;
    ///     let listener = evloop::net::UnixListener::bind_addr(&addr)?;
    ///     let bound = listener.local_addr()?;
    ///     assert_eq!(bound.as_abstract_name(), Some(name.as_bytes()));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        UnixListener::from_mio(mio::net::UnixListener::bind_addr(addr)?)
    }

    fn from_mio(listener: mio::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: PollEvented::new(listener, &context::current_reactor()?)?,
        })
    }

    /// Wraps a listening `std` socket (made non-blocking here) into the current runtime.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        UnixListener::from_mio(mio::net::UnixListener::from_std(listener))
    }

    /// Takes the listener out of the runtime: a `std` listener, still non-blocking. The
    /// descriptor is duplicated (a new number; fails only without a descriptor to spare).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        let fd: OwnedFd = self.io.get_ref().as_fd().try_clone_to_owned()?;
        drop(self);
        Ok(std::os::unix::net::UnixListener::from(fd))
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Waits for a connection and returns it with the client's address (usually unnamed: a
    /// client rarely binds).
    ///
    /// Any number of `accept` futures may wait on one listener at once, each a waiter of its
    /// own; each connection goes to one of them.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let mut waiter = self.io.registration().waiter();
        let (stream, addr) = poll_fn(|cx| {
            self.io
                .poll_io_as(cx, Direction::Read, Some(&mut waiter), |listener| {
                    listener.accept()
                })
        })
        .await?;
        Ok((UnixStream::from_mio(stream)?, addr))
    }

    /// Polls for a connection (for hand-written futures). Only the most recent caller's
    /// waker is woken; use [`accept`](Self::accept) to wait from several places.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        self.io
            .poll_io(cx, Direction::Read, |listener| listener.accept())
            .map(|accepted| {
                let (stream, addr) = accepted?;
                Ok((UnixStream::from_mio(stream)?, addr))
            })
    }

    /// Accepts a connection if one is queued, without waiting: `WouldBlock` if none is.
    pub fn try_accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = self
            .io
            .registration()
            .try_io(Direction::Read, || self.io.get_ref().accept())?;
        Ok((UnixStream::from_mio(stream)?, addr))
    }

    /// Waits until a connection may be accepted (or an error reported); then
    /// [`try_accept`](Self::try_accept). Any number may wait at once.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Waits until the listener is ready for any of `interest`. A listener is only ever
    /// readable; asking for `WRITABLE` alone waits until its runtime shuts down.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.registration().ready(interest).await
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
