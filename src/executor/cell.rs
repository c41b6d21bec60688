//! The task cell: one allocation holding a task's future, then its output.
//!
//! The task slab and the task's [`JoinHandle`](crate::task::JoinHandle) share the cell through
//! an `Rc`: the slab's reference lives as long as the task runs, the handle's as long as the
//! user keeps it. The cell never leaves the runtime's thread.
//!
//! # Invariants
//!
//! 1. The stage only moves forward: `Running(future) → Consumed → Finished(output)`, and
//!    `Finished → Consumed` when the handle takes the output.
//! 2. The future is pinned: it lives inline in the `Rc` allocation and is never moved out; it is
//!    dropped in place by overwriting the stage, never by `mem::replace`.
//! 3. A poll, a cancellation and a handle's read never overlap: each holds the stage's
//!    `RefCell` borrow. The only user code that runs under that borrow is the future's own
//!    `poll` and `drop`; if they reach their own `JoinHandle`, the handle sees the borrow and
//!    answers from `Header::finished` or returns `Pending` instead of borrowing again. The
//!    joiner's waker is woken only after the borrow ends.
//! 4. Panics from the future's `poll` and `drop` are caught here and become the task's
//!    [`JoinError`]; they never unwind into the executor.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::Location;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::join::JoinError;
use super::waker::{TaskId, TaskWaker};

/// The parts of a task that do not depend on its future's type.
pub(crate) struct Header {
    pub(crate) id: TaskId,
    /// Where the task was spawned and what it was named: for reports, never for scheduling.
    pub(crate) meta: TaskMeta,
    /// The schedule state; shared with every clone of `waker`.
    pub(crate) sched: Arc<TaskWaker>,
    /// The task's waker, built once at spawn and lent to every poll.
    pub(crate) waker: Waker,
    /// Who to wake when the task finishes: the task awaiting the `JoinHandle`, if any.
    pub(crate) join_waker: Cell<Option<Waker>>,
    /// Set by `JoinHandle::abort`; the executor cancels instead of polling.
    pub(crate) cancel_requested: Cell<bool>,
    /// Set once the output (or the error) is stored; readable while the stage is borrowed.
    pub(crate) finished: Cell<bool>,
}

/// A task's description: the spawn site (from `#[track_caller]`) and an optional name.
pub(crate) struct TaskMeta {
    pub(crate) location: &'static Location<'static>,
    pub(crate) name: Option<Box<str>>,
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

/// What the executor needs from a task, whatever its future's type.
pub(crate) trait ErasedTask {
    fn header(&self) -> &Header;
    /// Polls the future once; `Ready` once the task has finished (output stored).
    fn poll(&self) -> Poll<()>;
    /// Drops the future in place and stores a cancellation error (or the panic its
    /// destructor raised). A no-op for a task that already finished.
    fn cancel(&self);
}

/// What a `JoinHandle<T>` needs from a task whose output is `T`.
pub(crate) trait JoinTarget<T> {
    fn header(&self) -> &Header;
    /// The output if the task finished (taking it), else registers `waker` for the finish.
    fn poll_output(&self, waker: &Waker) -> Poll<Result<T, JoinError>>;
    fn is_finished(&self) -> bool;
}

impl<F: Future> TaskCell<F> {
    pub(crate) fn new(future: F, id: TaskId, meta: TaskMeta, sched: Arc<TaskWaker>) -> Self {
        TaskCell {
            header: Header {
                id,
                meta,
                waker: Waker::from(sched.clone()),
                sched,
                join_waker: Cell::new(None),
                cancel_requested: Cell::new(false),
                finished: Cell::new(false),
            },
            stage: RefCell::new(Stage::Running(future)),
        }
    }

    /// Drops the future in place, then stores `result`. A panic from the future's destructor
    /// replaces a successful result. Returns the joiner's waker: the caller wakes it once the
    /// stage's borrow has ended.
    fn finish(&self, stage: &mut Stage<F>, result: Result<F::Output, JoinError>) -> Option<Waker> {
        let dropped = catch_unwind(AssertUnwindSafe(|| *stage = Stage::Consumed));
        let result = match dropped {
            Ok(()) => result,
            Err(payload) => Err(JoinError::panic(self.header.id, payload)),
        };
        *stage = Stage::Finished(result);
        self.header.finished.set(true);
        self.header.join_waker.take()
    }
}

/// Wakes a joiner outside every borrow; a foreign waker that panics is contained here.
fn wake_joiner(waker: Option<Waker>) {
    if let Some(waker) = waker {
        let _ = catch_unwind(AssertUnwindSafe(|| waker.wake()));
    }
}

impl<F: Future> ErasedTask for TaskCell<F> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn poll(&self) -> Poll<()> {
        let mut stage = self.stage.borrow_mut();
        let Stage::Running(future) = &mut *stage else {
            return Poll::Ready(());
        };
        // SAFETY: the future is stored inline in this cell, which lives in an `Rc` allocation
        // that never moves, and the future is never moved out of the stage: it is only
        // dropped in place by `finish` or `cancel` (invariant 2 of this module). The one move
        // of the stage, in `poll_output`, happens only once the stage is no longer `Running`.
        let future = unsafe { Pin::new_unchecked(future) };
        let mut cx = Context::from_waker(&self.header.waker);
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
        let mut stage = self.stage.borrow_mut();
        if matches!(*stage, Stage::Running(_)) {
            let joiner = self.finish(&mut stage, Err(JoinError::cancelled(self.header.id)));
            drop(stage);
            wake_joiner(joiner);
        }
    }
}

impl<F: Future> JoinTarget<F::Output> for TaskCell<F> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn poll_output(&self, waker: &Waker) -> Poll<Result<F::Output, JoinError>> {
        // Borrowed means the task is polling (or dropping) itself right now: still running.
        let stage = self.stage.try_borrow_mut().ok();
        let running = stage
            .as_ref()
            .is_none_or(|stage| matches!(**stage, Stage::Running(_)));
        if running {
            let registered = self.header.join_waker.take();
            let keep = match registered {
                Some(old) if old.will_wake(waker) => old,
                _ => waker.clone(),
            };
            self.header.join_waker.set(Some(keep));
            return Poll::Pending;
        }
        let mut stage = stage.expect("checked: not borrowed");
        // Not running, so moving the stage out moves no pinned future.
        match std::mem::replace(&mut *stage, Stage::Consumed) {
            Stage::Finished(result) => Poll::Ready(result),
            Stage::Consumed => panic!("JoinHandle polled after it returned the task's output"),
            Stage::Running(_) => unreachable!("checked above"),
        }
    }

    fn is_finished(&self) -> bool {
        self.header.finished.get()
    }
}
