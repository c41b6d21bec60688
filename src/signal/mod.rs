//! Signals: [`ctrl_c`], and any Unix signal as a stream ([`unix::signal`]).
//!
//! How a delivery travels:
//!
//! 1. **Handler** (`registry.rs`, any thread, signal context). Installed once per signal with
//!    `sigaction(SA_RESTART)`, it sets the signal's *pending* flag and writes one byte (the
//!    signal number) to a process-wide self-pipe, saving and restoring `errno`. Nothing else:
//!    an atomic store and `write(2)` are async-signal-safe; a lock, an allocation or a waker
//!    are not.
//! 2. **Pipe readiness** (`dispatcher.rs`, the runtime's thread). Each runtime that receives
//!    signals registers its own duplicate of the pipe's read end with its reactor, like any
//!    socket. Its read waker wakes every waiting [`unix::Signal`].
//! 3. **Drain and broadcast.** A woken `Signal` reads the pipe until `WouldBlock`, then swaps
//!    each pending flag back to false and bumps that signal's *generation*, waking the
//!    listeners of the signals that fired, in every runtime.
//! 4. **Receive.** A `Signal` completes `recv` when its signal's generation moved past the one
//!    it saw last.
//!
//! The self-pipe is a non-blocking Unix socket pair (from `mio`'s `net` feature, which evloop
//! already uses) rather than `signalfd`: `signalfd` only sees a signal that every thread of
//! the process blocks, and evloop cannot block signals in threads it did not create (the test
//! harness's, the blocking pool's before it starts, a library's).
//!
//! # Invariants
//!
//! The process-wide rules (handler, flags, generations, listener lock) are numbered in
//! `registry.rs`, the per-runtime ones in `dispatcher.rs`.

mod dispatcher;
mod registry;
pub mod unix;

use std::io;

/// Completes at the next `SIGINT` (Ctrl-C in the terminal) after its first poll.
///
/// The first poll installs evloop's `SIGINT` handler (see [`unix::signal`]): from then on,
/// Ctrl-C no longer ends the process, for as long as it lives, so the program must end itself.
///
/// ```no_run
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     evloop::signal::ctrl_c().await?;
///     println!("interrupted: cleaning up");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// The handler could not be installed, or the future was polled where it cannot wait
/// (outside an evloop runtime, or in one that has shut down).
pub async fn ctrl_c() -> io::Result<()> {
    let mut interrupts = unix::signal(unix::SignalKind::interrupt())?;
    match interrupts.recv().await {
        Some(()) => Ok(()),
        None => Err(io::Error::other(
            "evloop: ctrl_c can only be awaited inside a running evloop runtime",
        )),
    }
}
