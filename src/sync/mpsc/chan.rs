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
//!    since + `reserved` `== capacity`. `send` takes a slot and fills it in one poll (no await
//!    in between), so only a granted sender future that has not run yet, or a permit
//!    (`reserve`), holds a slot without a value. Dropping either gives the slot to the next
//!    waiter (the semaphore's invariant 3); a permit that sends moves its slot to the value.
//! 2. After `receiver_closed` is set, a value enters the buffer only through a permit reserved
//!    before the close (tokio's rule: outstanding permits may still send), and none enters
//!    after the receiver dropped (the permit's value is dropped instead). `send` and `reserve`
//!    check the flag after they have their slot, and closing also closes the semaphore so that
//!    waiting senders fail.
//! 3. The receiver's waker is taken and woken by every push, by the last sender's drop, by the
//!    last permit's release after a close, and by nothing else: exactly the events that can
//!    end a wait (a value, or `is_finished` turning true). The receiver stores a fresh waker
//!    whenever it returns `Pending`, so one wake per batch of pushes is enough.
//! 4. When the receiver drops, the buffer is drained and each value dropped outside the
//!    `RefCell` borrow (a value's destructor may touch this channel, e.g. drop a `Sender`).
//!    Every value is dropped even if a destructor panics; the first panic then propagates.
//! 5. `senders` never rises from zero: a weak sender upgrades only while a sender lives, so
//!    once the receiver has seen the end of the stream it stays ended.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::panic::{self, AssertUnwindSafe};
use std::task::{Context, Poll, Waker};

use super::error::{SendError, TryRecvError, TrySendError};
use crate::coop;
use crate::sync::{Notify, Semaphore, TryAcquireError};

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
    /// Live weak sender handles: they do not keep the channel open (invariant 5).
    weak_senders: Cell<usize>,
    /// Set by `close` or the receiver's drop (invariant 2).
    receiver_closed: Cell<bool>,
    /// Set by the receiver's drop: a permit's value is dropped instead of buffered.
    receiver_dropped: Cell<bool>,
    /// Slots held by permits (`Permit`, `OwnedPermit`, the rest of a `PermitIterator`); while
    /// any is out after a close, the receiver waits for it rather than ending (invariant 3).
    reserved: Cell<usize>,
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
            weak_senders: Cell::new(0),
            receiver_closed: Cell::new(false),
            receiver_dropped: Cell::new(false),
            reserved: Cell::new(0),
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

    /// Waits for `n` slots and holds them as reserved (a permit's). Fails if the receiver is
    /// closed (also while waiting), or at once if `n` exceeds the capacity (it could never be
    /// granted).
    pub(super) async fn reserve(&self, n: usize) -> Result<(), SendError<()>> {
        if n > self.capacity {
            // Done without waiting: spend a unit like any completed operation (sync rule 4).
            poll_fn(coop::poll_spend).await;
            return Err(SendError(()));
        }
        match self.slots().acquire_many_usize(n).await {
            // Closed while the granted future waited to run: the slots go back on drop.
            Ok(_slots) if self.is_closed() => Err(SendError(())),
            Ok(slots) => {
                slots.forget();
                self.reserved.set(self.reserved.get() + n);
                Ok(())
            }
            Err(_closed) => Err(SendError(())),
        }
    }

    /// Takes `n` free slots as reserved if nobody waits for them; the error says why not.
    pub(super) fn try_reserve(&self, n: usize) -> Result<(), TrySendError<()>> {
        if self.is_closed() {
            return Err(TrySendError::Closed(()));
        }
        if n > self.capacity {
            return Err(TrySendError::Full(()));
        }
        match self.slots().try_acquire_many_usize(n) {
            Ok(slots) => {
                slots.forget();
                self.reserved.set(self.reserved.get() + n);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
        }
    }

    /// A permit sends: its slot moves to `value` (invariant 1), unless the receiver is gone,
    /// in which case the slot is freed and `value` dropped (invariant 2).
    pub(super) fn send_reserved(&self, value: T) {
        if self.receiver_dropped.get() {
            self.release_reserved(1);
            drop(value);
            return;
        }
        self.reserved.set(self.reserved.get() - 1);
        self.push(value);
    }

    /// Permits dropped unused: their `n` slots go to the next waiting senders, and if the
    /// receiver closed and these were the last, it is woken to see the end (invariant 3).
    pub(super) fn release_reserved(&self, n: usize) {
        if n == 0 {
            return;
        }
        let left = self.reserved.get() - n;
        self.reserved.set(left);
        self.slots().add_permits(n);
        if left == 0
            && self.receiver_closed.get()
            && let Some(waker) = self.rx_waker.take()
        {
            waker.wake();
        }
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

    /// A weak sender's upgrade: a new sender, unless every sender is gone (invariant 5).
    pub(super) fn try_add_sender(&self) -> bool {
        if self.senders.get() == 0 {
            return false;
        }
        self.add_sender();
        true
    }

    pub(super) fn add_weak_sender(&self) {
        self.weak_senders.set(self.weak_senders.get() + 1);
    }

    pub(super) fn drop_weak_sender(&self) {
        self.weak_senders.set(self.weak_senders.get() - 1);
    }

    pub(super) fn weak_senders(&self) -> usize {
        self.weak_senders.get()
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

    /// Nothing more can arrive once the buffer is empty: every sender is gone, or the receiver
    /// closed and no permit is left that may still send.
    fn is_finished(&self) -> bool {
        self.senders.get() == 0 || (self.receiver_closed.get() && self.reserved.get() == 0)
    }

    pub(super) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = std::task::ready!(coop::poll_proceed(cx));
        let value = self.pop();
        if value.is_none() && !self.is_finished() {
            self.store_rx_waker(cx);
            return Poll::Pending;
        }
        coop.made_progress();
        Poll::Ready(value)
    }

    /// Moves up to `limit` buffered values into `buffer`, waiting if none is buffered; `0`
    /// once nothing more can arrive (or if `limit` is 0). One unit of budget per call.
    pub(super) fn poll_recv_many(
        &self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        let coop = std::task::ready!(coop::poll_proceed(cx));
        let mut moved = 0;
        while moved < limit {
            match self.pop() {
                Some(value) => {
                    buffer.push(value);
                    moved += 1;
                }
                None => break,
            }
        }
        if moved == 0 && limit > 0 && !self.is_finished() {
            self.store_rx_waker(cx);
            return Poll::Pending;
        }
        coop.made_progress();
        Poll::Ready(moved)
    }

    fn store_rx_waker(&self, cx: &Context<'_>) {
        let waker = match self.rx_waker.take() {
            Some(waker) if waker.will_wake(cx.waker()) => waker,
            _ => cx.waker().clone(),
        };
        self.rx_waker.set(Some(waker));
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
        self.receiver_dropped.set(true);
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
