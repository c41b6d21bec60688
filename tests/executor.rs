//! The executor's contract: spawn, join, abort, detach, panics, wakes and shutdown.

#[path = "support/counters.rs"]
mod counters;

use std::cell::{Cell, RefCell};
use std::future::{Future, pending};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use counters::{DropCounter, ProbeState, panic_message, settle};
use evloop::Runtime;
use evloop::task::{JoinHandle, yield_now};

fn runtime() -> Runtime {
    Runtime::new().expect("create runtime")
}

/// Polls `future` once with a no-op waker, outside of any runtime.
fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let mut future = pin!(future);
    future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn spawned_task_output_arrives_through_its_join_handle() {
    let rt = runtime();
    let total = rt.block_on(async {
        let handles: Vec<JoinHandle<u64>> = (0..100u64)
            .map(|i| evloop::spawn(async move { i * i }))
            .collect();
        let mut total = 0;
        for handle in handles {
            total += handle.await.unwrap();
        }
        total
    });
    assert_eq!(total, (0..100u64).map(|i| i * i).sum::<u64>());
    assert_eq!(rt.metrics().live_tasks, 0);
}

#[test]
fn futures_and_outputs_need_not_be_send() {
    let rt = runtime();
    let shared = Rc::new(Cell::new(0));
    let seen = shared.clone();
    let output: Rc<u32> = rt
        .block_on(rt.spawn(async move {
            seen.set(5);
            Rc::new(7)
        }))
        .unwrap();
    assert_eq!((shared.get(), *output), (5, 7));
}

#[test]
fn spawn_outside_a_runtime_panics_with_a_message_that_says_so() {
    let result = catch_unwind(|| drop(evloop::spawn(async {})));
    let message = panic_message(result.unwrap_err().as_ref());
    assert!(
        message.contains("inside an evloop runtime"),
        "message: {message}"
    );
}

#[test]
fn yield_now_outside_a_runtime_is_harmless_but_spawn_is_not_needed_for_it() {
    // yield_now only wakes its own waker: polled by hand it yields once, then completes.
    let mut fut = pin!(yield_now());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert!(fut.as_mut().poll(&mut cx).is_ready());
}

#[test]
fn runtime_spawn_from_outside_runs_at_the_next_block_on() {
    let rt = runtime();
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let handle = rt.spawn(async move { flag.set(true) });
    assert!(!ran.get(), "a task must not run before the runtime does");
    rt.block_on(handle).unwrap();
    assert!(ran.get());
}

#[test]
fn abort_drops_the_future_promptly_and_join_reports_cancelled() {
    let rt = runtime();
    let drops = DropCounter::new();
    rt.block_on(async {
        let token = drops.token();
        let handle = evloop::spawn(async move {
            let _token = token;
            pending::<()>().await;
        });
        settle(1).await; // the task has started and is parked
        assert!(!handle.is_finished());
        handle.abort();
        settle(1).await;
        assert_eq!(
            drops.count(),
            1,
            "abort must drop the future within one loop turn"
        );
        assert!(handle.is_finished());
        let error = handle.await.unwrap_err();
        assert!(error.is_cancelled() && !error.is_panic(), "{error:?}");
    });
    assert_eq!(rt.metrics().live_tasks, 0);
}

#[test]
fn abort_before_the_first_poll_never_polls_the_task() {
    let rt = runtime();
    let probe = ProbeState::new();
    rt.block_on(async {
        let handle = evloop::spawn(probe.future());
        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
    });
    assert_eq!(probe.polls(), 0);
}

#[test]
fn a_task_can_abort_itself() {
    let rt = runtime();
    let drops = DropCounter::new();
    let slot: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::default();
    rt.block_on(async {
        let token = drops.token();
        let own = slot.clone();
        let handle = evloop::spawn(async move {
            let _token = token;
            yield_now().await;
            own.borrow().as_ref().expect("handle stored").abort();
            pending::<()>().await;
        });
        *slot.borrow_mut() = Some(handle);
        settle(3).await;
    });
    assert_eq!(drops.count(), 1);
    let handle = slot.borrow_mut().take().unwrap();
    assert!(rt.block_on(handle).unwrap_err().is_cancelled());
}

#[test]
fn aborting_a_finished_task_keeps_its_output() {
    let rt = runtime();
    rt.block_on(async {
        let handle = evloop::spawn(async { 9 });
        settle(1).await;
        handle.abort();
        assert_eq!(handle.await.unwrap(), 9);
    });
}

#[test]
fn dropping_the_join_handle_detaches_the_task() {
    let rt = runtime();
    let done = Rc::new(Cell::new(false));
    rt.block_on(async {
        let flag = done.clone();
        drop(evloop::spawn(async move {
            settle(3).await;
            flag.set(true);
        }));
        settle(10).await;
    });
    assert!(done.get(), "a detached task must keep running");
}

#[test]
fn a_detached_tasks_output_is_dropped_when_it_finishes() {
    let rt = runtime();
    let drops = DropCounter::new();
    rt.block_on(async {
        let token = drops.token();
        drop(evloop::spawn(async move { token }));
        settle(2).await;
    });
    assert_eq!(drops.count(), 1);
}

/// A task's cell is its own waker, so a waker held by another thread can outlive every
/// reference on the runtime's thread. The task's output (here `!Send`) must still be dropped on
/// the runtime's thread, before that waker goes: at the finish for a detached task, by the
/// handle's drop otherwise.
fn check_output_dropped_on_runtime_thread(detach_before_finish: bool) {
    use std::sync::{Arc, Mutex, mpsc};
    use std::thread::{self, ThreadId};

    struct ThreadBound {
        _not_send: Rc<()>,
        dropped_on: Arc<Mutex<Option<ThreadId>>>,
    }
    impl Drop for ThreadBound {
        fn drop(&mut self) {
            *self.dropped_on.lock().unwrap() = Some(thread::current().id());
        }
    }

    let rt = runtime();
    let dropped_on = Arc::new(Mutex::new(None));
    let (waker_tx, waker_rx) = mpsc::channel::<Waker>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        let waker = waker_rx.recv().unwrap();
        release_rx.recv().unwrap();
        drop(waker);
    });
    rt.block_on(async {
        let record = dropped_on.clone();
        let handle = evloop::spawn(async move {
            let waker = std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
            waker_tx.send(waker).unwrap();
            settle(2).await;
            ThreadBound {
                _not_send: Rc::new(()),
                dropped_on: record,
            }
        });
        if detach_before_finish {
            drop(handle);
            settle(5).await;
        } else {
            settle(5).await;
            assert!(handle.is_finished());
            drop(handle);
        }
    });
    assert_eq!(*dropped_on.lock().unwrap(), Some(thread::current().id()));
    release_tx.send(()).unwrap();
    holder.join().unwrap();
}

#[test]
fn a_detached_output_is_dropped_on_the_runtime_thread_while_another_thread_holds_a_waker() {
    check_output_dropped_on_runtime_thread(true);
}

#[test]
fn an_unread_output_is_dropped_with_its_handle_while_another_thread_holds_a_waker() {
    check_output_dropped_on_runtime_thread(false);
}

#[test]
fn a_panicking_task_reports_through_join_and_the_runtime_goes_on() {
    let rt = runtime();
    rt.block_on(async {
        let survivor = evloop::spawn(async {
            settle(3).await;
            "still here"
        });
        let crashed = evloop::spawn(async {
            yield_now().await;
            panic!("boom in a task");
        });
        let error = crashed.await.unwrap_err();
        assert!(error.is_panic() && !error.is_cancelled());
        assert!(error.to_string().contains("boom in a task"), "{error}");
        assert_eq!(panic_message(error.into_panic().as_ref()), "boom in a task");
        assert_eq!(survivor.await.unwrap(), "still here");
    });
    assert_eq!(rt.metrics().live_tasks, 0);
}

#[test]
fn a_panic_in_the_block_on_future_propagates_and_the_runtime_stays_usable() {
    let rt = runtime();
    let result = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            yield_now().await;
            panic!("boom in main");
        })
    }));
    assert_eq!(panic_message(result.unwrap_err().as_ref()), "boom in main");
    assert_eq!(
        rt.block_on(async { evloop::spawn(async { 1 }).await.unwrap() }),
        1
    );
}

#[test]
fn block_on_inside_a_task_panics_with_a_message() {
    let rt = runtime();
    let error = rt.block_on(rt.spawn(async {
        let inner = Runtime::new().unwrap();
        inner.block_on(async {});
    }));
    let message = panic_message(error.unwrap_err().into_panic().as_ref());
    assert!(message.contains("inside another one"), "message: {message}");
}

#[test]
fn a_task_is_polled_only_after_a_wake() {
    let rt = runtime();
    let probe = ProbeState::new();
    rt.block_on(async {
        let _handle = evloop::spawn(probe.future());
        settle(200).await; // many loop turns, no wake
        assert_eq!(
            probe.polls(),
            1,
            "only the first poll may happen without a wake"
        );
        probe.waker().wake();
        settle(200).await;
        assert_eq!(probe.polls(), 2);
    });
}

#[test]
fn waking_a_queued_task_does_not_queue_it_twice() {
    let rt = runtime();
    let probe = ProbeState::new();
    rt.block_on(async {
        let _handle = evloop::spawn(probe.future());
        settle(1).await;
        let waker = probe.waker();
        for _ in 0..10 {
            waker.wake_by_ref();
        }
        settle(5).await;
        assert_eq!(probe.polls(), 2, "ten wakes before a poll make one poll");
    });
}

/// Wakes itself from inside `poll` the first `times` polls.
struct SelfWaking {
    polls: Rc<Cell<usize>>,
    times: usize,
}

impl Future for SelfWaking {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.set(self.polls.get() + 1);
        if self.polls.get() <= self.times {
            cx.waker().wake_by_ref();
            cx.waker().wake_by_ref(); // a second wake during the same poll adds nothing
        }
        Poll::Pending
    }
}

#[test]
fn a_wake_during_a_poll_runs_the_task_exactly_once_more() {
    let rt = runtime();
    let polls = Rc::new(Cell::new(0));
    rt.block_on(async {
        let _handle = evloop::spawn(SelfWaking {
            polls: polls.clone(),
            times: 1,
        });
        settle(50).await;
    });
    assert_eq!(polls.get(), 2);
}

#[test]
fn a_wake_from_another_thread_queues_the_task_and_interrupts_the_wait() {
    let rt = runtime();
    let probe = ProbeState::new();
    let value = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    rt.block_on(async {
        let handle = evloop::spawn(probe.future());
        settle(1).await;
        probe.finish_on_next_poll();
        let (waker, set) = (probe.waker(), value.clone());
        let thread = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            set.store(42, std::sync::atomic::Ordering::Relaxed);
            waker.wake();
        });
        // Nothing else is queued and no timer is pending: the loop blocks in epoll_wait with
        // no timeout, and only the remote wake can end that wait.
        handle.await.unwrap();
        assert_eq!(value.load(std::sync::atomic::Ordering::Relaxed), 42);
        thread.join().unwrap();
    });
    assert_eq!(probe.polls(), 2);
}

#[test]
fn wakers_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let rt = runtime();
    rt.block_on(std::future::poll_fn(|cx| {
        assert_send_sync(cx.waker());
        Poll::Ready(())
    }));
}

#[test]
fn a_stale_waker_never_wakes_the_task_that_reuses_its_slot() {
    let rt = runtime();
    let first = ProbeState::new();
    let second = ProbeState::new();
    rt.block_on(async {
        let handle = evloop::spawn(first.future());
        settle(1).await;
        let stale = first.waker();
        first.finish_on_next_poll();
        stale.wake_by_ref();
        handle.await.unwrap();
        assert_eq!(rt.metrics().live_tasks, 0);
        // The slab slot is free again; the next task takes it.
        let _second = evloop::spawn(second.future());
        settle(1).await;
        assert_eq!(second.polls(), 1);
        stale.wake_by_ref();
        stale.wake();
        settle(100).await;
        assert_eq!(second.polls(), 1, "a stale waker woke the slot's new task");
    });
}

#[test]
fn a_waker_that_outlives_its_runtime_is_a_no_op() {
    let probe = ProbeState::new();
    let waker = {
        let rt = runtime();
        rt.block_on(async {
            let _handle = evloop::spawn(probe.future());
            settle(1).await;
        });
        probe.waker()
    };
    waker.wake_by_ref();
    let remote = waker.clone();
    std::thread::spawn(move || remote.wake()).join().unwrap();
    drop(waker);
    assert_eq!(probe.polls(), 1);
}

#[test]
fn dropping_the_runtime_drops_every_live_task() {
    let drops = DropCounter::new();
    let rt = runtime();
    rt.block_on(async {
        for _ in 0..10 {
            let token = drops.token();
            drop(evloop::spawn(async move {
                let _token = token;
                pending::<()>().await;
            }));
        }
        settle(1).await;
    });
    // Tasks spawned but never polled are dropped too.
    let token = drops.token();
    drop(rt.spawn(async move { drop(token) }));
    assert_eq!(rt.metrics().live_tasks, 11);
    drop(rt);
    assert_eq!(drops.count(), 11);
}

/// A value whose destructor spawns a task and wakes another: runs during runtime shutdown.
struct SpawnsOnDrop {
    spawned_drops: DropCounter,
    wake: Option<Waker>,
}

impl Drop for SpawnsOnDrop {
    fn drop(&mut self) {
        let token = self.spawned_drops.token();
        drop(evloop::spawn(async move {
            let _token = token;
            pending::<()>().await;
        }));
        if let Some(waker) = self.wake.take() {
            waker.wake();
        }
    }
}

#[test]
fn runtime_drop_survives_destructors_that_spawn_and_wake() {
    let spawned_drops = DropCounter::new();
    let probe = ProbeState::new();
    let rt = runtime();
    rt.block_on(async {
        let _other = evloop::spawn(probe.future());
        settle(1).await;
        let guard = SpawnsOnDrop {
            spawned_drops: spawned_drops.clone(),
            wake: Some(probe.waker()),
        };
        drop(evloop::spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        }));
        settle(1).await;
    });
    drop(rt);
    assert_eq!(
        spawned_drops.count(),
        1,
        "the task spawned during shutdown is dropped too"
    );
}

#[test]
fn a_join_handle_that_outlives_its_runtime_reports_cancelled() {
    let rt = runtime();
    let handle = rt.spawn(pending::<()>());
    rt.block_on(settle(1));
    drop(rt);
    match poll_once(handle) {
        Poll::Ready(Err(error)) => assert!(error.is_cancelled()),
        other => panic!(
            "expected a cancellation, got {:?}",
            other.map(|r| r.is_ok())
        ),
    }
}

#[test]
fn yield_now_lets_every_other_woken_task_run_first() {
    let rt = runtime();
    let log = Rc::new(RefCell::new(Vec::new()));
    rt.block_on(async {
        let handles: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let log = log.clone();
                evloop::spawn(async move {
                    for i in 0..3 {
                        log.borrow_mut().push(format!("{name}{i}"));
                        yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    assert_eq!(*log.borrow(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
}

#[test]
fn join_error_display_names_the_task_and_the_reason() {
    let rt = runtime();
    rt.block_on(async {
        let handle = evloop::spawn(pending::<()>());
        handle.abort();
        let error = handle.await.unwrap_err();
        assert!(error.to_string().contains("cancelled"), "{error}");
        let io: std::io::Error = error.into();
        assert!(io.to_string().contains("cancelled"));
    });
}

#[test]
fn into_panic_on_a_cancellation_panics_with_a_message() {
    let rt = runtime();
    let error = rt.block_on(async {
        let handle = evloop::spawn(pending::<()>());
        handle.abort();
        handle.await.unwrap_err()
    });
    let result = catch_unwind(AssertUnwindSafe(|| error.into_panic()));
    assert!(panic_message(result.unwrap_err().as_ref()).contains("cancellation"));
}

/// Regression: a task that looked at its own `JoinHandle` while being polled hit a `RefCell`
/// double borrow (and reported a panic).
#[test]
fn a_task_can_inspect_and_poll_its_own_join_handle() {
    let rt = runtime();
    let slot: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::default();
    let observed = Rc::new(Cell::new(None));
    rt.block_on(async {
        let (own, seen) = (slot.clone(), observed.clone());
        let handle = evloop::spawn(async move {
            yield_now().await;
            let mut handle = own.borrow_mut().take().expect("handle stored");
            let finished = handle.is_finished();
            let polled = std::future::poll_fn(|cx| {
                Poll::Ready(std::pin::Pin::new(&mut handle).poll(cx).is_pending())
            })
            .await;
            *own.borrow_mut() = Some(handle);
            seen.set(Some((finished, polled)));
        });
        *slot.borrow_mut() = Some(handle);
        settle(3).await;
    });
    assert_eq!(observed.get(), Some((false, true)));
    let handle = slot.borrow_mut().take().unwrap();
    assert!(handle.is_finished());
}

thread_local! {
    static INSPECTED: RefCell<Option<JoinHandle<u8>>> = const { RefCell::new(None) };
    static SEEN_FINISHED: Cell<Option<bool>> = const { Cell::new(None) };
}

/// A joiner's waker that inspects the task it waits for, from inside `wake`.
struct InspectOnWake;

impl std::task::Wake for InspectOnWake {
    fn wake(self: std::sync::Arc<Self>) {
        let finished =
            INSPECTED.with(|handle| handle.borrow().as_ref().map(JoinHandle::is_finished));
        SEEN_FINISHED.with(|seen| seen.set(finished));
    }
}

/// Regression: the joiner's waker was woken while the task's stage was still borrowed, so a
/// waker that inspected the task panicked inside the executor.
#[test]
fn a_joiner_woken_on_completion_can_inspect_the_task() {
    let rt = runtime();
    rt.block_on(async {
        INSPECTED.with(|slot| {
            *slot.borrow_mut() = Some(evloop::spawn(async {
                yield_now().await;
                7
            }))
        });
        let waker = Waker::from(std::sync::Arc::new(InspectOnWake));
        INSPECTED.with(|slot| {
            let mut slot = slot.borrow_mut();
            let handle = slot.as_mut().unwrap();
            let first = std::pin::Pin::new(handle).poll(&mut Context::from_waker(&waker));
            assert!(first.is_pending());
        });
        settle(3).await;
    });
    assert_eq!(SEEN_FINISHED.with(Cell::get), Some(true));
    let handle = INSPECTED.with(|slot| slot.borrow_mut().take()).unwrap();
    assert_eq!(rt.block_on(handle).unwrap(), 7);
}

/// Panics with its message when dropped.
#[derive(Debug)]
struct PanicsOnDrop(&'static str);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

/// A future that is ready at once with an output that panics when dropped, and that panics
/// itself when dropped.
struct ReadyThenPanicsOnDrop;

impl Future for ReadyThenPanicsOnDrop {
    type Output = PanicsOnDrop;

    fn poll(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<PanicsOnDrop> {
        Poll::Ready(PanicsOnDrop("the output's destructor"))
    }
}

impl Drop for ReadyThenPanicsOnDrop {
    fn drop(&mut self) {
        panic!("the future's destructor");
    }
}

#[test]
fn an_output_dropped_after_its_futures_destructor_panicked_does_not_unwind_out_of_block_on() {
    let rt = runtime();
    let error = rt.block_on(async {
        let handle = evloop::spawn(ReadyThenPanicsOnDrop);
        handle.await.expect_err("the future's destructor panicked")
    });
    assert!(error.is_panic());
    assert_eq!(
        panic_message(error.into_panic().as_ref()),
        "the future's destructor"
    );
    assert_eq!(rt.metrics().live_tasks, 0, "the task left the slab");
    assert_eq!(
        rt.block_on(async { evloop::spawn(async { 1 }).await })
            .unwrap(),
        1
    );
}

#[test]
fn dropping_a_join_handle_whose_stored_output_panics_in_drop_does_not_panic() {
    let rt = runtime();
    let after = rt.block_on(async {
        let handle = evloop::spawn(async { PanicsOnDrop("the stored output's destructor") });
        settle(2).await;
        assert!(handle.is_finished());
        drop(handle);
        evloop::spawn(async { "the runtime goes on" })
            .await
            .unwrap()
    });
    assert_eq!(after, "the runtime goes on");
    assert_eq!(rt.metrics().live_tasks, 0);
}

#[test]
fn a_runtime_dropped_inside_another_runtimes_task_keeps_its_destructors_spawns() {
    let spawned_drops = DropCounter::new();
    let outer = runtime();
    let counted = spawned_drops.clone();
    let after = outer.block_on(outer.spawn(async move {
        let inner = Runtime::new().unwrap();
        let guard = SpawnsOnDrop {
            spawned_drops: counted.clone(),
            wake: None,
        };
        drop(inner.spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        }));
        drop(inner);
        // The task the destructor spawned went to the dropped runtime, and went with it.
        assert_eq!(counted.count(), 1, "the destructor's task was dropped");
        // The outer runtime is current again.
        evloop::spawn(async { 5 }).await.unwrap()
    }));
    assert_eq!(after.unwrap(), 5);
    assert_eq!(
        outer.metrics().live_tasks,
        0,
        "nothing landed on the outer runtime"
    );
    assert_eq!(spawned_drops.count(), 1);
}

/// Writes through the `&mut` it holds when dropped, as a guard inside a task's future may.
struct WritesOnDrop<'a>(&'a mut u64);

impl Drop for WritesOnDrop<'_> {
    fn drop(&mut self) {
        *self.0 += 1;
    }
}

/// Awaiting (or dropping, or aborting) a handle while its task is suspended holding a `&mut`
/// to one of its own locals must not look at the task's stage: a shared reference to the
/// future there invalidates that `&mut` under both of Miri's aliasing models, and the task's
/// next use of it was undefined behaviour.
#[test]
fn a_join_handle_never_borrows_the_future_of_a_suspended_task() {
    let rt = runtime();
    rt.block_on(async {
        // Awaited while the task is suspended: the handle's first poll finds it running.
        let task = evloop::spawn(async {
            let mut x = 0u64;
            let r = &mut x;
            yield_now().await;
            *r += 1;
            x
        });
        yield_now().await; // the task runs and suspends holding `r`
        assert_eq!(task.await.unwrap(), 1);

        // Dropped while the task is suspended: the task runs on and uses `r` again.
        let (tx, rx) = std::sync::mpsc::channel();
        let detached = evloop::spawn(async move {
            let mut x = 0u64;
            let r = &mut x;
            yield_now().await;
            *r += 1;
            tx.send(x).unwrap();
        });
        yield_now().await;
        drop(detached);
        yield_now().await;
        yield_now().await;
        assert_eq!(rx.try_recv(), Ok(1));

        // Aborted while suspended: the future's destructor writes through a `&mut` it holds.
        let aborted = evloop::spawn(async {
            let mut x = 0u64;
            let _guard = WritesOnDrop(&mut x);
            pending::<()>().await;
        });
        yield_now().await;
        aborted.abort();
        assert!(aborted.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn an_abort_handle_cancels_its_task_after_the_join_handle_is_dropped() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let token = drops.token();
        let handle = evloop::spawn(async move {
            let _token = token;
            pending::<()>().await;
        });
        let other = evloop::spawn(async {});
        let abort = handle.abort_handle();
        assert_eq!(abort.id(), handle.id());
        assert_ne!(abort.id(), other.id());
        drop(handle); // detached: only the abort handle can stop it now
        yield_now().await;
        assert!(!abort.is_finished());
        abort.abort();
        yield_now().await;
        assert_eq!(drops.count(), 1, "the aborted task's future was dropped");
        assert!(abort.is_finished());
        abort.abort(); // aborting a finished task does nothing
        other.await.unwrap();
    });
}

/// tokio's `no_extra_poll`: a wake from another thread while no `block_on` runs must not wait
/// for a `block_on` that turns the loop; one whose future is ready at once runs it too.
#[test]
fn a_task_woken_from_another_thread_between_block_ons_runs_in_the_next_even_if_it_returns_at_once()
{
    let rt = runtime();
    let probe = ProbeState::new();
    drop(rt.spawn(probe.future()));
    rt.block_on(settle(1));
    assert_eq!(probe.polls(), 1, "the task ran once and waits");
    let waker = probe.waker();
    std::thread::spawn(move || waker.wake()).join().unwrap();
    rt.block_on(async {});
    assert_eq!(
        probe.polls(),
        2,
        "the woken task ran in the second block_on"
    );
}
