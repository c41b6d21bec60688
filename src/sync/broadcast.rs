//! `broadcast`: every receiver gets every value, from a bounded ring; a slow receiver lags.
//!
//! All handles share one `Rc<Shared<T>>`: a queue of the values still kept (oldest first),
//! the position the next value will get (`tail`), handle counts, and two [`Notify`]s
//! (receivers waiting for a value, senders waiting for the last receiver to go). Each receiver
//! holds the position of the next value it will read. Each kept value carries how many of the
//! receivers alive when it was sent have not read it yet.
//!
//! # Invariants
//!
//! 1. **Positions.** Values get consecutive positions; the queue holds the positions
//!    `tail - queue.len() .. tail`. A receiver's `next` is at most `tail`; `tail - next` is
//!    what it has not read yet.
//! 2. **Bounded, never blocking the sender.** The queue holds at most `capacity` values
//!    (`capacity` is rounded up to a power of two, as tokio does). A send to a full queue
//!    evicts the oldest value; a receiver whose `next` is older than the oldest kept value has
//!    *lagged*: its next receive reports `Lagged(skipped)` and moves it to the oldest kept
//!    value.
//! 3. **Remaining counts.** A value's `remaining` counts the receivers with `next <=` its
//!    position that were alive when it was sent; reading it or dropping such a receiver
//!    decrements it. Values with `remaining == 0` form a prefix of the queue (a receiver that
//!    has not read a value has not read the later ones either) and are popped at once, so
//!    `Sender::len` counts only values someone still has to read.
//! 4. **No user code under a borrow.** Values are stored as `Rc<T>`: a receive takes a
//!    clone of the `Rc` under the borrow and calls `T::clone` after it ends (the last reader
//!    of a value moves it out instead of cloning it). Evicted and popped values are dropped
//!    after the borrow ends; wakers are woken after it ends.
//! 5. **Closing.** When the last sender drops, receivers still get every kept value they have
//!    not read, then `Closed`.
//! 6. **Budget.** `recv()` and `closed()` spend one unit when they complete.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use super::Notify;
use super::until::until;

pub mod error {
    //! The errors of [`broadcast`](super).

    use std::fmt;

    /// [`Sender::send`](super::Sender::send) found no receiver; the value is handed back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Why [`Receiver::recv`](super::Receiver::recv) returned no value.
    ///
    /// ```
    /// use evloop::sync::broadcast::{self, error::RecvError};
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, mut rx) = broadcast::channel(2);
    ///     for i in 0..4 {
    ///         tx.send(i).unwrap(); // keeps the last 2 values only
    ///     }
    ///     assert_eq!(rx.recv().await, Err(RecvError::Lagged(2))); // 0 and 1 were lost
    ///     assert_eq!(rx.recv().await, Ok(2));
    ///     assert_eq!(rx.recv().await, Ok(3));
    ///     drop(tx);
    ///     assert_eq!(rx.recv().await, Err(RecvError::Closed));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum RecvError {
        /// Every sender is gone and every kept value was read.
        Closed,
        /// The receiver fell behind: this many values were overwritten before it read them.
        /// The next receive returns the oldest value still kept.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("channel closed"),
                RecvError::Lagged(skipped) => write!(f, "channel lagged by {skipped}"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum TryRecvError {
        /// Nothing to read now; a sender may still send.
        Empty,
        /// Every sender is gone and every kept value was read.
        Closed,
        /// As [`RecvError::Lagged`].
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
                TryRecvError::Lagged(skipped) => write!(f, "channel lagged by {skipped}"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

struct Shared<T> {
    ring: RefCell<Ring<T>>,
    /// Rounded-up capacity: the most values kept (invariant 2).
    capacity: usize,
    senders: Cell<usize>,
    receivers: Cell<usize>,
    /// Receivers waiting in `recv()`.
    sent: Notify,
    /// Senders waiting in `closed()`.
    closed: Notify,
}

struct Ring<T> {
    /// Kept values, oldest first; the last has position `tail - 1`.
    queue: VecDeque<Slot<T>>,
    /// The position the next value gets.
    tail: u64,
}

struct Slot<T> {
    value: Rc<T>,
    /// Receivers that still have to read this value (invariant 3).
    remaining: usize,
}

impl<T> Ring<T> {
    /// The position of the oldest kept value (`tail` if none).
    fn head(&self) -> u64 {
        self.tail - self.queue.len() as u64
    }

    /// Pops the values nobody has left to read (invariant 3), for the caller to drop after
    /// its borrow ends.
    fn pop_read(&mut self, popped: &mut Vec<Rc<T>>) {
        while self.queue.front().is_some_and(|slot| slot.remaining == 0) {
            if let Some(slot) = self.queue.pop_front() {
                popped.push(slot.value);
            }
        }
    }
}

/// What one receive attempt found, before the value is cloned.
enum Attempt<T> {
    Value(Rc<T>),
    Lagged(u64),
    Empty,
    Closed,
}

impl<T> Shared<T> {
    /// One receive attempt for the receiver at `next` (invariants 2, 3, 5).
    fn attempt(&self, next: &Cell<u64>) -> Attempt<T> {
        let mut ring = self.ring.borrow_mut();
        let head = ring.head();
        let position = next.get();
        if position < head {
            next.set(head);
            return Attempt::Lagged(head - position);
        }
        if position == ring.tail {
            return if self.senders.get() == 0 {
                Attempt::Closed
            } else {
                Attempt::Empty
            };
        }
        let index = (position - head) as usize;
        next.set(position + 1);
        let slot = &mut ring.queue[index];
        slot.remaining -= 1;
        let value = slot.value.clone();
        if slot.remaining == 0 && index == 0 {
            // The last reader of the oldest value: pop it here (its `Rc` is not the last one,
            // we hold `value`, so nothing is dropped under the borrow).
            ring.queue.pop_front();
        }
        Attempt::Value(value)
    }
}

/// Takes the value out of its `Rc` if this was its last reader, or clones it, after every
/// borrow of the channel has ended (invariant 4).
fn take_or_clone<T: Clone>(value: Rc<T>) -> T {
    Rc::try_unwrap(value).unwrap_or_else(|shared| T::clone(&shared))
}

/// Creates a broadcast channel that keeps up to `capacity` values (rounded up to a power of
/// two) for receivers that have not read them yet.
///
/// # Panics
///
/// Panics if `capacity` is 0 ("broadcast channel capacity cannot be zero", as tokio), or more
/// than `usize::MAX / 2`.
///
/// ```
/// use evloop::sync::broadcast;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut first) = broadcast::channel(16);
///     let mut second = tx.subscribe();
///     tx.send("hello").unwrap();
///     assert_eq!(first.recv().await.unwrap(), "hello");
///     assert_eq!(second.recv().await.unwrap(), "hello");
///     drop(tx);
///     assert_eq!(first.recv().await, Err(broadcast::error::RecvError::Closed));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let sender = Sender::new(capacity);
    let receiver = sender.subscribe();
    (sender, receiver)
}

/// The sending half: each value goes to every receiver that exists when it is sent.
/// Cloneable; receivers see `Closed` once the last sender is gone and they have read the rest.
///
/// ```
/// use evloop::sync::broadcast;
///
/// let tx = broadcast::Sender::new(4);
/// assert!(tx.send("nobody listens").is_err());
/// let mut rx = tx.subscribe();
/// assert_eq!(tx.send("hello"), Ok(1)); // one receiver got it
/// assert_eq!(tx.len(), 1, "kept until every receiver has read it");
/// assert_eq!(rx.try_recv(), Ok("hello"));
/// assert!(tx.is_empty());
/// ```
pub struct Sender<T> {
    shared: Rc<Shared<T>>,
}

impl<T> Sender<T> {
    /// A sender with no receiver yet; [`subscribe`](Sender::subscribe) makes them.
    ///
    /// # Panics
    ///
    /// As [`channel`].
    pub fn new(capacity: usize) -> Sender<T> {
        assert!(capacity > 0, "broadcast channel capacity cannot be zero");
        assert!(
            capacity <= usize::MAX >> 1,
            "broadcast channel capacity exceeded `usize::MAX / 2`"
        );
        let capacity = capacity.next_power_of_two();
        Sender {
            shared: Rc::new(Shared {
                ring: RefCell::new(Ring {
                    queue: VecDeque::with_capacity(capacity),
                    tail: 0,
                }),
                capacity,
                senders: Cell::new(1),
                receivers: Cell::new(0),
                sent: Notify::new(),
                closed: Notify::new(),
            }),
        }
    }

    /// Sends `value` to every current receiver and returns how many there are; fails with
    /// [`SendError`] (handing the value back) if there is none. Never waits: if the queue is
    /// full, the oldest value is overwritten and receivers that had not read it will lag.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let receivers = self.shared.receivers.get();
        if receivers == 0 {
            return Err(SendError(value));
        }
        let evicted = {
            let mut ring = self.shared.ring.borrow_mut();
            let evicted = if ring.queue.len() == self.shared.capacity {
                ring.queue.pop_front()
            } else {
                None
            };
            ring.queue.push_back(Slot {
                value: Rc::new(value),
                remaining: receivers,
            });
            ring.tail += 1;
            evicted
        };
        drop(evicted);
        self.shared.sent.notify_waiters();
        Ok(receivers)
    }

    /// A new receiver that will get the values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let shared = &self.shared;
        shared.receivers.set(shared.receivers.get() + 1);
        Receiver {
            shared: shared.clone(),
            next: Cell::new(shared.ring.borrow().tail),
        }
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.get()
    }

    /// Values kept for some receiver that has not read them yet.
    pub fn len(&self) -> usize {
        self.shared.ring.borrow().queue.len()
    }

    /// True if every receiver has read every value (or they were all overwritten).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }

    /// Completes when no receiver exists (at once if none does now).
    pub async fn closed(&self) {
        let shared = &*self.shared;
        until(&shared.closed, move || {
            (shared.receivers.get() == 0).then_some(())
        })
        .await
    }
}

impl<T> Sender<T> {
    /// Waiter nodes stored in the channel's `Notify`s: zero when no future waits (a leak shows
    /// up here).
    #[cfg(test)]
    pub(crate) fn stored_waiters(&self) -> usize {
        self.shared.sent.stored_waiters() + self.shared.closed.stored_waiters()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.set(self.shared.senders.get() + 1);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.senders.set(shared.senders.get() - 1);
        if shared.senders.get() == 0 {
            shared.sent.notify_waiters();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.shared.capacity)
            .field("receivers", &self.shared.receivers.get())
            .finish_non_exhaustive()
    }
}

/// The receiving half: reads every value sent after it subscribed, in order, unless it falls
/// more than the capacity behind (then it lags). Not `Clone`; use
/// [`resubscribe`](Receiver::resubscribe) or [`Sender::subscribe`].
///
/// ```
/// use evloop::sync::broadcast;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, rx) = broadcast::channel(8);
///     let listeners: Vec<_> = (0..2)
///         .map(|_| {
///             let mut rx = rx.resubscribe();
///             evloop::spawn(async move {
///                 let mut sum = 0;
///                 while let Ok(n) = rx.recv().await {
///                     sum += n;
///                 }
///                 sum // `Closed`: every sender is gone
///             })
///         })
///         .collect();
///     drop(rx);
///     for n in 1..=4 {
///         tx.send(n).unwrap();
///     }
///     drop(tx);
///     for listener in listeners {
///         assert_eq!(listener.await.unwrap(), 10);
///     }
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Receiver<T> {
    shared: Rc<Shared<T>>,
    /// Position of the next value to read (invariant 1).
    ///
    /// A `Cell`, so that a waiting `recv()` holds only a shared borrow of the receiver: a task
    /// suspended in it keeps no `&mut` into its own state.
    next: Cell<u64>,
}

impl<T: Clone> Receiver<T> {
    /// Waits for the next value and returns a clone of it (the last receiver to read a value
    /// gets it without a clone).
    ///
    /// Fails with [`RecvError::Lagged`] if values this receiver had not read were overwritten
    /// (the next call returns the oldest value still kept), and with [`RecvError::Closed`]
    /// once every sender is gone and every kept value was read.
    ///
    /// Cancel safety: yes; a value is taken only in the poll that returns it.
    ///
    /// ```
    /// use evloop::sync::broadcast::{self, error::RecvError};
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, mut rx) = broadcast::channel(2);
    ///     for i in 0..5 {
    ///         tx.send(i).unwrap(); // never waits: old values are overwritten
    ///     }
    ///     assert_eq!(rx.recv().await, Err(RecvError::Lagged(3)));
    ///     assert_eq!(rx.recv().await, Ok(3));
    ///     assert_eq!(rx.recv().await, Ok(4));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        let shared = &*self.shared;
        let next = &self.next;
        let found = until(&shared.sent, move || match shared.attempt(next) {
            Attempt::Value(value) => Some(Ok(value)),
            Attempt::Lagged(skipped) => Some(Err(RecvError::Lagged(skipped))),
            Attempt::Closed => Some(Err(RecvError::Closed)),
            Attempt::Empty => None,
        })
        .await;
        found.map(take_or_clone)
    }

    /// Takes the next value if one is there now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.shared.attempt(&self.next) {
            Attempt::Value(value) => Ok(take_or_clone(value)),
            Attempt::Lagged(skipped) => Err(TryRecvError::Lagged(skipped)),
            Attempt::Empty => Err(TryRecvError::Empty),
            Attempt::Closed => Err(TryRecvError::Closed),
        }
    }
}

impl<T> Receiver<T> {
    /// A new receiver of the same channel that gets the values sent from now on (not the ones
    /// this receiver has yet to read).
    pub fn resubscribe(&self) -> Receiver<T> {
        let shared = &self.shared;
        shared.receivers.set(shared.receivers.get() + 1);
        Receiver {
            shared: shared.clone(),
            next: Cell::new(shared.ring.borrow().tail),
        }
    }

    /// Values sent that this receiver has not read yet (more than the capacity if it lagged:
    /// then its next receive reports `Lagged`).
    pub fn len(&self) -> usize {
        (self.shared.ring.borrow().tail - self.next.get()) as usize
    }

    /// True if this receiver has read everything sent so far.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let shared = &self.shared;
        let mut popped = Vec::new();
        {
            let mut ring = shared.ring.borrow_mut();
            let head = ring.head();
            // This receiver counted in every kept value from `next` on (invariant 3).
            let unread = self.next.get().max(head) - head;
            for slot in ring.queue.iter_mut().skip(unread as usize) {
                slot.remaining -= 1;
            }
            ring.pop_read(&mut popped);
        }
        drop(popped);
        shared.receivers.set(shared.receivers.get() - 1);
        if shared.receivers.get() == 0 {
            shared.closed.notify_waiters();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("next", &self.next.get())
            .field("unread", &self.len())
            .finish_non_exhaustive()
    }
}
