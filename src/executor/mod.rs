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
//!    runtime shuts down), and its schedule state is `COMPLETE` from then on.

mod cell;
mod join;
pub(crate) mod waker;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use slab::Slab;

pub(crate) use self::cell::TaskMeta;
use self::cell::{ErasedTask, TaskCell};
pub use self::join::{JoinError, JoinHandle};
use self::waker::{Shared, TaskId, TaskKey, TaskWaker, Unpark};
use crate::runtime::slow_poll::SlowPollDetector;

/// Index used in the key of the future given to `block_on`, which lives on the caller's
/// stack rather than in the slab.
const MAIN_INDEX: usize = usize::MAX;

/// Owns every spawned task of one runtime.
pub(crate) struct Executor {
    /// Live tasks. A slot is vacated when its task completes.
    tasks: RefCell<Slab<Rc<dyn ErasedTask>>>,
    /// Keys of woken tasks, in wake order. Each live task appears at most once.
    run_queue: RefCell<VecDeque<TaskKey>>,
    /// The remote queue and the way to interrupt the reactor's wait.
    shared: Arc<Shared>,
    /// Source of task ids; ids are never reused, which makes stale keys detectable.
    next_id: Cell<u64>,
    /// Times each poll when enabled (see `runtime::slow_poll`).
    slow_poll: Option<SlowPollDetector>,
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
    pub(crate) fn spawn<F>(&self, future: F, meta: TaskMeta) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let id = self.allocate_id();
        let cell = {
            let mut tasks = self.tasks.borrow_mut();
            let entry = tasks.vacant_entry();
            let key = TaskKey {
                index: entry.key(),
                id,
            };
            let sched = Arc::new(TaskWaker::new_scheduled(key, self.shared.clone()));
            let cell = Rc::new(TaskCell::new(future, id, meta, sched));
            entry.insert(cell.clone());
            self.run_queue.borrow_mut().push_back(key);
            cell
        };
        JoinHandle::new(cell)
    }

    /// A fresh schedule state for a `block_on` future, already queued for its first poll.
    pub(crate) fn main_task(&self) -> (TaskKey, Arc<TaskWaker>) {
        let key = TaskKey {
            index: MAIN_INDEX,
            id: self.allocate_id(),
        };
        let sched = Arc::new(TaskWaker::new_scheduled(key, self.shared.clone()));
        self.run_queue.borrow_mut().push_back(key);
        (key, sched)
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
        let task = match self.tasks.borrow().get(key.index) {
            Some(task) if task.header().id == key.id => task.clone(),
            // The key outlived its task (cannot happen by invariant 1, but is harmless).
            _ => return,
        };
        let header = task.header();
        header.sched.start_poll();
        let mut slow = None;
        let finished = if header.cancel_requested.get() {
            task.cancel();
            true
        } else {
            let (polled, held) = self.poll_watched(&*task);
            slow = held;
            if polled.is_ready() {
                true
            } else if header.cancel_requested.get() {
                // The task aborted itself during this poll.
                task.cancel();
                true
            } else {
                false
            }
        };
        if finished {
            header.sched.complete();
            let removed = self.tasks.borrow_mut().remove(key.index);
            drop(removed);
        } else if header.sched.end_poll_pending() {
            self.push_local(key);
        }
        // Report only now that the task's state is settled: the report is user code.
        if let (Some(held), Some(detector)) = (slow, &self.slow_poll) {
            detector.report(
                TaskDescription {
                    id: header.id.0,
                    name: header.meta.name.as_deref().map(str::to_owned),
                    location: header.meta.location,
                },
                held,
            );
        }
        // `task` may be the last reference to a detached task's output: drop it here, with no
        // borrow held, and keep a panicking destructor from unwinding into the loop.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(task)));
    }

    /// Polls `task`, timed by the slow-poll detector if there is one; returns how long the
    /// poll took if it was slow.
    fn poll_watched(&self, task: &dyn ErasedTask) -> (std::task::Poll<()>, Option<Duration>) {
        match &self.slow_poll {
            None => (task.poll(), None),
            Some(detector) => detector.watch(|| task.poll()),
        }
    }

    /// Number of live (spawned, unfinished) tasks.
    pub(crate) fn live_tasks(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// Drops every live task's future, on this thread. Destructors may spawn or wake: tasks
    /// spawned meanwhile are dropped in the next round, until the slab stays empty.
    pub(crate) fn shutdown(&self) {
        loop {
            let drained: Vec<Rc<dyn ErasedTask>> = self.tasks.borrow_mut().drain().collect();
            if drained.is_empty() {
                break;
            }
            for task in drained {
                task.header().sched.complete();
                task.cancel();
                let _ = catch_unwind(AssertUnwindSafe(move || drop(task)));
            }
        }
        self.run_queue.borrow_mut().clear();
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
