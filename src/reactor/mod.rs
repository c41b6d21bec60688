//! The reactor: one `mio::Poll`, the slab of registrations, and the dispatch of events to the
//! wakers stored per source.
//!
//! The reactor never sees task types; it stores and wakes `Waker`s. Sources are registered
//! once, edge-triggered, for both directions ([`Registration`]).
//!
//! # Invariants
//!
//! 1. A token is `generation << 32 | slab index`. An event whose slot is vacant (deregistered
//!    earlier in the same batch) or holds another generation (slot reused) is ignored.
//! 2. Wakers are collected while the slab is borrowed and woken after the borrow ends, so a
//!    waker may do anything, even drop a source.
//! 3. [`WAKE_TOKEN`] belongs to the `mio::Waker` that other threads use to interrupt the wait;
//!    its events carry no readiness and only end the wait.

mod interest;
mod readiness;
mod registration;
#[cfg(test)]
mod tests;
mod waiters;

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::Duration;

use mio::{Events, Poll, Token};
use slab::Slab;

pub use self::interest::{Interest, Ready};
pub(crate) use self::readiness::Direction;
use self::readiness::{
    CLOSED_BY_SHUTDOWN, ERROR, READ_CLOSED, READABLE, ScheduledIo, URGENT, WRITABLE, WRITE_CLOSED,
};
pub(crate) use self::registration::{PollEvented, Waiter};
use crate::unwind::FirstPanic;

#[cfg(not(target_pointer_width = "64"))]
compile_error!("evloop packs a generation and a slab index into one 64-bit mio token");

/// The token of the cross-thread `mio::Waker`; no registration can have it (index `u32::MAX`
/// with generation `u32::MAX` is never allocated: see [`Reactor::register`]).
pub(crate) const WAKE_TOKEN: Token = Token(usize::MAX);

/// Events read from the kernel per `epoll_wait`.
///
/// 1024 events take 12 KiB; more events than that in one wait are simply returned by the next,
/// zero-timeout, wait in the following turn.
pub(crate) const DEFAULT_MAX_EVENTS: usize = 1024;

/// Owned by the runtime; registrations hold it weakly.
///
/// Borrow rules: `poll` and `events` are borrowed only inside [`Reactor::turn`]; `sources` is
/// borrowed briefly to register, deregister or dispatch, never while a waker is woken or
/// dropped (wakers are user code).
pub(crate) struct Reactor {
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    sources: RefCell<Slab<Rc<ScheduledIo>>>,
    /// Generation of the next registration; never `u32::MAX` (see [`WAKE_TOKEN`]).
    next_generation: Cell<u32>,
    /// Reused buffer of wakers to wake after a dispatch.
    wake_later: RefCell<Vec<std::task::Waker>>,
    /// True while its runtime is inside `block_on` (see [`Reactor::enter`]): only then can a
    /// source of this reactor wait for an event.
    running: Cell<bool>,
}

/// Interrupts `epoll_wait` from any thread (the `mio::Waker` on [`WAKE_TOKEN`]).
pub(crate) struct Unparker(mio::Waker);

impl Unparker {
    /// Makes the reactor's current or next wait return promptly.
    pub(crate) fn unpark(&self) {
        // An error here means the eventfd could not be written, which mio documents only for
        // a closed or exhausted descriptor; the wake is then lost to a runtime that is gone.
        let _ = self.0.wake();
    }
}

/// Marks a reactor as running until dropped (see [`Reactor::enter`]).
pub(crate) struct Running<'a>(&'a Reactor);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.set(false);
    }
}

impl Reactor {
    /// Creates the poll instance and the cross-thread waker the executor will use.
    pub(crate) fn new(max_events: usize) -> io::Result<(Reactor, Unparker)> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        let reactor = Reactor {
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(max_events.max(1))),
            sources: RefCell::new(Slab::new()),
            next_generation: Cell::new(0),
            wake_later: RefCell::new(Vec::new()),
            running: Cell::new(false),
        };
        Ok((reactor, Unparker(waker)))
    }

    /// Registers `source` for both directions, edge-triggered, and for `EPOLLPRI`, which
    /// marks pending urgent data (`URGENT`: a read may stop short at its mark).
    fn register(
        &self,
        source: &mut impl mio::event::Source,
    ) -> io::Result<(Token, Rc<ScheduledIo>)> {
        let mut sources = self.sources.borrow_mut();
        let entry = sources.vacant_entry();
        let index = entry.key();
        if index >= u32::MAX as usize {
            return Err(io::Error::other("evloop: too many registered I/O sources"));
        }
        let generation = self.next_generation.get();
        self.next_generation
            .set(generation.wrapping_add(1) % u32::MAX);
        let token = Token(((generation as usize) << 32) | index);
        self.poll.borrow().registry().register(
            source,
            token,
            mio::Interest::READABLE | mio::Interest::WRITABLE | mio::Interest::PRIORITY,
        )?;
        let io = Rc::new(ScheduledIo::new(generation));
        entry.insert(io.clone());
        Ok((token, io))
    }

    /// Removes `source` from the poll and frees its slot.
    fn deregister(&self, token: Token, source: &mut impl mio::event::Source) -> io::Result<()> {
        let result = self.poll.borrow().registry().deregister(source);
        let index = token.0 & (u32::MAX as usize);
        let removed = {
            let mut sources = self.sources.borrow_mut();
            match sources.get(index) {
                Some(io) if io.generation as usize == token.0 >> 32 => Some(sources.remove(index)),
                _ => None,
            }
        };
        drop(removed);
        result
    }

    /// Waits for I/O for at most `timeout` (`None`: until an event or a remote wake) and wakes
    /// the tasks waiting on the sources that became ready.
    pub(crate) fn turn(&self, timeout: Option<Duration>) -> io::Result<()> {
        let mut events = self.events.borrow_mut();
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Ok(()) => {}
            // A signal interrupted the wait: this turn simply has no events.
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(error) => return Err(error),
        }
        let mut wake_later = std::mem::take(&mut *self.wake_later.borrow_mut());
        {
            let sources = self.sources.borrow();
            for event in events.iter() {
                dispatch(
                    &sources,
                    event.token(),
                    readiness_of(event),
                    &mut wake_later,
                );
            }
        }
        drop(events);
        // In event order. Reversed and popped rather than drained: `Drain`'s drop, which
        // moves a tail that is always empty here, cost more than the loop it ends.
        wake_later.reverse();
        while let Some(waker) = wake_later.pop() {
            waker.wake();
        }
        *self.wake_later.borrow_mut() = wake_later;
        Ok(())
    }

    /// Marks this reactor as the one whose runtime runs on this thread, until the guard drops
    /// (`Runtime::block_on` holds it): its sources may then wait for events.
    pub(crate) fn enter(&self) -> Running<'_> {
        self.running.set(true);
        Running(self)
    }

    /// True while its runtime is inside `block_on`.
    pub(crate) fn is_running(&self) -> bool {
        self.running.get()
    }

    /// Registered sources: back to its earlier value once every I/O object created since has
    /// been dropped (the tests check that nothing leaks).
    pub(crate) fn registrations(&self) -> usize {
        self.sources.borrow().len()
    }

    /// Fails every source still registered (their owners outlive the runtime) and wakes their
    /// tasks so nothing waits forever on a reactor that will never turn again. Every waker is
    /// woken even if one panics; the first panic is kept in `panics`.
    pub(crate) fn shutdown(&self, panics: &mut FirstPanic) {
        let mut wake_later = Vec::new();
        for (_, io) in self.sources.borrow().iter() {
            io.set_ready(CLOSED_BY_SHUTDOWN, &mut wake_later);
        }
        for waker in wake_later {
            panics.catch(|| waker.wake());
        }
    }
}

/// Delivers one event's readiness to the source its token names, if that source still exists.
///
/// Ignored: the cross-thread waker's token, a vacant slot (deregistered earlier in this batch),
/// and a slot now holding another registration (generation mismatch).
fn dispatch(
    sources: &Slab<Rc<ScheduledIo>>,
    token: Token,
    readiness: u8,
    wake_later: &mut Vec<std::task::Waker>,
) {
    if token == WAKE_TOKEN {
        return;
    }
    let index = token.0 & (u32::MAX as usize);
    match sources.get(index) {
        Some(io) if io.generation as usize == token.0 >> 32 => io.set_ready(readiness, wake_later),
        _ => {}
    }
}

/// Translates a mio event into readiness bits.
fn readiness_of(event: &mio::event::Event) -> u8 {
    let mut bits = 0;
    if event.is_readable() {
        bits |= READABLE;
    }
    if event.is_writable() {
        bits |= WRITABLE;
    }
    if event.is_read_closed() {
        bits |= READ_CLOSED;
    }
    if event.is_write_closed() {
        bits |= WRITE_CLOSED;
    }
    if event.is_error() {
        bits |= ERROR;
    }
    if event.is_priority() {
        bits |= URGENT;
    }
    bits
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("registrations", &self.registrations())
            .finish()
    }
}
