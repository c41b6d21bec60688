//! `Notify`: wake one waiting task, or all of them, without sending a value.
//!
//! State: one stored permit (a `notify_one` that found nobody waiting), a count of
//! `notify_waiters` calls (the *epoch*), and a [`WaitList`] of waiting [`Notified`] futures,
//! each with its waker and, once served, which kind of notification it got.
//!
//! # Invariants
//!
//! 1. `notify_one` serves exactly one party: the oldest linked waiter, or (if none) the stored
//!    permit, which holds at most one notification however many calls arrive. `notify_last`
//!    is the same with the newest linked waiter.
//! 2. A waiter is served at most once: serving unlinks it, and only linked waiters are served.
//! 3. A waiter served by `notify_one` (or `notify_last`) that is dropped before it returns
//!    `Ready` passes the notification on the same way (to the next oldest, or newest, waiter,
//!    or to the permit), so a cancelled `notified()` never swallows a notification. A waiter served by `notify_waiters` passes nothing on:
//!    that call wakes whoever waits at that moment and stores nothing.
//! 4. A `Notified` created before a `notify_waiters` call completes at its first poll even if
//!    it was not yet waiting (it remembers the epoch at creation), so "create the future, check
//!    the condition, await" cannot miss a wake-up.
//! 5. Wakers are woken after the `RefCell` borrow ends, so a waker that calls back into this
//!    `Notify` finds it consistent.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::wait_list::{WaitKey, WaitList};
use crate::coop;

/// Wakes waiting tasks without passing a value: a building block for "something changed, go
/// look".
///
/// [`notify_one`](Notify::notify_one) wakes the oldest waiter, or stores a single permit that
/// the next [`notified`](Notify::notified) consumes at once (so a notification sent just before
/// the waiter starts waiting is not lost). [`notify_waiters`](Notify::notify_waiters) wakes
/// every current waiter and stores nothing. Waiters are served in the order they started to
/// wait.
///
/// `Notify` is local to the runtime's thread: it is `!Sync`, so it is shared between tasks
/// through an `Rc` (or a borrow), not an `Arc`.
///
/// ```
/// use std::rc::Rc;
/// use evloop::sync::Notify;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let notify = Rc::new(Notify::new());
///     let waiter = evloop::spawn({
///         let notify = notify.clone();
///         async move {
///             notify.notified().await;
///             "woken"
///         }
///     });
///     notify.notify_one();
///     assert_eq!(waiter.await.unwrap(), "woken");
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Notify {
    state: RefCell<State>,
}

struct State {
    /// Set by a `notify_one` that found no waiter; taken by the next `notified()`.
    permit: bool,
    /// How many times `notify_waiters` has been called (wrapping).
    epoch: u64,
    waiters: WaitList<Waiter>,
}

struct Waiter {
    /// Taken (and woken) by whoever serves the waiter.
    waker: Option<Waker>,
    /// `None` while waiting; what served the waiter once it is unlinked.
    served: Option<Notification>,
    /// The epoch when the waiter started waiting: `notify_waiters` serves only waiters from
    /// before its call, even if a waker registers new ones while it runs.
    epoch: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Notification {
    /// `notify_one`: passed on to the oldest waiter if dropped unconsumed.
    One,
    /// `notify_last`: passed on to the newest waiter if dropped unconsumed.
    Last,
    /// `notify_waiters`: passed on to nobody.
    All,
}

impl Notify {
    /// A `Notify` with no stored permit and no waiters.
    pub fn new() -> Notify {
        Notify {
            state: RefCell::new(State {
                permit: false,
                epoch: 0,
                waiters: WaitList::new(),
            }),
        }
    }

    /// A future that completes when this `Notify` is notified.
    ///
    /// It completes at once if a permit is stored (consuming it), or if
    /// [`notify_waiters`](Notify::notify_waiters) was called after the future was created.
    /// Otherwise it waits in line: the first poll takes its place in the queue.
    ///
    /// Cancel safety: dropping a waiting `Notified` leaves the queue in order; if it had
    /// already been chosen by `notify_one`, the notification goes to the next waiter (or is
    /// stored), so nothing is lost.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            epoch: self.state.borrow().epoch,
            stage: Stage::Init,
        }
    }

    /// Wakes the oldest waiting [`Notified`]; if none waits, stores one permit for the next
    /// `notified()` (several calls with nobody waiting still store only one).
    ///
    /// ```
    /// use evloop::sync::Notify;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let notify = Notify::new();
    ///     notify.notify_one(); // nobody waits: the permit is stored
    ///     notify.notified().await; // and consumed here, without waiting
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn notify_one(&self) {
        self.notify_single(Notification::One);
    }

    /// Like [`notify_one`](Notify::notify_one), but wakes the *newest* waiting [`Notified`]
    /// (last in, first out); if none waits, stores the permit just as `notify_one` does.
    ///
    /// ```
    /// use std::pin::pin;
    /// use std::task::{Context, Waker};
    /// use std::future::Future;
    /// use evloop::sync::Notify;
    ///
    /// let notify = Notify::new();
    /// let mut first = pin!(notify.notified());
    /// let mut second = pin!(notify.notified());
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(first.as_mut().poll(&mut cx).is_pending());
    /// assert!(second.as_mut().poll(&mut cx).is_pending());
    /// notify.notify_last();
    /// assert!(second.as_mut().poll(&mut cx).is_ready());
    /// assert!(first.as_mut().poll(&mut cx).is_pending());
    /// ```
    pub fn notify_last(&self) {
        self.notify_single(Notification::Last);
    }

    /// Serves one waiter, the oldest (`One`) or the newest (`Last`), or stores the permit.
    fn notify_single(&self, how: Notification) {
        let waker = {
            let mut state = self.state.borrow_mut();
            let chosen = match how {
                Notification::Last => state.waiters.pop_back(),
                _ => state.waiters.pop_front(),
            };
            match chosen {
                Some(key) => {
                    let waiter = state.waiters.get_mut(key);
                    waiter.served = Some(how);
                    waiter.waker.take()
                }
                None => {
                    state.permit = true;
                    None
                }
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes every [`Notified`] that is waiting now, or that was created before this call;
    /// stores no permit, so later `notified()` calls wait for the next notification.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use evloop::sync::Notify;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let notify = Rc::new(Notify::new());
    ///     let waiters: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let notify = notify.clone();
    ///             evloop::spawn(async move { notify.notified().await })
    ///         })
    ///         .collect();
    ///     evloop::task::yield_now().await; // let them start waiting
    ///     notify.notify_waiters();
    ///     for waiter in waiters {
    ///         waiter.await.unwrap();
    ///     }
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn notify_waiters(&self) {
        let epoch = {
            let mut state = self.state.borrow_mut();
            let before = state.epoch;
            state.epoch = before.wrapping_add(1);
            before
        };
        // One waiter per borrow: no allocation, and a waker that calls back in finds the state
        // consistent. Waiters pushed while this runs carry the new epoch and are left alone.
        loop {
            let waker = {
                let mut state = self.state.borrow_mut();
                match state.waiters.front() {
                    Some(key) if state.waiters.get(key).epoch == epoch => {
                        state.waiters.unlink(key);
                        let waiter = state.waiters.get_mut(key);
                        waiter.served = Some(Notification::All);
                        waiter.waker.take()
                    }
                    _ => break,
                }
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl Notify {
    /// Waiter nodes stored, served or not: zero when no future waits (a leak shows up here).
    #[cfg(test)]
    pub(crate) fn stored_waiters(&self) -> usize {
        self.state.borrow().waiters.stored()
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Notify")
            .field("permit", &state.permit)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}

/// The future returned by [`Notify::notified`].
///
/// A `notify_one` with nobody waiting is kept as a permit, so a notification sent between
/// checking a condition and awaiting is not lost:
///
/// ```
/// use evloop::sync::Notify;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let notify = Notify::new();
///     notify.notify_one(); // before anyone waits
///     notify.notified().await; // completes at once, using the stored permit
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    /// `notify.epoch` when this future was created.
    epoch: u64,
    stage: Stage,
}

#[derive(Clone, Copy, Debug)]
enum Stage {
    /// Not polled yet: not in the queue.
    Init,
    /// In the queue (or served and not yet polled since).
    Waiting(WaitKey),
    /// Returned `Ready`.
    Done,
}

impl Notified<'_> {
    /// Takes this future's place in the queue without polling it, so a
    /// [`notify_one`](Notify::notify_one) from now on can choose it; polling does this too, so
    /// `enable` is for code that must register before its first poll. Returns true if the
    /// future is already notified: a stored permit was consumed, a
    /// [`notify_waiters`](Notify::notify_waiters) call came after its creation, or it was
    /// enabled before and has been chosen since. The next poll then completes at once.
    ///
    /// No waker is stored: whoever needs to be woken must still poll the future.
    ///
    /// ```
    /// use std::pin::pin;
    /// use evloop::sync::Notify;
    ///
    /// let notify = Notify::new();
    /// let mut notified = pin!(notify.notified());
    /// assert!(!notified.as_mut().enable()); // queued, not notified yet
    /// notify.notify_one(); // chooses the enabled future instead of storing a permit
    /// assert!(notified.as_mut().enable());
    /// ```
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        let mut state = this.notify.state.borrow_mut();
        match this.stage {
            Stage::Init => {
                if state.epoch != this.epoch || std::mem::take(&mut state.permit) {
                    this.stage = Stage::Done;
                    return true;
                }
                let epoch = state.epoch;
                let key = state.waiters.push_back(Waiter {
                    waker: None,
                    served: None,
                    epoch,
                });
                this.stage = Stage::Waiting(key);
                false
            }
            Stage::Waiting(key) => state.waiters.get(key).served.is_some(),
            Stage::Done => true,
        }
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = std::task::ready!(coop::poll_proceed(cx));
        let this = &mut *self;
        let mut state = this.notify.state.borrow_mut();
        match this.stage {
            Stage::Init => {
                if state.epoch != this.epoch || std::mem::take(&mut state.permit) {
                    this.stage = Stage::Done;
                    coop.made_progress();
                    return Poll::Ready(());
                }
                let epoch = state.epoch;
                let key = state.waiters.push_back(Waiter {
                    waker: Some(cx.waker().clone()),
                    served: None,
                    epoch,
                });
                this.stage = Stage::Waiting(key);
                Poll::Pending
            }
            Stage::Waiting(key) => {
                if state.waiters.get(key).served.is_some() {
                    let waiter = state.waiters.remove(key);
                    drop(state);
                    this.stage = Stage::Done;
                    drop(waiter);
                    coop.made_progress();
                    return Poll::Ready(());
                }
                let waiter = state.waiters.get_mut(key);
                match &waiter.waker {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => waiter.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            Stage::Done => {
                coop.made_progress();
                Poll::Ready(())
            }
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Stage::Waiting(key) = self.stage else {
            return;
        };
        let waiter = self.notify.state.borrow_mut().waiters.remove(key);
        // Invariant 3: a notify_one or notify_last that chose this waiter goes to the next one.
        match waiter.served {
            Some(how @ (Notification::One | Notification::Last)) => self.notify.notify_single(how),
            Some(Notification::All) | None => {}
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}
