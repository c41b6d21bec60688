//! `watch`: one value that many receivers observe; they see the latest, not every one.
//!
//! Both halves share one `Rc<Shared<T>>`: the value in a `RefCell`, a version number bumped by
//! every send, handle counts, and two [`Notify`]s (receivers waiting for a change, senders
//! waiting for the last receiver to go). Each receiver remembers the version it last saw.
//!
//! # Invariants
//!
//! 1. `version` changes exactly when a value is published (`send`, `send_replace`,
//!    `send_modify`, a `send_if_modified` whose closure returned true); a receiver has an
//!    unseen value iff its `seen` differs from it. `mark_changed` sets `seen` to a number the
//!    version does not have, `mark_unchanged` to the version.
//! 2. Every publication, and the drop of the last sender, is followed by
//!    `changed.notify_waiters()` *after* the value's borrow ends, so every waiting `changed()`
//!    re-checks (see `sync/until.rs` for why none is lost).
//! 3. `changed()` reports an unseen value before it reports the close: a receiver always gets
//!    to see the last value sent.
//! 4. `Ref`s are `RefCell` borrows. Holding one across a send makes the send panic (tokio's
//!    lock would deadlock instead); the docs say to keep them short, as tokio's do. User code
//!    runs under the value's borrow only where tokio runs it under its lock: the closures of
//!    `send_modify`, `send_if_modified` and `wait_for`.
//! 5. **Budget.** `changed()`, `wait_for()` and `closed()` spend one unit when they complete.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

use super::Notify;
use super::until::until;

pub mod error {
    //! The errors of [`watch`](super).

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

    /// Every sender is gone (and, for `changed()`, the last value was already seen).
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub struct RecvError(pub(crate) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}
}

use error::{RecvError, SendError};

struct Shared<T> {
    value: RefCell<T>,
    /// Bumped (wrapping) by every publication (invariant 1).
    version: Cell<u64>,
    senders: Cell<usize>,
    receivers: Cell<usize>,
    /// Receivers waiting in `changed()` / `wait_for()`.
    changed: Notify,
    /// Senders waiting in `closed()` for the last receiver to drop.
    closed: Notify,
}

impl<T> Shared<T> {
    fn publish(&self) {
        self.version.set(self.version.get().wrapping_add(1));
        self.changed.notify_waiters();
    }

    fn sender_gone(&self) -> bool {
        self.senders.get() == 0
    }
}

/// Creates a watch channel holding `init`; receivers start having seen it.
///
/// ```
/// use evloop::sync::watch;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = watch::channel("starting");
///     let watcher = evloop::spawn(async move {
///         let mut seen = Vec::new();
///         while rx.changed().await.is_ok() {
///             seen.push(*rx.borrow_and_update());
///         }
///         seen
///     });
///     evloop::task::yield_now().await;
///     tx.send("running").unwrap();
///     evloop::task::yield_now().await;
///     tx.send("stopping").unwrap();
///     tx.send("stopped").unwrap(); // overwrites "stopping" before the watcher looks
///     drop(tx);
///     assert_eq!(watcher.await.unwrap(), ["running", "stopped"]);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let sender = Sender::new(init);
    let receiver = sender.subscribe();
    (sender, receiver)
}

/// A borrow of the value in a watch channel, from `borrow()` and friends.
///
/// It holds the value's `RefCell` borrow: sending while a `Ref` is alive panics, so keep it
/// short and never hold it across an `.await`.
///
/// ```
/// use evloop::sync::watch;
///
/// let (tx, mut rx) = watch::channel(1);
/// tx.send(2).unwrap();
/// {
///     let value = rx.borrow_and_update();
///     assert_eq!(*value, 2);
///     assert!(value.has_changed()); // it had not been seen before this borrow
/// } // the borrow ends here, before the next send
/// tx.send(3).unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Ref<'a, T> {
    inner: std::cell::Ref<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether the value was unseen by the receiver when it was borrowed (always false for a
    /// [`Sender::borrow`] and [`Receiver::borrow`] of a seen value).
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

/// The sending half: publishes new values and wakes every waiting receiver. Cloneable; the
/// channel closes for the receivers when the last sender drops.
///
/// ```
/// use evloop::sync::watch;
///
/// let tx = watch::Sender::new(vec![1]);
/// let rx = tx.subscribe();
/// tx.send_modify(|list| list.push(2)); // in place, no new allocation
/// assert!(rx.has_changed().unwrap());
/// assert_eq!(*rx.borrow(), [1, 2]);
/// ```
pub struct Sender<T> {
    shared: Rc<Shared<T>>,
}

impl<T> Sender<T> {
    /// A sender with no receiver yet; [`subscribe`](Sender::subscribe) makes them.
    pub fn new(init: T) -> Sender<T> {
        Sender {
            shared: Rc::new(Shared {
                value: RefCell::new(init),
                version: Cell::new(0),
                senders: Cell::new(1),
                receivers: Cell::new(0),
                changed: Notify::new(),
                closed: Notify::new(),
            }),
        }
    }

    /// Publishes `value` and wakes the waiting receivers, or hands it back in
    /// [`SendError`] if there is no receiver (then the value is not stored).
    ///
    /// # Panics
    ///
    /// Panics if a [`Ref`] of this channel is alive.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.receivers.get() == 0 {
            return Err(SendError(value));
        }
        drop(self.send_replace(value));
        Ok(())
    }

    /// Publishes `value` even if no receiver exists, and returns the previous value.
    ///
    /// # Panics
    ///
    /// Panics if a [`Ref`] of this channel is alive.
    pub fn send_replace(&self, value: T) -> T {
        let old = self.shared.value.replace(value);
        self.shared.publish();
        old
    }

    /// Changes the value in place with `modify` and publishes it (even with no receiver).
    ///
    /// # Panics
    ///
    /// Panics if a [`Ref`] of this channel is alive, or if `modify` touches the channel's
    /// value. If `modify` panics, the panic goes on and nothing is published.
    pub fn send_modify<F: FnOnce(&mut T)>(&self, modify: F) {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Changes the value in place with `modify`, and publishes it only if `modify` returns
    /// true (say, when something actually changed). Returns what `modify` returned.
    ///
    /// ```
    /// use evloop::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(5);
    /// assert!(!tx.send_if_modified(|value| std::mem::replace(value, 5) != 5));
    /// assert!(!rx.has_changed().unwrap());
    /// assert!(tx.send_if_modified(|value| std::mem::replace(value, 6) != 6));
    /// assert!(rx.has_changed().unwrap());
    /// ```
    ///
    /// # Panics
    ///
    /// As for [`send_modify`](Sender::send_modify).
    pub fn send_if_modified<F: FnOnce(&mut T) -> bool>(&self, modify: F) -> bool {
        let modified = modify(&mut self.shared.value.borrow_mut());
        if modified {
            self.shared.publish();
        }
        modified
    }

    /// The current value; does not mark anything seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            inner: self.shared.value.borrow(),
            has_changed: false,
        }
    }

    /// A new receiver that has seen the current value. If every receiver had dropped, this
    /// reopens the channel for `send`.
    pub fn subscribe(&self) -> Receiver<T> {
        let shared = &self.shared;
        shared.receivers.set(shared.receivers.get() + 1);
        Receiver {
            shared: shared.clone(),
            seen: Cell::new(shared.version.get()),
        }
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.get()
    }

    /// How many senders exist (clones included).
    pub fn sender_count(&self) -> usize {
        self.shared.senders.get()
    }

    /// True when no receiver exists: `send` would fail.
    pub fn is_closed(&self) -> bool {
        self.shared.receivers.get() == 0
    }

    /// Completes when no receiver exists (at once if none does now).
    ///
    /// ```
    /// use evloop::sync::watch;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, rx) = watch::channel(());
    ///     evloop::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.is_closed());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn closed(&self) {
        let shared = &*self.shared;
        until(&shared.closed, move || {
            (shared.receivers.get() == 0).then_some(())
        })
        .await
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Sender<T> {
    /// Waiter nodes stored in the channel's `Notify`s: zero when no future waits (a leak shows
    /// up here).
    #[cfg(test)]
    pub(crate) fn stored_waiters(&self) -> usize {
        self.shared.changed.stored_waiters() + self.shared.closed.stored_waiters()
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
        if shared.sender_gone() {
            shared.changed.notify_waiters();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("version", &self.shared.version.get())
            .field("receivers", &self.shared.receivers.get())
            .finish_non_exhaustive()
    }
}

/// The receiving half: reads the latest value and waits for the next. Cloning makes a
/// receiver that has seen what this one has.
///
/// ```
/// use evloop::sync::watch;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = watch::channel(0);
///     tx.send(1).unwrap();
///     rx.changed().await.unwrap(); // 1 is new to this receiver
///     assert_eq!(*rx.borrow_and_update(), 1);
///     drop(tx);
///     assert!(rx.changed().await.is_err(), "seen everything, and no sender is left");
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Receiver<T> {
    shared: Rc<Shared<T>>,
    /// The version this receiver last saw (invariant 1).
    ///
    /// A `Cell`, so that a waiting `changed()` holds only a shared borrow of the receiver:
    /// a task suspended in it keeps no `&mut` into its own state.
    seen: Cell<u64>,
}

impl<T> Receiver<T> {
    /// The current value, without marking it seen: [`changed`](Receiver::changed) may still
    /// complete at once for it.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            inner: self.shared.value.borrow(),
            has_changed: self.seen.get() != self.shared.version.get(),
        }
    }

    /// The current value, marking it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let version = self.shared.version.get();
        let has_changed = self.seen.replace(version) != version;
        Ref {
            inner: self.shared.value.borrow(),
            has_changed,
        }
    }

    /// Whether a value this receiver has not seen was published. Fails with [`RecvError`]
    /// once every sender is gone (even if a value is unseen; `changed()` still returns it).
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        if self.shared.sender_gone() {
            return Err(RecvError(()));
        }
        Ok(self.seen.get() != self.shared.version.get())
    }

    /// Makes the current value count as unseen: `has_changed` returns true and `changed()`
    /// completes at once.
    pub fn mark_changed(&mut self) {
        self.seen.set(self.shared.version.get().wrapping_sub(1));
    }

    /// Makes the current value count as seen.
    pub fn mark_unchanged(&mut self) {
        self.seen.set(self.shared.version.get());
    }

    /// Waits until a value this receiver has not seen is published, and marks it seen (read
    /// it with [`borrow`](Receiver::borrow)). Fails with [`RecvError`] when every sender is
    /// gone and the last value was seen.
    ///
    /// Cancel safety: yes; dropping the future marks nothing seen.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        let (shared, seen) = (&*self.shared, &self.seen);
        until(&shared.changed, move || {
            let version = shared.version.get();
            if seen.replace(version) != version {
                Some(Ok(()))
            } else if shared.sender_gone() {
                Some(Err(RecvError(())))
            } else {
                None
            }
        })
        .await
    }

    /// Waits until the value satisfies `condition`, checking the current value first, and
    /// returns a borrow of it (marked seen). Fails with [`RecvError`] if every sender is gone
    /// and `condition` is false for the last value.
    ///
    /// `condition` runs while the value is borrowed; it must not send on this channel.
    ///
    /// ```
    /// use evloop::sync::watch;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, mut rx) = watch::channel(0);
    ///     evloop::spawn(async move {
    ///         for i in 1..=5 {
    ///             tx.send(i).unwrap();
    ///             evloop::task::yield_now().await;
    ///         }
    ///     });
    ///     assert_eq!(*rx.wait_for(|n| *n >= 3).await.unwrap(), 3);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn wait_for(
        &mut self,
        mut condition: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let (shared, seen) = (&*self.shared, &self.seen);
        let mut first = true;
        let ready = until(&shared.changed, move || {
            let version = shared.version.get();
            let has_changed = seen.get() != version;
            // The current value first, then each new one once (a wake-up without a new value,
            // such as the close, does not call `condition` again).
            if first || has_changed {
                first = false;
                seen.set(version);
                if condition(&shared.value.borrow()) {
                    return Some(Ok(has_changed));
                }
            }
            if shared.sender_gone() {
                Some(Err(RecvError(())))
            } else {
                None
            }
        })
        .await;
        ready.map(|has_changed| Ref {
            inner: shared.value.borrow(),
            has_changed,
        })
    }

    /// True if both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.receivers.set(self.shared.receivers.get() + 1);
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen.clone(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.receivers.set(shared.receivers.get() - 1);
        if shared.receivers.get() == 0 {
            shared.closed.notify_waiters();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("seen", &self.seen.get())
            .field("version", &self.shared.version.get())
            .finish_non_exhaustive()
    }
}
