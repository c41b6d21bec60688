//! Timer micro-benchmarks: registering a `Sleep`, cancelling one, and firing 100,000.
//!
//! Run with `cargo bench --bench timers`. Every figure is per timer; the runtime is built
//! once, outside the timed part (`iter_custom`).

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "support/setup.rs"]
mod setup;

use evloop::time::{Sleep, sleep, sleep_until};
use setup::{config, runtime};

#[path = "support/cpu_time.rs"]
mod cpu_time;
#[path = "support/rng.rs"]
mod rng;
#[path = "support/scale.rs"]
mod scale;

use cpu_time::thread_cpu_time;
use rng::XorShift;
use scale::rescale;

/// Timers registered (or cancelled) per batch; the wheel is emptied between batches, untimed.
const BATCH: usize = 10_000;
/// Timers in flight at once in `timers_fire`: one timeout for each of 100,000 connections,
/// the scale the wheel's levels are meant to carry.
const FIRE_COUNT: usize = 100_000;
/// Deadlines of `timers_fire` are drawn from `0..FIRE_SPREAD`, so one batch lasts ~50 ms.
const FIRE_SPREAD: Duration = Duration::from_millis(50);

/// `BATCH` random durations between 1 s and 61 s: far enough that no timer fires while a
/// batch is timed, spread over several levels of the wheel.
fn random_durations(seed: u64) -> Vec<Duration> {
    let mut rng = XorShift::new(seed);
    (0..BATCH)
        .map(|_| Duration::from_secs(1) + Duration::from_micros(rng.below(60_000_000)))
        .collect()
}

/// Polls each `Sleep` made by `make` once (registering it in the wheel) and keeps it in
/// `sleeps`; returns the time taken.
async fn register_batch(
    sleeps: &mut Vec<Sleep>,
    durations: &[Duration],
    mut make: impl FnMut(Duration) -> Sleep,
) -> Duration {
    poll_fn(|cx| {
        let start = Instant::now();
        for &duration in durations {
            sleeps.push(make(duration));
            let registered = sleeps.last_mut().expect("just pushed");
            assert!(Pin::new(registered).poll(cx).is_pending());
        }
        Poll::Ready(start.elapsed())
    })
    .await
}

/// Timer register: create a `Sleep` with a random deadline 1–61 s ahead and poll it once,
/// which inserts it into the wheel; reported per timer.
///
/// Every timeout and interval pays this, and a server arms one per request or connection,
/// so it must stay near the cost of an allocation-free insert. `sleep` reads the clock
/// (`Instant::now`) to turn the duration into a deadline; `sleep_until` gets a precomputed
/// deadline and so shows the wheel's share alone. Issue 3 target: ≤ 60 ns (tokio current_thread
/// ≈ 80–360 ns).
fn timer_register(c: &mut Criterion) {
    let rt = runtime();
    let durations = random_durations(0x5eed);
    let mut sleeps = Vec::with_capacity(BATCH);
    let mut group = c.benchmark_group("timer_register");
    group.bench_function("sleep", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut timed = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    timed += register_batch(&mut sleeps, &durations, sleep).await;
                    sleeps.clear();
                    done += BATCH as u64;
                }
                rescale(timed, done, iters)
            })
        })
    });
    group.bench_function("sleep_until", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut timed = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let now = Instant::now();
                    let deadlines: Vec<Instant> = durations.iter().map(|&d| now + d).collect();
                    let mut next = deadlines.iter();
                    timed += register_batch(&mut sleeps, &durations, |_| {
                        sleep_until(*next.next().expect("one deadline per duration"))
                    })
                    .await;
                    sleeps.clear();
                    done += BATCH as u64;
                }
                rescale(timed, done, iters)
            })
        })
    });
    group.finish();
}

/// Timer cancel: drop a registered `Sleep` (random deadline 1–61 s ahead), which unlinks it
/// from the wheel; reported per timer.
///
/// Most timers never fire (a timeout whose operation finished first), so cancellation is
/// the common end of a timer's life. Issue 3 target: ≤ 40 ns (tokio current_thread ≈
/// 120–150 ns).
fn timer_cancel(c: &mut Criterion) {
    let rt = runtime();
    let durations = random_durations(0xca9ce1);
    let mut sleeps = Vec::with_capacity(BATCH);
    c.bench_function("timer_cancel", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
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
            })
        })
    });
}

/// 100,000 timers with random deadlines in 0–50 ms, all registered (in random order) and
/// then awaited in deadline order by one task; reported as the runtime thread's **CPU time**
/// per timer.
///
/// Wall time would only show the 50 ms spread; CPU time is the runtime's work: inserting
/// into a busy wheel, advancing it tick by tick (cascading levels), firing each entry and
/// waking its waker, and the poll that observes it. No task is spawned per timer, so
/// spawn cost stays out of the figure.
fn timers_fire(c: &mut Criterion) {
    let rt = runtime();
    let mut rng = XorShift::new(0xf12e);
    let spread = FIRE_SPREAD.as_nanos() as u64;
    let offsets: Vec<Duration> = (0..FIRE_COUNT)
        .map(|_| Duration::from_nanos(rng.below(spread)))
        .collect();
    let mut order: Vec<usize> = (0..FIRE_COUNT).collect();
    order.sort_by_key(|&i| offsets[i]);
    let mut sleeps = Vec::with_capacity(FIRE_COUNT);
    let mut group = c.benchmark_group("timers_fire");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("100k_random_0_50ms", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut cpu = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let started = thread_cpu_time();
                    let base = Instant::now();
                    poll_fn(|cx| {
                        for offset in &offsets {
                            let mut timer = sleep_until(base + *offset);
                            // A deadline already past completes at once; it still counts.
                            let _ = Pin::new(&mut timer).poll(cx);
                            sleeps.push(timer);
                        }
                        Poll::Ready(())
                    })
                    .await;
                    for &i in &order {
                        (&mut sleeps[i]).await;
                    }
                    sleeps.clear();
                    cpu += thread_cpu_time() - started;
                    done += FIRE_COUNT as u64;
                }
                rescale(cpu, done, iters)
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = timer_register, timer_cancel, timers_fire
}
criterion_main!(benches);
