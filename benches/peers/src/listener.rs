//! The listening socket every peer server starts from, configured exactly as evloop's
//! `TcpListener::bind` configures its own.
//!
//! std's `bind` sets `SO_REUSEADDR` and listens with a backlog of 128; evloop then calls
//! `listen` again with `SOMAXCONN` (Linux allows it on a listening socket, and caps the value
//! at `net.core.somaxconn`). tokio's own `TcpListener::bind` would use 1024, and a 10,000
//! connection burst against a shorter queue measures the queue, not the server: so tokio's and
//! mio's listeners are both made here and handed over with their `from_std`.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;

/// The listen backlog: the system's maximum, as evloop uses.
pub const BACKLOG: libc::c_int = libc::SOMAXCONN;

/// Binds `addr`, listens with a backlog of [`BACKLOG`], and makes the socket non-blocking, as
/// both tokio's and mio's `from_std` require.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    // SAFETY: `listen` only reads its two integer arguments, and `listener` owns the
    // descriptor for the whole call, so it cannot be closed or reused meanwhile.
    if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
        return Err(io::Error::last_os_error());
    }
    listener.set_nonblocking(true)?;
    Ok(listener)
}
