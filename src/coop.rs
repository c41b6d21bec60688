//! Cooperative budget: a task that is always ready must still yield.
//!
//! Each poll of a task gets [`TASK_BUDGET`] units. Every leaf future of evloop that completes
//! an operation (a socket read or write, an accept, a timer, a join) spends one unit; when the
//! budget is spent, leaf futures return `Pending` after waking their task, so the task goes to
//! the back of the run queue and the loop gets to poll I/O and timers.
//!
//! # Invariants
//!
//! 1. The budget is set only for the duration of one task poll (`with_budget`); outside a
//!    poll (and inside `unconstrained`) operations are never refused.
//! 2. A unit is spent only when an operation makes progress: an operation that returns
//!    `Pending` for lack of readiness gives its unit back (`Progress`).

use std::cell::Cell;
use std::task::{Context, Poll};

/// Operations one task poll may complete before it is made to yield.
///
/// 128 lets a task echo a burst of small messages in one poll (amortising the poll's fixed
/// cost), while bounding how long it can hold the loop: 128 operations of a few µs each keep
/// other tasks, timers and sockets waiting well under a millisecond.
pub const TASK_BUDGET: u32 = 128;

thread_local! {
    /// Units left in the current poll; `None` means no limit (outside task polls).
    static BUDGET: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Restores the previous budget when dropped (also on unwind).
struct ResetGuard(Option<u32>);

impl Drop for ResetGuard {
    fn drop(&mut self) {
        let previous = self.0;
        let _ = BUDGET.try_with(|budget| budget.set(previous));
    }
}

/// Runs `f` (one task poll) with a fresh budget of `units`. Also returns true if the poll spent
/// the whole budget: the task was made to yield (or would have been at its next operation),
/// and the loop ends its turn so that I/O and timers are polled before it runs again.
pub(crate) fn with_budget<R>(units: u32, f: impl FnOnce() -> R) -> (R, bool) {
    let _reset = ResetGuard(BUDGET.with(|budget| budget.replace(Some(units))));
    let result = f();
    let spent = BUDGET.with(|budget| budget.get() == Some(0));
    (result, spent)
}

/// Runs `f` with no budget limit (used to poll a timeout's timer after its future spent the
/// budget, so a busy future cannot postpone its own deadline).
pub(crate) fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    let _reset = ResetGuard(BUDGET.with(|budget| budget.replace(None)));
    f()
}

/// A unit taken from the budget; given back on drop unless the operation made progress.
#[must_use = "call made_progress() when the operation completes"]
pub(crate) struct Progress {
    taken: bool,
}

impl Progress {
    /// Keeps the unit spent: the operation completed.
    pub(crate) fn made_progress(mut self) {
        self.taken = false;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.taken {
            let _ = BUDGET.try_with(|budget| {
                if let Some(units) = budget.get() {
                    budget.set(Some(units + 1));
                }
            });
        }
    }
}

/// Takes one unit, or wakes the task and returns `Pending` if the budget is spent.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<Progress> {
    let taken = BUDGET.with(|budget| match budget.get() {
        None => Some(false),
        Some(0) => None,
        Some(units) => {
            budget.set(Some(units - 1));
            Some(true)
        }
    });
    match taken {
        Some(taken) => Poll::Ready(Progress { taken }),
        None => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
