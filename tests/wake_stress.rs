//! Cross-thread wakes under stress: several threads wake many tasks at random for a bounded
//! time. Checked: no lost wake (every task ends up having seen every wake aimed at it), no
//! poll without a wake, no re-entrant poll, no deadlock (everything is bounded in time).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// What a waking thread needs to reach task `i`: its wake counter and its latest waker.
struct Target {
    wakes: AtomicU64,
    waker: Mutex<Option<Waker>>,
}

/// A small deterministic generator, one per thread (no `rand` dependency).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_wakes_from_several_threads_are_never_lost_or_doubled() {
    let (tasks, threads, run_for, max_wakes_per_thread) = if cfg!(miri) {
        (8, 2, Duration::from_millis(50), 200)
    } else {
        (1000, 4, Duration::from_millis(300), 200_000)
    };
    let targets: Arc<Vec<Target>> = Arc::new(
        (0..tasks)
            .map(|_| Target {
                wakes: AtomicU64::new(0),
                waker: Mutex::new(None),
            })
            .collect(),
    );
    let rt = evloop::Runtime::new().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // Per task: the last wake count a poll observed, and how many polls it had.
    let seen: Vec<Rc<Cell<u64>>> = (0..tasks).map(|_| Rc::default()).collect();
    let polls: Vec<Rc<Cell<u64>>> = (0..tasks).map(|_| Rc::default()).collect();

    rt.block_on(async {
        for i in 0..tasks {
            let (targets, stop) = (targets.clone(), stop.clone());
            let (seen, polls) = (seen[i].clone(), polls[i].clone());
            let in_poll = Cell::new(false);
            drop(evloop::spawn(std::future::poll_fn(move |cx| {
                assert!(!in_poll.replace(true), "task {i} polled re-entrantly");
                polls.set(polls.get() + 1);
                let target = &targets[i];
                *target.waker.lock().unwrap() = Some(cx.waker().clone());
                // Read after storing the waker: a wake counted after this read finds the
                // stored waker and wakes us again.
                seen.set(target.wakes.load(Ordering::Acquire));
                in_poll.set(false);
                if stop.load(Ordering::Acquire)
                    && seen.get() == target.wakes.load(Ordering::Acquire)
                {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })));
        }
        evloop::task::yield_now().await; // every task has stored its waker

        let wakers: Vec<_> = (0..threads)
            .map(|t| {
                let targets = targets.clone();
                std::thread::spawn(move || {
                    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1));
                    let started = Instant::now();
                    let mut sent = 0u64;
                    while started.elapsed() < run_for && sent < max_wakes_per_thread {
                        let target = &targets[(rng.next() % targets.len() as u64) as usize];
                        target.wakes.fetch_add(1, Ordering::Release);
                        let waker = target.waker.lock().unwrap().clone();
                        if let Some(waker) = waker {
                            waker.wake();
                        }
                        sent += 1;
                    }
                    sent
                })
            })
            .collect();

        // Keep the loop turning (with real waits) while the threads wake.
        while !wakers.iter().all(|thread| thread.is_finished()) {
            evloop::time::sleep(Duration::from_millis(1)).await;
        }
        let sent: u64 = wakers
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .sum();
        assert!(sent > 0);

        // Every task must now catch up with every wake sent to it, with no further wake: a
        // lost wake leaves its task behind for good.
        let deadline = Instant::now() + Duration::from_secs(10);
        let behind = || {
            (0..tasks)
                .filter(|&i| seen[i].get() != targets[i].wakes.load(Ordering::Acquire))
                .count()
        };
        while behind() > 0 && Instant::now() < deadline {
            evloop::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(behind(), 0, "tasks that missed a wake");
    });

    // Let every task observe `stop` and finish.
    stop.store(true, Ordering::Release);
    for target in targets.iter() {
        if let Some(waker) = target.waker.lock().unwrap().take() {
            waker.wake();
        }
    }
    let finished = rt.block_on(evloop::time::timeout(Duration::from_secs(20), async {
        while rt.metrics().live_tasks > 0 {
            evloop::time::sleep(Duration::from_millis(1)).await;
        }
    }));
    assert!(
        finished.is_ok(),
        "{} tasks never finished",
        rt.metrics().live_tasks
    );

    // No poll without a wake: a task is polled at most once per wake, plus its first poll and
    // the final wake that let it see `stop`.
    for i in 0..tasks {
        let wakes = targets[i].wakes.load(Ordering::Acquire);
        assert!(
            polls[i].get() <= wakes + 2,
            "task {i}: {} polls for {wakes} wakes",
            polls[i].get()
        );
    }
}
