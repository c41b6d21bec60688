//! Executor micro-benchmarks: spawn + join, task switches, and wakes from another thread.
//!
//! Run with `cargo bench --bench executor`. Every figure is per operation (per task, per
//! switch, per wake): the runtime is built once, outside the timed part, and each bench
//! times only its loop inside `block_on` (`iter_custom`).

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::thread;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "support/setup.rs"]
mod setup;

use evloop::sync::{Notify, threadsafe};
use evloop::task::yield_now;
use setup::{config, runtime};

#[path = "support/scale.rs"]
mod scale;

use scale::rescale;

/// Tasks spawned before the first join, so that the slab and the run queue hold many tasks,
/// not one, as under a real load.
const SPAWN_BATCH: u64 = 10_000;

/// Spawn + join of a trivial task (`async {}`), in batches of 10,000 spawns followed by
/// 10,000 joins; reported per task.
///
/// This is the fixed cost of a task: the cell allocation, the slab slot, the schedule state
/// and its waker, one trip through the run queue, one poll, the output hand-off and the
/// joiner's wake. It bounds how fine-grained work can be split into tasks (the project's
/// target: ≤ 150 ns; tokio current_thread ≈ 420–690 ns).
fn spawn_join(c: &mut Criterion) {
    let rt = runtime();
    let mut handles = Vec::with_capacity(SPAWN_BATCH as usize);
    c.bench_function("spawn_join", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                let mut left = iters;
                while left > 0 {
                    let batch = left.min(SPAWN_BATCH);
                    for _ in 0..batch {
                        handles.push(evloop::spawn(async {}));
                    }
                    for handle in handles.drain(..) {
                        handle.await.expect("a trivial task cannot fail");
                    }
                    left -= batch;
                }
                start.elapsed()
            })
        })
    });
}

/// Task switch through `yield_now`: two tasks that each yield in a loop, so every poll hands
/// the thread to the other task; reported per switch (one poll of one task).
///
/// This is the executor's round trip for a task that wakes itself: a wake of an already
/// running task, a push and a pop of the run queue, and a poll. It includes the loop's
/// zero-timeout `epoll_wait` every `EVENT_INTERVAL` (64) polls, as a real busy loop pays it.
/// Issue 3 target: ≤ 80 ns (tokio current_thread ≈ 230–300 ns).
fn switch_yield(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("switch_yield", |b| {
        b.iter_custom(|iters| {
            let rounds = iters.div_ceil(2);
            rt.block_on(async {
                let start = Instant::now();
                let yielder = move || async move {
                    for _ in 0..rounds {
                        yield_now().await;
                    }
                };
                let first = evloop::spawn(yielder());
                let second = evloop::spawn(yielder());
                first.await.expect("the yielding task cannot fail");
                second.await.expect("the yielding task cannot fail");
                rescale(start.elapsed(), 2 * rounds, iters)
            })
        })
    });
}

/// Task switch through a waker: two tasks ping-pong through a pair of `Notify`s (each
/// notifies the other, then waits to be notified); reported per switch.
///
/// Unlike `switch_yield`, each switch parks a task and wakes it from the *other* task, the
/// path every channel, lock and I/O readiness takes: the waiter's waker is stored, taken
/// and woken (`IDLE → SCHEDULED`), then the woken task is polled.
fn switch_notify(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("switch_notify", |b| {
        b.iter_custom(|iters| {
            let rounds = iters.div_ceil(2);
            rt.block_on(async {
                let ping = Rc::new(Notify::new());
                let pong = Rc::new(Notify::new());
                let start = Instant::now();
                let pinger = {
                    let (ping, pong) = (ping.clone(), pong.clone());
                    evloop::spawn(async move {
                        for _ in 0..rounds {
                            pong.notify_one();
                            ping.notified().await;
                        }
                    })
                };
                let ponger = evloop::spawn(async move {
                    for _ in 0..rounds {
                        pong.notified().await;
                        ping.notify_one();
                    }
                });
                pinger.await.expect("the pinging task cannot fail");
                ponger.await.expect("the ponging task cannot fail");
                rescale(start.elapsed(), 2 * rounds, iters)
            })
        })
    });
}

/// Two tasks taking turns: each waits until it holds the turn, then hands it to the other
/// and wakes it through the waker it stored.
struct Turns {
    /// Which task (0 or 1) may run.
    turn: Cell<usize>,
    /// Each task's waker, stored once (it stays valid for the task's life).
    wakers: [RefCell<Option<Waker>>; 2],
}

impl Turns {
    fn new() -> Turns {
        Turns {
            turn: Cell::new(0),
            wakers: [RefCell::new(None), RefCell::new(None)],
        }
    }

    /// Waits until task `me` holds the turn.
    async fn wait(&self, me: usize) {
        poll_fn(|cx| {
            if self.turn.get() == me {
                return Poll::Ready(());
            }
            let mut slot = self.wakers[me].borrow_mut();
            if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Hands the turn to the other task and wakes it (an evloop waker only queues the task,
    /// so waking under the borrow runs no user code).
    fn pass(&self, me: usize) {
        let other = 1 - me;
        self.turn.set(other);
        if let Some(waker) = &*self.wakers[other].borrow() {
            waker.wake_by_ref();
        }
    }
}

/// Task switch through a bare stored `Waker`: two tasks take turns, each parking until the
/// other wakes it with `wake_by_ref`; reported per switch.
///
/// The same hand-off as `switch_notify` without a synchronisation primitive in between:
/// the executor's own cost of waking a parked task (`IDLE → SCHEDULED`, a push onto the
/// run queue) and polling it, with no waker clone or drop per switch.
fn switch_waker(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("switch_waker", |b| {
        b.iter_custom(|iters| {
            let rounds = iters.div_ceil(2);
            rt.block_on(async {
                let turns = Rc::new(Turns::new());
                let start = Instant::now();
                let players = [0, 1].map(|me| {
                    let turns = turns.clone();
                    evloop::spawn(async move {
                        for _ in 0..rounds {
                            turns.wait(me).await;
                            turns.pass(me);
                        }
                    })
                });
                for player in players {
                    player.await.expect("a turn-taking task cannot fail");
                }
                rescale(start.elapsed(), 2 * rounds, iters)
            })
        })
    });
}

/// Wake from another thread: a parked task hands a `threadsafe::oneshot::Sender` to a std
/// thread, which sends on it and so wakes the task from outside the runtime; reported per
/// round trip.
///
/// This is the path of `spawn_blocking` results and of any thread feeding a task: the remote
/// wake queue, the eventfd that interrupts `epoll_wait`, and the drain back onto the run
/// queue. It also includes the std thread's own wake-up (a futex) on each request, which
/// typically dominates: read it as an upper bound on evloop's share.
fn wake_remote(c: &mut Criterion) {
    let rt = runtime();
    let (requests, incoming) = mpsc::sync_channel::<threadsafe::oneshot::Sender<()>>(1);
    let waker_thread = thread::spawn(move || {
        for reply in incoming {
            // The task may have stopped waiting only if the bench is torn down: ignore.
            let _ = reply.send(());
        }
    });
    c.bench_function("wake_remote", |b| {
        b.iter_custom(|iters| {
            let requests = requests.clone();
            let task = rt.spawn(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let (reply, woken) = threadsafe::oneshot::channel();
                    requests.send(reply).expect("the waker thread is alive");
                    woken.await.expect("the waker thread always replies");
                }
                start.elapsed()
            });
            rt.block_on(task).expect("the parked task cannot fail")
        })
    });
    drop(requests);
    waker_thread.join().expect("the waker thread cannot panic");
}

criterion_group! {
    name = benches;
    config = config();
    targets = spawn_join, switch_yield, switch_notify, switch_waker, wake_remote
}
criterion_main!(benches);
