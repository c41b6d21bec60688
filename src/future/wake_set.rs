//! `WakeSet`: one waker per child future, so a combinator over many children polls only the
//! ones that were woken.
//!
//! A combinator such as [`join_all`](super::join_all) owns `n` children but is polled with a
//! single waker, its task's. Lending that waker to every child would tell the combinator *that*
//! something happened, not *which* child it concerns, and it would have to poll all `n`
//! children on every wake. Instead each child gets its own [`Waker`], built on a
//! [`ChildWaker`] that knows the child's index: a wake records the index in a shared list and
//! then wakes the combinator's task. The next poll of the combinator drains the list and polls
//! exactly those children.
//!
//! # Invariants
//!
//! 1. An index is in the woken list at most once: it is pushed only by the `false → true` edge
//!    of its child's `queued` flag, and the flag is set back to `false` (by [`WakeSet::start_poll`])
//!    only after the index has left the list, just before the child is polled.
//! 2. No wake is lost. A wake that finds `queued` already `true` happened after the index was
//!    pushed and before the child's next poll starts (which clears the flag), so that poll sees
//!    it. A wake during the child's poll finds `queued` cleared, pushes the index again and wakes
//!    the parent. Both sides use `swap` with acquire-release ordering, so what a waking thread
//!    wrote before its wake is visible to the poll it causes.
//! 3. The parent waker is stored before the list is drained (`register`, then `drain_into`):
//!    a child woken after the drain finds the current parent waker.
//!
//! # What crosses threads
//!
//! `Waker`s must be `Send + Sync`, so the shared part lives in an `Arc` and is guarded by a
//! `Mutex` (the list and the parent waker) and an `AtomicBool` per child. The children
//! themselves never leave the combinator, and the combinator never leaves its task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Wake, Waker};

/// The wakers of `n` children and the list of those woken since the last drain.
pub(super) struct WakeSet {
    shared: Arc<Shared>,
    /// Child `i`'s waker; each holds an `Arc<ChildWaker>` with `index == i`.
    wakers: Vec<Waker>,
    /// The same `ChildWaker`s, to clear their flags without going through a `Waker`.
    children: Vec<Arc<ChildWaker>>,
}

/// What every child waker shares with the combinator.
struct Shared {
    /// Indices woken since the combinator last drained the list (invariant 1: no duplicates).
    woken: Mutex<Vec<usize>>,
    /// The waker of the task that polls the combinator, from its latest poll.
    parent: Mutex<Option<Waker>>,
}

/// The waker of one child.
struct ChildWaker {
    index: usize,
    /// True from a wake until the child's next poll starts: the index is in `woken` (or is
    /// about to be polled, for the initial batch).
    queued: AtomicBool,
    shared: Arc<Shared>,
}

/// Locks `mutex`, ignoring poisoning: the guarded values (a list of indices, an optional
/// waker) are valid after any panic, so there is nothing to recover.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            // Already queued since its last poll began: that wake woke the parent (invariant 2).
            return;
        }
        lock(&self.shared.woken).push(self.index);
        // Clone under the lock, wake outside it: the parent's wake may run arbitrary code.
        let parent = lock(&self.shared.parent).clone();
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

impl WakeSet {
    /// Wakers for `n` children, all of them initially woken (so the first poll polls each).
    pub(super) fn new(n: usize) -> Self {
        let shared = Arc::new(Shared {
            woken: Mutex::new((0..n).collect()),
            parent: Mutex::new(None),
        });
        let children: Vec<Arc<ChildWaker>> = (0..n)
            .map(|index| {
                Arc::new(ChildWaker {
                    index,
                    queued: AtomicBool::new(true),
                    shared: shared.clone(),
                })
            })
            .collect();
        let wakers = children
            .iter()
            .map(|child| Waker::from(child.clone()))
            .collect();
        WakeSet {
            shared,
            wakers,
            children,
        }
    }

    /// Stores the waker of the task polling the combinator (invariant 3: call before
    /// [`drain_into`](Self::drain_into)).
    pub(super) fn register(&self, parent: &Waker) {
        let mut stored = lock(&self.shared.parent);
        match &*stored {
            Some(current) if current.will_wake(parent) => {}
            _ => *stored = Some(parent.clone()),
        }
    }

    /// Moves the indices woken since the last call into `batch`.
    ///
    /// `batch` is normally empty and is swapped with the list, so both allocations are reused
    /// and draining allocates nothing in steady state. It is not empty only if a child's poll
    /// panicked halfway through the previous batch; its leftover indices are kept, so a caller
    /// that catches the panic and polls again loses no wake.
    pub(super) fn drain_into(&self, batch: &mut Vec<usize>) {
        let mut woken = lock(&self.shared.woken);
        if batch.is_empty() {
            std::mem::swap(&mut *woken, batch);
        } else {
            batch.append(&mut woken);
        }
    }

    /// Marks child `index` as no longer queued and returns its waker: call right before
    /// polling the child, so a wake during the poll queues it again.
    pub(super) fn start_poll(&self, index: usize) -> &Waker {
        self.children[index].queued.swap(false, Ordering::AcqRel);
        &self.wakers[index]
    }
}
