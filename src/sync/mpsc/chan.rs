//! `Chan`: the state one mpsc channel's handles share, bounded or not.
//!
//! A `VecDeque` of values, the receiver's waker, a count of live senders, a closed flag, and
//! for the bounded channel a [`Semaphore`] whose permits are the free slots. A bounded send
//! first acquires a slot (waiting in the semaphore's FIFO queue when none is free), then pushes
//! its value in the same poll; a receive pops a value and gives its slot back.
//!
//! # Invariants
//!
//! 1. Bounded: `buffer.len()` + free slots + slots granted to sender futures that have not run
//!    since `== capacity`. A slot is taken and filled in one poll (no await in between), so
//!    only a granted sender future that has not run yet holds a slot without a value, and
//!    dropping that future gives the slot to the next waiter (the semaphore's invariant 3).
//! 2. No value enters the buffer after `receiver_closed` is set: senders check it after they
//!    have their slot, and closing also closes the semaphore so that waiting senders fail.
//! 3. The receiver's waker is taken and woken by every push, by the last sender's drop, and
//!    by nothing else. The receiver stores a fresh waker whenever it returns `Pending`, so one
//!    wake per batch of pushes is enough.
//! 4. When the receiver drops, the buffer is drained and each value dropped outside the
//!    `RefCell` borrow (a value's destructor may touch this channel, e.g. drop a `Sender`).
//!    Every value is dropped even if a destructor panics; the first panic then propagates.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::panic::{self, AssertUnwindSafe};
use std::task::{Context, Poll, Waker};

use super::error::TryRecvError;
use crate::coop;
use crate::sync::{Notify, Semaphore};

pub(super) struct Chan<T> {
    buffer: RefCell<VecDeque<T>>,
    /// Free slots of a bounded channel; `None` for an unbounded one.
    slots: Option<Semaphore>,
    /// The bounded channel's capacity (`usize::MAX` when unbounded).
    capacity: usize,
    /// The receiver's waker while it waits for a value (invariant 3).
    rx_waker: Cell<Option<Waker>>,
    /// Live sender handles; the receiver sees the end of the stream when this reaches zero.
    senders: Cell<usize>,
    /// Set by `close` or the receiver's drop (invariant 2).
    receiver_closed: Cell<bool>,
    /// Wakes `Sender::closed` waiters when the receiver closes.
    closed_notify: Notify,
}

impl<T> Chan<T> {
    /// A channel with one sender; `capacity` `None` means unbounded.
    pub(super) fn new(capacity: Option<usize>) -> Chan<T> {
        Chan {
            buffer: RefCell::new(VecDeque::new()),
            slots: capacity.map(Semaphore::new),
            capacity: capacity.unwrap_or(usize::MAX),
            rx_waker: Cell::new(None),
            senders: Cell::new(1),
            receiver_closed: Cell::new(false),
            closed_notify: Notify::new(),
        }
    }

    /// The bounded channel's slots.
    pub(super) fn slots(&self) -> &Semaphore {
        self.slots
            .as_ref()
            .expect("mpsc: slots asked of an unbounded channel")
    }

    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Appends `value` (the caller holds a slot, or the channel is unbounded) and wakes the
    /// receiver.
    pub(super) fn push(&self, value: T) {
        self.buffer.borrow_mut().push_back(value);
        if let Some(waker) = self.rx_waker.take() {
            waker.wake();
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        self.receiver_closed.get()
    }

    /// Waits until the receiver is dropped or closed.
    pub(super) async fn closed(&self) {
        loop {
            // Created before the check, so a close in between is not missed (Notify's
            // invariant 4).
            let notified = self.closed_notify.notified();
            if self.is_closed() {
                // Done without waiting: spend a unit like any completed operation, so a loop
                // around `closed()` on a closed channel yields too.
                return poll_fn(coop::poll_spend).await;
            }
            notified.await;
        }
    }

    pub(super) fn add_sender(&self) {
        self.senders.set(self.senders.get() + 1);
    }

    /// Called by each sender's drop; the last one wakes the receiver to see the end.
    pub(super) fn drop_sender(&self) {
        let left = self.senders.get() - 1;
        self.senders.set(left);
        if left == 0
            && let Some(waker) = self.rx_waker.take()
        {
            waker.wake();
        }
    }

    /// Pops one value, giving its slot back.
    fn pop(&self) -> Option<T> {
        let value = self.buffer.borrow_mut().pop_front()?;
        if let Some(slots) = &self.slots {
            slots.add_permits(1);
        }
        Some(value)
    }

    /// Nothing more can arrive once the buffer is empty.
    fn is_finished(&self) -> bool {
        self.senders.get() == 0 || self.receiver_closed.get()
    }

    pub(super) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = std::task::ready!(coop::poll_proceed(cx));
        let value = self.pop();
        if value.is_none() && !self.is_finished() {
            let waker = match self.rx_waker.take() {
                Some(waker) if waker.will_wake(cx.waker()) => waker,
                _ => cx.waker().clone(),
            };
            self.rx_waker.set(Some(waker));
            return Poll::Pending;
        }
        coop.made_progress();
        Poll::Ready(value)
    }

    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.pop() {
            Some(value) => Ok(value),
            None if self.is_finished() => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Refuses further sends; buffered values stay receivable.
    pub(super) fn close(&self) {
        if self.receiver_closed.replace(true) {
            return;
        }
        if let Some(slots) = &self.slots {
            slots.close();
        }
        self.closed_notify.notify_waiters();
    }

    /// The receiver's drop: close, then drop what is buffered (invariant 4).
    ///
    /// A value whose destructor panics does not stop the others from being dropped: each drop
    /// runs under `catch_unwind`, and the first panic resumes once the buffer is empty (later
    /// ones are dropped with it, rather than aborting the process as a panic during an unwind
    /// would).
    pub(super) fn drop_receiver(&self) {
        self.close();
        self.rx_waker.take();
        let mut first_panic = None;
        loop {
            let value = self.buffer.borrow_mut().pop_front();
            let Some(value) = value else { break };
            // The value is gone whether its destructor returns or unwinds, and nothing else
            // is left half-changed: unwind safety holds.
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| drop(value))) {
                first_panic.get_or_insert(payload);
            }
        }
        if let Some(payload) = first_panic {
            panic::resume_unwind(payload);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.buffer.borrow().len()
    }

    pub(super) fn senders(&self) -> usize {
        self.senders.get()
    }
}
