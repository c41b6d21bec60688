//! `Semaphore`: a count of permits, handed out first come, first served.
//!
//! State: the permits nobody holds (the *pool*), a closed flag, and a [`WaitList`] of waiting
//! acquires, each with the number of permits it still lacks. Permits that come back (a guard
//! dropped, `add_permits`, a cancelled acquire) are assigned to the head of the queue first,
//! even partially: a request for 5 at the head collects permits as they return and holds them
//! until it has all 5, so later requests for 1 cannot overtake it.
//!
//! # Invariants
//!
//! 1. **No idle permit while someone waits.** After every operation, if a waiter is linked the
//!    pool is empty: returning permits runs [`State::assign`], which moves pool permits to the
//!    queue's head until the pool or the queue is empty.
//! 2. **FIFO.** A new acquire takes the fast path only when nobody is queued; otherwise it
//!    queues behind. Only the head is assigned permits, so waiters complete in queue order.
//! 3. **Conservation.** Every permit is in exactly one place: the pool, a waiter's partial
//!    assignment (`n - needed`), a granted-but-unpolled waiter, or a guard. A waiter that is
//!    dropped gives back everything assigned to it (to the next waiters, by invariant 1), so a
//!    cancelled acquire leaks nothing and a grant that arrives just before the drop is passed
//!    on rather than lost. `forget` and `forget_permits` are the only ways permits leave.
//! 6. The pool never exceeds [`Semaphore::MAX_PERMITS`] through `new` or `add_permits` (they
//!    panic first); permits coming back from guards are never refused (a destructor must not
//!    panic), they only return what was taken.
//! 4. **Outcome of an unlinked waiter.** `needed == 0`: granted; `needed > 0`: the semaphore
//!    was closed (close unlinks every waiter). A waiter granted before a close still completes
//!    with its permits.
//! 5. Wakers are woken one at a time after the `RefCell` borrow ends.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::wait_list::{WaitKey, WaitList};
use crate::coop;

/// A count of permits with FIFO-fair waiting: the `Semaphore` limits how many tasks do
/// something at once.
///
/// [`acquire`](Semaphore::acquire) returns a [`SemaphorePermit`], a guard that gives its
/// permits back when dropped. Waiting acquires are served strictly in arrival order, and a large
/// request at the head of the queue is not overtaken by later small ones.
/// [`acquire_owned`](Semaphore::acquire_owned) takes an `Rc<Semaphore>` and returns an
/// [`OwnedSemaphorePermit`] that can move into a spawned task.
///
/// `Semaphore` is local to the runtime's thread (`!Sync`): share it with `Rc` or a borrow.
///
/// ```
/// use std::rc::Rc;
/// use std::cell::Cell;
/// use evloop::sync::Semaphore;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let limit = Rc::new(Semaphore::new(2));
///     let running = Rc::new(Cell::new(0));
///     let tasks: Vec<_> = (0..6)
///         .map(|_| {
///             let (limit, running) = (limit.clone(), running.clone());
///             evloop::spawn(async move {
///                 let _permit = limit.acquire().await.unwrap();
///                 running.set(running.get() + 1);
///                 assert!(running.get() <= 2);
///                 evloop::task::yield_now().await;
///                 running.set(running.get() - 1);
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(limit.available_permits(), 2);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Semaphore {
    state: RefCell<State>,
}

struct State {
    /// Permits held by nobody. Zero whenever a waiter is linked (invariant 1).
    permits: usize,
    /// Set once by `close`; from then on acquires fail.
    closed: bool,
    waiters: WaitList<Waiter>,
}

struct Waiter {
    /// Permits this waiter still lacks; it was assigned `n - needed` so far.
    needed: usize,
    /// Taken and woken when the waiter is granted its permits or the semaphore closes.
    waker: Option<Waker>,
}

/// The error of [`Semaphore::acquire`]: the semaphore was closed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Debug for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AcquireError(Closed)")
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// The error of [`Semaphore::try_acquire`] and its variants.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are free right now (or others are already waiting for them).
    NoPermits,
}

impl TryAcquireError {
    /// True if the semaphore was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, TryAcquireError::Closed)
    }

    /// True if there were not enough permits.
    pub fn is_no_permits(&self) -> bool {
        matches!(self, TryAcquireError::NoPermits)
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl State {
    /// Moves pool permits to the head of the queue; unlinks the head and returns its waker if
    /// that completed it. Call until it returns `None` (invariant 1).
    fn assign(&mut self) -> Option<Waker> {
        let key = self.waiters.front()?;
        let waiter = self.waiters.get_mut(key);
        let given = waiter.needed.min(self.permits);
        waiter.needed -= given;
        self.permits -= given;
        if waiter.needed > 0 {
            return None;
        }
        let waker = waiter.waker.take();
        self.waiters.unlink(key);
        // A waiter without a waker cannot exist (one is stored at push), but an empty slot
        // must not end the loop early.
        Some(waker.unwrap_or_else(|| Waker::noop().clone()))
    }
}

impl Semaphore {
    /// The most permits a semaphore may hold: `usize::MAX >> 3`, as in tokio, so code that
    /// checks against it ports unchanged.
    ///
    /// ```
    /// use evloop::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(Semaphore::MAX_PERMITS);
    /// assert_eq!(semaphore.available_permits(), usize::MAX >> 3);
    /// ```
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    ///
    /// Panics if `permits` exceeds [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    pub fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= Semaphore::MAX_PERMITS,
            "Semaphore::new: {permits} permits exceed Semaphore::MAX_PERMITS"
        );
        Semaphore {
            state: RefCell::new(State {
                permits,
                closed: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Permits nobody holds right now. While tasks wait this is zero (waiters collect returned
    /// permits first).
    pub fn available_permits(&self) -> usize {
        self.state.borrow().permits
    }

    /// Adds `n` permits, serving waiters in order first.
    ///
    /// # Panics
    ///
    /// Panics if the free permits would exceed [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    pub fn add_permits(&self, n: usize) {
        {
            let state = self.state.borrow();
            assert!(
                n <= Semaphore::MAX_PERMITS - state.permits,
                "Semaphore::add_permits: adding {n} to {} free permits exceeds \
                 Semaphore::MAX_PERMITS",
                state.permits
            );
        }
        self.release(n);
    }

    /// Gives back `n` permits that were taken from this semaphore (a guard's drop, a cancelled
    /// acquire) and serves waiters in order. Never panics (invariant 6): at most what was
    /// taken comes back.
    fn release(&self, n: usize) {
        // Even with `n == 0` the queue is looked at: a cancelled head that held nothing may
        // leave a request for zero permits at the front, which is served now.
        {
            let mut state = self.state.borrow_mut();
            state.permits = state.permits.saturating_add(n);
        }
        self.wake_granted();
    }

    /// Removes up to `n` free permits for good and returns how many it removed (fewer if fewer
    /// are free; permits held by guards are not touched). Use it to shrink a semaphore.
    ///
    /// ```
    /// use evloop::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(5);
    /// let held = semaphore.try_acquire_many(2).unwrap();
    /// assert_eq!(semaphore.forget_permits(4), 3); // only 3 were free
    /// assert_eq!(semaphore.available_permits(), 0);
    /// drop(held); // held permits still come back
    /// assert_eq!(semaphore.available_permits(), 2);
    /// ```
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut state = self.state.borrow_mut();
        let forgotten = n.min(state.permits);
        state.permits -= forgotten;
        forgotten
    }

    /// Closes the semaphore: waiting and future acquires fail with [`AcquireError`]. Permits
    /// already held stay valid and still come back on drop; waiters that had been granted their
    /// permits before the close still get them.
    ///
    /// ```
    /// use evloop::sync::Semaphore;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let semaphore = Semaphore::new(1);
    ///     semaphore.close();
    ///     assert!(semaphore.acquire().await.is_err());
    ///     assert!(semaphore.try_acquire().unwrap_err().is_closed());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(&self) {
        self.state.borrow_mut().closed = true;
        loop {
            let waker = {
                let mut state = self.state.borrow_mut();
                match state.waiters.pop_front() {
                    Some(key) => state.waiters.get_mut(key).waker.take(),
                    None => break,
                }
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// True once [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.state.borrow().closed
    }

    /// Waits for one permit. See [`acquire_many`](Semaphore::acquire_many).
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits until `n` permits are free and this request is at the head of the queue, then
    /// returns a guard holding them.
    ///
    /// The first poll takes a place in the queue; if the semaphore is closed meanwhile (or was
    /// already), the result is [`AcquireError`].
    ///
    /// Cancel safety: dropping the future gives back every permit assigned to it so far and
    /// lets the next waiter proceed; it loses only its own place in the queue.
    ///
    /// ```
    /// use evloop::sync::Semaphore;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let semaphore = Semaphore::new(5);
    ///     let permit = semaphore.acquire_many(3).await.unwrap();
    ///     assert_eq!(semaphore.available_permits(), 2);
    ///     drop(permit);
    ///     assert_eq!(semaphore.available_permits(), 5);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn acquire_many(&self, n: u32) -> Acquire<'_> {
        self.acquire_many_usize(n as usize)
    }

    /// [`acquire_many`](Semaphore::acquire_many) for a count that may not fit a `u32` (the
    /// bounded channel's `reserve_many`).
    pub(crate) fn acquire_many_usize(&self, n: usize) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            wait: Wait::new(n),
        }
    }

    /// Takes one permit if it is free now and nobody waits.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free now and nobody waits (waiters come first).
    ///
    /// ```
    /// use evloop::sync::{Semaphore, TryAcquireError};
    ///
    /// let semaphore = Semaphore::new(2);
    /// let two = semaphore.try_acquire_many(2).unwrap();
    /// assert_eq!(semaphore.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    /// drop(two);
    /// assert!(semaphore.try_acquire().is_ok());
    /// ```
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many_usize(n as usize)
    }

    /// [`try_acquire_many`](Semaphore::try_acquire_many) for a count that may not fit a `u32`.
    pub(crate) fn try_acquire_many_usize(
        &self,
        n: usize,
    ) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let permits = self.try_take(n)?;
        Ok(SemaphorePermit {
            semaphore: self,
            permits,
        })
    }

    /// Like [`acquire`](Semaphore::acquire), but the permit holds an `Rc` of the semaphore
    /// instead of a borrow, so it can move into a spawned task.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use evloop::sync::Semaphore;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let semaphore = Rc::new(Semaphore::new(1));
    ///     let permit = semaphore.clone().acquire_owned().await.unwrap();
    ///     let task = evloop::spawn(async move {
    ///         let _permit = permit; // released when the task ends
    ///     });
    ///     task.await.unwrap();
    ///     assert_eq!(semaphore.available_permits(), 1);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn acquire_owned(self: Rc<Self>) -> AcquireOwned {
        self.acquire_many_owned(1)
    }

    /// Like [`acquire_many`](Semaphore::acquire_many), with an owned permit.
    pub fn acquire_many_owned(self: Rc<Self>, n: u32) -> AcquireOwned {
        AcquireOwned {
            semaphore: self,
            wait: Wait::new(n as usize),
        }
    }

    /// Like [`try_acquire`](Semaphore::try_acquire), with an owned permit.
    pub fn try_acquire_owned(self: Rc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Like [`try_acquire_many`](Semaphore::try_acquire_many), with an owned permit.
    pub fn try_acquire_many_owned(
        self: Rc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        let permits = self.try_take(n as usize)?;
        Ok(OwnedSemaphorePermit {
            semaphore: self,
            permits,
        })
    }

    fn try_take(&self, n: usize) -> Result<usize, TryAcquireError> {
        let mut state = self.state.borrow_mut();
        if state.closed {
            Err(TryAcquireError::Closed)
        } else if state.waiters.is_empty() && state.permits >= n {
            state.permits -= n;
            Ok(n)
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    /// Wakes, one borrow at a time, every waiter that returned permits complete.
    fn wake_granted(&self) {
        loop {
            let waker = self.state.borrow_mut().assign();
            match waker {
                Some(waker) => waker.wake(),
                None => break,
            }
        }
    }
}

impl Semaphore {
    /// Waiter nodes stored, served or not: zero when no future waits (a leak shows up here).
    #[cfg(test)]
    pub(crate) fn stored_waiters(&self) -> usize {
        self.state.borrow().waiters.stored()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Semaphore")
            .field("permits", &state.permits)
            .field("waiters", &state.waiters.len())
            .field("closed", &state.closed)
            .finish()
    }
}

/// The waiting state shared by [`Acquire`] and [`AcquireOwned`].
#[derive(Debug)]
struct Wait {
    /// Permits asked for.
    n: usize,
    /// Our node while we are queued (or granted and not yet polled since).
    key: Option<WaitKey>,
    /// Set when the future returned `Ready`; polling again is a bug of the caller.
    done: bool,
}

impl Wait {
    fn new(n: usize) -> Wait {
        Wait {
            n,
            key: None,
            done: false,
        }
    }

    /// Polls for `n` permits; `Ready(Ok(()))` hands them to the caller's guard.
    fn poll(
        &mut self,
        semaphore: &Semaphore,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        assert!(
            !self.done,
            "semaphore acquire future polled after completion"
        );
        let coop = std::task::ready!(coop::poll_proceed(cx));
        let mut state = semaphore.state.borrow_mut();
        let result = match self.key {
            None => {
                if state.closed {
                    Err(AcquireError(()))
                } else if state.waiters.is_empty() && state.permits >= self.n {
                    state.permits -= self.n;
                    Ok(())
                } else {
                    // Invariant 1: if others wait the pool is empty, so this takes something
                    // only when we become the head.
                    let given = state.permits.min(self.n);
                    state.permits -= given;
                    self.key = Some(state.waiters.push_back(Waiter {
                        needed: self.n - given,
                        waker: Some(cx.waker().clone()),
                    }));
                    return Poll::Pending;
                }
            }
            Some(key) => {
                if state.waiters.is_linked(key) {
                    let waiter = state.waiters.get_mut(key);
                    match &waiter.waker {
                        Some(waker) if waker.will_wake(cx.waker()) => {}
                        _ => waiter.waker = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
                self.key = None;
                let waiter = state.waiters.remove(key);
                if waiter.needed == 0 {
                    Ok(())
                } else {
                    // Closed (invariant 4): the partial assignment goes back to the pool,
                    // where nobody waits any more.
                    state.permits += self.n - waiter.needed;
                    Err(AcquireError(()))
                }
            }
        };
        self.done = true;
        coop.made_progress();
        Poll::Ready(result)
    }

    /// Leaves the queue and gives back whatever was assigned (invariant 3).
    fn cancel(&mut self, semaphore: &Semaphore) {
        let Some(key) = self.key.take() else {
            return;
        };
        let assigned = {
            let mut state = semaphore.state.borrow_mut();
            let waiter = state.waiters.remove(key);
            self.n - waiter.needed
        };
        semaphore.release(assigned);
    }
}

/// The future returned by [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
#[must_use = "futures do nothing unless polled"]
pub struct Acquire<'a> {
    semaphore: &'a Semaphore,
    wait: Wait,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let semaphore = this.semaphore;
        this.wait.poll(semaphore, cx).map_ok(|()| SemaphorePermit {
            semaphore,
            permits: this.wait.n,
        })
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        self.wait.cancel(self.semaphore);
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("permits", &self.wait.n)
            .field("queued", &self.wait.key.is_some())
            .finish()
    }
}

/// The future returned by [`Semaphore::acquire_owned`] and [`Semaphore::acquire_many_owned`].
#[must_use = "futures do nothing unless polled"]
pub struct AcquireOwned {
    semaphore: Rc<Semaphore>,
    wait: Wait,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.wait
            .poll(&this.semaphore, cx)
            .map_ok(|()| OwnedSemaphorePermit {
                semaphore: this.semaphore.clone(),
                permits: this.wait.n,
            })
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        self.wait.cancel(&self.semaphore);
    }
}

impl fmt::Debug for AcquireOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireOwned")
            .field("permits", &self.wait.n)
            .field("queued", &self.wait.key.is_some())
            .finish()
    }
}

/// Permits borrowed from a [`Semaphore`]; they go back when the guard drops.
///
/// ```
/// use evloop::sync::Semaphore;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let slots = Semaphore::new(2);
///     let permit = slots.acquire().await.unwrap();
///     assert_eq!(slots.available_permits(), 1);
///     drop(permit);
///     assert_eq!(slots.available_permits(), 2);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "the permits are released as soon as the guard is dropped"]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
    permits: usize,
}

impl SemaphorePermit<'_> {
    /// Drops the guard without giving the permits back: they leave the semaphore for good
    /// (add them again with [`Semaphore::add_permits`]).
    ///
    /// ```
    /// use evloop::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(3);
    /// semaphore.try_acquire().unwrap().forget();
    /// assert_eq!(semaphore.available_permits(), 2);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Moves `other`'s permits into this guard; they go back together when it drops.
    ///
    /// ```
    /// use evloop::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(3);
    /// let mut permit = semaphore.try_acquire().unwrap();
    /// permit.merge(semaphore.try_acquire_many(2).unwrap());
    /// assert_eq!(permit.num_permits(), 3);
    /// ```
    ///
    /// # Panics
    ///
    /// Panics if the two guards come from different semaphores.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.semaphore, other.semaphore),
            "SemaphorePermit::merge: the permits come from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a new guard; `None` (and nothing changes) if this guard
    /// holds fewer than `n`.
    ///
    /// ```
    /// use evloop::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(3);
    /// let mut permit = semaphore.try_acquire_many(3).unwrap();
    /// let one = permit.split(1).unwrap();
    /// assert_eq!((permit.num_permits(), one.num_permits()), (2, 1));
    /// drop(one);
    /// assert_eq!(semaphore.available_permits(), 1);
    /// assert!(permit.split(5).is_none());
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(SemaphorePermit {
            semaphore: self.semaphore,
            permits: n,
        })
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// Permits of an `Rc<Semaphore>`; they go back when the guard drops. Being `'static`, the
/// guard can move into a spawned task.
///
/// At most `n` tasks at once, each holding its permit for its whole life:
///
/// ```
/// use std::rc::Rc;
/// use evloop::sync::Semaphore;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let limit = Rc::new(Semaphore::new(2));
///     let mut tasks = Vec::new();
///     for job in 0..5 {
///         let permit = limit.clone().acquire_owned().await.unwrap();
///         tasks.push(evloop::spawn(async move {
///             evloop::task::yield_now().await;
///             drop(permit); // the next job may start
///             job
///         }));
///     }
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(limit.available_permits(), 2);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "the permits are released as soon as the guard is dropped"]
pub struct OwnedSemaphorePermit {
    semaphore: Rc<Semaphore>,
    permits: usize,
}

impl OwnedSemaphorePermit {
    /// Drops the guard without giving the permits back (see [`SemaphorePermit::forget`]).
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &Rc<Semaphore> {
        &self.semaphore
    }

    /// Moves `other`'s permits into this guard (see [`SemaphorePermit::merge`]).
    ///
    /// # Panics
    ///
    /// Panics if the two guards come from different semaphores.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Rc::ptr_eq(&self.semaphore, &other.semaphore),
            "OwnedSemaphorePermit::merge: the permits come from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a new guard; `None` if this guard holds fewer than `n`
    /// (see [`SemaphorePermit::split`]).
    ///
    /// ```
    /// use std::rc::Rc;
    /// use evloop::sync::Semaphore;
    ///
    /// let semaphore = Rc::new(Semaphore::new(2));
    /// let mut permit = semaphore.clone().try_acquire_many_owned(2).unwrap();
    /// let one = permit.split(1).unwrap();
    /// drop(permit);
    /// assert_eq!(semaphore.available_permits(), 1);
    /// assert_eq!(one.num_permits(), 1);
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(OwnedSemaphorePermit {
            semaphore: self.semaphore.clone(),
            permits: n,
        })
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}
