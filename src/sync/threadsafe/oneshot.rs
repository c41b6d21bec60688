//! `threadsafe::oneshot`: one value from any thread to a task (or the other way round).
//!
//! The same API as [`sync::oneshot`](crate::sync::oneshot), built on an `Arc` and a
//! `std::sync::Mutex` holding the value, two flags and one waker per side. Both halves are
//! `Send` when `T` is, so the sender can move into a `std::thread` (or a blocking pool) and
//! wake the awaiting task from there: the wake travels through the runtime's remote queue.
//!
//! # Invariants
//!
//! 1. Every field is read and written under the mutex, so the value written by the sender
//!    happens-before the receiver's poll that takes it.
//! 2. Wakers are woken, and values dropped, after the lock is released: a waker may run
//!    arbitrary code (the runtime's remote path takes another lock), and a value's destructor
//!    may be anything.
//! 3. The lock is never held while user code runs, so it cannot be poisoned by a panic of
//!    ours; a poisoned lock (from a panicking allocator, say) is used anyway, since the state
//!    it guards has no half-done updates.
//! 4. The sender marks itself gone exactly once: in `send` (which consumes it) or in its drop,
//!    whichever comes first, in the same critical section that stores the value.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use crate::coop;
pub use crate::sync::oneshot::error;
use error::{RecvError, TryRecvError};

/// A channel for one value whose halves may live on different threads.
///
/// ```
/// use evloop::sync::threadsafe::oneshot;
///
/// let rt = evloop::Runtime::new()?;
/// let sum = rt.block_on(async {
///     let (tx, rx) = oneshot::channel();
///     std::thread::spawn(move || {
///         let sum: u64 = (1..=100).sum(); // blocking work, off the loop
///         tx.send(sum).unwrap();
///     });
///     rx.await.unwrap()
/// });
/// assert_eq!(sum, 5050);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            sender_gone: false,
            receiver_closed: false,
            rx_waker: None,
            tx_waker: None,
        }),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver {
            inner,
            terminated: false,
        },
    )
}

struct Inner<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    value: Option<T>,
    /// The sender sent or dropped: nothing more will arrive.
    sender_gone: bool,
    /// The receiver closed or dropped: `send` fails.
    receiver_closed: bool,
    /// The waiting receiver's waker; woken when the sender is gone.
    rx_waker: Option<Waker>,
    /// The waker of `Sender::closed`; woken when the receiver closes.
    tx_waker: Option<Waker>,
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Invariant 3.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Stores `cx`'s waker in `slot` unless the one there already wakes the same task.
fn store_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// The sending half: `Send` (if `T` is), so it can move to another thread.
///
/// The other thread may stop early when nobody waits any more:
///
/// ```
/// use evloop::sync::threadsafe::oneshot;
///
/// let (tx, rx) = oneshot::channel::<u64>();
/// drop(rx); // the asker gave up (a timeout, say)
/// let worker = std::thread::spawn(move || {
///     if tx.is_closed() {
///         return "skipped"; // the answer is no longer wanted
///     }
///     let _ = tx.send(1);
///     "sent"
/// });
/// assert_eq!(worker.join().unwrap(), "skipped");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Sender<T> {
    /// `None` once `send` ran (invariant 4).
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value` and wakes the receiver, or gives `value` back if the receiver was
    /// dropped or closed. Never blocks for longer than a short critical section.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("oneshot sender used after send");
        let waker = {
            let mut state = inner.lock();
            state.sender_gone = true;
            if state.receiver_closed {
                drop(state);
                return Err(value);
            }
            state.value = Some(value);
            state.rx_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// True if the receiver was dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|inner| inner.lock().receiver_closed)
    }

    /// Waits until the receiver is dropped or closed. Cancel-safe.
    pub async fn closed(&mut self) {
        poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Polls for the receiver's close; `Pending` stores `cx`'s waker.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let coop = std::task::ready!(coop::poll_proceed(cx));
        let Some(inner) = &self.inner else {
            coop.made_progress();
            return Poll::Ready(());
        };
        let mut state = inner.lock();
        if state.receiver_closed {
            coop.made_progress();
            return Poll::Ready(());
        }
        store_waker(&mut state.tx_waker, cx);
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let waker = {
            let mut state = inner.lock();
            state.sender_gone = true;
            state.rx_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("threadsafe::oneshot::Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half: a future of the value, `Send` (if `T` is).
///
/// Awaiting it gives `Ok(value)`, or [`RecvError`] if the sender dropped without sending.
/// Cancel-safe. After it returned a value, polling again gives `RecvError`.
///
/// ```
/// use evloop::sync::threadsafe::oneshot;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, rx) = oneshot::channel::<u64>();
///     std::thread::spawn(move || drop(tx)); // the other thread gives up
///     assert!(rx.await.is_err());
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
    /// Set once an await returned `Ready`, or `try_recv` returned the value or `Closed`.
    terminated: bool,
}

impl<T> Receiver<T> {
    /// Closes the channel: later `send`s fail; a value sent before can still be received.
    pub fn close(&mut self) {
        let waker = {
            let mut state = self.inner.lock();
            if state.receiver_closed {
                return;
            }
            state.receiver_closed = true;
            state.tx_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Takes the value if it has arrived, without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.inner.lock();
        let result = match state.value.take() {
            Some(value) => Ok(value),
            None if state.sender_gone || state.receiver_closed => Err(TryRecvError::Closed),
            None => return Err(TryRecvError::Empty),
        };
        drop(state);
        self.terminated = true;
        result
    }

    /// True once this receiver has produced its outcome (as the local
    /// [`oneshot::Receiver::is_terminated`](crate::sync::oneshot::Receiver::is_terminated)).
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    /// True if no value is waiting to be received right now (as the local
    /// [`oneshot::Receiver::is_empty`](crate::sync::oneshot::Receiver::is_empty)).
    ///
    /// ```
    /// use evloop::sync::threadsafe::oneshot;
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert!(rx.is_empty() && !rx.is_terminated());
    /// std::thread::spawn(move || tx.send(1).unwrap()).join().unwrap();
    /// assert!(!rx.is_empty());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.is_empty() && rx.is_terminated());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.lock().value.is_none()
    }

    /// Blocks this thread until the value arrives: for a plain thread waiting on a task.
    ///
    /// ```
    /// use evloop::sync::threadsafe::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel();
    /// let waiter = std::thread::spawn(move || rx.blocking_recv());
    /// tx.send("from the runtime").unwrap();
    /// assert_eq!(waiter.join().unwrap(), Ok("from the runtime"));
    /// ```
    ///
    /// # Panics
    ///
    /// Panics if called on a thread that is running an evloop runtime: blocking there would
    /// stop every task, including, most likely, the one that was to send. Await the receiver
    /// instead.
    pub fn blocking_recv(mut self) -> Result<T, RecvError> {
        assert!(
            crate::context::with_current(|_| ()).is_none(),
            "blocking_recv called from inside an evloop runtime; await the receiver instead"
        );
        let waker = Waker::from(Arc::new(Unparker(thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(result) = Pin::new(&mut self).poll(&mut cx) {
                return result;
            }
            // A wake between the poll and here leaves the thread's token set: park returns
            // at once. Spurious returns just poll again.
            thread::park();
        }
    }
}

/// Wakes a thread blocked in [`Receiver::blocking_recv`].
struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = std::task::ready!(coop::poll_proceed(cx));
        let mut state = this.inner.lock();
        let result = match state.value.take() {
            Some(value) => Ok(value),
            None if state.sender_gone || state.receiver_closed => Err(RecvError(())),
            None => {
                store_waker(&mut state.rx_waker, cx);
                return Poll::Pending;
            }
        };
        drop(state);
        this.terminated = true;
        coop.made_progress();
        Poll::Ready(result)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
        let value = self.inner.lock().value.take();
        drop(value); // invariant 2: outside the lock
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.lock();
        f.debug_struct("threadsafe::oneshot::Receiver")
            .field("sender_gone", &state.sender_gone)
            .field("closed", &state.receiver_closed)
            .finish()
    }
}
