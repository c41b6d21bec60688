//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (with its halves and its peer's
//! [`UCred`]) and [`UnixDatagram`], built on the reactor's registration API like TCP.
//!
//! # Addresses
//!
//! A socket's address is std's [`SocketAddr`] (re-exported here): a pathname
//! ([`SocketAddr::as_pathname`]), unnamed ([`SocketAddr::is_unnamed`], the sockets of a
//! `pair` or of a client that never bound), or, on Linux, a name in the abstract namespace
//! (`std::os::linux::net::SocketAddrExt::as_abstract_name`), which lives only as long as its
//! socket and leaves no file behind.
//!
//! Every function that takes a path (`bind`, `connect`, `send_to`) reads a path whose first
//! byte is NUL (`"\0name"`) as the abstract name after it, as tokio does; the `*_addr` forms
//! take a [`SocketAddr`] made with `SocketAddr::from_abstract_name` or
//! `SocketAddr::from_pathname`.
//!
//! # Pathnames are not removed
//!
//! Binding creates the socket file; closing the socket does not remove it, and binding to a
//! path that exists fails with `AddrInUse`, as with std and tokio. Remove the file before
//! binding again (if no one listens there any more) or after closing.

mod datagram;
mod listener;
mod split;
mod stream;
mod ucred;

use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub use self::datagram::UnixDatagram;
pub use self::listener::UnixListener;
pub use self::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use self::stream::UnixStream;
pub use self::ucred::UCred;
pub use std::os::unix::net::SocketAddr;

/// The address `path` names: the abstract name after a leading NUL byte, else the pathname.
/// `InvalidInput` for a path too long for `sun_path` or with a NUL inside.
pub(crate) fn socket_addr(path: &Path) -> io::Result<SocketAddr> {
    match path.as_os_str().as_bytes() {
        [0, name @ ..] => SocketAddr::from_abstract_name(name),
        _ => SocketAddr::from_pathname(path),
    }
}

/// Runs `operation` on a `std` socket of type `S` that borrows the descriptor of `socket`
/// without owning it: for the few calls std has and mio does not (`connect_addr`,
/// `send_to_addr` of a datagram socket).
pub(crate) fn with_std_view<S: FromRawFd, R>(
    socket: &impl AsRawFd,
    operation: impl FnOnce(&S) -> R,
) -> R {
    // SAFETY: `socket` is borrowed for the whole call, so its descriptor stays open and names
    // the same socket while the view exists. The view is never dropped (`ManuallyDrop`), so it
    // never closes the descriptor it does not own, and it is not moved out of this function.
    // `S` is the std type of the same kind of socket, so every call it makes is valid on it.
    let view = ManuallyDrop::new(unsafe { S::from_raw_fd(socket.as_raw_fd()) });
    operation(&view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_nul_names_the_abstract_namespace() {
        let addr = socket_addr(Path::new("\0evloop-name")).unwrap();
        assert_eq!(addr.as_abstract_name(), Some(&b"evloop-name"[..]));
        assert_eq!(addr.as_pathname(), None);

        let addr = socket_addr(Path::new("/tmp/evloop.sock")).unwrap();
        assert_eq!(addr.as_pathname(), Some(Path::new("/tmp/evloop.sock")));
        assert_eq!(addr.as_abstract_name(), None);
    }

    #[test]
    fn a_path_longer_than_sun_path_is_invalid_input() {
        let long = "x".repeat(200);
        let error = socket_addr(Path::new(&long)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
