//! `AbortHandle`: a cloneable permission to cancel a task, without its output.
//!
//! # Invariants
//!
//! 1. An abort handle holds the task's cell alive (an `Arc`) but touches only its header: the
//!    schedule state, the flags and the id. It never reads the stage, so it neither keeps an
//!    output from being dropped nor looks at a suspended future (cell invariant 6).
//! 2. It is `!Send` and `!Sync`: the cancel flag it sets is a `Cell` shared with the
//!    runtime's thread. Making it `Send` would need that flag in the atomic schedule state.

use std::fmt;
use std::sync::Arc;

use super::cell::AbortTarget;
use super::id::TaskId;

/// Cancels a task without owning its output; made by
/// [`JoinHandle::abort_handle`](crate::task::JoinHandle::abort_handle) or returned by
/// [`JoinSet::spawn`](crate::task::JoinSet::spawn).
///
/// Cloneable; dropping it does nothing to the task. Unlike tokio's, it is not `Send`: it must
/// stay on the runtime's thread, like the task.
///
/// ```
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let handle = evloop::spawn(std::future::pending::<()>());
///     let abort = handle.abort_handle();
///     let also = abort.clone();
///     also.abort();
///     assert!(handle.await.unwrap_err().is_cancelled());
///     assert!(abort.is_finished());
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    // No `Sync` bound: the cell's flags are `Cell`s, which keeps this handle `!Send + !Sync`
    // (invariant 2) even though the cell itself is declared `Send + Sync` for its wakers.
    cell: Arc<dyn AbortTarget>,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl AbortHandle {
    pub(crate) fn new(cell: Arc<dyn AbortTarget>) -> Self {
        AbortHandle {
            cell,
            _not_send: std::marker::PhantomData,
        }
    }

    /// Cancels the task, exactly as [`JoinHandle::abort`](crate::task::JoinHandle::abort)
    /// does: the executor drops its future instead of polling it again. Aborting a finished
    /// task does nothing.
    pub fn abort(&self) {
        self.cell.header().abort();
    }

    /// True once the task has finished: returned, panicked or been cancelled.
    pub fn is_finished(&self) -> bool {
        self.cell.header().is_finished()
    }

    /// The task's id, the same as its [`JoinHandle::id`](crate::task::JoinHandle::id).
    pub fn id(&self) -> TaskId {
        self.cell.header().id
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("task", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
