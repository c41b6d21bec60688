//! Unix signals as streams: [`signal`] returns a [`Signal`] whose [`recv`](Signal::recv)
//! completes once per delivery of its [`SignalKind`].

use std::ffi::c_int;
use std::fmt;
use std::future::poll_fn;
use std::task::{Context, Poll};

use super::{dispatcher, registry};

/// A signal number that [`signal`] can listen for.
///
/// The constructors name the usual ones; [`SignalKind::from_raw`] takes any other number.
///
/// ```
/// use evloop::signal::unix::SignalKind;
///
/// assert_eq!(SignalKind::terminate().as_raw_value(), 15); // SIGTERM on Linux
/// assert_eq!(SignalKind::from_raw(15), SignalKind::terminate());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(c_int);

impl SignalKind {
    /// Any signal number. [`signal`] refuses the ones that cannot be caught (`SIGKILL`,
    /// `SIGSTOP`), those that report a fault (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`), and
    /// numbers out of range.
    pub const fn from_raw(signum: c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    pub const fn as_raw_value(&self) -> c_int {
        self.0
    }

    /// `SIGALRM`: a timer set with `alarm(2)` expired.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGCHLD`: a child process stopped or ended.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGHUP`: the terminal went away; daemons take it as "reload your configuration".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGINT`: Ctrl-C in the terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGPIPE`: a write to a pipe or socket whose reader is gone. (Rust programs ignore it
    /// from the start, so the write fails with `BrokenPipe` instead.)
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGQUIT`: Ctrl-\ in the terminal.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGTERM`: the polite request to stop (`kill`'s default, and what service managers send).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGUSR1`: meaning is up to the program.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`: meaning is up to the program.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGWINCH`: the terminal changed size.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

/// Listens for the signal `kind` from now on.
///
/// The first call for a signal number installs evloop's handler for it, process-wide and for
/// the life of the process: from then on the signal's default action no longer happens (a
/// `SIGINT` or `SIGTERM` no longer ends the process), even after every `Signal` is dropped.
/// Deliveries nobody listens for are then simply recorded and forgotten.
///
/// ```no_run
/// use evloop::signal::unix::{SignalKind, signal};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let mut hangups = signal(SignalKind::hangup())?;
///     while hangups.recv().await.is_some() {
///         println!("reloading the configuration");
///     }
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// The signal cannot be handled (see [`SignalKind::from_raw`]), or the self-pipe or the handler
/// could not be set up (out of descriptors, say).
pub fn signal(kind: SignalKind) -> std::io::Result<Signal> {
    let signo = kind.as_raw_value();
    registry::install(signo)?;
    Ok(Signal {
        kind,
        seen: registry::generation(signo),
        key: registry::add_listener(signo),
    })
}

/// A stream of deliveries of one signal.
///
/// Guarantees:
/// - every delivery that happens after [`signal`] returned is seen by every `Signal` of that
///   kind that exists at the time, in any runtime on any thread: each of their next `recv`s
///   completes;
/// - deliveries that happen while a `Signal` is not being awaited are **coalesced**: however
///   many arrive before its next `recv`, that `recv` completes once, and the next one waits for
///   a new delivery. (The kernel itself merges a standard signal sent twice before its handler
///   runs.)
///
/// Behaviour at the time of writing: a delivery just before `signal` returned may be seen too.
///
/// A `Signal` is received inside an evloop runtime, which reads the self-pipe for it; it does
/// not belong to one runtime and may be moved between runtimes and threads.
///
/// ```
/// use evloop::signal::unix::{SignalKind, signal};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let mut user1 = signal(SignalKind::user_defined1())?;
///     // Send this process a SIGUSR1, as an operator would with `kill -USR1 <pid>`.
///     let pid = std::process::id().to_string();
///     std::process::Command::new("kill").args(["-USR1", &pid]).status()?;
///     assert_eq!(user1.recv().await, Some(()));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Signal {
    kind: SignalKind,
    /// The generation of this signal this stream has reported (or that existed at creation).
    seen: u64,
    /// This stream's entry in the process-wide listener list.
    key: usize,
}

impl Signal {
    /// Waits for the next delivery.
    ///
    /// Returns `None` when it cannot wait: outside an evloop runtime, or in one that has shut
    /// down. Cancel safety: dropping the future loses nothing; the delivery stays unseen.
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery (for hand-written futures); see [`recv`](Signal::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        if self.take_delivery() {
            return Poll::Ready(Some(()));
        }
        // Parked before the second look at the generation (registry invariant 2).
        registry::park_listener(self.key, cx.waker());
        let drained = dispatcher::current().and_then(|dispatcher| dispatcher.drain());
        if self.take_delivery() {
            return Poll::Ready(Some(()));
        }
        match drained {
            Ok(()) => Poll::Pending,
            Err(_) => Poll::Ready(None),
        }
    }

    /// Marks every delivery broadcast so far as seen; true if there was a new one.
    fn take_delivery(&mut self) -> bool {
        let generation = registry::generation(self.kind.as_raw_value());
        if generation == self.seen {
            return false;
        }
        self.seen = generation;
        true
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        registry::remove_listener(self.key);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish()
    }
}
