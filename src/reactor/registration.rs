//! The reactor's API for I/O types: register a source, wait for readiness, run an operation
//! until it would block.
//!
//! # Invariants
//!
//! 1. A [`PollEvented`] deregisters its source before the source is closed (its `Drop`), so
//!    the reactor never holds a token for a closed descriptor.
//! 2. [`Registration::poll_io`] clears readiness only when the operation returned
//!    `WouldBlock` (see the invariants of `readiness`), and spends one unit of the task's
//!    cooperative budget per completed operation. It looks at readiness before the budget: a
//!    source that is not ready parks its waker and never touches the budget.
//! 3. A registration holds its reactor weakly: a source may outlive its runtime; it then
//!    fails its operations with an error instead of waiting forever. Likewise a source polled
//!    inside another runtime (or none) fails when it would have to wait: only its own reactor
//!    can wake it.
//! 4. Every wait names its waiter: `None`, the direction's shared slot, for `poll_*` methods
//!    (the most recent waker wins), or `Some(&mut Waiter)`, an entry of its own, for futures
//!    that may wait side by side with others. A [`Waiter`] removes its entry when dropped, so
//!    a future dropped while waiting leaves nothing behind and takes no wake from the others.

use std::future::poll_fn;
use std::io;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, ready};

use mio::Token;

use super::Reactor;
use super::interest::{Interest, Ready};
use super::readiness::{CLOSED_BY_SHUTDOWN, Direction, ScheduledIo};
use super::waiters::WaiterKey;
use crate::coop;

/// A source's place in the reactor.
pub(crate) struct Registration {
    io: Rc<ScheduledIo>,
    token: Token,
    reactor: Weak<Reactor>,
}

fn foreign_runtime() -> io::Error {
    io::Error::other(
        "this evloop I/O object was polled outside the runtime it was created in; \
         it can only wait for readiness inside that runtime",
    )
}

fn runtime_gone() -> io::Error {
    io::Error::other("the evloop runtime this I/O object was registered with has shut down")
}

impl Registration {
    /// Registers `source` with `reactor` (the current runtime's: the caller asks `context`).
    fn new(
        source: &mut impl mio::event::Source,
        reactor: &Rc<Reactor>,
    ) -> io::Result<Registration> {
        let (token, io) = reactor.register(source)?;
        Ok(Registration {
            io,
            token,
            reactor: Rc::downgrade(reactor),
        })
    }

    /// Ready once an operation in `direction` may proceed. `waiter` says where the waker
    /// waits (invariant 4).
    #[inline(always)]
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        waiter: Option<&mut Waiter<'_>>,
    ) -> Poll<io::Result<()>> {
        let polled = match waiter {
            None => self.io.poll_ready(cx, direction),
            Some(waiter) => self
                .io
                .poll_ready_as(cx, direction.ready_mask(), &mut waiter.key),
        };
        self.check(polled).map_ok(drop)
    }

    /// Turns a readiness poll into the wait's result: an error if the source would wait
    /// outside its own runtime, or if that runtime is gone (invariant 3).
    ///
    /// Inlined: it sits on every read's and write's path, and a call here cost the echo
    /// server measurably more instructions per message (callgrind) than the body does.
    #[inline(always)]
    fn check(&self, polled: Poll<u8>) -> Poll<io::Result<u8>> {
        let Poll::Ready(readiness) = polled else {
            // About to wait for an event: only this source's own reactor can deliver it.
            if !self.belongs_to_current_runtime() {
                return Poll::Ready(Err(foreign_runtime()));
            }
            return Poll::Pending;
        };
        if readiness & CLOSED_BY_SHUTDOWN != 0 {
            return Poll::Ready(Err(runtime_gone()));
        }
        Poll::Ready(Ok(readiness))
    }

    /// An entry of its own in this source's waiter list, for one future (invariant 4).
    pub(crate) fn waiter(&self) -> Waiter<'_> {
        Waiter {
            io: &self.io,
            key: None,
        }
    }

    /// Waits, as a waiter of its own, until the source is ready for any of `interest`, and
    /// returns what it is ready for. Spends one unit of budget when it returns.
    pub(crate) async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        let mut waiter = self.waiter();
        let mask = interest.mask();
        poll_fn(|cx| {
            let progress = ready!(coop::poll_proceed(cx));
            let polled = self.io.poll_ready_as(cx, mask, &mut waiter.key);
            let readiness = ready!(self.check(polled))?;
            progress.made_progress();
            Poll::Ready(Ok(Ready::from_readiness(readiness, interest)))
        })
        .await
    }

    /// Runs `operation` once if the cached readiness says `direction` may proceed; else
    /// returns `WouldBlock` without a system call. A `WouldBlock` from the operation clears
    /// the direction's readiness. Never waits.
    pub(crate) fn try_io<R>(
        &self,
        direction: Direction,
        operation: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        if self.io.readiness() & direction.ready_mask() == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let result = operation();
        if let Err(error) = &result
            && error.kind() == io::ErrorKind::WouldBlock
        {
            self.clear_ready(direction);
        }
        result
    }

    /// [`try_io`](Self::try_io) for a transfer of up to `requested` bytes on a stream socket;
    /// a short transfer clears readiness as in [`poll_transfer`](Self::poll_transfer).
    pub(crate) fn try_transfer(
        &self,
        direction: Direction,
        requested: usize,
        operation: impl FnOnce() -> io::Result<usize>,
    ) -> io::Result<usize> {
        let result = self.try_io(direction, operation);
        if let Ok(done) = result
            && done > 0
            && done < requested
        {
            self.io.clear_drained(direction);
        }
        result
    }

    /// True if the runtime running on this thread is the one this source is registered with:
    /// its reactor is inside `block_on` (runtimes do not nest, so no other one is).
    fn belongs_to_current_runtime(&self) -> bool {
        self.reactor
            .upgrade()
            .is_some_and(|reactor| reactor.is_running())
    }

    /// The last operation in `direction` returned `WouldBlock`.
    pub(crate) fn clear_ready(&self, direction: Direction) {
        self.io.clear(direction);
    }

    /// Runs `operation` when the source is ready in `direction`, until it does not return
    /// `WouldBlock`. Spends one unit of budget if it completes. Waits in the direction's
    /// shared slot.
    #[inline(always)]
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        operation: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_as(cx, direction, None, operation)
    }

    /// [`poll_io`](Self::poll_io), waiting in `waiter` as in [`poll_ready`](Self::poll_ready).
    #[inline(always)]
    pub(crate) fn poll_io_as<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut waiter: Option<&mut Waiter<'_>>,
        mut operation: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            // Readiness first, budget second: a source that is not ready parks the waker
            // without touching the budget (a unit taken would only be given back), and one
            // that is ready takes its unit before the system call.
            ready!(self.poll_ready(cx, direction, waiter.as_deref_mut()))?;
            let progress = ready!(coop::poll_proceed(cx));
            match operation() {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    // Every bit that let this direction proceed is cleared, so the next
                    // poll_ready parks the waker unless an event came in between (none can:
                    // events are dispatched between polls). The loop runs at most twice.
                    self.clear_ready(direction);
                }
                result => {
                    progress.made_progress();
                    return Poll::Ready(result);
                }
            }
        }
    }

    /// [`poll_io`](Self::poll_io) for a transfer of up to `requested` bytes on a stream socket.
    ///
    /// A transfer shorter than asked, but not empty, drained the receive buffer (a read) or
    /// filled the send buffer (a write), so the direction waits for its next edge at once: the
    /// system call that would only have returned `WouldBlock` is skipped. An echo server reading
    /// 1 KiB into a 4 KiB buffer makes two system calls per message batch instead of three.
    /// A zero-byte read (EOF) clears nothing.
    ///
    /// Inlined, down through `poll_io`, `poll_io_as`, `poll_ready` and the readiness check,
    /// into the socket's `poll_read` / `poll_write`: the whole path is one call frame instead
    /// of several, each of which saved and restored registers around a few instructions of
    /// work (callgrind, echo server: 1,208 → 1,164 instructions per message at 1 × 1).
    #[inline(always)]
    pub(crate) fn poll_transfer(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        requested: usize,
        operation: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let result = ready!(self.poll_io(cx, direction, operation));
        if let Ok(done) = result
            && done > 0
            && done < requested
        {
            self.io.clear_drained(direction);
        }
        Poll::Ready(result)
    }
}

/// One future's entry in its source's waiter list (invariant 4): created empty, filled on the
/// future's first `Pending`, removed when the `Waiter` is dropped.
pub(crate) struct Waiter<'a> {
    io: &'a ScheduledIo,
    key: Option<WaiterKey>,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.io.remove_waiter(key);
        }
    }
}

impl std::fmt::Debug for Waiter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter").field("key", &self.key).finish()
    }
}

/// An I/O source registered with the reactor for as long as it lives.
pub(crate) struct PollEvented<S: mio::event::Source> {
    source: S,
    registration: Registration,
}

impl<S: mio::event::Source> PollEvented<S> {
    /// Registers `source` with `reactor`, which must be the current runtime's.
    pub(crate) fn new(mut source: S, reactor: &Rc<Reactor>) -> io::Result<Self> {
        let registration = Registration::new(&mut source, reactor)?;
        Ok(PollEvented {
            source,
            registration,
        })
    }

    pub(crate) fn get_ref(&self) -> &S {
        &self.source
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }

    /// [`Registration::poll_io`] with the source lent to the operation.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        operation: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_as(cx, direction, None, operation)
    }

    /// [`Registration::poll_io_as`] with the source lent to the operation.
    pub(crate) fn poll_io_as<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        waiter: Option<&mut Waiter<'_>>,
        mut operation: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.registration
            .poll_io_as(cx, direction, waiter, || operation(&self.source))
    }
}

impl<S: mio::event::Source> PollEvented<S> {
    /// [`Registration::poll_transfer`] with the source lent to the operation.
    #[inline(always)]
    pub(crate) fn poll_transfer(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        requested: usize,
        mut operation: impl FnMut(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.registration
            .poll_transfer(cx, direction, requested, || operation(&self.source))
    }
}

impl<S: mio::event::Source> Drop for PollEvented<S> {
    fn drop(&mut self) {
        if let Some(reactor) = self.registration.reactor.upgrade() {
            // An error means the descriptor was not registered any more; nothing to undo.
            let _ = reactor.deregister(self.registration.token, &mut self.source);
        }
    }
}

impl<S: mio::event::Source + std::fmt::Debug> std::fmt::Debug for PollEvented<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.source.fmt(f)
    }
}
