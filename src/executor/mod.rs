//! The executor: the task slab, the run queue, and polling tasks, the `block_on` future among
//! them.
//!
//! The executor never touches mio. It reads the clock only through the slow-poll detector
//! (`slow_poll`), when it is enabled. It is driven by the loop in
//! [`runtime`](crate::runtime), which calls [`Executor::run_woken`] for the loop's step 1 and
//! [`Executor::drain_remote`] for its step 4; the only way onto the run queue is a wake (see
//! `waker` and `run_queue`).
//!
//! # Invariants
//!
//! 1. A task is polled only after a wake: its key is queued by the `IDLE → SCHEDULED` edge of
//!    its schedule state (or at spawn, which starts `SCHEDULED`), never by anything else.
//! 2. No `RefCell` borrow of the slab or the run queue is held while user code runs (a poll,
//!    a destructor, a wake of a foreign waker): user code may spawn, wake and drop freely.
//! 3. A task leaves the slab exactly when it completes (returns, panics, is cancelled, or the
//!    runtime shuts down), and its schedule state is `COMPLETE` from then on. Its name, if it
//!    has one, leaves the `names` table at the same moment.
//! 4. While a task is being polled its slab entry stays put: only `poll_task` (for the task it
//!    is polling, after the poll) and `shutdown` (from `Runtime`'s drop, which cannot happen
//!    inside `block_on`) remove entries, and `poll_task` never runs re-entrantly (a task cannot
//!    call `block_on`). So the slab's reference alone keeps a polled task's cell alive.

mod abort;
mod cell;
mod error;
mod id;
mod join;
#[cfg(all(test, loom))]
mod loom_tests;
pub(crate) mod main_task;
pub(crate) mod run_queue;
pub(crate) mod slow_poll;
pub(crate) mod state;
mod sync_shim;
pub(crate) mod waker;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use slab::Slab;

pub use self::abort::AbortHandle;
use self::cell::{ErasedTask, Header, TaskCell};
pub use self::error::JoinError;
pub use self::id::TaskId;
use self::id::TaskKey;
pub use self::join::JoinHandle;
use self::main_task::MAIN_INDEX;
pub(crate) use self::main_task::MainTask;
use self::run_queue::RunQueue;
pub(crate) use self::run_queue::Unpark;
use self::slow_poll::{SlowPollDetector, TaskDescription};
use crate::coop;
use crate::unwind::{self, FirstPanic};

/// Owns every spawned task of one runtime.
pub(crate) struct Executor {
    /// Live tasks. A slot is vacated when its task completes.
    tasks: RefCell<Slab<Arc<dyn ErasedTask>>>,
    /// Names of the live tasks spawned with one (most are not: the cell keeps only a flag).
    names: RefCell<HashMap<TaskId, Box<str>>>,
    /// Keys of woken tasks, in wake order; each live task appears at most once. Shared with
    /// the thread-local that routes same-thread wakes (see `run_queue`).
    run_queue: Rc<RunQueue>,
    /// Source of task ids; ids are never reused, which makes stale keys detectable.
    next_id: Cell<u64>,
    /// Times each poll when enabled (see `slow_poll`).
    slow_poll: Option<SlowPollDetector>,
}

/// A task's description as given to `spawn`: the spawn site (from `#[track_caller]`) and an
/// optional name.
pub(crate) struct TaskMeta {
    pub(crate) location: &'static Location<'static>,
    pub(crate) name: Option<Box<str>>,
}

impl Executor {
    pub(crate) fn new(unpark: Box<dyn Unpark>, slow_poll: Option<SlowPollDetector>) -> Self {
        Executor {
            tasks: RefCell::new(Slab::new()),
            names: RefCell::new(HashMap::new()),
            run_queue: Rc::new(RunQueue::new(unpark)),
            next_id: Cell::new(1),
            slow_poll,
        }
    }

    fn allocate_id(&self) -> TaskId {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        TaskId(id)
    }

    /// Adds a task and queues it for its first poll.
    ///
    /// # Panics
    ///
    /// Panics if `u32::MAX` tasks are alive at once (the slab index must fit a [`TaskKey`]).
    pub(crate) fn spawn<F>(&self, future: F, meta: TaskMeta) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let id = self.allocate_id();
        let cell = {
            let mut tasks = self.tasks.borrow_mut();
            let entry = tasks.vacant_entry();
            let index = u32::try_from(entry.key())
                .ok()
                .filter(|&index| index != MAIN_INDEX)
                .expect("evloop: more than 4 billion live tasks");
            let cell = Arc::new(TaskCell::new(
                future,
                (index, id),
                meta.location,
                meta.name.is_some(),
                self.run_queue.remote().clone(),
            ));
            entry.insert(cell.clone());
            self.run_queue.push(TaskKey::new(index, id));
            cell
        };
        if let Some(name) = meta.name {
            self.names.borrow_mut().insert(id, name);
        }
        JoinHandle::new(cell)
    }

    /// Starts a `block_on` call: `future` becomes the main task, queued for its first poll,
    /// and this executor's run queue becomes the thread's active one until the main task drops.
    ///
    /// Wakes that came from other threads since the last `block_on` are collected first, so
    /// those tasks are queued ahead of the main task and run in this call even if the future
    /// is ready at its first poll (tokio's `no_extra_poll`).
    pub(crate) fn start_main<'a, F: Future>(
        &self,
        future: Pin<&'a mut F>,
        location: &'static Location<'static>,
    ) -> MainTask<'a, F> {
        let active = self.run_queue.activate();
        self.run_queue.drain_remote();
        let main = MainTask::new(
            future,
            self.allocate_id(),
            self.run_queue.remote().clone(),
            location,
            active,
        );
        self.run_queue.push(main.key());
        main
    }

    /// The loop's step 1: polls woken tasks, the `block_on` future among them, in wake order,
    /// at most `polls` times, each under a fresh cooperative budget of `budget` operations.
    /// Stops early when the run queue is empty, or after a poll that spent its whole budget:
    /// that task is always ready (it re-queued itself), and I/O and timers go before it runs
    /// again. Returns the `block_on` future's output once it is ready.
    pub(crate) fn run_woken<F: Future>(
        &self,
        main: &mut MainTask<'_, F>,
        polls: u32,
        budget: u32,
    ) -> Poll<F::Output> {
        for _ in 0..polls {
            let Some(key) = self.next_key(main.key()) else {
                break;
            };
            let spent = if key.index == MAIN_INDEX {
                match self.poll_main(main, budget) {
                    (Poll::Ready(output), _) => return Poll::Ready(output),
                    (Poll::Pending, spent) => spent,
                }
            } else {
                coop::with_budget(budget, || self.poll_task(key)).1
            };
            if spent {
                break;
            }
        }
        Poll::Pending
    }

    /// Pops the next woken key, skipping keys of earlier `block_on` calls (main-task invariant 1).
    fn next_key(&self, main: TaskKey) -> Option<TaskKey> {
        loop {
            let key = self.run_queue.pop()?;
            if key.index != MAIN_INDEX || key == main {
                return Some(key);
            }
        }
    }

    /// True if tasks wait in the run queue: the loop must not block in its wait.
    pub(crate) fn has_woken_tasks(&self) -> bool {
        !self.run_queue.is_empty()
    }

    /// The loop's step 4: moves wakes that arrived from other threads onto the run queue.
    pub(crate) fn drain_remote(&self) {
        self.run_queue.drain_remote();
    }

    /// Polls the `block_on` future once, as `poll_task` polls a task: start, poll under a
    /// budget (timed if the detector is on), requeue if woken meanwhile, then report.
    /// Returns its poll and whether it spent its whole budget.
    fn poll_main<F: Future>(
        &self,
        main: &mut MainTask<'_, F>,
        budget: u32,
    ) -> (Poll<F::Output>, bool) {
        main.state().start_poll();
        let ((polled, spent), slow) = self.watch(|| coop::with_budget(budget, || main.poll()));
        if polled.is_pending() && main.state().end_poll_pending() {
            self.run_queue.push(main.key());
        }
        if let (Some(held), Some(detector)) = (slow, &self.slow_poll) {
            detector.report(main.describe(), held);
        }
        (polled, spent)
    }

    /// Polls the task `key` once, or cancels it if `abort` was called.
    fn poll_task(&self, key: TaskKey) {
        // A pointer, not a clone: the slab's own reference keeps the cell alive for this whole
        // call (invariant 4), and a clone would cost two atomic operations on every poll.
        let raw: *const dyn ErasedTask = match self.tasks.borrow().get(key.index as usize) {
            Some(task) if key.names(task.header().id) => Arc::as_ptr(task),
            // The key outlived its task (cannot happen by invariant 1, but is harmless).
            _ => return,
        };
        // SAFETY: invariant 4: the slab holds a strong reference to this cell until the
        // `remove` below, after which `task` is no longer used. The slab may reallocate while
        // the task runs (it spawns), which moves the `Arc`, never the cell it points to.
        let task = unsafe { &*raw };
        let header = task.header();
        header.state.start_poll();
        let mut slow = None;
        let finished = if header.cancel_requested() {
            task.cancel();
            true
        } else {
            let (polled, held) = self.poll_watched(task, raw.cast());
            slow = held;
            if polled.is_ready() {
                true
            } else if header.cancel_requested() {
                // The task aborted itself during this poll.
                task.cancel();
                true
            } else {
                false
            }
        };
        if finished {
            header.state.complete();
        } else if header.state.end_poll_pending() {
            self.run_queue.push(key);
        }
        let description = slow.map(|held| (self.describe(header), held));
        if finished {
            if header.is_named() {
                self.names.borrow_mut().remove(&header.id);
            }
            // Past this line `task` and `header` are not used: the slab's reference is gone.
            let removed = self.tasks.borrow_mut().remove(key.index as usize);
            // May be the last reference to the cell. Nothing user-defined is left in it to
            // panic (the future is gone; an output is kept only for a handle), but stay
            // defensive: the loop must not unwind.
            unwind::drop_quietly(removed);
        }
        // Report only now that the task's state is settled: the report is user code.
        if let (Some((task, held)), Some(detector)) = (description, &self.slow_poll) {
            detector.report(task, held);
        }
    }

    /// The task as reported to users: id, name and spawn site.
    fn describe(&self, header: &Header) -> TaskDescription {
        let name = if header.is_named() {
            self.names
                .borrow()
                .get(&header.id)
                .map(|name| name.to_string())
        } else {
            None
        };
        TaskDescription {
            id: header.id.0,
            name,
            location: header.location,
        }
    }

    /// Polls `task`, timed by the slow-poll detector if there is one; returns how long the
    /// poll took if it was slow.
    ///
    /// `this` is `task` as `Arc::as_ptr` gave it, on the slab's strong reference.
    fn poll_watched(&self, task: &dyn ErasedTask, this: *const ()) -> (Poll<()>, Option<Duration>) {
        // SAFETY: `this` comes from `Arc::as_ptr` on the slab's strong reference to `task`
        // (see `poll_task`), which outlives the call (invariant 4), so it has the provenance
        // `Arc::from_raw` needs.
        self.watch(|| unsafe { task.poll(this) })
    }

    /// Runs `poll`, timed by the slow-poll detector if there is one; returns how long it took
    /// if that was over the threshold.
    fn watch<R>(&self, poll: impl FnOnce() -> R) -> (R, Option<Duration>) {
        match &self.slow_poll {
            None => (poll(), None),
            Some(detector) => detector.watch(poll),
        }
    }

    /// Number of live (spawned, unfinished) tasks.
    pub(crate) fn live_tasks(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// Drops every live task's future, on this thread. Destructors may spawn or wake: tasks
    /// spawned meanwhile are dropped in the next round, until the slab stays empty.
    ///
    /// A future's destructor that panics gives its task a [`JoinError`]; a panic that has no
    /// task to go to (a foreign joiner's waker dropped with the cell) is kept in `panics`.
    pub(crate) fn shutdown(&self, panics: &mut FirstPanic) {
        loop {
            let drained: Vec<Arc<dyn ErasedTask>> = self.tasks.borrow_mut().drain().collect();
            if drained.is_empty() {
                break;
            }
            for task in drained {
                task.header().state.complete();
                // Contains its own panics (cell invariant 4).
                task.cancel();
                panics.catch(move || drop(task));
            }
        }
        self.run_queue.clear();
        self.names.borrow_mut().clear();
    }
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("live_tasks", &self.live_tasks())
            .field("woken", &self.run_queue.len())
            .finish()
    }
}
