//! The few system calls evloop makes itself (mio makes the rest), each behind a safe helper.

use std::io;
use std::mem::{self, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Turns a libc return value into an `io::Result`, reading `errno` on -1.
fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// Reads from `fd` into `buf`, which may be uninitialized: `read(2)` only writes the bytes it
/// reports, so no byte has to be zeroed first. Returns that count (0 at end of file).
pub(crate) fn read_uninit(fd: &impl AsRawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: `read` writes at most `buf.len()` bytes through the pointer, which comes from a
    // live, exclusively borrowed slice of that length (writing to `MaybeUninit` bytes is
    // always allowed); `fd` borrows an open descriptor for the duration of the call.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n == -1 {
        return Err(io::Error::last_os_error());
    }
    // `read` returns -1 or a count no larger than the buffer, so this cannot fail.
    Ok(usize::try_from(n).expect("read(2) returned a negative count other than -1"))
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

/// Opens a TCP socket of address family `domain` (`AF_INET` or `AF_INET6`), non-blocking and
/// close-on-exec from its first instant: no other thread's `fork`/`exec` can inherit it.
pub(crate) fn tcp_socket(domain: libc::c_int) -> io::Result<OwnedFd> {
    let flags = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: `socket` only reads its three integer arguments.
    let fd = check(unsafe { libc::socket(domain, flags, 0) })?;
    // SAFETY: `fd` was opened just above and is owned by nothing else, so the `OwnedFd` becomes
    // its only owner and closes it exactly once.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A type that `getsockopt` may fill in and `setsockopt` may read: a plain C value.
///
/// # Safety
///
/// Every bit pattern of `size_of::<Self>()` bytes must be a valid value of the type, with no
/// padding and no pointers: [`socket_option`] hands out what the kernel wrote, unchecked.
pub(crate) unsafe trait SocketOption: Copy {}

// SAFETY: an integer; every bit pattern is a valid value.
unsafe impl SocketOption for libc::c_int {}

// SAFETY: two `c_int`s side by side (`l_onoff`, `l_linger`): no padding, every bit pattern valid.
unsafe impl SocketOption for libc::linger {}

/// The `size_of::<T>()` that `getsockopt` and `setsockopt` take.
fn option_len<T>() -> libc::socklen_t {
    // Socket options are a few bytes; a `socklen_t` (u32) holds any of them.
    mem::size_of::<T>() as libc::socklen_t
}

/// Sets socket option `level`/`name` to `value`.
pub(crate) fn set_socket_option<T: SocketOption>(
    socket: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: T,
) -> io::Result<()> {
    // SAFETY: `setsockopt` reads `size_of::<T>()` bytes from the pointer, which points to
    // `value`, a live local of exactly that type; `socket` borrows an open descriptor for the
    // duration of the call.
    check(unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            option_len::<T>(),
        )
    })?;
    Ok(())
}

/// Reads socket option `level`/`name`. Fails with `InvalidData` if the kernel wrote fewer
/// bytes than a `T` holds (the option is not of that type).
pub(crate) fn socket_option<T: SocketOption>(
    socket: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<T> {
    let mut value = MaybeUninit::<T>::zeroed();
    let mut len = option_len::<T>();
    // SAFETY: the kernel writes at most `len` bytes, `size_of::<T>()`, through the pointer,
    // which points to `value`, a live local of exactly that size; it writes the length it used
    // to `len`, a live local. `socket` borrows an open descriptor for the call.
    check(unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            level,
            name,
            value.as_mut_ptr().cast(),
            &mut len,
        )
    })?;
    if len != option_len::<T>() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "socket option {level}/{name} has {len} bytes, not the expected {}",
                option_len::<T>()
            ),
        ));
    }
    // SAFETY: zeroed, then fully overwritten by the kernel (it reported writing all
    // `size_of::<T>()` bytes); any bit pattern is a valid `T` (the `SocketOption` contract).
    Ok(unsafe { value.assume_init() })
}

/// Reads a boolean socket option (an `int`, non-zero for on).
pub(crate) fn socket_flag(
    socket: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<bool> {
    Ok(socket_option::<libc::c_int>(socket, level, name)? != 0)
}

/// Sets a boolean socket option (an `int`, 1 for on, 0 for off).
pub(crate) fn set_socket_flag(
    socket: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    on: bool,
) -> io::Result<()> {
    set_socket_option(socket, level, name, libc::c_int::from(on))
}

/// Sets `SO_LINGER`: with `Some(duration)`, closing the socket waits up to `duration` (whole
/// seconds: the fraction is dropped; longer than `c_int::MAX` seconds is clamped) for unsent
/// data to go out, and `Some(ZERO)` resets the connection instead; with `None`, close returns
/// at once and the kernel sends the rest in the background (the default).
pub(crate) fn set_linger(socket: &impl AsRawFd, linger: Option<Duration>) -> io::Result<()> {
    let value = match linger {
        Some(duration) => libc::linger {
            l_onoff: 1,
            l_linger: libc::c_int::try_from(duration.as_secs()).unwrap_or(libc::c_int::MAX),
        },
        None => libc::linger {
            l_onoff: 0,
            l_linger: 0,
        },
    };
    set_socket_option(socket, libc::SOL_SOCKET, libc::SO_LINGER, value)
}

/// Reads `SO_LINGER` back in the form [`set_linger`] takes.
pub(crate) fn linger(socket: &impl AsRawFd) -> io::Result<Option<Duration>> {
    let value: libc::linger = socket_option(socket, libc::SOL_SOCKET, libc::SO_LINGER)?;
    Ok((value.l_onoff != 0)
        .then(|| Duration::from_secs(u64::try_from(value.l_linger).unwrap_or(0))))
}

/// Binds `socket` to `addr`.
pub(crate) fn bind(socket: &impl AsRawFd, addr: SocketAddr) -> io::Result<()> {
    let raw = RawSocketAddr::from(addr);
    let (ptr, len) = raw.as_ptr();
    // SAFETY: `bind` reads `len` bytes from `ptr`, which points into `raw`, a live local that
    // holds a complete address of that length; `socket` borrows an open descriptor.
    check(unsafe { libc::bind(socket.as_raw_fd(), ptr, len) })?;
    Ok(())
}

/// Starts connecting the non-blocking `socket` to `addr`. `Ok` means the connection is made
/// or under way (`EINPROGRESS`): wait for writability, then read `SO_ERROR` for the outcome.
pub(crate) fn start_connect(socket: &impl AsRawFd, addr: SocketAddr) -> io::Result<()> {
    let raw = RawSocketAddr::from(addr);
    let (ptr, len) = raw.as_ptr();
    // SAFETY: as in `bind`: `connect` reads `len` bytes of the live `raw`.
    match check(unsafe { libc::connect(socket.as_raw_fd(), ptr, len) }) {
        Err(error) if error.raw_os_error() == Some(libc::EINPROGRESS) => Ok(()),
        result => result.map(drop),
    }
}

/// The address `socket` is bound to (`getsockname`).
pub(crate) fn local_addr(socket: &impl AsRawFd) -> io::Result<SocketAddr> {
    let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes, the size of `storage`, through the
    // pointer, which points to `storage`, a live local; it writes the address's real length
    // to `len`, a live local. `socket` borrows an open descriptor.
    check(unsafe { libc::getsockname(socket.as_raw_fd(), storage.as_mut_ptr().cast(), &mut len) })?;
    // SAFETY: zeroed, then written in part by the kernel: every byte is initialised, and a
    // `sockaddr_storage` is plain integers, valid for any bit pattern.
    let storage = unsafe { storage.assume_init() };
    socket_addr_from_storage(&storage, len)
}

/// A [`SocketAddr`] in the kernel's layout: what `bind` and `connect` take.
///
/// The kernel's fields are in network byte order (big-endian) where the protocol says so: the
/// port, and the IPv4 address as four bytes in their written order. `sin6_flowinfo` is passed
/// through as std stores it (std's `SocketAddrV6::flowinfo` is the raw field), and
/// `sin6_scope_id` is an interface index in host order.
#[derive(Clone, Copy)]
pub(crate) enum RawSocketAddr {
    V4(libc::sockaddr_in),
    V6(libc::sockaddr_in6),
}

impl From<SocketAddr> for RawSocketAddr {
    fn from(addr: SocketAddr) -> RawSocketAddr {
        match addr {
            SocketAddr::V4(addr) => RawSocketAddr::V4(libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: addr.port().to_be(),
                sin_addr: libc::in_addr {
                    // The octets in memory order, which is network order.
                    s_addr: u32::from_ne_bytes(addr.ip().octets()),
                },
                sin_zero: [0; 8],
            }),
            SocketAddr::V6(addr) => RawSocketAddr::V6(libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: addr.port().to_be(),
                sin6_flowinfo: addr.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: addr.ip().octets(),
                },
                sin6_scope_id: addr.scope_id(),
            }),
        }
    }
}

impl From<RawSocketAddr> for SocketAddr {
    fn from(raw: RawSocketAddr) -> SocketAddr {
        match raw {
            RawSocketAddr::V4(sin) => SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()),
                u16::from_be(sin.sin_port),
            )),
            RawSocketAddr::V6(sin6) => SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )),
        }
    }
}

impl RawSocketAddr {
    /// The pointer and length to pass to `bind` or `connect`; valid while `self` is.
    fn as_ptr(&self) -> (*const libc::sockaddr, libc::socklen_t) {
        match self {
            RawSocketAddr::V4(sin) => (
                (sin as *const libc::sockaddr_in).cast(),
                mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            ),
            RawSocketAddr::V6(sin6) => (
                (sin6 as *const libc::sockaddr_in6).cast(),
                mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            ),
        }
    }
}

/// The IP address in `storage`, of which the kernel filled the first `len` bytes. Anything
/// but a complete IPv4 or IPv6 address is `InvalidInput`.
fn socket_addr_from_storage(
    storage: &libc::sockaddr_storage,
    len: libc::socklen_t,
) -> io::Result<SocketAddr> {
    let len = len as usize;
    let raw = match libc::c_int::from(storage.ss_family) {
        libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: `sockaddr_storage` is larger than and aligned at least like every
            // `sockaddr_*` (that is its purpose), the family says the kernel stored a
            // `sockaddr_in`, and `len` says it wrote all of it; `sockaddr_in` is plain
            // integers, valid for any bit pattern. `read` copies it out of the borrowed storage.
            RawSocketAddr::V4(unsafe {
                (storage as *const libc::sockaddr_storage)
                    .cast::<libc::sockaddr_in>()
                    .read()
            })
        }
        libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for a `sockaddr_in6`.
            RawSocketAddr::V6(unsafe {
                (storage as *const libc::sockaddr_storage)
                    .cast::<libc::sockaddr_in6>()
                    .read()
            })
        }
        family => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not an IPv4 or IPv6 address (family {family}, {len} bytes)"),
            ));
        }
    };
    Ok(SocketAddr::from(raw))
}

#[cfg(test)]
mod tests;

/// The signature of a handler installed with [`install_signal_handler`].
pub(crate) type SignalHandler = extern "C" fn(libc::c_int);

/// Installs `handler` for signal `signo` with `SA_RESTART` (system calls the signal interrupts
/// are restarted instead of failing with `EINTR`) and an empty mask (no other signal is
/// blocked while it runs). The handler stays installed for the life of the process.
///
/// `handler` runs in signal context: it may only do async-signal-safe things (see
/// [`write_byte_in_signal_handler`]).
pub(crate) fn install_signal_handler(signo: libc::c_int, handler: SignalHandler) -> io::Result<()> {
    // SAFETY: an all-zero `sigaction` is a valid value of this plain C struct (no handler, no
    // flags, empty mask); every field that matters is set below before it is used.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `sa_mask` is a valid, exclusively borrowed `sigset_t` inside `action`;
    // `sigemptyset` only writes to it.
    check(unsafe { libc::sigemptyset(&mut action.sa_mask) })?;
    // SAFETY: `action` is a fully initialised `sigaction` that lives across the call; the old
    // action is not asked for (null). The handler is an `extern "C" fn(c_int)`, the shape the
    // kernel calls when `SA_SIGINFO` is not set, and a fn item lives for the whole process.
    check(unsafe { libc::sigaction(signo, &action, std::ptr::null_mut()) })?;
    Ok(())
}

/// Writes the one byte `byte` to descriptor `fd`, ignoring the outcome, and leaves `errno` as
/// it found it. Meant for signal handlers: it makes one `write(2)` call, which POSIX lists as
/// async-signal-safe, and allocates, locks and panics nowhere.
///
/// # Safety
///
/// `fd` must be a descriptor that stays open for the life of the process (so the write cannot
/// land in a descriptor that was closed and reused, perhaps a file the program is writing),
/// and non-blocking (so a full buffer fails with `EAGAIN` instead of blocking the interrupted
/// thread).
pub(crate) unsafe fn write_byte_in_signal_handler(fd: RawFd, byte: u8) {
    let errno = errno_location();
    // SAFETY: `errno_location` returns this thread's `errno`, valid for the thread's life.
    let saved = unsafe { *errno };
    // SAFETY: the buffer is one byte on this stack frame, alive across the call; `fd` is open
    // for the life of the process (this function's safety contract), so it names the
    // descriptor the caller means and no other.
    let _ = unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    // SAFETY: as above; restoring `errno` keeps the interrupted code's view of its last error.
    unsafe { *errno = saved };
}

/// This thread's `errno`.
fn errno_location() -> *mut libc::c_int {
    // SAFETY: `__errno_location` has no preconditions; it returns a pointer to the calling
    // thread's `errno` and is async-signal-safe (it only reads the thread pointer).
    unsafe { libc::__errno_location() }
}

/// The credentials (`SO_PEERCRED`) of the process at the other end of a connected Unix
/// socket, as they were when it connected (or created the pair): its pid, uid and gid.
pub(crate) fn peer_cred(socket: &impl AsRawFd) -> io::Result<libc::ucred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `getsockopt` writes at most `len` bytes to the pointer, which points to `cred`,
    // a live local of exactly that size, and stores the length it wrote in `len`, a live
    // local; `socket` borrows an open descriptor for the duration of the call.
    check(unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &mut len,
        )
    })?;
    if len as usize != std::mem::size_of::<libc::ucred>() {
        return Err(io::Error::other(
            "SO_PEERCRED returned a credentials record of an unexpected size",
        ));
    }
    Ok(cred)
}
