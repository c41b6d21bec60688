//! The task cell: one allocation holding a task's future (then its output), its schedule
//! state, and everything its waker needs.
//!
//! The cell lives in an `Arc` shared by four kinds of owner: the task slab (while the task
//! runs), the task's [`JoinHandle`](crate::task::JoinHandle) (while the user keeps it), its
//! [`AbortHandle`](crate::task::AbortHandle)s (which touch only the header), and
//! every `Waker` of the task: the cell *is* the waker (`impl Wake for TaskCell`), so spawning
//! a task allocates once, and cloning its waker allocates nothing.
//!
//! # Invariants
//!
//! 1. The stage only moves forward: `Running(future) → Consumed → Finished(output)`, and
//!    `Finished → Consumed` when the handle takes the output (or is dropped without it).
//! 2. The future is pinned: it lives inline in the `Arc` allocation and is never moved out; it
//!    is dropped in place by overwriting the stage, never by `mem::replace`.
//! 3. A poll, a cancellation and a handle's read never overlap: each holds the stage's
//!    `RefCell` borrow. The only user code that runs under that borrow is the future's own
//!    `poll` and `drop` and the output's `drop`; if they reach their own `JoinHandle`, the
//!    handle sees the borrow and answers from the `FINISHED` flag or returns `Pending` instead
//!    of borrowing again. The joiner's waker is woken only after the borrow ends.
//! 4. Panics from the future's `poll` and `drop` are caught here and become the task's
//!    [`JoinError`]; they never unwind into the executor. Nor do panics of the output's
//!    destructor (when nobody will read it, or when a destructor panic replaced it), of the
//!    joiner's waker, or of dropping a handle: each is contained where it happens.
//! 5. Thread confinement. Wakers may be cloned, woken and dropped on any thread, so the cell is
//!    declared `Send + Sync` by hand (below). This holds because:
//!    - from another thread only `Wake` runs, and it reads only the schedule state (atomic),
//!      the key (immutable) and the remote run queue (`Sync`);
//!    - the last reference may be dropped on another thread, so once both owners on the
//!      runtime's thread (the slab and the handle) have let go, the stage holds neither the
//!      future nor the output: the slab lets go only after the future was dropped (the task
//!      completed, was cancelled, or its runtime shut down); an output is stored only while a
//!      handle wants it (`JOIN_INTEREST`), and the handle's `Drop` drops an output it never
//!      took. What can be left (`Consumed`, a `JoinError`, the joiner's `Waker`) is `Send`;
//!    - every other field (`flags`, `join_waker`, `stage`) is touched only through the slab or
//!      the handles, which never leave the runtime's thread (`JoinHandle` and `AbortHandle`
//!      are `!Send`). An `AbortHandle` never touches the stage, so it changes nothing above.
//! 6. While the stage holds the future, only the executor's poll and cancel touch it, and
//!    only through `&mut` (which Miri's aliasing models do not retag for a `!Unpin` future).
//!    Everything else, the handle above all, decides "finished" from the `FINISHED` flag and
//!    reads the stage only once it is set: a shared reference to a suspended future reads all
//!    of it, which invalidates the `&mut`s the future holds to its own locals across an
//!    await, so the future's next use of one would be undefined behaviour.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::error::JoinError;
use super::id::{TaskId, TaskKey};
use super::run_queue::RemoteQueue;
use super::state::ScheduleState;
use super::waker::wake_task;
use crate::unwind;

/// Set by `JoinHandle::abort`; the executor cancels instead of polling.
const CANCEL_REQUESTED: u8 = 1 << 0;
/// Set once the task has finished (output or error stored, or dropped for want of a handle);
/// readable while the stage is borrowed.
const FINISHED: u8 = 1 << 1;
/// Set while a `JoinHandle` for the task exists: only then is an output stored.
const JOIN_INTEREST: u8 = 1 << 2;
/// Set if the task was spawned with a name (kept in the executor's side table, not here).
const NAMED: u8 = 1 << 3;

/// The parts of a task that do not depend on its future's type.
///
/// Laid out to pack: a task's whole overhead beyond its future is one `Arc` allocation of
/// this header plus the stage's `RefCell`, a slab slot and, while it is queued, an 8-byte key.
pub(crate) struct Header {
    /// The schedule state (see `state`); the only field other threads write.
    pub(crate) state: ScheduleState,
    /// The task's slot in the slab; with `id`, its [`TaskKey`].
    index: u32,
    pub(crate) id: TaskId,
    /// The remote half of the executor's run queue, for wakes from other threads.
    remote: Arc<RemoteQueue>,
    /// Where the task was spawned (from `#[track_caller]`): for reports, never for scheduling.
    pub(crate) location: &'static Location<'static>,
    /// Who to wake when the task finishes: the task awaiting the `JoinHandle`, if any.
    join_waker: Cell<Option<Waker>>,
    /// `CANCEL_REQUESTED | FINISHED | JOIN_INTEREST | NAMED`.
    flags: Cell<u8>,
}

impl Header {
    pub(crate) fn key(&self) -> TaskKey {
        TaskKey::new(self.index, self.id)
    }

    /// Wakes the task, as its waker would.
    pub(crate) fn wake(&self) {
        wake_task(&self.state, self.key(), &self.remote);
    }

    fn has(&self, flag: u8) -> bool {
        self.flags.get() & flag != 0
    }

    fn set(&self, flag: u8) {
        self.flags.set(self.flags.get() | flag);
    }

    fn clear(&self, flag: u8) {
        self.flags.set(self.flags.get() & !flag);
    }

    pub(crate) fn cancel_requested(&self) -> bool {
        self.has(CANCEL_REQUESTED)
    }

    pub(crate) fn request_cancel(&self) {
        self.set(CANCEL_REQUESTED);
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.has(FINISHED)
    }

    pub(crate) fn is_named(&self) -> bool {
        self.has(NAMED)
    }

    /// Asks for the task to be cancelled, as `JoinHandle::abort` and `AbortHandle::abort`
    /// do: a flag and a wake; the executor drops the future when it pops the task.
    pub(crate) fn abort(&self) {
        if !self.state.is_complete() {
            self.request_cancel();
            self.wake();
        }
    }
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

pub(crate) struct TaskCell<F: Future> {
    header: Header,
    stage: RefCell<Stage<F>>,
}

// SAFETY: invariant 5 of this module: other threads reach the cell only through `Wake` (atomic
// state, immutable key, `Sync` shared queue) and through the final drop, which by then finds
// neither the future nor the output in the stage; all other fields stay on the runtime's thread.
unsafe impl<F: Future> Send for TaskCell<F> {}
// SAFETY: as for `Send` above: the only methods other threads can call through a shared
// reference are `Wake`'s, which touch atomic or immutable fields only.
unsafe impl<F: Future> Sync for TaskCell<F> {}

/// What the executor needs from a task, whatever its future's type.
pub(crate) trait ErasedTask {
    fn header(&self) -> &Header;
    /// Polls the future once; `Ready` once the task has finished.
    ///
    /// # Safety
    ///
    /// `this` must point to this very cell and carry the provenance of an `Arc::as_ptr` on a
    /// strong reference to it, which the caller keeps alive for the whole call: the task's
    /// waker is built from it without touching the reference count.
    unsafe fn poll(&self, this: *const ()) -> Poll<()>;
    /// Drops the future in place and stores a cancellation error (or the panic its
    /// destructor raised). A no-op for a task that already finished.
    fn cancel(&self);
}

/// What an `AbortHandle` needs from a task, whatever its future's type: its header.
pub(crate) trait AbortTarget {
    fn header(&self) -> &Header;
}

/// What a `JoinHandle<T>` needs from a task whose output is `T`.
pub(crate) trait JoinTarget<T>: AbortTarget {
    /// The output if the task finished (taking it), else registers `waker` for the finish.
    fn poll_output(&self, waker: &Waker) -> Poll<Result<T, JoinError>>;
    /// The handle is going away: stop storing the output, and drop one already stored.
    fn drop_join_interest(&self);
}

impl<F: Future> TaskCell<F> {
    /// A task cell for `future`, `SCHEDULED` (the caller queues its key), with a handle
    /// expected (`JOIN_INTEREST`).
    pub(crate) fn new(
        future: F,
        key: (u32, TaskId),
        location: &'static Location<'static>,
        named: bool,
        remote: Arc<RemoteQueue>,
    ) -> Self {
        let (index, id) = key;
        let flags = JOIN_INTEREST | if named { NAMED } else { 0 };
        TaskCell {
            header: Header {
                state: ScheduleState::scheduled(),
                index,
                id,
                remote,
                location,
                join_waker: Cell::new(None),
                flags: Cell::new(flags),
            },
            stage: RefCell::new(Stage::Running(future)),
        }
    }

    /// Drops the future in place, then stores `result` if a handle wants it (else drops it).
    /// A panic from the future's destructor replaces a successful result. Returns the
    /// joiner's waker: the caller wakes it once the stage's borrow has ended.
    fn finish(&self, stage: &mut Stage<F>, result: Result<F::Output, JoinError>) -> Option<Waker> {
        let result = match unwind::catch(|| *stage = Stage::Consumed) {
            None => result,
            Some(payload) => {
                // The destructor's panic replaces the result, which is dropped here: an output
                // whose own destructor panics must not unwind into the executor either.
                unwind::drop_quietly(result);
                Err(JoinError::panic(self.header.id, payload))
            }
        };
        self.header.set(FINISHED);
        // Checked after the future's drop, which may have dropped the task's own handle.
        if self.header.has(JOIN_INTEREST) {
            *stage = Stage::Finished(result);
        } else {
            // Nobody will read it; a panic from its destructor has nowhere to go either.
            unwind::drop_quietly(result);
        }
        self.header.join_waker.take()
    }
}

/// Wakes a joiner outside every borrow; a foreign waker that panics is contained here.
fn wake_joiner(waker: Option<Waker>) {
    if let Some(waker) = waker {
        unwind::contain(|| waker.wake());
    }
}

impl<F: Future + 'static> Wake for TaskCell<F> {
    fn wake(self: Arc<Self>) {
        self.header.wake();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.header.wake();
    }
}

impl<F: Future + 'static> ErasedTask for TaskCell<F> {
    fn header(&self) -> &Header {
        &self.header
    }

    unsafe fn poll(&self, this: *const ()) -> Poll<()> {
        // SAFETY: by this method's contract `this` is `Arc::as_ptr` of a live strong reference
        // to `self`, held by the caller until we return, so rebuilding the `Arc` is valid; it
        // is wrapped in `ManuallyDrop` (and so is the waker made from it), so the count it
        // never incremented is never decremented. Clones of the waker increment it normally.
        let waker = ManuallyDrop::new(Waker::from(unsafe { Arc::from_raw(this.cast::<Self>()) }));
        let mut stage = self.stage.borrow_mut();
        let Stage::Running(future) = &mut *stage else {
            return Poll::Ready(());
        };
        // SAFETY: the future is stored inline in this cell, which lives in an `Arc` allocation
        // that never moves, and the future is never moved out of the stage: it is only
        // dropped in place by `finish` (invariant 2 of this module). The moves of the stage
        // in `poll_output` and `drop_join_interest` happen only once it is no longer `Running`.
        let future = unsafe { Pin::new_unchecked(future) };
        let mut cx = Context::from_waker(&waker);
        let result = match catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(JoinError::panic(self.header.id, payload)),
        };
        let joiner = self.finish(&mut stage, result);
        drop(stage);
        wake_joiner(joiner);
        Poll::Ready(())
    }

    fn cancel(&self) {
        // Decided from the flag, not by reading the stage: a shared reference to a suspended
        // future would invalidate the `&mut`s it holds to its own locals (invariant 6), which
        // its destructor may still write through.
        if self.header.is_finished() {
            return;
        }
        let mut stage = self.stage.borrow_mut();
        let joiner = self.finish(&mut stage, Err(JoinError::cancelled(self.header.id)));
        drop(stage);
        wake_joiner(joiner);
    }
}

impl<F: Future> AbortTarget for TaskCell<F> {
    fn header(&self) -> &Header {
        &self.header
    }
}

impl<F: Future> JoinTarget<F::Output> for TaskCell<F> {
    fn poll_output(&self, waker: &Waker) -> Poll<Result<F::Output, JoinError>> {
        // Running until `FINISHED` says otherwise; the stage is not looked at before then
        // (invariant 6). Borrowed means `finish` is storing the output right now: not yet.
        let stage = if self.header.is_finished() {
            self.stage.try_borrow_mut().ok()
        } else {
            None
        };
        if stage.is_none() {
            let registered = self.header.join_waker.take();
            let keep = match registered {
                Some(old) if old.will_wake(waker) => old,
                _ => waker.clone(),
            };
            self.header.join_waker.set(Some(keep));
            return Poll::Pending;
        }
        let mut stage = stage.expect("checked: finished and not borrowed");
        // Finished, so moving the stage out moves no pinned future.
        match std::mem::replace(&mut *stage, Stage::Consumed) {
            Stage::Finished(result) => Poll::Ready(result),
            Stage::Consumed => panic!("JoinHandle polled after it returned the task's output"),
            Stage::Running(_) => unreachable!("`FINISHED` is set only once the future is gone"),
        }
    }

    fn drop_join_interest(&self) {
        self.header.clear(JOIN_INTEREST);
        // A joiner's waker may be a foreign one whose destructor panics: contained, like the
        // output's below, because dropping a handle must not panic (tokio contains both).
        if let Some(waker) = self.header.join_waker.take() {
            unwind::drop_quietly(waker);
        }
        // Borrowed: the task is running or finishing right now, and `finish` checks the flag
        // after this. Otherwise take a stored output, so it is dropped here, on this thread.
        // Not finished: the stage holds the future and is not looked at (invariant 6).
        let unread = match self.stage.try_borrow_mut() {
            Ok(mut stage) if self.header.is_finished() => {
                // Finished, so moving the stage out moves no pinned future.
                Some(std::mem::replace(&mut *stage, Stage::Consumed))
            }
            _ => None,
        };
        // Dropped after the borrow ends: the output's destructor is user code, and its panic
        // has nowhere to go (the handle that would have read the output is being dropped).
        if let Some(unread) = unread {
            unwind::drop_quietly(unread);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memory target of a task (≤ 128 B beyond its future, with its slab slot and queue
    /// key) depends on the header staying this small: a new field must earn its bytes.
    #[test]
    fn header_packs_into_48_bytes() {
        assert_eq!(std::mem::size_of::<Header>(), 48);
        assert_eq!(std::mem::size_of::<TaskKey>(), 8);
    }
}
