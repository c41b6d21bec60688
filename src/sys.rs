//! The few system calls evloop makes itself (mio makes the rest), each behind a safe helper.

use std::io;
use std::os::fd::AsRawFd;

/// Turns a libc return value into an `io::Result`, reading `errno` on -1.
fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// Sets the listen backlog of a socket (again, if it already listens).
pub(crate) fn listen(socket: &impl AsRawFd, backlog: libc::c_int) -> io::Result<()> {
    // SAFETY: `listen` only reads its two integer arguments; `socket` borrows an open
    // descriptor for the duration of the call, so the fd cannot be closed or reused meanwhile.
    check(unsafe { libc::listen(socket.as_raw_fd(), backlog) })?;
    Ok(())
}

/// Sets `SO_LINGER` to zero seconds: closing the socket then resets the connection (RST)
/// instead of closing it in order (FIN), and leaves no `TIME_WAIT` behind.
pub(crate) fn set_linger_zero(socket: &impl AsRawFd) -> io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `setsockopt` reads `size_of::<linger>()` bytes from the pointer, which points to
    // `linger`, a live local of exactly that type; `socket` borrows an open descriptor for the
    // duration of the call.
    check(unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    })?;
    Ok(())
}
