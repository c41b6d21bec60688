//! Wakers: how a wake finds its way back to a run queue, from this thread or from another.
//!
//! A spawned task's waker is its task cell itself (see [`cell`](super::cell)): the cell holds
//! a [`ScheduleState`], its [`TaskKey`] and the executor's [`Shared`] part, and implements
//! [`std::task::Wake`] by calling [`wake_task`]. The future given to `block_on` has no cell; its
//! waker is a [`MainWaker`] holding the same three things. A task therefore costs one heap
//! allocation, however many times its waker is cloned.
//!
//! # Invariants
//!
//! 1. The schedule state moves only along these edges:
//!    `IDLE → SCHEDULED` (a wake), `SCHEDULED → RUNNING` (the executor starts a poll),
//!    `RUNNING → RUNNING_NOTIFIED` (a wake during the poll), `RUNNING → IDLE` or
//!    `RUNNING_NOTIFIED → SCHEDULED` (the poll returned `Pending`), and `* → COMPLETE`
//!    (the task finished, was cancelled, or its runtime shut down). `COMPLETE` is final.
//! 2. A task's key is pushed onto a run queue only by a transition *into* `SCHEDULED`, so a
//!    task sits in the queues at most once, however many wakes arrive.
//! 3. A wake that lands while the task is running is not lost (it leaves `RUNNING_NOTIFIED`
//!    behind) and does not poll the task re-entrantly (nothing is queued until the poll ends).
//! 4. A waker never reaches another task: once its task is `COMPLETE` every wake is a no-op,
//!    and a task leaves the slab only when it completes, so a queued key always names the
//!    task that was woken. The key also carries a tag (the low 32 bits of the task's
//!    [`TaskId`]) that the executor checks, as a second line of defence.
//!
//! # What crosses threads
//!
//! Wakes from other threads touch only the atomic schedule state, the key and [`Shared`]
//! (a mutex-protected queue). The task's future and output never leave the runtime's thread.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Wake;

use crate::context;

/// Not queued and not running: the next wake must queue the task.
pub(crate) const IDLE: u8 = 0;
/// In a run queue (the local one or the remote one). Further wakes are no-ops.
pub(crate) const SCHEDULED: u8 = 1;
/// Being polled right now. A wake turns this into [`RUNNING_NOTIFIED`].
pub(crate) const RUNNING: u8 = 2;
/// Woken while being polled: the executor queues the task again when the poll returns.
pub(crate) const RUNNING_NOTIFIED: u8 = 3;
/// Finished, cancelled, or dropped with its runtime. Wakes are no-ops forever.
pub(crate) const COMPLETE: u8 = 4;

/// A task's identity for its whole life; never reused within a process.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TaskId(pub(crate) u64);

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where a task lives (`index` into the task slab) and a tag of who it is (the low 32 bits
/// of its [`TaskId`]): eight bytes, so that the run queue stays small.
///
/// The executor polls a popped key only if the slab slot at `index` holds a task whose id
/// has this tag.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct TaskKey {
    pub(crate) index: u32,
    pub(crate) tag: u32,
}

impl TaskKey {
    pub(crate) fn new(index: u32, id: TaskId) -> Self {
        TaskKey {
            index,
            tag: id.tag(),
        }
    }

    /// True if this key was made for task `id` (up to the tag's 32 bits).
    pub(crate) fn names(self, id: TaskId) -> bool {
        self.tag == id.tag()
    }
}

impl TaskId {
    /// The low 32 bits: what a [`TaskKey`] carries. Truncation is the point.
    fn tag(self) -> u32 {
        self.0 as u32
    }
}

/// Something that interrupts the runtime's blocking wait (the reactor's `mio::Waker`).
///
/// The executor only knows this trait, never mio: the reactor provides the implementation.
pub(crate) trait Unpark: Send + Sync + 'static {
    /// Makes the runtime's current or next blocking wait return promptly.
    fn unpark(&self);
}

/// The part of an executor that other threads can reach: the remote run queue.
pub(crate) struct Shared {
    /// Keys woken from other threads (or from this thread outside `block_on`).
    /// Drained into the local run queue once per loop turn.
    remote_queue: Mutex<Vec<TaskKey>>,
    /// Set by the first remote wake after a drain; the one that sets it unparks the runtime.
    /// Saves a syscall per wake when many arrive between two turns.
    remote_pending: AtomicBool,
    unpark: Box<dyn Unpark>,
}

impl Shared {
    pub(crate) fn new(unpark: Box<dyn Unpark>) -> Self {
        Shared {
            remote_queue: Mutex::new(Vec::new()),
            remote_pending: AtomicBool::new(false),
            unpark,
        }
    }

    /// Queues `key` from any thread and makes sure the runtime notices.
    fn push_remote(&self, key: TaskKey) {
        // A poisoned lock only means another waker panicked mid-push; the Vec is still valid.
        self.remote_queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(key);
        if !self.remote_pending.swap(true, Ordering::AcqRel) {
            self.unpark.unpark();
        }
    }

    /// Moves every remotely woken key onto `local`, on the runtime's thread.
    pub(crate) fn drain_into(&self, local: &mut VecDeque<TaskKey>) {
        if self.remote_pending.swap(false, Ordering::AcqRel) {
            let mut queue = self
                .remote_queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            local.extend(queue.drain(..));
        }
    }
}

/// A task's schedule state (see the module's invariant 1): one atomic byte, so that it packs
/// beside the other small fields of a task cell.
pub(crate) struct ScheduleState(AtomicU8);

impl ScheduleState {
    /// The state of a task whose key the caller is queuing right now.
    pub(crate) fn scheduled() -> Self {
        ScheduleState(AtomicU8::new(SCHEDULED))
    }

    /// `SCHEDULED → RUNNING`, at the start of a poll.
    pub(crate) fn start_poll(&self) {
        let previous = self.0.swap(RUNNING, Ordering::AcqRel);
        debug_assert_eq!(previous, SCHEDULED, "polled a task that was not scheduled");
    }

    /// Ends a poll that returned `Pending`. Returns true if the task was woken during the poll
    /// and is now `SCHEDULED` again: the caller must queue its key.
    pub(crate) fn end_poll_pending(&self) -> bool {
        match self
            .0
            .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => false,
            Err(actual) => {
                debug_assert_eq!(actual, RUNNING_NOTIFIED);
                self.0.store(SCHEDULED, Ordering::Release);
                true
            }
        }
    }

    /// Marks the task finished: every later wake is a no-op.
    pub(crate) fn complete(&self) {
        self.0.store(COMPLETE, Ordering::Release);
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.0.load(Ordering::Acquire) == COMPLETE
    }

    /// Applies a wake to the state; true if the caller must queue the key (`IDLE → SCHEDULED`).
    fn note_wake(&self) -> bool {
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            let next = match current {
                IDLE => SCHEDULED,
                RUNNING => RUNNING_NOTIFIED,
                _ => return false,
            };
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return next == SCHEDULED,
                Err(actual) => current = actual,
            }
        }
    }
}

/// Wakes the task with schedule state `state` and key `key`, from any thread: queues the key
/// if this wake is the one that scheduled the task.
pub(crate) fn wake_task(state: &ScheduleState, key: TaskKey, shared: &Arc<Shared>) {
    if state.note_wake() {
        // Same thread, inside this runtime: the local queue, no lock, no syscall.
        // Anywhere else: the remote queue, which unparks the runtime.
        if !context::push_local(shared, key) {
            shared.push_remote(key);
        }
    }
}

/// The waker of a future passed to `block_on`, which lives on the caller's stack, not in a
/// task cell.
pub(crate) struct MainWaker {
    pub(crate) state: ScheduleState,
    pub(crate) id: TaskId,
    pub(crate) key: TaskKey,
    shared: Arc<Shared>,
}

impl MainWaker {
    /// A waker for a `block_on` future that starts out `SCHEDULED` (the caller queues `key`).
    pub(crate) fn new_scheduled(id: TaskId, key: TaskKey, shared: Arc<Shared>) -> Self {
        MainWaker {
            state: ScheduleState::scheduled(),
            id,
            key,
            shared,
        }
    }
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        wake_task(&self.state, self.key, &self.shared);
    }
}

/// Lets the executor check, without a lock, that a key popped locally belongs to it.
pub(crate) fn same_executor(a: &Arc<Shared>, b: &Arc<Shared>) -> bool {
    Arc::ptr_eq(a, b)
}
