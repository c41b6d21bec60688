//! Model checks, with loom, of the executor's one cross-thread race: a wake from another
//! thread against the runtime's thread ending a poll (`RUNNING → RUNNING_NOTIFIED` against
//! `end_poll_pending`), and the remote push that follows against the runtime's drain.
//!
//! Threads sampled in a stress test (`tests/wake_stress.rs`) may never hit the one bad
//! interleaving; loom runs every interleaving of these small models, under the C11 memory
//! model. Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test --release --lib executor::loom_tests
//! ```

use std::sync::Arc;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use super::id::{TaskId, TaskKey};
use super::run_queue::{RunQueue, Unpark};
use super::state::{IDLE, SCHEDULED, ScheduleState};
use super::waker::wake_task;

/// Counts unparks instead of interrupting a wait.
struct CountUnparks(Arc<AtomicUsize>);

impl Unpark for CountUnparks {
    fn unpark(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn key() -> TaskKey {
    TaskKey::new(7, TaskId(7))
}

fn run_queue() -> (RunQueue, Arc<AtomicUsize>) {
    let unparks = Arc::new(AtomicUsize::new(0));
    (
        RunQueue::new(Box::new(CountUnparks(unparks.clone()))),
        unparks,
    )
}

fn queued(queue: &RunQueue) -> usize {
    std::iter::from_fn(|| queue.pop()).count()
}

/// A wake from another thread lands before, during or after the end of a poll that returns
/// `Pending`: either way the task is queued exactly once, by whichever side saw the other.
#[test]
fn a_remote_wake_against_the_end_of_a_poll_queues_the_task_exactly_once() {
    loom::model(|| {
        let (queue, unparks) = run_queue();
        let state = Arc::new(ScheduleState::scheduled());
        state.start_poll();
        let waker = {
            let state = state.clone();
            let remote = queue.remote().clone();
            thread::spawn(move || wake_task(&state, key(), &remote))
        };
        // The runtime's thread: the poll returned `Pending`.
        let requeued = state.end_poll_pending();
        if requeued {
            queue.push(key());
        }
        waker.join().unwrap();
        queue.drain_remote();
        assert_eq!(queued(&queue), 1, "the wake is neither lost nor doubled");
        assert_eq!(state.get(), SCHEDULED);
        // A key that went the remote way interrupted the wait; one requeued locally did not.
        let expected_unparks = if requeued { 0 } else { 1 };
        assert_eq!(unparks.load(Ordering::SeqCst), expected_unparks);
    });
}

/// Two threads wake an idle task at once while the runtime drains the remote queue: the task
/// is queued once, and if the drain came too early to see the key, the runtime was unparked,
/// so its next turn drains it.
#[test]
fn remote_wakes_against_a_drain_are_never_lost_and_queue_once() {
    loom::model(|| {
        let (queue, unparks) = run_queue();
        let state = Arc::new(ScheduleState::scheduled());
        state.start_poll();
        assert!(!state.end_poll_pending());
        assert_eq!(state.get(), IDLE);
        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let state = state.clone();
                let remote = queue.remote().clone();
                thread::spawn(move || wake_task(&state, key(), &remote))
            })
            .collect();
        queue.drain_remote();
        let early = queued(&queue);
        for waker in wakers {
            waker.join().unwrap();
        }
        if early == 0 {
            assert_eq!(
                unparks.load(Ordering::SeqCst),
                1,
                "a key the drain missed must have unparked the runtime"
            );
        }
        queue.drain_remote();
        assert_eq!(early + queued(&queue), 1, "two wakes, one queued key");
    });
}
