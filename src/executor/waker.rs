//! Wakers: how a wake finds its way back to its run queue, from this thread or from another.
//!
//! A spawned task's waker is its task cell itself (see [`cell`](super::cell)): the cell holds
//! a [`ScheduleState`], its [`TaskKey`] and its run queue's [`RemoteQueue`], and implements
//! [`std::task::Wake`] by calling [`wake_task`]. The future given to `block_on` has no cell;
//! its waker is a [`MainWaker`] holding the same three things. A task therefore costs one heap
//! allocation, however many times its waker is cloned.
//!
//! # Invariants
//!
//! 1. A wake queues the key only on the `IDLE → SCHEDULED` edge (`state`'s invariant 2).
//! 2. A waker never reaches another task: once its task is `COMPLETE` every wake is a no-op,
//!    and a task leaves the slab only when it completes, so a queued key always names the task
//!    that was woken. The key also carries a tag of the task's id, which the executor checks.
//!
//! # What crosses threads
//!
//! Wakes from other threads touch only the atomic schedule state, the key and the
//! [`RemoteQueue`] (a mutex-protected `Vec`). The task's future and output never leave the
//! runtime's thread.

use std::sync::Arc;
use std::task::Wake;

use super::id::{TaskId, TaskKey};
use super::run_queue::{RemoteQueue, push_if_active};
use super::state::ScheduleState;

/// Wakes the task with schedule state `state` and key `key`, from any thread: queues the key
/// if this wake is the one that scheduled the task.
pub(crate) fn wake_task(state: &ScheduleState, key: TaskKey, remote: &Arc<RemoteQueue>) {
    if state.note_wake() {
        // Same thread, inside this runtime: the local queue, no lock, no syscall.
        // Anywhere else: the remote queue, which unparks the runtime.
        if !push_if_active(remote, key) {
            remote.push(key);
        }
    }
}

/// The waker of a future passed to `block_on`, which lives on the caller's stack, not in a
/// task cell.
pub(crate) struct MainWaker {
    pub(crate) state: ScheduleState,
    pub(crate) id: TaskId,
    pub(crate) key: TaskKey,
    remote: Arc<RemoteQueue>,
}

impl MainWaker {
    /// A waker for a `block_on` future that starts out `SCHEDULED` (the caller queues `key`).
    pub(crate) fn new_scheduled(id: TaskId, key: TaskKey, remote: Arc<RemoteQueue>) -> Self {
        MainWaker {
            state: ScheduleState::scheduled(),
            id,
            key,
            remote,
        }
    }
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        wake_task(&self.state, self.key, &self.remote);
    }
}
