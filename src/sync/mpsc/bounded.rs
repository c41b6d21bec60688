//! The bounded channel: [`channel`], [`Sender`], [`Receiver`].

use std::fmt;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::chan::Chan;
use super::error::{SendError, TryRecvError, TrySendError};
use crate::sync::TryAcquireError;

/// A channel that buffers at most `capacity` values: senders wait for room (backpressure).
///
/// ```
/// use evloop::sync::mpsc;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::channel(2);
///     evloop::spawn(async move {
///         for i in 0..5 {
///             tx.send(i).await.unwrap(); // waits while 2 values are unread
///         }
///     });
///     let mut got = Vec::new();
///     while let Some(i) = rx.recv().await {
///         got.push(i);
///     }
///     assert_eq!(got, [0, 1, 2, 3, 4]);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
///
/// Panics if `capacity` is 0 (such a channel could never hold a value; use a
/// [`oneshot`](crate::sync::oneshot) or a [`Notify`](crate::sync::Notify) to hand over without
/// buffering).
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "mpsc::channel: capacity must be at least 1, got 0"
    );
    let chan = Rc::new(Chan::new(Some(capacity)));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// A sending handle of a bounded channel. Clone it for more producers; the receiver sees the
/// end of the stream when every clone is gone.
pub struct Sender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for a free slot if the channel is full. Senders waiting for room
    /// are served in the order they started to wait. Fails, giving `value` back, if the
    /// receiver is dropped or closed (also while waiting).
    ///
    /// Cancel safety: if the future is dropped while it waits, `value` is dropped with it, but
    /// the queue loses nothing else: a slot already granted to it goes to the next waiting
    /// sender. Once it returned `Ok`, the value is in the channel.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.chan.slots().acquire().await {
            // Closed while the granted future waited to run: the slot goes back on drop.
            Ok(_slot) if self.chan.is_closed() => Err(SendError(value)),
            Ok(slot) => {
                slot.forget(); // the value holds it now; `recv` gives it back
                self.chan.push(value);
                Ok(())
            }
            Err(_closed) => Err(SendError(value)),
        }
    }

    /// Sends `value` if a slot is free right now and no other sender is waiting for one.
    ///
    /// ```
    /// use evloop::sync::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, _rx) = mpsc::channel(1);
    /// tx.try_send(1).unwrap();
    /// assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        if self.chan.is_closed() {
            return Err(TrySendError::Closed(value));
        }
        match self.chan.slots().try_acquire() {
            Ok(slot) => {
                slot.forget();
                self.chan.push(value);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(value)),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(value)),
        }
    }

    /// True if the receiver was dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Waits until the receiver is dropped or closed. Cancel-safe.
    pub async fn closed(&self) {
        self.chan.closed().await
    }

    /// Free slots right now.
    pub fn capacity(&self) -> usize {
        self.chan.slots().available_permits()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.capacity()
    }

    /// True if both handles belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Rc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Sender")
            .field("buffered", &self.chan.len())
            .field("capacity", &self.chan.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving handle of a bounded channel.
pub struct Receiver<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting if none is buffered. Returns `None` once the buffer is
    /// empty and nothing more can arrive (every sender dropped, or [`close`](Self::close) was
    /// called). Each value received frees a slot for a waiting sender.
    ///
    /// Cancel-safe: a value is taken out of the channel only by the poll that returns it.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.chan.poll_recv(cx)).await
    }

    /// Polls for the next value; `Pending` stores `cx`'s waker (only the latest one is kept).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// Takes the next value if one is buffered, without waiting.
    ///
    /// ```
    /// use evloop::sync::mpsc::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = mpsc::channel(4);
    /// tx.try_send("a").unwrap();
    /// assert_eq!(rx.try_recv(), Ok("a"));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Stops the channel: sends fail from now on (waiting senders too), while values already
    /// buffered can still be received; then `recv` returns `None`.
    ///
    /// ```
    /// use evloop::sync::mpsc;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(4);
    ///     tx.send(1).await.unwrap();
    ///     rx.close();
    ///     assert!(tx.send(2).await.is_err());
    ///     assert_eq!(rx.recv().await, Some(1));
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// True if nothing more can be sent: the receiver was closed or every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed() || self.chan.senders() == 0
    }

    /// Values buffered right now.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// True if no value is buffered.
    pub fn is_empty(&self) -> bool {
        self.chan.len() == 0
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.capacity()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.drop_receiver();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Receiver")
            .field("buffered", &self.chan.len())
            .field("capacity", &self.chan.capacity())
            .field("senders", &self.chan.senders())
            .finish()
    }
}
