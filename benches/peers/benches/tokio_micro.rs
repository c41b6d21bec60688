//! tokio's current_thread runtime under evloop's micro-benchmarks: spawn + join, task switches,
//! wakes from another thread, timers, and a TCP round trip.
//!
//! Run with `cargo bench -p evloop-peers --bench tokio_micro`. Every bench mirrors the one of
//! the same name, without the `tokio_` prefix, in evloop's `benches/executor.rs`,
//! `benches/timers.rs` and `benches/tcp.rs`: the same batch sizes, the same loop, the same
//! random deadlines (the same generator and seeds) and the same criterion settings, so that
//! the two reports line up figure by figure. The runtime is built once, outside the timed
//! part, and each bench times only its loop (`iter_custom`).
//!
//! Where tokio differs from evloop, the bench adapts as little as it can, and says so:
//! - `tokio::spawn` needs `Send` futures, so shared state is `Arc` and atomics where evloop's
//!   benches use `Rc` and `Cell`; both are set up outside the timed loop, or cost no more than
//!   a plain load and store on x86.
//! - tokio's `Sleep` is `!Unpin`: it is polled in place in a [`PinnedBatch`] rather than in a
//!   `Vec`, with no allocation per timer (evloop's `Sleep` needs none either).
//! - tokio's cooperative budget makes a `Sleep` poll return `Pending` *without registering* once
//!   a task has used up its budget (128 operations per poll). The timer benches poll thousands
//!   of timers in one task poll, so they run `unconstrained`: otherwise most timers would be
//!   registered later, or not at all, and the figures would not be the register cost.
//!   The other benches keep the budget, which is part of tokio's cost in any program.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::{unconstrained, yield_now};
use tokio::time::{Sleep, sleep, sleep_until};

#[path = "support/pinned.rs"]
mod pinned;
#[path = "support/setup.rs"]
mod setup;

// evloop's own bench helpers, shared so both suites draw the same deadlines and rescale alike.
#[path = "../../support/cpu_time.rs"]
mod cpu_time;
#[path = "../../support/rng.rs"]
mod rng;
#[path = "../../support/scale.rs"]
mod scale;

use cpu_time::thread_cpu_time;
use pinned::PinnedBatch;
use rng::XorShift;
use scale::rescale;
use setup::{config, runtime};

/// Tasks spawned before the first join, as in evloop's `spawn_join`.
const SPAWN_BATCH: u64 = 10_000;

/// Spawn + join of a trivial task (`async {}`) on tokio, in batches of 10,000 spawns followed by
/// 10,000 joins; reported per task.
///
/// tokio's fixed cost of a task: its cell allocation, the owned-tasks list, the run queue, one
/// poll, the output hand-off and the joiner's wake. Compare with evloop's `spawn_join` (the
/// reference range for tokio when the targets were set: 420–690 ns).
fn spawn_join(c: &mut Criterion) {
    let rt = runtime();
    let mut handles = Vec::with_capacity(SPAWN_BATCH as usize);
    c.bench_function("tokio_spawn_join", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                let mut left = iters;
                while left > 0 {
                    let batch = left.min(SPAWN_BATCH);
                    for _ in 0..batch {
                        handles.push(tokio::spawn(async {}));
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

/// Task switch through `tokio::task::yield_now`: two tasks that each yield in a loop; reported
/// per switch (one poll of one task).
///
/// tokio's round trip for a task that wakes itself. Its `yield_now` defers the wake until the
/// scheduler has polled the driver, so this includes tokio's zero-timeout driver polls as a busy
/// loop pays them. Compare with evloop's `switch_yield` (reference
/// range for tokio when the targets were set: 230–300 ns).
fn switch_yield(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("tokio_switch_yield", |b| {
        b.iter_custom(|iters| {
            let rounds = iters.div_ceil(2);
            rt.block_on(async {
                let start = Instant::now();
                let yielder = move || async move {
                    for _ in 0..rounds {
                        yield_now().await;
                    }
                };
                let first = tokio::spawn(yielder());
                let second = tokio::spawn(yielder());
                first.await.expect("the yielding task cannot fail");
                second.await.expect("the yielding task cannot fail");
                rescale(start.elapsed(), 2 * rounds, iters)
            })
        })
    });
}

/// Task switch through `tokio::sync::Notify`: two tasks ping-pong through a pair of them (each
/// notifies the other, then waits to be notified); reported per switch.
///
/// The path of every channel, lock and readiness wait: the waiter's waker is stored, taken and
/// woken, then the woken task is polled. Compare with evloop's `switch_notify`.
fn switch_notify(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("tokio_switch_notify", |b| {
        b.iter_custom(|iters| {
            let rounds = iters.div_ceil(2);
            rt.block_on(async {
                let ping = Arc::new(Notify::new());
                let pong = Arc::new(Notify::new());
                let start = Instant::now();
                let pinger = {
                    let (ping, pong) = (ping.clone(), pong.clone());
                    tokio::spawn(async move {
                        for _ in 0..rounds {
                            pong.notify_one();
                            ping.notified().await;
                        }
                    })
                };
                let ponger = tokio::spawn(async move {
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

/// Two tasks taking turns: each waits until it holds the turn, then hands it to the other and
/// wakes it through the waker it stored. evloop's `Turns`, made `Sync` for `tokio::spawn`.
struct Turns {
    /// Which task (0 or 1) may run. Both tasks run on the runtime's one thread, so `Relaxed`
    /// suffices; it compiles to a plain load or store.
    turn: AtomicUsize,
    /// Each task's waker, stored at its first wait: a tokio task is always polled with its own
    /// waker, so the first stays valid for the task's life (the wait checks it does).
    wakers: [OnceLock<Waker>; 2],
}

impl Turns {
    fn new() -> Turns {
        Turns {
            turn: AtomicUsize::new(0),
            wakers: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// Waits until task `me` holds the turn.
    async fn wait(&self, me: usize) {
        poll_fn(|cx| {
            if self.turn.load(Ordering::Relaxed) == me {
                return Poll::Ready(());
            }
            let stored = self.wakers[me].get_or_init(|| cx.waker().clone());
            assert!(
                stored.will_wake(cx.waker()),
                "each task is polled with the waker it stored"
            );
            Poll::Pending
        })
        .await
    }

    /// Hands the turn to the other task and wakes it.
    fn pass(&self, me: usize) {
        let other = 1 - me;
        self.turn.store(other, Ordering::Relaxed);
        if let Some(waker) = self.wakers[other].get() {
            waker.wake_by_ref();
        }
    }
}

/// Task switch through a bare stored `Waker`: two tasks take turns, each parking until the
/// other wakes it with `wake_by_ref`; reported per switch.
///
/// tokio's own cost of waking a parked task and polling it, with no synchronisation primitive
/// in between and no waker clone or drop per switch. Compare with evloop's `switch_waker`.
fn switch_waker(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("tokio_switch_waker", |b| {
        b.iter_custom(|iters| {
            let rounds = iters.div_ceil(2);
            rt.block_on(async {
                let turns = Arc::new(Turns::new());
                let start = Instant::now();
                let players = [0, 1].map(|me| {
                    let turns = turns.clone();
                    tokio::spawn(async move {
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

/// Wake from another thread: a parked task hands a `tokio::sync::oneshot::Sender` to a std
/// thread, which sends on it and so wakes the task from outside the runtime; reported per round
/// trip.
///
/// tokio's remote wake path (the shared inject queue and the driver's unpark), plus the std
/// thread's own futex wake-up on each request, which typically dominates. Compare with evloop's
/// `wake_remote`.
fn wake_remote(c: &mut Criterion) {
    let rt = runtime();
    let (requests, incoming) = mpsc::sync_channel::<oneshot::Sender<()>>(1);
    let waker_thread = thread::spawn(move || {
        for reply in incoming {
            // The task may have stopped waiting only if the bench is torn down: ignore.
            let _ = reply.send(());
        }
    });
    c.bench_function("tokio_wake_remote", |b| {
        b.iter_custom(|iters| {
            let requests = requests.clone();
            let task = rt.spawn(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let (reply, woken) = oneshot::channel();
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

/// Timers registered (or cancelled) per batch, as in evloop's timer benches.
const BATCH: usize = 10_000;
/// Timers in flight at once in `timers_fire`.
const FIRE_COUNT: usize = 100_000;
/// Deadlines of `timers_fire` are drawn from `0..FIRE_SPREAD`.
const FIRE_SPREAD: Duration = Duration::from_millis(50);

/// `BATCH` random durations between 1 s and 61 s, drawn exactly as evloop's timer benches draw
/// them (same generator, same seeds).
fn random_durations(seed: u64) -> Vec<Duration> {
    let mut rng = XorShift::new(seed);
    (0..BATCH)
        .map(|_| Duration::from_secs(1) + Duration::from_micros(rng.below(60_000_000)))
        .collect()
}

/// Polls each `Sleep` made by `make` once (registering it with tokio's timer driver) and keeps
/// it in `sleeps`; returns the time taken.
async fn register_batch(
    sleeps: &mut PinnedBatch<Sleep>,
    durations: &[Duration],
    mut make: impl FnMut(Duration) -> Sleep,
) -> Duration {
    poll_fn(|cx| {
        let start = Instant::now();
        for &duration in durations {
            let registered = sleeps.push(make(duration));
            assert!(registered.poll(cx).is_pending());
        }
        Poll::Ready(start.elapsed())
    })
    .await
}

/// Timer register on tokio: create a `Sleep` with a random deadline 1–61 s ahead and poll it
/// once, which registers it with the time driver; reported per timer.
///
/// `sleep` reads the clock to turn the duration into a deadline; `sleep_until` gets a
/// precomputed deadline and shows the driver's share alone. Compare with evloop's
/// `timer_register` (reference range for tokio when the targets were set: 80–360 ns).
fn timer_register(c: &mut Criterion) {
    let rt = runtime();
    let durations = random_durations(0x5eed);
    let mut sleeps = PinnedBatch::with_capacity(BATCH);
    let mut group = c.benchmark_group("tokio_timer_register");
    group.bench_function("sleep", |b| {
        b.iter_custom(|iters| {
            rt.block_on(unconstrained(async {
                let mut timed = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    timed += register_batch(&mut sleeps, &durations, sleep).await;
                    sleeps.clear();
                    done += BATCH as u64;
                }
                rescale(timed, done, iters)
            }))
        })
    });
    group.bench_function("sleep_until", |b| {
        b.iter_custom(|iters| {
            rt.block_on(unconstrained(async {
                let mut timed = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let now = tokio::time::Instant::now();
                    let deadlines: Vec<tokio::time::Instant> =
                        durations.iter().map(|&d| now + d).collect();
                    let mut next = deadlines.iter();
                    timed += register_batch(&mut sleeps, &durations, |_| {
                        sleep_until(*next.next().expect("one deadline per duration"))
                    })
                    .await;
                    sleeps.clear();
                    done += BATCH as u64;
                }
                rescale(timed, done, iters)
            }))
        })
    });
    group.finish();
}

/// Timer cancel on tokio: drop a registered `Sleep` (random deadline 1–61 s ahead), which
/// removes it from the time driver; reported per timer. Compare with evloop's `timer_cancel`
/// (reference range for tokio when the targets were set: 120–150 ns).
fn timer_cancel(c: &mut Criterion) {
    let rt = runtime();
    let durations = random_durations(0xca9ce1);
    let mut sleeps = PinnedBatch::with_capacity(BATCH);
    c.bench_function("tokio_timer_cancel", |b| {
        b.iter_custom(|iters| {
            rt.block_on(unconstrained(async {
                let mut timed = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    register_batch(&mut sleeps, &durations, sleep).await;
                    let start = Instant::now();
                    sleeps.clear();
                    timed += start.elapsed();
                    done += BATCH as u64;
                }
                rescale(timed, done, iters)
            }))
        })
    });
}

/// 100,000 timers with random deadlines in 0–50 ms on tokio, all registered (in random order)
/// and then awaited in deadline order by one task; reported as the runtime thread's CPU time
/// per timer.
///
/// tokio's work for a busy timer wheel: inserting, advancing, firing each entry and waking its
/// waker, and the poll that observes it. Compare with evloop's `timers_fire`.
fn timers_fire(c: &mut Criterion) {
    let rt = runtime();
    let mut rng = XorShift::new(0xf12e);
    let spread = FIRE_SPREAD.as_nanos() as u64;
    let offsets: Vec<Duration> = (0..FIRE_COUNT)
        .map(|_| Duration::from_nanos(rng.below(spread)))
        .collect();
    let mut order: Vec<usize> = (0..FIRE_COUNT).collect();
    order.sort_by_key(|&i| offsets[i]);
    let mut sleeps = PinnedBatch::with_capacity(FIRE_COUNT);
    let mut group = c.benchmark_group("tokio_timers_fire");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("100k_random_0_50ms", |b| {
        b.iter_custom(|iters| {
            rt.block_on(unconstrained(async {
                let mut cpu = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let started = thread_cpu_time();
                    let base = tokio::time::Instant::now();
                    poll_fn(|cx| {
                        for offset in &offsets {
                            // A deadline already past completes at once; it still counts.
                            let _ = sleeps.push(sleep_until(base + *offset)).poll(cx);
                        }
                        Poll::Ready(())
                    })
                    .await;
                    for &i in &order {
                        sleeps.get(i).await;
                    }
                    sleeps.clear();
                    cpu += thread_cpu_time() - started;
                    done += FIRE_COUNT as u64;
                }
                rescale(cpu, done, iters)
            }))
        })
    });
    group.finish();
}

/// The message size of the TCP benchmark: 64 bytes, as in evloop's `benches/tcp.rs`.
const MESSAGE: usize = 64;

/// Binds a listener on loopback and spawns a task that echoes one connection, 64 bytes at a
/// time, until the peer closes it; returns the listener's address.
async fn spawn_echo_server() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The server's error (`UnexpectedEof` once the client hangs up) goes to the detached
    // handle, where nobody needs it.
    drop(tokio::spawn(echo_one(listener)));
    Ok(addr)
}

/// Echoes the first connection `listener` accepts, 64 bytes at a time, until it fails.
async fn echo_one(listener: TcpListener) -> io::Result<()> {
    let (mut conn, _) = listener.accept().await?;
    conn.set_nodelay(true)?;
    let mut buf = [0u8; MESSAGE];
    loop {
        conn.read_exact(&mut buf).await?;
        conn.write_all(&buf).await?;
    }
}

/// A 64-byte round trip over loopback with both ends on one tokio runtime: the client writes
/// 64 bytes, the server task reads and writes them back, the client reads them; reported per
/// round trip. Two writes, two reads, the readiness events and two task switches: the
/// per-message floor of a tokio server. Compare with evloop's `tcp_round_trip_64B`.
fn tcp_round_trip(c: &mut Criterion) {
    let rt = runtime();
    let mut client = rt
        .block_on(async {
            let addr = spawn_echo_server().await?;
            let client = TcpStream::connect(addr).await?;
            client.set_nodelay(true)?;
            Ok::<_, io::Error>(client)
        })
        .expect("setting up a loopback connection");
    let message = [0x5au8; MESSAGE];
    let mut reply = [0u8; MESSAGE];
    c.bench_function("tokio_tcp_round_trip_64B", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    client
                        .write_all(&message)
                        .await
                        .expect("writing to loopback");
                    client
                        .read_exact(&mut reply)
                        .await
                        .expect("reading the echo");
                }
                start.elapsed()
            })
        })
    });
    assert_eq!(reply, message, "the server echoes what it was sent");
}

criterion_group! {
    name = benches;
    config = config();
    targets = spawn_join, switch_yield, switch_notify, switch_waker, wake_remote,
        timer_register, timer_cancel, timers_fire, tcp_round_trip
}
criterion_main!(benches);
