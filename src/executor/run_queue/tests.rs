//! The run queue alone, without a runtime: order, the remote half's unpark, the active queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::executor::id::TaskId;

/// Counts unparks instead of interrupting a wait.
#[derive(Clone, Default)]
struct CountUnparks(Arc<AtomicUsize>);

impl Unpark for CountUnparks {
    fn unpark(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl CountUnparks {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

fn key(n: u32) -> TaskKey {
    TaskKey::new(n, TaskId(u64::from(n)))
}

fn queue() -> (Rc<RunQueue>, CountUnparks) {
    let unparks = CountUnparks::default();
    (Rc::new(RunQueue::new(Box::new(unparks.clone()))), unparks)
}

fn pop_all(queue: &RunQueue) -> Vec<u32> {
    std::iter::from_fn(|| queue.pop())
        .map(|key| key.index)
        .collect()
}

#[test]
fn local_keys_come_out_in_wake_order() {
    let (queue, unparks) = queue();
    for n in [3, 1, 2] {
        queue.push(key(n));
    }
    assert_eq!(queue.len(), 3);
    assert_eq!(pop_all(&queue), [3, 1, 2]);
    assert!(queue.is_empty());
    assert_eq!(unparks.count(), 0, "a local push never interrupts the wait");
}

#[test]
fn remote_keys_wait_for_the_drain_and_go_behind_the_local_ones() {
    let (queue, _) = queue();
    queue.push(key(1));
    queue.remote().push(key(2));
    queue.remote().push(key(3));
    assert_eq!(
        queue.len(),
        1,
        "remote keys are not in the local half before a drain"
    );
    queue.push(key(4));
    queue.drain_remote();
    assert_eq!(pop_all(&queue), [1, 4, 2, 3]);
}

#[test]
fn only_the_first_remote_push_after_a_drain_unparks() {
    let (queue, unparks) = queue();
    queue.remote().push(key(1));
    queue.remote().push(key(2));
    assert_eq!(unparks.count(), 1);
    queue.drain_remote();
    queue.remote().push(key(3));
    assert_eq!(unparks.count(), 2, "a push after the drain unparks again");
    queue.drain_remote();
    queue.drain_remote();
    assert_eq!(pop_all(&queue), [1, 2, 3]);
}

#[test]
fn a_wake_pushes_locally_only_into_the_active_queue_it_belongs_to() {
    let (mine, _) = queue();
    let (other, _) = queue();
    assert!(!push_if_active(mine.remote(), key(1)), "no queue is active");
    {
        let _active = mine.activate();
        assert!(push_if_active(mine.remote(), key(2)));
        assert!(
            !push_if_active(other.remote(), key(3)),
            "another executor's task"
        );
    }
    assert!(
        !push_if_active(mine.remote(), key(4)),
        "deactivated with its guard"
    );
    assert_eq!(pop_all(&mine), [2]);
    assert!(other.is_empty());
}

#[test]
fn activations_nest_and_restore_the_previous_queue() {
    let (outer, _) = queue();
    let (inner, _) = queue();
    let _outer = outer.activate();
    {
        let _inner = inner.activate();
        assert!(push_if_active(inner.remote(), key(1)));
        assert!(!push_if_active(outer.remote(), key(2)));
    }
    assert!(push_if_active(outer.remote(), key(3)));
    assert_eq!(pop_all(&inner), [1]);
    assert_eq!(pop_all(&outer), [3]);
}

#[test]
fn clear_forgets_both_halves() {
    let (queue, _) = queue();
    queue.push(key(1));
    queue.remote().push(key(2));
    queue.clear();
    queue.drain_remote();
    assert!(queue.is_empty());
}
