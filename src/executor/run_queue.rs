//! The run queue: the keys of woken tasks, in wake order, and the only way a task gets polled.
//!
//! It has two halves. The **local** queue, a `VecDeque` on the runtime's thread, takes the
//! wakes that happen on that thread while the executor runs (a socket event, a timer, a task
//! waking another): no lock, no syscall. The **remote** queue, a `Mutex<Vec>` shared with every
//! waker through an `Arc`, takes wakes from other threads (and from this thread while the
//! executor is not running); the runtime drains it into the local queue once per loop turn.
//!
//! How a wake knows which half to use: while the executor runs (inside `block_on`), its run
//! queue is the thread's *active* one, a thread-local this module owns. A wake pushes locally
//! if the active run queue is the one its task belongs to (same remote half), else remotely.
//! So a wake never climbs up to the runtime: the waker carries its way back (the remote half),
//! and the thread-local says whether the short way is open.
//!
//! # Invariants
//!
//! 1. A key enters a queue only on its task's edge into `SCHEDULED` (see `state`), so each
//!    live task is at most once in the two halves together.
//! 2. The local queue is touched only on the runtime's thread; only [`RemoteQueue`] crosses
//!    threads, and it holds keys (plain data) and the means to interrupt the wait.
//! 3. The first remote push after a drain interrupts the runtime's wait ([`Unpark`]); later
//!    ones, until the next drain, only push. So no remote wake waits for a wait to time out.
//! 4. No borrow of the local queue is held while user code runs.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::{Arc, PoisonError};

use super::id::TaskKey;
use super::sync_shim::{AtomicBool, Mutex, Ordering};

/// Something that interrupts the runtime's blocking wait (the reactor's `mio::Waker`).
///
/// The executor only knows this trait, never mio: the runtime hands it the reactor's.
pub(crate) trait Unpark: Send + Sync + 'static {
    /// Makes the runtime's current or next blocking wait return promptly.
    fn unpark(&self);
}

/// The half of a run queue that other threads reach: every waker holds an `Arc` of it.
pub(crate) struct RemoteQueue {
    /// Keys woken from other threads (or from this thread outside `block_on`).
    keys: Mutex<Vec<TaskKey>>,
    /// Set by the first remote push after a drain; the push that sets it unparks the runtime
    /// (invariant 3). Saves a syscall per wake when many arrive between two turns.
    pending: AtomicBool,
    unpark: Box<dyn Unpark>,
}

impl RemoteQueue {
    pub(crate) fn new(unpark: Box<dyn Unpark>) -> Self {
        RemoteQueue {
            keys: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
            unpark,
        }
    }

    /// Queues `key` from any thread and makes sure the runtime notices.
    pub(crate) fn push(&self, key: TaskKey) {
        // A poisoned lock only means another waker panicked mid-push; the Vec is still valid.
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(key);
        if !self.pending.swap(true, Ordering::AcqRel) {
            self.unpark.unpark();
        }
    }

    /// Moves every remotely woken key onto `local`, on the runtime's thread.
    ///
    /// Runs once per loop turn, and almost every turn finds nothing: so the test is a plain
    /// load, inlined into the caller, and the swap and the lock are out of line. A push that
    /// the load misses has not yet set `pending`, so it will still unpark (invariant 3), and
    /// its key is collected at the next turn.
    #[inline]
    fn drain_into(&self, local: &mut VecDeque<TaskKey>) {
        if self.pending.load(Ordering::Acquire) {
            self.drain_pending_into(local);
        }
    }

    #[inline(never)]
    fn drain_pending_into(&self, local: &mut VecDeque<TaskKey>) {
        if self.pending.swap(false, Ordering::AcqRel) {
            let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            local.extend(keys.drain(..));
        }
    }
}

/// One executor's run queue: the local half and the remote half.
pub(crate) struct RunQueue {
    local: RefCell<VecDeque<TaskKey>>,
    remote: Arc<RemoteQueue>,
}

thread_local! {
    /// The run queue of the executor running on this thread, if one is (see the module docs).
    static ACTIVE: RefCell<Option<Rc<RunQueue>>> = const { RefCell::new(None) };
}

/// While alive, its run queue is this thread's active one; dropping it restores the previous.
pub(crate) struct Active {
    previous: Option<Rc<RunQueue>>,
}

impl Drop for Active {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: during thread teardown the slot may already be gone, which is fine.
        let _ = ACTIVE.try_with(|active| *active.borrow_mut() = previous);
    }
}

impl RunQueue {
    pub(crate) fn new(unpark: Box<dyn Unpark>) -> Self {
        RunQueue {
            local: RefCell::new(VecDeque::new()),
            remote: Arc::new(RemoteQueue::new(unpark)),
        }
    }

    /// The half that wakers carry.
    pub(crate) fn remote(&self) -> &Arc<RemoteQueue> {
        &self.remote
    }

    /// Makes this the thread's active run queue until the guard drops: same-thread wakes of
    /// its tasks then go to the local half.
    pub(crate) fn activate(self: &Rc<Self>) -> Active {
        let previous = ACTIVE.with(|active| active.borrow_mut().replace(self.clone()));
        Active { previous }
    }

    /// Queues a key whose task just moved to `SCHEDULED`, on this thread.
    pub(crate) fn push(&self, key: TaskKey) {
        self.local.borrow_mut().push_back(key);
    }

    /// The next woken key, oldest first.
    pub(crate) fn pop(&self) -> Option<TaskKey> {
        self.local.borrow_mut().pop_front()
    }

    /// True if a key waits in the local half (the remote half is looked at by `drain_remote`).
    pub(crate) fn is_empty(&self) -> bool {
        self.local.borrow().is_empty()
    }

    /// Keys waiting in the local half.
    pub(crate) fn len(&self) -> usize {
        self.local.borrow().len()
    }

    /// Moves wakes that arrived from other threads onto the local half, behind the local ones.
    pub(crate) fn drain_remote(&self) {
        self.remote.drain_into(&mut self.local.borrow_mut());
    }

    /// Forgets every queued key (the runtime is shutting down).
    pub(crate) fn clear(&self) {
        self.local.borrow_mut().clear();
        let mut remote = VecDeque::new();
        self.remote.drain_into(&mut remote);
    }
}

/// Queues `key` on the local half if `remote` belongs to this thread's active run queue, and
/// returns true; returns false otherwise (the caller then uses the remote half).
///
/// Inlined into the wake: it is the whole of a same-thread wake after the state edge, and as a
/// call of its own it saved and restored registers around a handful of instructions.
#[inline]
pub(crate) fn push_if_active(remote: &Arc<RemoteQueue>, key: TaskKey) -> bool {
    ACTIVE
        .try_with(|active| match active.try_borrow().as_deref() {
            Ok(Some(queue)) if Arc::ptr_eq(&queue.remote, remote) => {
                queue.push(key);
                true
            }
            _ => false,
        })
        .unwrap_or(false)
}

#[cfg(all(test, not(loom)))]
mod tests;
