//! `TaskId`, who a task is, and `TaskKey`, where it lives: what the run queue carries.
//!
//! # Invariants
//!
//! 1. A `TaskId` is never reused within one executor (a counter that only grows), so a key
//!    made for a task that has finished cannot name the task that reuses its slab slot: the
//!    executor compares the key's tag with the slot's id before it polls.
//! 2. A `TaskKey` is eight bytes, so that the run queue stays small.

use std::fmt;

/// A task's identity for its whole life, exported as [`task::Id`](crate::task::Id).
///
/// Unique among the tasks of one runtime, and never reused by it; two runtimes may hand out
/// the same id. Printed as `#` and a number, the form used in [`JoinError`](crate::task::JoinError)
/// messages and slow-poll reports.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The low 32 bits: what a [`TaskKey`] carries. Truncation is the point.
    fn tag(self) -> u32 {
        self.0 as u32
    }
}

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
/// of its [`TaskId`]).
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
