//! The few system calls evloop makes itself (mio makes the rest), each behind a safe helper.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};

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
/// The caller guarantees that `fd` is a descriptor that stays open for the life of the process
/// (so the write cannot land in a descriptor that was closed and reused), and non-blocking (so a
/// full buffer fails with `EAGAIN` instead of blocking the interrupted thread).
pub(crate) fn write_byte_in_signal_handler(fd: RawFd, byte: u8) {
    let errno = errno_location();
    // SAFETY: `errno_location` returns this thread's `errno`, valid for the thread's life.
    let saved = unsafe { *errno };
    // SAFETY: the buffer is one byte on this stack frame, alive across the call; `fd` is open
    // for the life of the process (the caller's guarantee above), so it names the descriptor
    // the caller means and no other.
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
