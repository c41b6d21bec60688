//! Cached readiness of one I/O source, and the two wakers waiting on it.
//!
//! # Invariants
//!
//! 1. A readiness bit is set only by the reactor, from an event, and cleared only by the
//!    task that tried the operation: after `WouldBlock` ([`ScheduledIo::clear`]), or after a
//!    short transfer on a stream socket ([`ScheduledIo::clear_drained`]: a read that returned
//!    less than asked emptied the receive buffer, a write that took less than offered filled
//!    the send buffer). A short transfer clears only `READABLE` or `WRITABLE`: a FIN that came
//!    with the data stays in `READ_CLOSED`, so the next read proceeds and sees the EOF, and any
//!    later data or room arrives as a new edge.
//!    A `WouldBlock` clears *every* bit that let its direction proceed, the sticky ones
//!    (`READ_CLOSED`, `WRITE_CLOSED`, `ERROR`) included: the operation just proved them stale
//!    (an `EPOLLERR` for a socket's error queue, say), and keeping them would make the retry
//!    loop spin instead of parking the waker.
//! 2. Both happen on the runtime's thread and never concurrently: events are dispatched
//!    between task polls, so no event can land between a task's syscall and its clear.
//! 3. The reader and the writer each have their own waker slot, so a read half and a write
//!    half may wait in two different tasks.
//! 4. `CLOSED_BY_SHUTDOWN` is final: set when the runtime drops, it fails every later wait.

use std::cell::Cell;
use std::task::{Context, Poll, Waker};

/// A read will not block: data, or a pending EOF.
pub(crate) const READABLE: u8 = 1 << 0;
/// A write will not block.
pub(crate) const WRITABLE: u8 = 1 << 1;
/// The peer closed its write side: reads return the rest of the data, then 0.
pub(crate) const READ_CLOSED: u8 = 1 << 2;
/// Our write side is closed (peer reset or shut down): writes fail rather than block.
pub(crate) const WRITE_CLOSED: u8 = 1 << 3;
/// `EPOLLERR`: the socket has an error, or something on its error queue; operations in either
/// direction are tried (and report a socket error if there is one).
pub(crate) const ERROR: u8 = 1 << 4;
/// The runtime that owned the registration is gone: nothing will ever wake this source.
pub(crate) const CLOSED_BY_SHUTDOWN: u8 = 1 << 5;

/// Which half of a source an operation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The bits that let an operation in this direction proceed (and report what it finds).
    fn ready_mask(self) -> u8 {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR | CLOSED_BY_SHUTDOWN,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR | CLOSED_BY_SHUTDOWN,
        }
    }

    /// The bits a `WouldBlock` in this direction clears: all that let it proceed, except the
    /// final `CLOSED_BY_SHUTDOWN`.
    fn clear_mask(self) -> u8 {
        self.ready_mask() & !CLOSED_BY_SHUTDOWN
    }
}

/// The state the reactor keeps per registered source.
pub(crate) struct ScheduledIo {
    /// Distinguishes this registration from earlier ones that used the same slab slot.
    pub(crate) generation: u32,
    readiness: Cell<u8>,
    reader: Cell<Option<Waker>>,
    writer: Cell<Option<Waker>>,
}

impl ScheduledIo {
    pub(crate) fn new(generation: u32) -> Self {
        ScheduledIo {
            generation,
            readiness: Cell::new(0),
            reader: Cell::new(None),
            writer: Cell::new(None),
        }
    }

    /// Records an event's readiness and hands the wakers it satisfies to `wake_later`.
    pub(crate) fn set_ready(&self, bits: u8, wake_later: &mut Vec<Waker>) {
        self.readiness.set(self.readiness.get() | bits);
        if bits & Direction::Read.ready_mask() != 0
            && let Some(waker) = self.reader.take()
        {
            wake_later.push(waker);
        }
        if bits & Direction::Write.ready_mask() != 0
            && let Some(waker) = self.writer.take()
        {
            wake_later.push(waker);
        }
    }

    /// Ready if an operation in `direction` may proceed; else stores the waker.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, direction: Direction) -> Poll<u8> {
        let readiness = self.readiness.get();
        if readiness & direction.ready_mask() != 0 {
            return Poll::Ready(readiness);
        }
        let slot = match direction {
            Direction::Read => &self.reader,
            Direction::Write => &self.writer,
        };
        let keep = match slot.take() {
            Some(old) if old.will_wake(cx.waker()) => old,
            _ => cx.waker().clone(),
        };
        slot.set(Some(keep));
        Poll::Pending
    }

    /// The operation in `direction` returned `WouldBlock`: wait for the next edge.
    pub(crate) fn clear(&self, direction: Direction) {
        self.readiness
            .set(self.readiness.get() & !direction.clear_mask());
    }

    /// A transfer in `direction` was shorter than asked: the kernel's buffer is drained (read)
    /// or full (write). Clears only the plain readiness bit (invariant 1).
    pub(crate) fn clear_drained(&self, direction: Direction) {
        let bit = match direction {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        };
        self.readiness.set(self.readiness.get() & !bit);
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.readiness.get() & CLOSED_BY_SHUTDOWN != 0
    }
}
