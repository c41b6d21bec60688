//! The schedule state: one atomic byte per task (and per `block_on` future) that decides who
//! queues it, so that a task is queued at most once however many wakes arrive, and a wake
//! during a poll is never lost.
//!
//! ```text
//!          wake                start poll             poll → Pending, no wake meanwhile
//!  IDLE ──────────▶ SCHEDULED ──────────▶ RUNNING ─────────────────────────────────▶ IDLE
//!   ▲                  ▲                     │ wake
//!   │                  │ poll → Pending      ▼
//!   │                  └──────────── RUNNING_NOTIFIED     (wakes in SCHEDULED/NOTIFIED: no-ops)
//!   │
//!   └── any state ──▶ COMPLETE  (returned, panicked, aborted, or runtime dropped; final)
//! ```
//!
//! # Invariants
//!
//! 1. The state moves only along the edges drawn above. `COMPLETE` is final.
//! 2. A task's key is pushed onto a run queue only by a transition *into* [`SCHEDULED`]
//!    ([`ScheduleState::note_wake`] returning true, [`ScheduleState::end_poll_pending`]
//!    returning true, or a spawn), so a task sits in the queues at most once.
//! 3. A wake that lands while the task is running is not lost (it leaves [`RUNNING_NOTIFIED`]
//!    behind) and does not poll the task re-entrantly (nothing is queued until the poll ends).
//! 4. Every edge is an atomic read-modify-write with acquire/release ordering, so what a
//!    thread wrote before its `wake()` is visible to the poll that the wake causes. Only the
//!    runtime's thread takes the `SCHEDULED → RUNNING → IDLE/SCHEDULED` edges and `COMPLETE`;
//!    any thread takes the wake edges. The race between the two is model-checked with loom
//!    (`loom_tests.rs`).

use super::sync_shim::{AtomicU8, Ordering};

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

/// A task's schedule state: one atomic byte, so that it packs beside the other small fields
/// of a task cell.
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

    /// Ends a poll that returned `Pending`: `RUNNING → IDLE`, or `RUNNING_NOTIFIED →
    /// SCHEDULED`. Returns true in the second case: the task was woken during the poll, and
    /// the caller must queue its key.
    pub(crate) fn end_poll_pending(&self) -> bool {
        match self
            .0
            .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => false,
            Err(actual) => {
                debug_assert_eq!(actual, RUNNING_NOTIFIED);
                // No wake can change `RUNNING_NOTIFIED`, so a plain store cannot lose one.
                self.0.store(SCHEDULED, Ordering::Release);
                true
            }
        }
    }

    /// `* → COMPLETE`: every later wake is a no-op.
    pub(crate) fn complete(&self) {
        self.0.store(COMPLETE, Ordering::Release);
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.0.load(Ordering::Acquire) == COMPLETE
    }

    /// Applies a wake: `IDLE → SCHEDULED` or `RUNNING → RUNNING_NOTIFIED`, else nothing.
    /// Returns true if the caller must queue the key (the `IDLE → SCHEDULED` edge).
    pub(crate) fn note_wake(&self) -> bool {
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

    /// The raw state, for tests.
    #[cfg(test)]
    pub(crate) fn get(&self) -> u8 {
        self.0.load(Ordering::Acquire)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn polled_once() -> ScheduleState {
        let state = ScheduleState::scheduled();
        state.start_poll();
        state
    }

    #[test]
    fn a_wake_of_an_idle_task_schedules_it_once() {
        let state = polled_once();
        assert!(!state.end_poll_pending());
        assert_eq!(state.get(), IDLE);
        assert!(state.note_wake(), "IDLE → SCHEDULED queues the key");
        assert_eq!(state.get(), SCHEDULED);
        assert!(!state.note_wake(), "a second wake must not queue it again");
        assert_eq!(state.get(), SCHEDULED);
    }

    #[test]
    fn a_wake_during_a_poll_is_kept_and_queues_after_it() {
        let state = polled_once();
        assert!(!state.note_wake(), "nothing is queued while the task runs");
        assert_eq!(state.get(), RUNNING_NOTIFIED);
        assert!(!state.note_wake(), "more wakes during the poll add nothing");
        assert!(
            state.end_poll_pending(),
            "the end of the poll queues the task"
        );
        assert_eq!(state.get(), SCHEDULED);
    }

    #[test]
    fn a_poll_without_a_wake_leaves_the_task_idle() {
        let state = polled_once();
        assert!(!state.end_poll_pending());
        assert_eq!(state.get(), IDLE);
    }

    #[test]
    fn complete_is_final() {
        for setup in [IDLE, SCHEDULED, RUNNING, RUNNING_NOTIFIED] {
            let state = ScheduleState::scheduled();
            match setup {
                IDLE => {
                    state.start_poll();
                    state.end_poll_pending();
                }
                RUNNING => state.start_poll(),
                RUNNING_NOTIFIED => {
                    state.start_poll();
                    state.note_wake();
                }
                _ => {}
            }
            assert_eq!(state.get(), setup);
            state.complete();
            assert!(state.is_complete());
            assert!(!state.note_wake(), "a wake of a complete task is a no-op");
            assert_eq!(state.get(), COMPLETE);
        }
    }
}
