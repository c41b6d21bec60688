//! The contract of `evloop::sync` inside a running runtime: tasks waking tasks through
//! channels, semaphores and `Notify`; cancellation by `abort`; a thread waking a task through
//! `threadsafe::oneshot`; the cooperative budget. No timing assertions: tasks are sequenced
//! with `settle` (yield until everything woken has run).

#[path = "support/counters.rs"]
mod counters;
mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use counters::{DropCounter, settle};
use evloop::sync::mpsc::error::TrySendError;
use evloop::sync::oneshot::error::{RecvError, TryRecvError};
use evloop::sync::{Notify, Semaphore, mpsc, oneshot, threadsafe};
use support::{rt, with_deadline};

/// Hang guard for every test body: far more than any of them needs.
const LIMIT: Duration = Duration::from_secs(30);

/// A small count under Miri, a larger one natively.
fn scaled(native: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { native }
}

// ---- oneshot ----------------------------------------------------------------------------------

#[test]
fn oneshot_send_wakes_the_receiving_task() {
    rt().block_on(with_deadline(LIMIT, "oneshot", async {
        let (tx, rx) = oneshot::channel();
        let receiver = evloop::spawn(rx);
        settle(2).await; // the receiver is parked on the channel
        assert!(!receiver.is_finished());
        tx.send(String::from("value")).unwrap();
        assert_eq!(receiver.await.unwrap(), Ok(String::from("value")));
    }));
}

#[test]
fn oneshot_sender_dropped_by_its_task_gives_recv_error() {
    rt().block_on(with_deadline(LIMIT, "oneshot drop", async {
        let (tx, rx) = oneshot::channel::<u32>();
        evloop::spawn(async move {
            settle(1).await;
            drop(tx);
        });
        let error: RecvError = rx.await.unwrap_err();
        assert!(error.to_string().contains("without sending"), "{error}");
    }));
}

#[test]
fn oneshot_sender_closed_wakes_when_the_receiver_task_ends() {
    rt().block_on(with_deadline(LIMIT, "oneshot closed", async {
        let (mut tx, mut rx) = oneshot::channel::<u8>();
        let receiver = evloop::spawn(async move {
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            rx.close();
        });
        tx.closed().await;
        assert_eq!(tx.send(1), Err(1));
        receiver.await.unwrap();
    }));
}

#[test]
fn a_fifo_of_oneshot_senders_resolves_requests_in_order() {
    // The pipelining pattern: a reader task answers queued requests in arrival order.
    rt().block_on(with_deadline(LIMIT, "pipeline", async {
        let (queue_tx, mut queue_rx) = mpsc::unbounded_channel::<(u32, oneshot::Sender<u32>)>();
        let reader = evloop::spawn(async move {
            while let Some((request, reply)) = queue_rx.recv().await {
                let _ = reply.send(request * 10);
            }
        });
        let replies: Vec<_> = (0..scaled(100, 10) as u32)
            .map(|request| {
                let (tx, rx) = oneshot::channel();
                queue_tx.send((request, tx)).unwrap();
                rx
            })
            .collect();
        drop(queue_tx);
        for (request, reply) in replies.into_iter().enumerate() {
            assert_eq!(reply.await.unwrap(), request as u32 * 10);
        }
        reader.await.unwrap();
    }));
}

// ---- threadsafe::oneshot ----------------------------------------------------------------------

#[test]
fn threadsafe_oneshot_sent_from_a_thread_wakes_the_task() {
    let rt = rt();
    let got = rt.block_on(with_deadline(LIMIT, "threadsafe oneshot", async {
        let (tx, rx) = threadsafe::oneshot::channel();
        let thread = std::thread::spawn(move || {
            tx.send(std::thread::current().id()).unwrap();
        });
        let sender_thread = rx.await.unwrap();
        thread.join().unwrap();
        sender_thread
    }));
    assert_ne!(got, std::thread::current().id());
}

#[test]
fn many_threads_hand_results_to_many_tasks() {
    let rt = rt();
    let threads = scaled(16, 3);
    let total = rt.block_on(with_deadline(LIMIT, "threads", async {
        let mut handles = Vec::new();
        let mut receivers = Vec::new();
        for i in 0..threads {
            let (tx, rx) = threadsafe::oneshot::channel();
            handles.push(std::thread::spawn(move || tx.send(i * i).unwrap()));
            receivers.push(evloop::spawn(rx));
        }
        let mut total = 0;
        for receiver in receivers {
            total += receiver.await.unwrap().unwrap();
        }
        for handle in handles {
            handle.join().unwrap();
        }
        total
    }));
    assert_eq!(total, (0..threads).map(|i| i * i).sum::<usize>());
}

#[test]
fn threadsafe_oneshot_sender_dropped_on_a_thread_gives_recv_error() {
    rt().block_on(with_deadline(LIMIT, "threadsafe drop", async {
        let (tx, rx) = threadsafe::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || drop(tx));
        assert!(rx.await.is_err());
        thread.join().unwrap();
    }));
}

// ---- mpsc --------------------------------------------------------------------------------------

#[test]
fn mpsc_values_arrive_in_order_and_recv_ends_with_none() {
    rt().block_on(with_deadline(LIMIT, "mpsc order", async {
        let (tx, mut rx) = mpsc::channel(3);
        let count = scaled(200, 20);
        let producer = evloop::spawn(async move {
            for i in 0..count {
                tx.send(i).await.unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(i) = rx.recv().await {
            got.push(i);
        }
        assert_eq!(got, (0..count).collect::<Vec<_>>());
        producer.await.unwrap();
    }));
}

#[test]
fn mpsc_buffer_never_holds_more_than_the_capacity() {
    const CAPACITY: usize = 2;
    rt().block_on(with_deadline(LIMIT, "backpressure", async {
        let (tx, mut rx) = mpsc::channel(CAPACITY);
        let sent = Rc::new(Cell::new(0usize));
        let count = scaled(100, 12);
        let producer = evloop::spawn({
            let sent = sent.clone();
            async move {
                for i in 0..count {
                    tx.send(i).await.unwrap();
                    sent.set(sent.get() + 1);
                }
            }
        });
        let mut received = 0;
        while rx.recv().await.is_some() {
            received += 1;
            assert!(sent.get() - received < CAPACITY + 1);
            if received % 3 == 0 {
                settle(2).await; // let the producer fill the channel up
                assert_eq!(sent.get() - received, CAPACITY.min(count - received));
            }
        }
        producer.await.unwrap();
    }));
}

#[test]
fn a_sender_waiting_on_a_full_channel_is_released_by_recv() {
    rt().block_on(with_deadline(LIMIT, "release", async {
        let (tx, mut rx) = mpsc::channel(1);
        let progress = Rc::new(Cell::new(0));
        let producer = evloop::spawn({
            let progress = progress.clone();
            async move {
                for i in 0..3 {
                    tx.send(i).await.unwrap();
                    progress.set(i + 1);
                }
            }
        });
        settle(3).await;
        assert_eq!(progress.get(), 1, "the second send waits for room");
        assert!(!producer.is_finished());
        assert_eq!(rx.recv().await, Some(0));
        settle(3).await;
        assert_eq!(progress.get(), 2);
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None);
        producer.await.unwrap();
    }));
}

#[test]
fn waiting_sender_tasks_are_served_in_the_order_they_started_waiting() {
    rt().block_on(with_deadline(LIMIT, "sender fifo", async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(usize::MAX).await.unwrap();
        for i in 0..scaled(8, 4) {
            let tx = tx.clone();
            evloop::spawn(async move { tx.send(i).await.unwrap() });
            settle(1).await; // task i is queued before task i + 1 starts
        }
        drop(tx);
        assert_eq!(rx.recv().await, Some(usize::MAX));
        let mut got = Vec::new();
        while let Some(i) = rx.recv().await {
            got.push(i);
        }
        assert_eq!(got, (0..scaled(8, 4)).collect::<Vec<_>>());
    }));
}

#[test]
fn an_aborted_sender_task_leaks_no_slot_and_keeps_the_others_in_line() {
    rt().block_on(with_deadline(LIMIT, "abort sender", async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.try_send(0).unwrap();
        let first = evloop::spawn({
            let tx = tx.clone();
            async move { tx.send(1).await.unwrap() }
        });
        settle(1).await;
        let second = evloop::spawn({
            let tx = tx.clone();
            async move { tx.send(2).await.unwrap() }
        });
        settle(1).await;
        assert_eq!(rx.recv().await, Some(0)); // grants the slot to `first`...
        first.abort(); // ...which is cancelled before it runs
        assert!(first.await.unwrap_err().is_cancelled());
        assert_eq!(
            rx.recv().await,
            Some(2),
            "the slot went on to the next sender"
        );
        second.await.unwrap();
        assert_eq!(tx.capacity(), 1, "no slot leaked");
    }));
}

#[test]
fn a_waiting_receiver_sees_none_when_the_last_sender_task_ends() {
    rt().block_on(with_deadline(LIMIT, "last sender", async {
        let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
        let receiver = evloop::spawn(async move { rx.recv().await });
        settle(2).await;
        evloop::spawn(async move { drop(tx) });
        assert_eq!(receiver.await.unwrap(), None);
    }));
}

#[test]
fn sends_fail_once_the_receiver_task_is_gone() {
    rt().block_on(with_deadline(LIMIT, "receiver gone", async {
        let (tx, rx) = mpsc::channel::<u8>(1);
        let (utx, urx) = mpsc::unbounded_channel::<u8>();
        evloop::spawn(async move {
            drop((rx, urx));
        })
        .await
        .unwrap();
        assert_eq!(tx.send(1).await.map_err(|e| e.0), Err(1));
        assert!(matches!(tx.try_send(2), Err(TrySendError::Closed(2))));
        assert_eq!(utx.send(3).map_err(|e| e.0), Err(3));
        tx.closed().await; // already closed: returns at once
        utx.closed().await;
    }));
}

#[test]
fn values_left_in_a_channel_are_dropped_when_its_tasks_are() {
    let drops = DropCounter::new();
    let rt = rt();
    let (tx, rx) = mpsc::channel(8);
    for _ in 0..5 {
        tx.try_send(drops.token()).unwrap();
    }
    // A task owns the receiver and never reads; dropping the runtime drops the task.
    rt.spawn(async move {
        let _rx = rx;
        std::future::pending::<()>().await;
    });
    rt.block_on(settle(2));
    assert_eq!(drops.count(), 0);
    drop(rt);
    assert_eq!(drops.count(), 5);
    assert!(tx.try_send(drops.token()).is_err());
}

// ---- Semaphore ---------------------------------------------------------------------------------

#[test]
fn semaphore_limits_concurrency_and_serves_tasks_in_order() {
    rt().block_on(with_deadline(LIMIT, "semaphore", async {
        let semaphore = Rc::new(Semaphore::new(2));
        let running = Rc::new(Cell::new(0));
        let order = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..scaled(10, 5))
            .map(|i| {
                let (semaphore, running, order) =
                    (semaphore.clone(), running.clone(), order.clone());
                evloop::spawn(async move {
                    let _permit = semaphore.acquire().await.unwrap();
                    order.borrow_mut().push(i);
                    running.set(running.get() + 1);
                    assert!(running.get() <= 2);
                    settle(2).await;
                    running.set(running.get() - 1);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.borrow(), (0..scaled(10, 5)).collect::<Vec<_>>());
        assert_eq!(semaphore.available_permits(), 2);
    }));
}

#[test]
fn owned_permits_move_into_spawned_tasks() {
    rt().block_on(with_deadline(LIMIT, "owned", async {
        let semaphore = Rc::new(Semaphore::new(3));
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let permit = semaphore.clone().acquire_owned().await.unwrap();
            tasks.push(evloop::spawn(async move {
                settle(1).await;
                drop(permit);
            }));
        }
        assert_eq!(semaphore.available_permits(), 0);
        // Waits until one of the tasks has returned its permit.
        let permit = semaphore.acquire().await.unwrap();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(semaphore.available_permits(), 2);
        drop(permit);
        assert_eq!(semaphore.available_permits(), 3);
    }));
}

#[test]
fn an_aborted_acquire_returns_its_partial_permits_and_lets_the_next_task_go() {
    rt().block_on(with_deadline(LIMIT, "abort acquire", async {
        let semaphore = Rc::new(Semaphore::new(2));
        let held = semaphore.clone().acquire_many_owned(2).await.unwrap();
        let big = evloop::spawn({
            let semaphore = semaphore.clone();
            async move { semaphore.acquire_many(3).await.map(|p| p.forget()) }
        });
        settle(1).await;
        let small = evloop::spawn({
            let semaphore = semaphore.clone();
            async move { semaphore.acquire().await.map(|p| p.forget()) }
        });
        settle(1).await;
        drop(held); // the head (big) collects both permits and still waits for a third
        settle(2).await;
        assert!(
            !small.is_finished(),
            "the small request waits behind the big one"
        );
        big.abort();
        assert!(big.await.unwrap_err().is_cancelled());
        small.await.unwrap().unwrap();
        assert_eq!(semaphore.available_permits(), 1);
    }));
}

#[test]
fn closing_a_semaphore_fails_every_waiting_task() {
    rt().block_on(with_deadline(LIMIT, "close", async {
        let semaphore = Rc::new(Semaphore::new(0));
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let semaphore = semaphore.clone();
                evloop::spawn(async move { semaphore.acquire().await.is_err() })
            })
            .collect();
        settle(1).await;
        semaphore.close();
        for waiter in waiters {
            assert!(waiter.await.unwrap());
        }
    }));
}

// ---- Notify ------------------------------------------------------------------------------------

#[test]
fn notify_one_wakes_waiting_tasks_one_at_a_time_in_order() {
    rt().block_on(with_deadline(LIMIT, "notify order", async {
        let notify = Rc::new(Notify::new());
        let woken = Rc::new(RefCell::new(Vec::new()));
        for i in 0..4 {
            let (notify, woken) = (notify.clone(), woken.clone());
            evloop::spawn(async move {
                notify.notified().await;
                woken.borrow_mut().push(i);
            });
            settle(1).await;
        }
        for round in 1..=4 {
            notify.notify_one();
            settle(2).await;
            assert_eq!(*woken.borrow(), (0..round).collect::<Vec<_>>());
        }
    }));
}

#[test]
fn notify_waiters_wakes_every_waiting_task_and_stores_nothing() {
    rt().block_on(with_deadline(LIMIT, "notify all", async {
        let notify = Rc::new(Notify::new());
        let woken = Rc::new(Cell::new(0));
        for _ in 0..5 {
            let (notify, woken) = (notify.clone(), woken.clone());
            evloop::spawn(async move {
                notify.notified().await;
                woken.set(woken.get() + 1);
            });
        }
        settle(1).await;
        notify.notify_waiters();
        settle(2).await;
        assert_eq!(woken.get(), 5);
        let late = evloop::spawn({
            let notify = notify.clone();
            async move { notify.notified().await }
        });
        settle(2).await;
        assert!(!late.is_finished(), "nothing was stored for a later waiter");
        notify.notify_one();
        late.await.unwrap();
    }));
}

#[test]
fn an_aborted_waiter_passes_notify_one_to_the_next_task() {
    rt().block_on(with_deadline(LIMIT, "notify abort", async {
        let notify = Rc::new(Notify::new());
        let first = evloop::spawn({
            let notify = notify.clone();
            async move { notify.notified().await }
        });
        settle(1).await;
        let second = evloop::spawn({
            let notify = notify.clone();
            async move { notify.notified().await }
        });
        settle(1).await;
        notify.notify_one(); // chooses `first`...
        first.abort(); // ...which is cancelled before it runs
        assert!(first.await.unwrap_err().is_cancelled());
        second.await.unwrap();
    }));
}

// ---- cooperative budget ------------------------------------------------------------------------

/// Drains `recv` of `count` ready values while a second task waits its turn; returns how many
/// values had been taken when the second task first ran.
async fn values_taken_before_a_neighbour_ran<F>(count: usize, mut recv: F) -> usize
where
    F: AsyncFnMut() -> bool + 'static,
{
    let taken = Rc::new(Cell::new(0));
    let seen = Rc::new(Cell::new(None));
    let drainer = evloop::spawn({
        let taken = taken.clone();
        async move {
            while recv().await {
                taken.set(taken.get() + 1);
            }
        }
    });
    let neighbour = evloop::spawn({
        let (taken, seen) = (taken.clone(), seen.clone());
        async move { seen.set(Some(taken.get())) }
    });
    drainer.await.unwrap();
    neighbour.await.unwrap();
    assert_eq!(taken.get(), count);
    let seen = seen.get().unwrap();
    assert!(
        seen <= evloop::coop::TASK_BUDGET as usize,
        "{seen} operations completed in one poll, more than the budget"
    );
    seen
}

#[test]
fn a_task_draining_a_full_channel_still_yields_to_its_neighbours() {
    let count = evloop::coop::TASK_BUDGET as usize * 3;
    rt().block_on(with_deadline(LIMIT, "coop", async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..count {
            tx.send(i).unwrap();
        }
        drop(tx);
        let seen =
            values_taken_before_a_neighbour_ran(count, async move || rx.recv().await.is_some())
                .await;
        assert!(seen < count, "the neighbour ran only after the whole drain");

        let (tx, mut rx) = mpsc::channel(count);
        for i in 0..count {
            tx.try_send(i).unwrap();
        }
        drop(tx);
        let seen =
            values_taken_before_a_neighbour_ran(count, async move || rx.recv().await.is_some())
                .await;
        assert!(
            seen < count,
            "bounded: the neighbour ran only after the whole drain"
        );

        let semaphore = Rc::new(Semaphore::new(count));
        let seen = values_taken_before_a_neighbour_ran(count, async move || {
            if semaphore.available_permits() == 0 {
                return false;
            }
            semaphore.acquire().await.map(|p| p.forget()).is_ok()
        })
        .await;
        assert!(
            seen < count,
            "semaphore: the neighbour ran only after the whole drain"
        );
    }));
}
