//! The bounded channel: [`channel`], [`Sender`], [`Receiver`].

use std::fmt;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::chan::Chan;
use super::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use crate::sync::{Semaphore, TryAcquireError};

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
/// buffering), or if it exceeds [`Semaphore::MAX_PERMITS`] (the slots are a semaphore's
/// permits; use [`unbounded_channel`](super::unbounded_channel) for no limit).
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "mpsc::channel: capacity must be at least 1, got 0"
    );
    assert!(
        capacity <= Semaphore::MAX_PERMITS,
        "mpsc::channel: capacity {capacity} exceeds Semaphore::MAX_PERMITS"
    );
    let chan = Rc::new(Chan::new(Some(capacity)));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// A sending handle of a bounded channel. Clone it for more producers; the receiver sees the
/// end of the stream when every clone is gone.
///
/// ```
/// use evloop::sync::mpsc;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::channel(4);
///     for worker in 0..3 {
///         let tx = tx.clone();
///         evloop::spawn(async move { tx.send(worker).await.unwrap() });
///     }
///     drop(tx); // or `recv` would wait for this last sender forever
///     let mut got = Vec::new();
///     while let Some(worker) = rx.recv().await {
///         got.push(worker);
///     }
///     got.sort();
///     assert_eq!(got, [0, 1, 2]);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
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

    /// Sends `value`, waiting at most `timeout` for a free slot. On a timeout or a closed
    /// channel the value comes back inside the error.
    ///
    /// Cancel safety: like [`send`](Self::send), dropping the future drops `value`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use evloop::sync::mpsc::{self, error::SendTimeoutError};
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, _rx) = mpsc::channel(1);
    ///     tx.send(1).await.unwrap();
    ///     let full = tx.send_timeout(2, Duration::from_millis(5)).await;
    ///     assert!(matches!(full, Err(SendTimeoutError::Timeout(2))));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        match crate::time::timeout(timeout, self.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(value);
                Ok(())
            }
            Ok(Err(SendError(()))) => Err(SendTimeoutError::Closed(value)),
            Err(_elapsed) => Err(SendTimeoutError::Timeout(value)),
        }
    }

    /// Waits for a free slot and reserves it: the returned [`Permit`] sends one value without
    /// waiting (and without failing). Reserving first lets a task know there is room before it
    /// produces the value, so a cancelled wait never loses one. `reserve` waits in the same
    /// FIFO queue as [`send`](Self::send).
    ///
    /// Fails if the receiver is dropped or closed (also while waiting). Dropping the permit
    /// unused gives the slot to the next waiting sender. Cancel-safe: a cancelled `reserve`
    /// loses only its place in the queue.
    ///
    /// ```
    /// use evloop::sync::mpsc;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(1);
    ///     let permit = tx.reserve().await.unwrap();
    ///     assert!(tx.try_send(0).is_err()); // the slot is reserved
    ///     permit.send(1);
    ///     assert_eq!(rx.recv().await, Some(1));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        self.chan.reserve(1).await?;
        Ok(Permit { sender: self })
    }

    /// Waits for `n` free slots at once and reserves them; the returned [`PermitIterator`]
    /// yields `n` [`Permit`]s. Fails at once if `n` exceeds
    /// [`max_capacity`](Self::max_capacity) (it could never be granted), or if the receiver is
    /// dropped or closed. Slots not yet taken out of the iterator go back when it drops.
    ///
    /// ```
    /// use evloop::sync::mpsc;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(4);
    ///     for (i, permit) in tx.reserve_many(3).await.unwrap().enumerate() {
    ///         permit.send(i);
    ///     }
    ///     let mut got = Vec::new();
    ///     assert_eq!(rx.recv_many(&mut got, 10).await, 3);
    ///     assert_eq!(got, [0, 1, 2]);
    ///     assert!(tx.reserve_many(5).await.is_err());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, SendError<()>> {
        self.chan.reserve(n).await?;
        Ok(PermitIterator {
            sender: self,
            left: n,
        })
    }

    /// Like [`reserve`](Self::reserve), but the permit owns this sender, so it can move into
    /// another task; [`OwnedPermit::send`] hands the sender back.
    ///
    /// ```
    /// use evloop::sync::mpsc;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(1);
    ///     let permit = tx.reserve_owned().await.unwrap();
    ///     evloop::spawn(async move {
    ///         let _tx = permit.send("from a task");
    ///     });
    ///     assert_eq!(rx.recv().await, Some("from a task"));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        self.chan.reserve(1).await?;
        Ok(OwnedPermit { sender: Some(self) })
    }

    /// Reserves a slot if one is free right now and no sender waits for one.
    ///
    /// ```
    /// use evloop::sync::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.try_reserve().unwrap();
    /// assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
    /// permit.send(5);
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// ```
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.chan.try_reserve(1)?;
        Ok(Permit { sender: self })
    }

    /// Reserves `n` slots if they are free right now and no sender waits; `Full` also if `n`
    /// exceeds [`max_capacity`](Self::max_capacity).
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        self.chan.try_reserve(n)?;
        Ok(PermitIterator {
            sender: self,
            left: n,
        })
    }

    /// Like [`try_reserve`](Self::try_reserve), with a permit that owns this sender. On failure
    /// the sender comes back inside the error.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.chan.try_reserve(1) {
            Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
            Err(TrySendError::Full(())) => Err(TrySendError::Full(self)),
            Err(TrySendError::Closed(())) => Err(TrySendError::Closed(self)),
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

    /// Free slots right now: the capacity minus buffered values and reserved permits.
    ///
    /// ```
    /// use evloop::sync::mpsc;
    ///
    /// let (tx, _rx) = mpsc::channel::<u8>(4);
    /// let _permit = tx.try_reserve().unwrap();
    /// tx.try_send(1).unwrap();
    /// assert_eq!((tx.capacity(), tx.max_capacity()), (2, 4));
    /// ```
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

    /// A [`WeakSender`] of this channel: a handle that does not keep it open.
    pub fn downgrade(&self) -> WeakSender<T> {
        self.chan.add_weak_sender();
        WeakSender {
            chan: self.chan.clone(),
        }
    }

    /// Live (strong) senders of this channel, this one included.
    pub fn strong_count(&self) -> usize {
        self.chan.senders()
    }

    /// Live weak senders of this channel.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_senders()
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

/// The receiving handle of a bounded channel. [`recv`](Self::recv) gives `None` once every
/// sender is gone and the buffer is empty.
///
/// ```
/// use evloop::sync::mpsc;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::channel(1);
///     evloop::spawn(async move {
///         tx.send("first").await.unwrap();
///         tx.send("second").await.unwrap(); // waits until "first" is read
///     });
///     assert_eq!(rx.recv().await, Some("first"));
///     assert_eq!(rx.recv().await, Some("second"));
///     assert_eq!(rx.recv().await, None);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
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

    /// Receives up to `limit` values at once, appending them to `buffer`, and returns how many
    /// it appended; waits if none is buffered. `0` means the channel is finished (as `recv`'s
    /// `None`), or `limit` was 0. Each value received frees a slot for a waiting sender.
    ///
    /// Cancel-safe, like [`recv`](Self::recv). Spends one unit of the cooperative budget per
    /// call, however many values it moves.
    ///
    /// ```
    /// use evloop::sync::mpsc;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(8);
    ///     for i in 0..5 {
    ///         tx.send(i).await.unwrap();
    ///     }
    ///     drop(tx);
    ///     let mut batch = Vec::new();
    ///     assert_eq!(rx.recv_many(&mut batch, 3).await, 3);
    ///     assert_eq!(rx.recv_many(&mut batch, 3).await, 2);
    ///     assert_eq!(batch, [0, 1, 2, 3, 4]);
    ///     assert_eq!(rx.recv_many(&mut batch, 3).await, 0); // finished
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        poll_fn(|cx| self.chan.poll_recv_many(cx, buffer, limit)).await
    }

    /// Polls for up to `limit` values (see [`recv_many`](Self::recv_many)); `Pending` stores
    /// `cx`'s waker.
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        self.chan.poll_recv_many(cx, buffer, limit)
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

    /// Stops the channel: sends and reserves fail from now on (waiting ones too), while values
    /// already buffered can still be received, and permits reserved before the close can still
    /// send; once those are used or dropped and the buffer is empty, `recv` returns `None`.
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

    /// Free slots right now (see [`Sender::capacity`]).
    pub fn capacity(&self) -> usize {
        self.chan.slots().available_permits()
    }

    /// Live (strong) senders of this channel.
    pub fn sender_strong_count(&self) -> usize {
        self.chan.senders()
    }

    /// Live weak senders of this channel.
    pub fn sender_weak_count(&self) -> usize {
        self.chan.weak_senders()
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

/// One reserved slot of a bounded channel, from [`Sender::reserve`]: [`send`](Permit::send)
/// fills it without waiting; dropping the permit unused gives the slot to the next waiting
/// sender.
///
/// Reserving first lets a sender make the value only once there is room for it, and never
/// lose it to a closed channel:
///
/// ```
/// use evloop::sync::mpsc;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::channel(1);
///     let permit = tx.reserve().await.unwrap(); // waits for room, not for a value
///     permit.send(String::from("built after the slot was ours"));
///     assert_eq!(rx.recv().await.unwrap(), "built after the slot was ours");
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "the slot is released as soon as the permit is dropped"]
pub struct Permit<'a, T> {
    sender: &'a Sender<T>,
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the reserved slot. Never waits and never fails: if the receiver was
    /// closed after the reservation the value is still delivered; if it was dropped, the value
    /// is dropped.
    pub fn send(self, value: T) {
        let chan = &self.sender.chan;
        std::mem::forget(self); // the slot moves to the value, not back to the channel
        chan.send_reserved(value);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.sender.chan.release_reserved(1);
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Permit").finish_non_exhaustive()
    }
}

/// `n` reserved slots, from [`Sender::reserve_many`]: an iterator of exactly `n` [`Permit`]s.
/// Slots not taken out of it go back to the channel when it drops.
#[must_use = "the slots are released as soon as the iterator is dropped"]
pub struct PermitIterator<'a, T> {
    sender: &'a Sender<T>,
    /// Slots still held by the iterator itself (not yet handed out as a `Permit`).
    left: usize,
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(Permit {
            sender: self.sender,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}

impl<T> std::iter::FusedIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        self.sender.chan.release_reserved(self.left);
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::PermitIterator")
            .field("left", &self.left)
            .finish()
    }
}

/// One reserved slot that owns its [`Sender`], from [`Sender::reserve_owned`]: being
/// `'static`, it can move into another task. Dropping it unused frees the slot (and drops the
/// sender).
///
/// ```
/// use evloop::sync::mpsc;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::channel(1);
///     let permit = tx.reserve_owned().await.unwrap(); // the slot is ours from here
///     evloop::spawn(async move {
///         let _tx = permit.send("from the task"); // gives the sender back
///     });
///     assert_eq!(rx.recv().await, Some("from the task"));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "the slot is released as soon as the permit is dropped"]
pub struct OwnedPermit<T> {
    /// `Some` until `send` or `release` hands the sender back.
    sender: Option<Sender<T>>,
}

impl<T> OwnedPermit<T> {
    /// Sends `value` into the reserved slot (as [`Permit::send`]) and gives the sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("OwnedPermit holds its sender until consumed");
        sender.chan.send_reserved(value);
        sender
    }

    /// Frees the slot without sending and gives the sender back.
    ///
    /// ```
    /// use evloop::sync::mpsc;
    ///
    /// let (tx, _rx) = mpsc::channel::<u8>(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// let tx = permit.release();
    /// assert_eq!(tx.capacity(), 1);
    /// ```
    pub fn release(mut self) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("OwnedPermit holds its sender until consumed");
        sender.chan.release_reserved(1);
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = &self.sender {
            sender.chan.release_reserved(1);
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::OwnedPermit").finish_non_exhaustive()
    }
}

/// A sender handle that does not keep the channel open: [`upgrade`](WeakSender::upgrade) gives
/// a [`Sender`] while at least one still lives, and `None` once all are gone (the receiver
/// has then seen, or will see, the end of the stream). From [`Sender::downgrade`]; use it
/// for a task that sends only as long as someone else keeps the channel alive.
///
/// ```
/// use evloop::sync::mpsc;
///
/// let (tx, mut rx) = mpsc::channel::<u8>(1);
/// let weak = tx.downgrade();
/// weak.upgrade().unwrap().try_send(1).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// drop(tx);
/// assert!(weak.upgrade().is_none());
/// assert!(rx.is_closed()); // the weak handle did not keep the channel open
/// ```
pub struct WeakSender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> WeakSender<T> {
    /// A new sender, or `None` if every sender was dropped.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.try_add_sender().then(|| Sender {
            chan: self.chan.clone(),
        })
    }

    /// Live (strong) senders of this channel.
    pub fn strong_count(&self) -> usize {
        self.chan.senders()
    }

    /// Live weak senders of this channel.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_senders()
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_weak_sender();
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.chan.drop_weak_sender();
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::WeakSender")
            .field("strong", &self.chan.senders())
            .field("weak", &self.chan.weak_senders())
            .finish()
    }
}
