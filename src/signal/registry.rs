//! The process-wide half of signal handling: the self-pipe, the handler, one record per signal
//! number, and the wakers of every [`Signal`](super::unix::Signal) in the process.
//!
//! A signal arrives on whichever thread the kernel picks, at any instruction, so the handler
//! does only two async-signal-safe things: an atomic store and one `write(2)`. Everything else
//! happens later, on a runtime's thread, in [`broadcast`].
//!
//! # Invariants
//!
//! 1. The handler sets [`SignalSlot::pending`] *before* it writes its byte. Whoever reads the
//!    pipe until `WouldBlock` and then calls [`broadcast`] therefore sees every delivery whose
//!    byte it read; a delivery whose flag it misses writes its byte after that read, which is a
//!    new edge on the pipe and a new drain.
//! 2. [`broadcast`] bumps a signal's `generation` before it takes the listener lock to wake the
//!    listeners; a listener stores its waker under that lock before it reads the generation
//!    again. One of the two sees the other: no delivery is lost between "nothing yet" and
//!    "parked".
//! 3. Both ends of the self-pipe are created once and never closed, so the descriptor the
//!    handler writes to ([`WRITE_FD`]) can never be closed and reused for another file.
//! 4. A handler, once installed, stays for the life of the process ([`SignalSlot::installed`]
//!    is set at most once).
//! 5. The listener lock is never held while a waker is woken or dropped (both may run other
//!    code); a poisoned lock is used anyway, since no update under it is ever half-done.

use std::ffi::c_int;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::Waker;

use slab::Slab;

use crate::sys;

/// The highest signal number evloop accepts. Linux numbers signals 1 to 64 (`SIGRTMAX`), and
/// one byte on the pipe must be able to carry the number.
pub(super) const MAX_SIGNAL: c_int = 64;

/// Signals whose handler may not be replaced. `SIGKILL` and `SIGSTOP` cannot be caught at all;
/// the others report a fault in the instruction that raised them, which would run again as soon
/// as a handler that only records the signal returned: an endless loop.
const FORBIDDEN: [c_int; 6] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGSEGV,
    libc::SIGBUS,
];

/// What the process knows about one signal number.
struct SignalSlot {
    /// Set by the handler on every delivery; cleared (swapped) by [`broadcast`].
    pending: AtomicBool,
    /// How many times [`broadcast`] has seen the signal pending (wrapping). A listener has seen
    /// every delivery up to the generation it last read.
    generation: AtomicU64,
    /// The outcome of installing the handler (an `errno` on failure), set once.
    installed: OnceLock<Result<(), i32>>,
}

impl SignalSlot {
    const fn new() -> SignalSlot {
        SignalSlot {
            pending: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            installed: OnceLock::new(),
        }
    }
}

/// Indexed by signal number; slot 0 is never used.
static SIGNALS: [SignalSlot; MAX_SIGNAL as usize + 1] =
    [const { SignalSlot::new() }; MAX_SIGNAL as usize + 1];

/// The write end of the self-pipe, for the handler; -1 until the pipe exists (the handler is
/// installed only after that, so it never sees -1 in practice).
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

/// The two ends of the self-pipe: a non-blocking Unix socket pair, created on first use.
static PIPE: OnceLock<Result<Pipe, i32>> = OnceLock::new();

/// The self-pipe. Both ends live in [`PIPE`] until the process exits (invariant 3).
struct Pipe {
    /// Read by each runtime's dispatcher through a duplicate descriptor of its own.
    receiver: UnixStream,
    /// Written only by the handler, through [`WRITE_FD`]; kept here so it stays open.
    _sender: UnixStream,
}

/// The waker of every waiting `Signal` in the process, whatever its runtime or thread.
static LISTENERS: Mutex<Slab<Listener>> = Mutex::new(Slab::new());

/// One `Signal`'s entry in [`LISTENERS`], from its creation to its drop.
struct Listener {
    signo: c_int,
    /// The waker of the last poll that found nothing; `None` before the first one.
    waker: Option<Waker>,
}

/// Runs in signal context, on any thread: records the delivery and rings the pipe.
extern "C" fn on_signal(signo: c_int) {
    // Invariant 1: the flag first, then the byte.
    if let Some(slot) = slot(signo) {
        slot.pending.store(true, Ordering::Release);
    }
    let fd = WRITE_FD.load(Ordering::Acquire);
    if fd >= 0 {
        // A full pipe (`EAGAIN`) loses only the byte: one is already waiting to be read, and
        // the flag above is what the reader goes by.
        // SAFETY: `WRITE_FD` is set once, to the write end of the self-pipe, which is
        // non-blocking and lives in `PIPE` until the process exits, never closed (invariant 3).
        unsafe { sys::write_byte_in_signal_handler(fd, signo as u8) };
    }
}

fn slot(signo: c_int) -> Option<&'static SignalSlot> {
    usize::try_from(signo).ok().and_then(|i| SIGNALS.get(i))
}

/// Creates the self-pipe once; every later call returns the same one (or the same error).
fn pipe() -> io::Result<&'static Pipe> {
    let pipe = PIPE.get_or_init(|| {
        let create = || -> io::Result<Pipe> {
            let (receiver, sender) = UnixStream::pair()?;
            receiver.set_nonblocking(true)?;
            sender.set_nonblocking(true)?;
            WRITE_FD.store(sender.as_raw_fd(), Ordering::Release);
            Ok(Pipe {
                receiver,
                _sender: sender,
            })
        };
        create().map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
    });
    pipe.as_ref()
        .map_err(|&errno| io::Error::from_raw_os_error(errno))
}

/// A new descriptor for the read end of the self-pipe, for one runtime's dispatcher.
pub(super) fn receiver() -> io::Result<UnixStream> {
    pipe()?.receiver.try_clone()
}

/// Installs the handler for `signo` unless it already is. From then on the signal no longer
/// has its default action (for `SIGINT` and `SIGTERM`: ending the process), for as long as the
/// process lives.
pub(super) fn install(signo: c_int) -> io::Result<()> {
    let Some(slot) = slot(signo).filter(|_| signo > 0) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("evloop: signal number {signo} is out of range (1 to {MAX_SIGNAL})"),
        ));
    };
    if FORBIDDEN.contains(&signo) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "evloop: signal {signo} cannot be handled (it cannot be caught, or it reports a fault)"
            ),
        ));
    }
    // The pipe exists before the handler can run (WRITE_FD is set).
    pipe()?;
    let installed = slot.installed.get_or_init(|| {
        sys::install_signal_handler(signo, on_signal)
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EINVAL))
    });
    (*installed).map_err(io::Error::from_raw_os_error)
}

/// The number of deliveries of `signo` broadcast so far (wrapping).
pub(super) fn generation(signo: c_int) -> u64 {
    slot(signo).map_or(0, |slot| slot.generation.load(Ordering::Acquire))
}

/// Publishes every pending delivery: bumps the generation of each signal whose flag is set, then
/// wakes the listeners of those signals. Call it after reading the pipe until `WouldBlock`.
pub(super) fn broadcast() {
    let mut fired = [false; MAX_SIGNAL as usize + 1];
    let mut any = false;
    for (signo, slot) in SIGNALS.iter().enumerate() {
        if slot.pending.swap(false, Ordering::AcqRel) {
            slot.generation.fetch_add(1, Ordering::AcqRel);
            fired[signo] = true;
            any = true;
        }
    }
    if any {
        wake(|signo| fired[signo as usize]);
    }
}

/// Wakes every listener of every signal: the pipe became readable, and one of them (any will
/// do) must read it. Those with nothing new park again.
pub(super) fn wake_all_listeners() {
    wake(|_| true);
}

/// Wakes the listeners `which` selects, outside the lock (invariant 5).
fn wake(which: impl Fn(c_int) -> bool) {
    let wakers: Vec<Waker> = listeners()
        .iter_mut()
        .filter(|(_, listener)| which(listener.signo))
        .filter_map(|(_, listener)| listener.waker.take())
        .collect();
    for waker in wakers {
        waker.wake();
    }
}

fn listeners() -> MutexGuard<'static, Slab<Listener>> {
    LISTENERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Adds a listener for `signo`; the key names it until [`remove_listener`].
pub(super) fn add_listener(signo: c_int) -> usize {
    listeners().insert(Listener { signo, waker: None })
}

/// Stores the waker the listener `key` wants to be woken with (invariant 2: before it looks at
/// the generation again).
pub(super) fn park_listener(key: usize, waker: &Waker) {
    let replaced = {
        let mut listeners = listeners();
        let Some(listener) = listeners.get_mut(key) else {
            return;
        };
        match &listener.waker {
            Some(stored) if stored.will_wake(waker) => None,
            _ => listener.waker.replace(waker.clone()),
        }
    };
    drop(replaced);
}

/// Forgets the listener `key` (its `Signal` was dropped).
pub(super) fn remove_listener(key: usize) {
    let removed = listeners().try_remove(key);
    drop(removed);
}
