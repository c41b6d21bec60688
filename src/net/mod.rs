//! Sockets: TCP ([`TcpListener`], [`TcpStream`], and [`TcpSocket`], the builder that sets
//! options on a socket before it becomes either), UDP ([`UdpSocket`]) and Unix-domain
//! ([`UnixListener`], [`UnixStream`], [`UnixDatagram`], with their helpers in [`unix`]), built
//! only on the reactor's registration API.
//!
//! Sockets are non-blocking and registered once with the reactor, edge-triggered, for both
//! directions; every operation is tried first and waits for readiness only on `WouldBlock`.
//!
//! [`Interest`] and [`Ready`] are the types of the readiness API (`ready`, `readable`,
//! `writable`, and the `try_*` operations that never wait), shaped like tokio's
//! `tokio::io::{Interest, Ready}`. Any number of readiness futures, and of `accept` futures,
//! may wait on one socket; the `poll_*` methods keep one waker per direction.

mod listener;
mod socket;
mod split;
mod stream;
mod udp;
pub mod unix;

pub use self::listener::TcpListener;
pub use self::socket::TcpSocket;
pub use self::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use self::stream::TcpStream;
pub use self::udp::UdpSocket;
pub use self::unix::{UnixDatagram, UnixListener, UnixStream};
pub use crate::reactor::{Interest, Ready};

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// Resolves `addr`, failing with `InvalidInput` if it names no address.
///
/// Host names are resolved with the system resolver, which blocks the thread: pass IP
/// addresses where that matters.
pub(crate) fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ));
    }
    Ok(addrs)
}
