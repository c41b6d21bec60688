//! Cooperative budget: a task that is always ready must still yield.
//!
//! Each poll of a task gets [`TASK_BUDGET`] units. Every evloop future that can complete
//! without waiting spends one unit per completed operation: a socket read or write, an accept,
//! a timer, a join, a channel receive, a semaphore acquire, a notification, and each stream
//! call of the `io` helpers. When the budget is spent, these futures return `Pending` after
//! waking their task, so the task goes to the back of the run queue and the loop gets to poll
//! I/O and timers. No combination of evloop's own futures can therefore hold the thread.
//!
//! Two ways to spend:
//! - a leaf that does the operation itself takes a unit first (`poll_proceed`) and keeps it
//!   if the operation completes (`Progress::made_progress`);
//! - a helper that drives a stream it does not know (`io::copy`, `read_exact`...) checks the
//!   budget first (`poll_proceed_for_stream`) and, once the stream's call completes, spends a
//!   unit only if the stream did not spend one itself (`StreamProgress::made_progress`). An
//!   evloop socket spends in its own `poll_read`; a `&[u8]`, a `Vec<u8>` or a user's in-memory
//!   stream does not. Either way the call costs exactly one unit.
//!
//! # Invariants
//!
//! 1. The budget is set only for the duration of one task poll (`with_budget`); outside a
//!    poll (and inside `unconstrained`) operations are never refused.
//! 2. A unit is spent only when an operation makes progress: an operation that returns
//!    `Pending` for lack of readiness gives its unit back (`Progress`), or never takes one
//!    (`StreamProgress`).
//! 3. A future that returns `Pending` because the budget is spent has woken its task first, so
//!    the task runs again at its next turn instead of waiting for an event that may never come.

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
    #[inline]
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
#[inline]
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

/// A check of the budget made by a helper around one call into a stream; see the module docs.
///
/// It takes no unit up front: the stream may spend one itself, and the helper must not spend a
/// second. It remembers the units left before the call instead.
#[must_use = "call made_progress() when the stream's call completes"]
pub(crate) struct StreamProgress {
    /// The budget before the stream's call (`None`: no limit).
    left_before: Option<u32>,
}

impl StreamProgress {
    /// The stream's call completed: spends one unit, unless the stream already spent one (the
    /// budget moved during the call).
    #[inline]
    pub(crate) fn made_progress(self) {
        let _ = BUDGET.try_with(|budget| {
            let left = budget.get();
            if left == self.left_before
                && let Some(units) = left
            {
                // `poll_proceed_for_stream` refused a spent budget, and nothing was taken
                // since, so `units >= 1`.
                budget.set(Some(units - 1));
            }
        });
    }
}

/// Lets a helper call into a stream, or wakes the task and returns `Pending` if the budget is
/// spent (the stream's own check, if it has one, would refuse anyway; one that has none, an
/// in-memory stream, must not run on).
#[inline]
pub(crate) fn poll_proceed_for_stream(cx: &mut Context<'_>) -> Poll<StreamProgress> {
    let left_before = BUDGET.with(Cell::get);
    if left_before == Some(0) {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    Poll::Ready(StreamProgress { left_before })
}

/// Spends one unit for an operation that completes at once (no readiness to wait for), or
/// wakes the task and returns `Pending` if the budget is spent.
pub(crate) fn poll_spend(cx: &mut Context<'_>) -> Poll<()> {
    poll_proceed(cx).map(Progress::made_progress)
}

/// Units left in the current poll (`None`: no limit), for tests that count what an operation
/// spent.
#[cfg(test)]
pub(crate) fn left() -> Option<u32> {
    BUDGET.with(Cell::get)
}
