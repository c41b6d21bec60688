//! The executor: the task slab, the run queue, and polling one task.
//!
//! The executor never touches mio or the clock. It is driven by the loop in
//! [`runtime`](crate::runtime), which pops keys with [`Executor::next_task`] and polls them with
//! [`Executor::poll_task`]; the only way onto the run queue is a wake (see [`waker`]).
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

mod cell;
mod join;
pub(crate) mod waker;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use slab::Slab;

use self::cell::{ErasedTask, Header, TaskCell};
pub use self::join::{JoinError, JoinHandle};
use self::waker::{MainWaker, Shared, TaskId, TaskKey, Unpark};
use crate::runtime::slow_poll::SlowPollDetector;
use crate::unwind::{self, FirstPanic};

/// Index used in the key of the future given to `block_on`, which lives on the caller's
/// stack rather than in the slab. No task's slab index reaches it (`spawn` checks).
const MAIN_INDEX: u32 = u32::MAX;

/// Owns every spawned task of one runtime.
pub(crate) struct Executor {
    /// Live tasks. A slot is vacated when its task completes.
    tasks: RefCell<Slab<Arc<dyn ErasedTask>>>,
    /// Names of the live tasks spawned with one (most are not: the cell keeps only a flag).
    names: RefCell<HashMap<TaskId, Box<str>>>,
    /// Keys of woken tasks, in wake order. Each live task appears at most once.
    run_queue: RefCell<VecDeque<TaskKey>>,
    /// The remote queue and the way to interrupt the reactor's wait.
    shared: Arc<Shared>,
    /// Source of task ids; ids are never reused, which makes stale keys detectable.
    next_id: Cell<u64>,
    /// Times each poll when enabled (see `runtime::slow_poll`).
    slow_poll: Option<SlowPollDetector>,
}

/// A task's description as given to `spawn`: the spawn site (from `#[track_caller]`) and an
/// optional name.
pub(crate) struct TaskMeta {
    pub(crate) location: &'static std::panic::Location<'static>,
    pub(crate) name: Option<Box<str>>,
}

/// A task's identity as reported to users (see `runtime::SlowPoll`).
#[derive(Debug, Clone)]
pub(crate) struct TaskDescription {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    /// The spawn site.
    pub(crate) location: &'static std::panic::Location<'static>,
}

/// What popping the run queue produced.
pub(crate) enum Next {
    /// A spawned task: poll it with [`Executor::poll_task`].
    Task(TaskKey),
    /// The future passed to `block_on` (its key is `main`).
    Main,
    /// The run queue is empty.
    Empty,
}

impl Executor {
    pub(crate) fn new(unpark: Box<dyn Unpark>, slow_poll: Option<SlowPollDetector>) -> Self {
        Executor {
            tasks: RefCell::new(Slab::new()),
            names: RefCell::new(HashMap::new()),
            run_queue: RefCell::new(VecDeque::new()),
            shared: Arc::new(Shared::new(unpark)),
            next_id: Cell::new(1),
            slow_poll,
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
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
                self.shared.clone(),
            ));
            entry.insert(cell.clone());
            self.run_queue
                .borrow_mut()
                .push_back(TaskKey::new(index, id));
            cell
        };
        if let Some(name) = meta.name {
            self.names.borrow_mut().insert(id, name);
        }
        JoinHandle::new(cell)
    }

    /// A fresh waker for a `block_on` future, already queued for its first poll.
    pub(crate) fn main_task(&self) -> Arc<MainWaker> {
        let id = self.allocate_id();
        let key = TaskKey::new(MAIN_INDEX, id);
        self.run_queue.borrow_mut().push_back(key);
        Arc::new(MainWaker::new_scheduled(id, key, self.shared.clone()))
    }

    /// Queues a key whose task was just moved to `SCHEDULED` on this thread.
    pub(crate) fn push_local(&self, key: TaskKey) {
        self.run_queue.borrow_mut().push_back(key);
    }

    /// Pops the next woken task. A key of a finished `block_on` call is skipped.
    pub(crate) fn next_task(&self, main: TaskKey) -> Next {
        loop {
            let Some(key) = self.run_queue.borrow_mut().pop_front() else {
                return Next::Empty;
            };
            if key.index != MAIN_INDEX {
                return Next::Task(key);
            }
            if key == main {
                return Next::Main;
            }
        }
    }

    pub(crate) fn has_woken_tasks(&self) -> bool {
        !self.run_queue.borrow().is_empty()
    }

    /// Moves wakes that arrived from other threads onto the run queue.
    pub(crate) fn drain_remote(&self) {
        self.shared.drain_into(&mut self.run_queue.borrow_mut());
    }

    /// Polls the task `key` once, or cancels it if `abort` was called.
    pub(crate) fn poll_task(&self, key: TaskKey) {
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
            self.push_local(key);
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
    fn poll_watched(
        &self,
        task: &dyn ErasedTask,
        this: *const (),
    ) -> (std::task::Poll<()>, Option<Duration>) {
        // SAFETY: `this` comes from `Arc::as_ptr` on the slab's strong reference to `task`
        // (see `poll_task`), which outlives the call (invariant 4), so it has the provenance
        // `Arc::from_raw` needs.
        let poll = || unsafe { task.poll(this) };
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
        self.run_queue.borrow_mut().clear();
        self.names.borrow_mut().clear();
    }
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("live_tasks", &self.live_tasks())
            .field("woken", &self.run_queue.borrow().len())
            .finish()
    }
}
