//! `oneshot`: a channel for exactly one value, between tasks of the same runtime.
//!
//! The two halves share one `Rc<Inner>`: a slot for the value, two flags (sender gone,
//! receiver closed) and one waker per side. Nothing is locked or atomic; for a value that comes
//! from another thread use [`threadsafe::oneshot`](crate::sync::threadsafe::oneshot), which has
//! the same API.
//!
//! # Invariants
//!
//! 1. A value is stored at most once, and only while the receiver is open: `send` checks
//!    `receiver_closed` first and otherwise hands the value back.
//! 2. `sender_gone` is set exactly when the `Sender` drops (after `send`, or without it), and
//!    the receiver's waker is woken then: a waiting receiver learns both "here is the value"
//!    and "no value will come" from that one wake-up.
//! 3. `receiver_closed` is set by `Receiver::close` or the receiver's drop, and the sender's
//!    waker (from [`Sender::closed`]) is woken then. A value sent before the close can still
//!    be received; a value still in the slot when the receiver drops is dropped with it.

use std::cell::Cell;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::coop;

pub mod error {
    //! The errors of [`oneshot`](super) (shared with
    //! [`threadsafe::oneshot`](crate::sync::threadsafe::oneshot)).

    use std::fmt;

    /// The sender was dropped without sending a value (or the receiver was closed before one
    /// was sent).
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(crate) ());

    impl fmt::Debug for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("RecvError")
        }
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed: the sender was dropped without sending a value")
        }
    }

    impl std::error::Error for RecvError {}

    /// Why [`try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum TryRecvError {
        /// No value yet; the sender may still send one.
        Empty,
        /// No value, and none will come: the sender is gone or the receiver was closed.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

/// A channel for one value: the [`Sender`] sends it, the [`Receiver`] awaits it.
///
/// ```
/// use evloop::sync::oneshot;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, rx) = oneshot::channel();
///     evloop::spawn(async move {
///         tx.send("done").unwrap();
///     });
///     assert_eq!(rx.await, Ok("done"));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Rc::new(Inner {
        value: Cell::new(None),
        sender_gone: Cell::new(false),
        receiver_closed: Cell::new(false),
        rx_waker: Cell::new(None),
        tx_waker: Cell::new(None),
    });
    (
        Sender {
            inner: inner.clone(),
        },
        Receiver {
            inner,
            terminated: false,
        },
    )
}

struct Inner<T> {
    /// The value, from `send` until the receiver takes it (or drops).
    value: Cell<Option<T>>,
    /// Set when the `Sender` drops: no value will arrive after this (invariant 2).
    sender_gone: Cell<bool>,
    /// Set by `Receiver::close` or the receiver's drop: `send` fails from now on (invariant 3).
    receiver_closed: Cell<bool>,
    /// The task awaiting the `Receiver`; woken when the sender drops.
    rx_waker: Cell<Option<Waker>>,
    /// The task awaiting `Sender::closed`; woken when the receiver closes.
    tx_waker: Cell<Option<Waker>>,
}

/// Stores `cx`'s waker in `slot` unless the one there already wakes the same task.
fn store_waker(slot: &Cell<Option<Waker>>, cx: &Context<'_>) {
    let waker = match slot.take() {
        Some(waker) if waker.will_wake(cx.waker()) => waker,
        _ => cx.waker().clone(),
    };
    slot.set(Some(waker));
}

fn wake(slot: &Cell<Option<Waker>>) {
    if let Some(waker) = slot.take() {
        waker.wake();
    }
}

/// The sending half of a [`oneshot`](self) channel: [`send`](Sender::send) consumes it.
/// Dropping it unsent makes the receiver's await return [`RecvError`].
///
/// A worker that stops when nobody waits for its answer any more:
///
/// ```
/// use std::time::Duration;
/// use evloop::sync::oneshot;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (mut tx, rx) = oneshot::channel::<u32>();
///     let worker = evloop::spawn(async move {
///         evloop::select! {
///             _ = evloop::time::sleep(Duration::from_secs(3600)) => { let _ = tx.send(42); }
///             _ = tx.closed() => {} // the receiver is gone: give up
///         }
///     });
///     drop(rx);
///     worker.await.unwrap(); // returns at once, not in an hour
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Sender<T> {
    inner: Rc<Inner<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, or gives it back in `Err` if the receiver was dropped or closed.
    ///
    /// Never waits. A value sent successfully can still go unread if the receiver drops
    /// afterwards (it is dropped with the receiver).
    ///
    /// ```
    /// use evloop::sync::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel::<u32>();
    /// drop(rx);
    /// assert_eq!(tx.send(7), Err(7));
    /// ```
    pub fn send(self, value: T) -> Result<(), T> {
        if self.inner.receiver_closed.get() {
            return Err(value);
        }
        self.inner.value.set(Some(value));
        Ok(()) // dropping `self` wakes the receiver
    }

    /// True if the receiver was dropped or closed: a `send` would fail.
    pub fn is_closed(&self) -> bool {
        self.inner.receiver_closed.get()
    }

    /// Waits until the receiver is dropped or closed; lets a producer stop work nobody will
    /// read. Cancel-safe.
    ///
    /// ```
    /// use evloop::sync::oneshot;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (mut tx, rx) = oneshot::channel::<()>();
    ///     evloop::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.is_closed());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn closed(&mut self) {
        poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Polls for the receiver's close: `Ready` once it is dropped or closed; otherwise stores
    /// `cx`'s waker (only the latest one is kept).
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let coop = std::task::ready!(coop::poll_proceed(cx));
        if self.inner.receiver_closed.get() {
            coop.made_progress();
            return Poll::Ready(());
        }
        store_waker(&self.inner.tx_waker, cx);
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.inner.sender_gone.set(true);
        wake(&self.inner.rx_waker);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of a [`oneshot`](self) channel: a future of the value.
///
/// Awaiting it gives `Ok(value)`, or [`RecvError`] if the sender dropped without sending (or
/// the receiver was [closed](Receiver::close) before a value arrived). Awaiting is cancel-safe:
/// the value stays in the channel until a poll returns it. After it returned a value, polling
/// again gives `RecvError`.
///
/// ```
/// use evloop::sync::oneshot;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, rx) = oneshot::channel();
///     evloop::spawn(async move { tx.send("ready").unwrap() });
///     assert_eq!(rx.await, Ok("ready"));
///
///     let (tx, rx) = oneshot::channel::<&str>();
///     drop(tx); // dropped unsent
///     assert!(rx.await.is_err());
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Receiver<T> {
    inner: Rc<Inner<T>>,
    /// Set once an await returned `Ready`, or `try_recv` returned the value or `Closed`.
    terminated: bool,
}

impl<T> Receiver<T> {
    /// Closes the channel without dropping the receiver: later `send`s fail and give their
    /// value back. A value sent before the close can still be received.
    ///
    /// ```
    /// use evloop::sync::oneshot::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// rx.close();
    /// assert_eq!(tx.send(1), Err(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn close(&mut self) {
        if !self.inner.receiver_closed.replace(true) {
            wake(&self.inner.tx_waker);
        }
    }

    /// Takes the value if it has arrived, without waiting.
    ///
    /// ```
    /// use evloop::sync::oneshot::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(5).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let result = match self.inner.value.take() {
            Some(value) => Ok(value),
            None if self.nothing_can_arrive() => Err(TryRecvError::Closed),
            None => return Err(TryRecvError::Empty),
        };
        self.terminated = true;
        result
    }

    /// True once this receiver has produced its outcome: an await returned (the value or
    /// [`RecvError`]), or [`try_recv`](Self::try_recv) returned the value or `Closed`. A
    /// terminated receiver has nothing more to give; a `select!` loop uses this to stop
    /// polling it.
    ///
    /// ```
    /// use evloop::sync::oneshot;
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert!(!rx.is_terminated());
    /// tx.send(1).unwrap();
    /// assert!(!rx.is_terminated()); // the value is there but not yet taken
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.is_terminated());
    /// ```
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    /// True if no value is waiting to be received right now: none was sent yet, it was already
    /// taken, or none will come.
    ///
    /// ```
    /// use evloop::sync::oneshot;
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert!(rx.is_empty());
    /// tx.send("x").unwrap();
    /// assert!(!rx.is_empty());
    /// rx.try_recv().unwrap();
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        // `Cell<Option<T>>` has no peek for a `T` that is not `Copy`: take and put back.
        let value = self.inner.value.take();
        let empty = value.is_none();
        self.inner.value.set(value);
        empty
    }

    /// No value is waiting and none can arrive any more.
    fn nothing_can_arrive(&self) -> bool {
        self.inner.sender_gone.get() || self.inner.receiver_closed.get()
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = std::task::ready!(coop::poll_proceed(cx));
        let result = match this.inner.value.take() {
            Some(value) => Ok(value),
            None if this.nothing_can_arrive() => Err(RecvError(())),
            None => {
                store_waker(&this.inner.rx_waker, cx);
                return Poll::Pending;
            }
        };
        this.terminated = true;
        coop.made_progress();
        Poll::Ready(result)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
        drop(self.inner.value.take());
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver")
            .field("sender_gone", &self.inner.sender_gone.get())
            .field("closed", &self.inner.receiver_closed.get())
            .finish()
    }
}
