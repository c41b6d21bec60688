//! The unbounded channel: [`unbounded_channel`], [`UnboundedSender`], [`UnboundedReceiver`].

use std::fmt;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::chan::Chan;
use super::error::{SendError, TryRecvError};

/// A channel with no limit on buffered values: sending never waits.
///
/// Use it when the producer cannot wait (a callback, a destructor) or is naturally limited;
/// otherwise prefer [`channel`](super::channel), whose backpressure keeps a fast producer from
/// filling memory.
///
/// ```
/// use evloop::sync::mpsc;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     for i in 0..3 {
///         tx.send(i).unwrap();
///     }
///     drop(tx);
///     let mut got = Vec::new();
///     while let Some(i) = rx.recv().await {
///         got.push(i);
///     }
///     assert_eq!(got, [0, 1, 2]);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Rc::new(Chan::new(None));
    (
        UnboundedSender { chan: chan.clone() },
        UnboundedReceiver { chan },
    )
}

/// A sending handle of an unbounded channel. Clone it for more producers.
///
/// [`send`](Self::send) never waits, so it works outside of async code too, from a callback
/// or a destructor:
///
/// ```
/// use evloop::sync::mpsc;
///
/// struct Job(u32, mpsc::UnboundedSender<u32>);
/// impl Drop for Job {
///     fn drop(&mut self) {
///         let _ = self.1.send(self.0); // report the job done, even on a panic
///     }
/// }
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     drop(Job(7, tx));
///     assert_eq!(rx.recv().await, Some(7));
///     assert_eq!(rx.recv().await, None);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnboundedSender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Appends `value` and wakes the receiver; never waits. Fails, giving `value` back, if the
    /// receiver was dropped or closed.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.chan.is_closed() {
            return Err(SendError(value));
        }
        self.chan.push(value);
        Ok(())
    }

    /// True if the receiver was dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Waits until the receiver is dropped or closed. Cancel-safe.
    pub async fn closed(&self) {
        self.chan.closed().await
    }

    /// True if both handles belong to the same channel.
    pub fn same_channel(&self, other: &UnboundedSender<T>) -> bool {
        Rc::ptr_eq(&self.chan, &other.chan)
    }

    /// A [`WeakUnboundedSender`] of this channel: a handle that does not keep it open.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        self.chan.add_weak_sender();
        WeakUnboundedSender {
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

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::UnboundedSender")
            .field("buffered", &self.chan.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving handle of an unbounded channel. [`recv`](Self::recv) gives `None` once every
/// sender is gone and the buffer is empty.
///
/// ```
/// use evloop::sync::mpsc;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     let producer = evloop::spawn(async move {
///         for word in ["a", "b"] {
///             tx.send(word).unwrap();
///             evloop::task::yield_now().await;
///         }
///     });
///     let mut words = Vec::new();
///     while let Some(word) = rx.recv().await {
///         words.push(word);
///     }
///     producer.await.unwrap();
///     assert_eq!(words, ["a", "b"]);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnboundedReceiver<T> {
    chan: Rc<Chan<T>>,
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next value, waiting if none is buffered; `None` once the buffer is empty
    /// and every sender is gone (or the receiver was closed).
    ///
    /// Cancel-safe: a value is taken out of the channel only by the poll that returns it.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.chan.poll_recv(cx)).await
    }

    /// Polls for the next value; `Pending` stores `cx`'s waker (only the latest one is kept).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// Receives up to `limit` values at once, appending them to `buffer`; `0` means the
    /// channel is finished (or `limit` was 0). See
    /// [`Receiver::recv_many`](super::Receiver::recv_many).
    ///
    /// ```
    /// use evloop::sync::mpsc;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, mut rx) = mpsc::unbounded_channel();
    ///     tx.send('a').unwrap();
    ///     tx.send('b').unwrap();
    ///     let mut batch = Vec::new();
    ///     assert_eq!(rx.recv_many(&mut batch, 10).await, 2);
    ///     assert_eq!(batch, ['a', 'b']);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        poll_fn(|cx| self.chan.poll_recv_many(cx, buffer, limit)).await
    }

    /// Polls for up to `limit` values (see [`recv_many`](Self::recv_many)).
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        self.chan.poll_recv_many(cx, buffer, limit)
    }

    /// Takes the next value if one is buffered, without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Stops the channel: sends fail from now on; buffered values can still be received.
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

    /// Live (strong) senders of this channel.
    pub fn sender_strong_count(&self) -> usize {
        self.chan.senders()
    }

    /// Live weak senders of this channel.
    pub fn sender_weak_count(&self) -> usize {
        self.chan.weak_senders()
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        self.chan.drop_receiver();
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::UnboundedReceiver")
            .field("buffered", &self.chan.len())
            .field("senders", &self.chan.senders())
            .finish()
    }
}

/// A sender handle that does not keep the channel open: [`upgrade`](WeakUnboundedSender::upgrade) gives
/// a [`UnboundedSender`] while at least one still lives, and `None` once all are gone (the receiver
/// has then seen, or will see, the end of the stream). From [`UnboundedSender::downgrade`]; use it
/// for a task that sends only as long as someone else keeps the channel alive.
///
/// ```
/// use evloop::sync::mpsc;
///
/// let (tx, _rx) = mpsc::unbounded_channel::<u8>();
/// let weak = tx.downgrade();
/// assert_eq!((weak.strong_count(), weak.weak_count()), (1, 1));
/// drop(tx);
/// assert!(weak.upgrade().is_none());
/// ```
pub struct WeakUnboundedSender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> WeakUnboundedSender<T> {
    /// A new sender, or `None` if every sender was dropped.
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.chan.try_add_sender().then(|| UnboundedSender {
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

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_weak_sender();
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for WeakUnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_weak_sender();
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::WeakUnboundedSender")
            .field("strong", &self.chan.senders())
            .field("weak", &self.chan.weak_senders())
            .finish()
    }
}
