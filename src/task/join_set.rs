//! `JoinSet`: a collection of spawned tasks whose results are taken in completion order.
//!
//! Each task of the set is spawned wrapped in a future that owns a [`ReportOnDrop`] guard.
//! The guard is dropped exactly once however the task ends: when the wrapped future returns,
//! when its poll panics (on the unwind, or when the executor drops the future after catching
//! the panic), or when the task is aborted or dropped with its runtime. Its destructor pushes
//! the task's key onto the set's [`ReadyQueue`] and wakes the task waiting in `join_next`.
//! `join_next` pops keys from that queue, so taking one result costs O(1) whatever the size
//! of the set, and results come out in the order the tasks finished (asyncio's
//! `as_completed`).
//!
//! # Invariants
//!
//! 1. A task's key enters the ready queue exactly once, when its guard fires; its entry
//!    leaves the set's slab exactly when `join_next` hands out its result. So every key in
//!    the queue names an entry of the slab, except after a `spawn` that panicked (no runtime)
//!    and dropped its guard unspawned; keys carry a per-set serial number (`TaskSerial`,
//!    never reused) so such a key, or one whose slab slot was reused, is recognised and
//!    skipped.
//! 2. The guard fires *before* the task's result is stored: during the task's last poll (the
//!    wrapper future returns, or unwinds) or while the executor drops the future (abort,
//!    shutdown, or after a caught panic). The wake it sends only queues the waiting task, which
//!    runs after the executor has stored the result, so `join_next` finds it in the handle. Were
//!    the waiter ever polled sooner, the handle would return `Pending` and wake it once the
//!    result is stored, and `join_next` puts the key back at the front of the queue.
//! 3. The ready queue and the waiter are only touched on the runtime's thread (the guard lives
//!    in a task, and tasks never leave that thread), so they are `RefCell`s in an `Rc`. No
//!    borrow of either is held across user code or a wake.
//! 4. Aborting a task only asks (see [`JoinHandle::abort`]; the [`AbortHandle`] that `spawn`
//!    returns does the same); the task stays in the set until `join_next` takes its result,
//!    a cancellation error.
//! 5. `detach_all` empties the slab and the ready queue; the guards of the detached tasks
//!    still report later, with serials no entry has, so they are skipped (invariant 1).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker, ready};

use slab::Slab;

use super::{AbortHandle, JoinError, JoinHandle};
use crate::coop;

/// Identifies one task of one set, for the set's lifetime: a serial number that is never reused,
/// unlike the slab key.
type TaskSerial = u64;

/// A set of tasks spawned on the current runtime, whose outputs are taken in the order the
/// tasks finish.
///
/// [`join_next`](Self::join_next) waits for the next task to finish and returns its result:
/// `Ok(output)`, or a [`JoinError`] if it panicked or was aborted. Dropping the set aborts
/// every task still in it.
///
/// ```
/// use std::time::Duration;
/// use evloop::task::JoinSet;
/// use evloop::time::sleep;
///
/// let rt = evloop::Runtime::new()?;
/// let order = rt.block_on(async {
///     let mut set = JoinSet::new();
///     for ms in [30u64, 10, 20] {
///         set.spawn(async move {
///             sleep(Duration::from_millis(ms)).await;
///             ms
///         });
///     }
///     let mut order = Vec::new();
///     while let Some(result) = set.join_next().await {
///         order.push(result.unwrap());
///     }
///     order
/// });
/// assert_eq!(order, [10, 20, 30]); // completion order
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct JoinSet<T> {
    /// Every task whose result `join_next` has not handed out yet.
    tasks: Slab<Entry<T>>,
    /// Shared with the guard inside each task.
    ready: Rc<ReadyQueue>,
    /// The serial number of the next task spawned.
    next_serial: TaskSerial,
}

struct Entry<T> {
    serial: TaskSerial,
    handle: JoinHandle<T>,
}

/// What the tasks of a set report to it.
#[derive(Default)]
struct ReadyQueue {
    /// Keys of finished tasks, in the order they finished.
    finished: RefCell<VecDeque<(usize, TaskSerial)>>,
    /// The task waiting in `join_next` for the queue to become non-empty.
    waiter: RefCell<Option<Waker>>,
}

/// Lives inside a task of the set; reports the task as finished when dropped.
struct ReportOnDrop {
    ready: Rc<ReadyQueue>,
    key: usize,
    serial: TaskSerial,
}

impl Drop for ReportOnDrop {
    fn drop(&mut self) {
        self.ready
            .finished
            .borrow_mut()
            .push_back((self.key, self.serial));
        // Take the waker out before waking it: no borrow across the wake (invariant 3).
        let waiter = self.ready.waiter.borrow_mut().take();
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    ///
    /// ```
    /// let set = evloop::task::JoinSet::<u32>::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> Self {
        JoinSet {
            tasks: Slab::new(),
            ready: Rc::default(),
            next_serial: 0,
        }
    }

    /// The number of tasks in the set: running, or finished but not yet taken by
    /// [`join_next`](Self::join_next).
    ///
    /// ```
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut set = evloop::task::JoinSet::new();
    ///     set.spawn(async { 1 });
    ///     set.spawn(async { 2 });
    ///     assert_eq!(set.len(), 2);
    ///     set.join_next().await;
    ///     assert_eq!(set.len(), 1);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True if the set holds no task: [`join_next`](Self::join_next) would return `None`.
    ///
    /// ```
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut set = evloop::task::JoinSet::new();
    ///     set.spawn(async {});
    ///     assert!(!set.is_empty());
    ///     set.join_next().await;
    ///     assert!(set.is_empty());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Spawns `future` as a new task on the current runtime and adds it to the set.
    ///
    /// The task runs whether or not anyone calls [`join_next`](Self::join_next); its result
    /// waits in the set until taken. Like [`spawn`](crate::spawn), the future need not be
    /// `Send`.
    ///
    /// ```
    /// let rt = evloop::Runtime::new()?;
    /// let sum = rt.block_on(async {
    ///     let mut set = evloop::task::JoinSet::new();
    ///     for i in 1..=4 {
    ///         set.spawn(async move { i * 10 });
    ///     }
    ///     let mut sum = 0;
    ///     while let Some(result) = set.join_next().await {
    ///         sum += result.unwrap();
    ///     }
    ///     sum
    /// });
    /// assert_eq!(sum, 100);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// Panics if called outside of an evloop runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        let entry = self.tasks.vacant_entry();
        let serial = self.next_serial;
        self.next_serial += 1;
        let report = ReportOnDrop {
            ready: self.ready.clone(),
            key: entry.key(),
            serial,
        };
        let handle = super::spawn(async move {
            // Dropped with this future, however the task ends (see the module docs).
            let _report = report;
            future.await
        });
        let abort = handle.abort_handle();
        entry.insert(Entry { serial, handle });
        abort
    }

    /// The same as [`spawn`](Self::spawn): every evloop task is local to its runtime's
    /// thread. For code written against tokio's `JoinSet::spawn_local`.
    ///
    /// # Panics
    ///
    /// Panics if called outside of an evloop runtime.
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.spawn(future)
    }

    /// The result of a task that has finished, without waiting: `None` if the set is empty
    /// or no task has finished yet. Results come in the order the tasks finished, as from
    /// [`join_next`](Self::join_next).
    ///
    /// ```
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut set = evloop::task::JoinSet::new();
    ///     set.spawn(async { 3 });
    ///     assert!(set.try_join_next().is_none()); // spawned, not run yet
    ///     evloop::task::yield_now().await;
    ///     assert_eq!(set.try_join_next().unwrap().unwrap(), 3);
    ///     assert!(set.try_join_next().is_none());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        loop {
            let (key, serial) = self.ready.finished.borrow_mut().pop_front()?;
            let entry = match self.tasks.get_mut(key) {
                Some(entry) if entry.serial == serial => entry,
                // A key of a task that was never spawned, or was detached (invariant 1).
                _ => continue,
            };
            let Some(result) = entry.handle.try_take_output() else {
                // Reported but not stored yet (invariant 2): keep its place for next time.
                self.ready.finished.borrow_mut().push_front((key, serial));
                return None;
            };
            self.tasks.remove(key);
            return Some(result);
        }
    }

    /// Waits for every task of the set and returns their outputs, in the order the tasks
    /// finished.
    ///
    /// # Panics
    ///
    /// If a task panicked, its panic is resumed here; if a task was aborted, this panics with
    /// the [`JoinError`]'s message. Either way the set is dropped first, which aborts the
    /// tasks still in it. Call [`join_next`](Self::join_next) in a loop to handle errors
    /// another way.
    ///
    /// ```
    /// let rt = evloop::Runtime::new()?;
    /// let mut outputs = rt.block_on(async {
    ///     let set: evloop::task::JoinSet<u32> = (1..=3).map(|i| async move { i * i }).collect();
    ///     set.join_all().await
    /// });
    /// outputs.sort();
    /// assert_eq!(outputs, [1, 4, 9]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn join_all(mut self) -> Vec<T> {
        let mut outputs = Vec::with_capacity(self.len());
        while let Some(result) = self.join_next().await {
            match result {
                Ok(output) => outputs.push(output),
                Err(error) => {
                    drop(self);
                    if error.is_panic() {
                        std::panic::resume_unwind(error.into_panic());
                    }
                    panic!("JoinSet::join_all: {error}");
                }
            }
        }
        outputs
    }

    /// Removes every task from the set without aborting it: each runs on, detached, as if
    /// its [`JoinHandle`] had been dropped, and its output is dropped when it finishes. The
    /// set is empty afterwards.
    ///
    /// ```
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, rx) = evloop::sync::oneshot::channel();
    ///     let mut set = evloop::task::JoinSet::new();
    ///     set.spawn(async move { tx.send(5).unwrap() });
    ///     set.detach_all();
    ///     assert!(set.is_empty());
    ///     drop(set); // does not abort the detached task
    ///     assert_eq!(rx.await.unwrap(), 5);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn detach_all(&mut self) {
        // Dropping a handle detaches its task. The keys of tasks that already finished go
        // too; keys reported later find no entry with their serial and are skipped.
        self.tasks.clear();
        self.ready.finished.borrow_mut().clear();
    }

    /// Waits for the next task of the set to finish and returns its result, or `None` if
    /// the set is empty.
    ///
    /// Results come in the order the tasks finished; a task that panicked or was aborted
    /// gives a [`JoinError`]. The task is removed from the set when its result is returned.
    /// Cancel-safe: if this future is dropped before it completes (for example by a
    /// [`timeout`](crate::time::timeout)), no result is lost.
    ///
    /// ```
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut set = evloop::task::JoinSet::new();
    ///     set.spawn(async { panic!("boom") });
    ///     let error = set.join_next().await.unwrap().unwrap_err();
    ///     assert!(error.is_panic());
    ///     assert!(set.join_next().await.is_none());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// The poll behind [`join_next`](Self::join_next), for hand-written futures: `Ready(None)`
    /// if the set is empty, `Ready(Some(result))` for the next finished task, else `Pending`
    /// (and `cx`'s waker is woken when a task finishes).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut set = evloop::task::JoinSet::new();
    ///     set.spawn(async { 7 });
    ///     let result = poll_fn(|cx| set.poll_join_next(cx)).await;
    ///     assert_eq!(result.unwrap().unwrap(), 7);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        loop {
            if self.tasks.is_empty() {
                // Done without waiting: spend a unit like any completed operation, so a loop
                // around `join_next` on an empty set yields too. (A result spends through the
                // task's `JoinHandle`.)
                ready!(coop::poll_spend(cx));
                return Poll::Ready(None);
            }
            let next = self.ready.finished.borrow_mut().pop_front();
            let Some((key, serial)) = next else {
                self.register_waiter(cx.waker());
                return Poll::Pending;
            };
            let entry = match self.tasks.get_mut(key) {
                Some(entry) if entry.serial == serial => entry,
                // A key of a task that was never spawned (invariant 1).
                _ => continue,
            };
            match Pin::new(&mut entry.handle).poll(cx) {
                Poll::Ready(result) => {
                    self.tasks.remove(key);
                    return Poll::Ready(Some(result));
                }
                Poll::Pending => {
                    // The cooperative budget is spent (the handle woke us), or the result is
                    // not stored yet (the handle will wake us): try this key first next time.
                    self.ready.finished.borrow_mut().push_front((key, serial));
                    return Poll::Pending;
                }
            }
        }
    }

    fn register_waiter(&self, waker: &Waker) {
        let mut waiter = self.ready.waiter.borrow_mut();
        match &*waiter {
            Some(current) if current.will_wake(waker) => {}
            _ => *waiter = Some(waker.clone()),
        }
    }

    /// Aborts every task in the set. The tasks stay in the set: [`join_next`](Self::join_next)
    /// returns their results, a cancellation error for each task that had not finished yet.
    ///
    /// Their futures are dropped on the runtime's thread before it next waits for I/O.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut set = evloop::task::JoinSet::new();
    ///     for _ in 0..3 {
    ///         set.spawn(evloop::time::sleep(Duration::from_secs(3600)));
    ///     }
    ///     set.abort_all();
    ///     assert_eq!(set.len(), 3);
    ///     while let Some(result) = set.join_next().await {
    ///         assert!(result.unwrap_err().is_cancelled());
    ///     }
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn abort_all(&mut self) {
        for (_, entry) in &self.tasks {
            entry.handle.abort();
        }
    }

    /// Aborts every task and waits until all have ended; the set is empty afterwards.
    ///
    /// The results are dropped, outputs of tasks that finished before the abort included.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut set = evloop::task::JoinSet::new();
    ///     set.spawn(evloop::time::sleep(Duration::from_secs(3600)));
    ///     set.shutdown().await;
    ///     assert!(set.is_empty());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

/// Spawns every future of the iterator into the set, as [`JoinSet::spawn`] does.
///
/// # Panics
///
/// Panics if called outside of an evloop runtime.
impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + 'static,
    T: 'static,
{
    #[track_caller]
    fn extend<I: IntoIterator<Item = F>>(&mut self, futures: I) {
        for future in futures {
            self.spawn(future);
        }
    }
}

/// A set of tasks, one spawned for every future of the iterator.
///
/// # Panics
///
/// Panics if called outside of an evloop runtime.
impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + 'static,
    T: 'static,
{
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = F>>(futures: I) -> Self {
        let mut set = JoinSet::new();
        set.extend(futures);
        set
    }
}

impl<T> Drop for JoinSet<T> {
    /// Aborts every task still in the set (their handles are then dropped: the tasks end as
    /// soon as the runtime next pops them).
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.tasks.len())
            .field("finished", &self.ready.finished.borrow().len())
            .finish()
    }
}
