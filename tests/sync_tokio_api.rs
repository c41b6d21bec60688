//! `evloop::sync`'s tokio-shaped types inside a running runtime: `Mutex`, `RwLock`, `watch`,
//! `broadcast`, `Barrier` and mpsc reservations (`reserve`, `send_timeout`) between spawned
//! tasks, cancellation by `abort`, and the cooperative budget (a task looping over an
//! always-ready lock or channel still lets its neighbours run). The shapes follow tokio's own
//! tests for these types. No timing assertions: tasks are sequenced with `settle` (yield until
//! everything woken has run).

#[path = "support/counters.rs"]
mod counters;
mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use counters::settle;
use evloop::sync::broadcast::error::RecvError as BroadcastRecvError;
use evloop::sync::mpsc::error::SendTimeoutError;
use evloop::sync::{Barrier, Mutex, Notify, RwLock, broadcast, mpsc, watch};
use support::{rt, with_deadline};

/// Hang guard for every test body: far more than any of them needs.
const LIMIT: Duration = Duration::from_secs(30);

// ---- Mutex -------------------------------------------------------------------------------------

#[test]
fn mutex_holders_do_not_interleave_across_awaits_and_take_turns_in_order() {
    rt().block_on(with_deadline(LIMIT, "mutex", async {
        let mutex = Rc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let mutex = mutex.clone();
                evloop::spawn(async move {
                    let mut log = mutex.lock().await;
                    log.push((i, "in"));
                    settle(2).await; // the others run, and queue up
                    log.push((i, "out"));
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let expected: Vec<_> = (0..4).flat_map(|i| [(i, "in"), (i, "out")]).collect();
        assert_eq!(*mutex.lock().await, expected);
    }));
}

#[test]
fn an_aborted_task_that_was_handed_the_lock_passes_it_on() {
    rt().block_on(with_deadline(LIMIT, "mutex abort", async {
        let mutex = Rc::new(Mutex::new(0));
        let guard = mutex.clone().lock_owned().await;
        let spawn_adder = |mutex: Rc<Mutex<i32>>| {
            evloop::spawn(async move {
                *mutex.lock().await += 1;
            })
        };
        let first = spawn_adder(mutex.clone());
        let second = spawn_adder(mutex.clone());
        settle(2).await; // both wait for the lock, `first` at the head
        drop(guard); // hands the lock to `first`...
        first.abort(); // ...which is cancelled before it runs
        assert!(first.await.unwrap_err().is_cancelled());
        second.await.unwrap();
        assert_eq!(*mutex.lock().await, 1);
    }));
}

// ---- mpsc reservations -------------------------------------------------------------------------

#[test]
fn send_timeout_gives_the_value_back_when_no_slot_frees_in_time() {
    rt().block_on(with_deadline(LIMIT, "send_timeout", async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(String::from("first")).await.unwrap();
        let full = tx
            .send_timeout(String::from("late"), Duration::from_millis(5))
            .await;
        match full {
            Err(SendTimeoutError::Timeout(value)) => assert_eq!(value, "late"),
            other => panic!("expected a timeout, got {other:?}"),
        }
        // A receiver that frees the slot in time lets it through.
        let receiver = evloop::spawn(async move {
            let first = rx.recv().await;
            let second = rx.recv().await;
            (first, second, rx)
        });
        tx.send_timeout(String::from("second"), LIMIT)
            .await
            .unwrap();
        let (first, second, mut rx) = receiver.await.unwrap();
        assert_eq!(
            (first.as_deref(), second.as_deref()),
            (Some("first"), Some("second"))
        );
        rx.close();
        let closed = tx.send_timeout(String::from("closed"), LIMIT).await;
        assert!(matches!(closed, Err(SendTimeoutError::Closed(value)) if value == "closed"));
    }));
}

#[test]
fn an_aborted_task_that_was_granted_a_reservation_passes_the_slot_on() {
    rt().block_on(with_deadline(LIMIT, "reserve abort", async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(0).await.unwrap();
        let spawn_reserver = |tx: mpsc::Sender<i32>, value| {
            evloop::spawn(async move {
                tx.reserve().await.unwrap().send(value);
            })
        };
        let first = spawn_reserver(tx.clone(), 1);
        let second = spawn_reserver(tx.clone(), 2);
        settle(2).await; // both wait for the slot, `first` at the head
        assert_eq!(rx.recv().await, Some(0)); // grants the slot to `first`...
        first.abort(); // ...which is cancelled before it runs
        assert!(first.await.unwrap_err().is_cancelled());
        second.await.unwrap();
        assert_eq!(rx.recv().await, Some(2));
    }));
}

#[test]
fn an_owned_permit_moves_into_another_task_which_sends_with_it() {
    rt().block_on(with_deadline(LIMIT, "owned permit", async {
        let (tx, mut rx) = mpsc::channel(1);
        let permit = tx.reserve_owned().await.unwrap();
        let ready = Rc::new(Notify::new());
        let producer = evloop::spawn({
            let ready = ready.clone();
            async move {
                ready.notified().await;
                permit.send("produced")
            }
        });
        settle(1).await;
        assert!(rx.try_recv().is_err(), "nothing sent yet");
        ready.notify_one();
        assert_eq!(rx.recv().await, Some("produced"));
        let tx = producer.await.unwrap();
        assert_eq!(tx.capacity(), 1);
    }));
}

// ---- RwLock ------------------------------------------------------------------------------------

#[test]
fn rwlock_readers_overlap_and_a_writer_waits_for_them_then_goes_before_later_readers() {
    rt().block_on(with_deadline(LIMIT, "rwlock", async {
        let lock = Rc::new(RwLock::new(0));
        let readers_inside = Rc::new(Cell::new(0));
        let most_inside = Rc::new(Cell::new(0));
        let spawn_reader = |expected: i32| {
            let (lock, inside, most) = (lock.clone(), readers_inside.clone(), most_inside.clone());
            evloop::spawn(async move {
                let value = lock.read().await;
                inside.set(inside.get() + 1);
                most.set(most.get().max(inside.get()));
                settle(2).await;
                inside.set(inside.get() - 1);
                assert_eq!(*value, expected);
            })
        };
        let early: Vec<_> = (0..3).map(|_| spawn_reader(0)).collect();
        settle(1).await; // the early readers are inside
        let writer = evloop::spawn({
            let lock = lock.clone();
            async move { *lock.write().await = 1 }
        });
        settle(1).await; // the writer queues behind them
        let late = spawn_reader(1); // and this reader behind the writer
        for reader in early {
            reader.await.unwrap();
        }
        writer.await.unwrap();
        late.await.unwrap();
        assert_eq!(
            most_inside.get(),
            3,
            "the early readers were inside together"
        );
    }));
}

// ---- watch -------------------------------------------------------------------------------------

#[test]
fn watch_receivers_see_the_latest_value_and_the_close() {
    rt().block_on(with_deadline(LIMIT, "watch", async {
        let (tx, rx) = watch::channel(0);
        let watchers: Vec<_> = (0..3)
            .map(|_| {
                let mut rx = rx.clone();
                evloop::spawn(async move {
                    let mut last = *rx.borrow_and_update();
                    while rx.changed().await.is_ok() {
                        let value = *rx.borrow_and_update();
                        assert!(value > last, "values only grow");
                        last = value;
                    }
                    last
                })
            })
            .collect();
        drop(rx);
        for i in 1..=20 {
            tx.send(i).unwrap();
            if i % 3 == 0 {
                settle(1).await;
            }
        }
        drop(tx);
        for watcher in watchers {
            assert_eq!(watcher.await.unwrap(), 20, "the last value is always seen");
        }
    }));
}

#[test]
fn watch_sender_closed_completes_when_the_receiver_tasks_end() {
    rt().block_on(with_deadline(LIMIT, "watch closed", async {
        let (tx, mut rx) = watch::channel(0);
        let receiver = evloop::spawn(async move { *rx.wait_for(|n| *n == 3).await.unwrap() });
        for i in 1..=3 {
            tx.send(i).unwrap();
            settle(1).await;
        }
        tx.closed().await;
        assert_eq!(receiver.await.unwrap(), 3);
        assert!(tx.send(4).is_err());
    }));
}

// ---- broadcast ---------------------------------------------------------------------------------

#[test]
fn broadcast_every_subscriber_task_gets_every_value_then_closed() {
    rt().block_on(with_deadline(LIMIT, "broadcast", async {
        let (tx, rx) = broadcast::channel(4);
        let subscribers: Vec<_> = (0..3)
            .map(|_| {
                let mut rx = rx.resubscribe();
                evloop::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        match rx.recv().await {
                            Ok(value) => got.push(value),
                            Err(BroadcastRecvError::Closed) => return got,
                            Err(BroadcastRecvError::Lagged(n)) => panic!("lagged by {n}"),
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        for i in 0..40 {
            tx.send(i).unwrap();
            if i % 4 == 3 {
                settle(1).await; // never more than the capacity ahead
            }
        }
        drop(tx);
        for subscriber in subscribers {
            assert_eq!(subscriber.await.unwrap(), (0..40).collect::<Vec<_>>());
        }
    }));
}

#[test]
fn broadcast_a_slow_task_lags_while_the_sender_never_waits() {
    rt().block_on(with_deadline(LIMIT, "broadcast lag", async {
        let (tx, mut rx) = broadcast::channel(8);
        let slow = evloop::spawn(async move {
            let mut events = Vec::new();
            loop {
                match rx.recv().await {
                    Ok(value) => events.push(Ok(value)),
                    Err(BroadcastRecvError::Lagged(n)) => events.push(Err(n)),
                    Err(BroadcastRecvError::Closed) => return events,
                }
            }
        });
        for i in 0..20 {
            tx.send(i).unwrap();
        }
        drop(tx);
        let mut expected = vec![Err(12)];
        expected.extend((12..20).map(Ok));
        assert_eq!(slow.await.unwrap(), expected);
    }));
}

// ---- Barrier -----------------------------------------------------------------------------------

#[test]
fn barrier_releases_all_tasks_together_with_one_leader_per_round() {
    rt().block_on(with_deadline(LIMIT, "barrier", async {
        const TASKS: usize = 10;
        let barrier = Rc::new(Barrier::new(TASKS));
        let log = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (barrier, log) = (barrier.clone(), log.clone());
                evloop::spawn(async move {
                    let mut leaders = 0;
                    for round in 0..3 {
                        log.borrow_mut().push(("before", round));
                        leaders += usize::from(barrier.wait().await.is_leader());
                        log.borrow_mut().push(("after", round));
                    }
                    leaders
                })
            })
            .collect();
        let mut leaders = 0;
        for task in tasks {
            leaders += task.await.unwrap();
        }
        assert_eq!(leaders, 3, "one leader per round");
        // Rounds do not mix: every "before" of round r comes before every "after" of round r.
        let log = log.borrow();
        for round in 0..3 {
            let last_before = log.iter().rposition(|&e| e == ("before", round)).unwrap();
            let first_after = log.iter().position(|&e| e == ("after", round)).unwrap();
            assert!(last_before < first_after, "round {round} released early");
        }
    }));
}

// ---- cooperative budget ------------------------------------------------------------------------

/// Runs `operation` `count` times in one task while a neighbour waits its turn; returns how
/// many operations had completed when the neighbour first ran.
async fn operations_before_a_neighbour_ran<F>(count: usize, mut operation: F) -> usize
where
    F: AsyncFnMut() + 'static,
{
    let done = Rc::new(Cell::new(0));
    let seen = Rc::new(Cell::new(None));
    let looper = evloop::spawn({
        let done = done.clone();
        async move {
            for _ in 0..count {
                operation().await;
                done.set(done.get() + 1);
            }
        }
    });
    let neighbour = evloop::spawn({
        let (done, seen) = (done.clone(), seen.clone());
        async move { seen.set(Some(done.get())) }
    });
    looper.await.unwrap();
    neighbour.await.unwrap();
    let seen = seen.get().unwrap();
    assert!(
        seen <= evloop::coop::TASK_BUDGET as usize,
        "{seen} operations completed in one poll, more than the budget"
    );
    seen
}

#[test]
fn a_task_looping_over_always_ready_sync_types_still_yields_to_its_neighbours() {
    // More operations than one budget holds; a smaller margin under Miri, which is slow.
    let budget = evloop::coop::TASK_BUDGET as usize;
    let count = if cfg!(miri) { budget + 8 } else { budget * 3 };
    rt().block_on(with_deadline(LIMIT, "coop", async {
        let mutex = Rc::new(Mutex::new(0));
        let seen = operations_before_a_neighbour_ran(count, {
            let mutex = mutex.clone();
            async move || *mutex.lock().await += 1
        })
        .await;
        assert!(seen < count, "mutex: the neighbour ran only after the loop");

        let lock = Rc::new(RwLock::new(0));
        let seen = operations_before_a_neighbour_ran(count, async move || {
            let _ = *lock.read().await;
        })
        .await;
        assert!(
            seen < count,
            "rwlock: the neighbour ran only after the loop"
        );

        let (tx, mut rx) = watch::channel(0);
        let seen = operations_before_a_neighbour_ran(count, async move || {
            rx.mark_changed();
            rx.changed().await.unwrap();
        })
        .await;
        assert!(seen < count, "watch: the neighbour ran only after the loop");
        drop(tx);

        let (tx, mut rx) = broadcast::channel(count);
        for i in 0..count {
            tx.send(i).unwrap();
        }
        let seen = operations_before_a_neighbour_ran(count, async move || {
            rx.recv().await.unwrap();
        })
        .await;
        assert!(
            seen < count,
            "broadcast: the neighbour ran only after the loop"
        );

        let barrier = Rc::new(Barrier::new(1));
        let seen = operations_before_a_neighbour_ran(count, async move || {
            barrier.wait().await;
        })
        .await;
        assert!(
            seen < count,
            "barrier: the neighbour ran only after the loop"
        );
        assert_eq!(*mutex.lock().await, count);
    }));
}
