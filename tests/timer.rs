//! Timers: ordering, never early, timeout, interval policies, cancellation.
//!
//! Times here are checked for order and causality, never for tight upper bounds: the machine
//! is shared and noisy. The only lower bounds are the guaranteed ones ("not before").

#[path = "support/counters.rs"]
mod counters;

use std::cell::{Cell, RefCell};
use std::future::{Future, pending};
use std::panic::catch_unwind;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use counters::DropCounter;
use evloop::Runtime;
use evloop::task::yield_now;
use evloop::time::{MissedTickBehavior, interval, interval_at, sleep, sleep_until, timeout};

fn runtime() -> Runtime {
    Runtime::new().expect("create runtime")
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn sleeps_complete_in_deadline_order() {
    let rt = runtime();
    let order = Rc::new(RefCell::new(Vec::new()));
    rt.block_on(async {
        // Absolute deadlines from one start: each task's first poll may come much later
        // (under Miri, milliseconds apart), and the order must not depend on that.
        let start = Instant::now();
        let handles: Vec<_> = [50u64, 10, 40, 20, 30, 0]
            .into_iter()
            .map(|delay| {
                let order = order.clone();
                evloop::spawn(async move {
                    sleep_until(start + ms(delay)).await;
                    order.borrow_mut().push(delay);
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    assert_eq!(*order.borrow(), [0, 10, 20, 30, 40, 50]);
}

#[test]
fn a_timer_never_fires_before_its_deadline() {
    let rt = runtime();
    rt.block_on(async {
        let handles: Vec<_> = (0..200u64)
            .map(|i| {
                // Deadlines spread over 0..25 ms at sub-millisecond offsets, to exercise the
                // rounding between instants and millisecond ticks.
                let deadline = Instant::now() + Duration::from_micros(i * 127 % 25_000);
                evloop::spawn(async move {
                    sleep_until(deadline).await;
                    let now = Instant::now();
                    assert!(now >= deadline, "fired {:?} early", deadline - now);
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

#[test]
fn a_deadline_in_the_past_completes_without_waiting_for_a_timer() {
    let rt = runtime();
    rt.block_on(async {
        // A later timer keeps the loop's wait bounded; the past deadline must not need it.
        let _guard = evloop::spawn(sleep(Duration::from_secs(3600)));
        yield_now().await; // the guard registers its timer
        assert_eq!(rt.metrics().pending_timers, 1);
        let started = Instant::now();
        sleep_until(Instant::now() - ms(5)).await;
        assert!(started.elapsed() < Duration::from_secs(3000));
        assert_eq!(
            rt.metrics().pending_timers,
            1,
            "only the guard's timer is left"
        );
    });
}

#[test]
fn dropping_a_sleep_removes_its_timer() {
    let rt = runtime();
    rt.block_on(async {
        let sleeps: Vec<_> = (0..1000u64)
            .map(|i| evloop::spawn(sleep(Duration::from_secs(3600 + i))))
            .collect();
        yield_now().await;
        assert_eq!(rt.metrics().pending_timers, 1000);
        for handle in &sleeps {
            handle.abort();
        }
        yield_now().await;
        assert_eq!(rt.metrics().pending_timers, 0);
        assert_eq!(rt.metrics().live_tasks, 0);
    });
}

#[test]
fn sleep_reset_moves_the_deadline_both_ways() {
    let rt = runtime();
    rt.block_on(async {
        let started = Instant::now();
        let mut nap = sleep(Duration::from_secs(3600));
        // Poll once so it is registered, then pull the deadline in.
        let registered = std::future::poll_fn(|cx| Poll::Ready(pin!(&mut nap).poll(cx))).await;
        assert!(registered.is_pending());
        nap.reset(started + ms(15));
        (&mut nap).await;
        assert!(nap.is_elapsed());
        assert!(started.elapsed() >= ms(15));
        // A completed sleep that is reset waits again.
        let again = Instant::now() + ms(10);
        nap.reset(again);
        assert!(!nap.is_elapsed());
        nap.await;
        assert!(Instant::now() >= again);
    });
}

#[test]
fn polling_a_sleep_outside_a_runtime_panics_with_a_message() {
    let result = catch_unwind(|| {
        let mut nap = pin!(sleep(ms(1)));
        let _ = nap.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    });
    let payload = result.unwrap_err();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("inside an evloop runtime"),
        "message: {message}"
    );
}

#[test]
fn a_sleep_moved_to_another_runtime_still_completes() {
    let first = runtime();
    let mut nap = Box::pin(sleep(ms(20)));
    first.block_on(async {
        let polled = std::future::poll_fn(|cx| Poll::Ready(nap.as_mut().poll(cx))).await;
        assert!(polled.is_pending());
    });
    assert_eq!(first.metrics().pending_timers, 1);
    let second = runtime();
    second.block_on(nap);
    assert_eq!(
        first.metrics().pending_timers,
        0,
        "the entry left the first wheel"
    );
}

#[test]
fn timeout_gives_elapsed_and_drops_the_future() {
    let rt = runtime();
    let drops = DropCounter::new();
    rt.block_on(async {
        let token = drops.token();
        let result = timeout(ms(10), async move {
            let _token = token;
            pending::<()>().await;
        })
        .await;
        let error = result.unwrap_err();
        assert_eq!(error.to_string(), "deadline has elapsed");
        assert_eq!(drops.count(), 1);
        let io: std::io::Error = error.into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    });
}

#[test]
fn timeout_returns_the_output_of_a_future_that_finishes_in_time() {
    let rt = runtime();
    rt.block_on(async {
        assert_eq!(timeout(Duration::from_secs(60), async { 5 }).await, Ok(5));
        // A ready future wins even with a zero timeout: it is polled first.
        assert_eq!(timeout(Duration::ZERO, async { 6 }).await, Ok(6));
        let slept = timeout(Duration::from_secs(60), sleep(ms(5))).await;
        assert!(slept.is_ok());
        assert_eq!(rt.metrics().pending_timers, 0);
    });
}

#[test]
fn timeout_fires_on_a_future_that_is_always_busy() {
    let rt = runtime();
    rt.block_on(async {
        // Yields forever: always ready to run, never complete.
        let busy = async {
            loop {
                yield_now().await;
            }
        };
        assert!(timeout(ms(20), busy).await.is_err());
    });
}

#[test]
fn timeout_composes_with_a_join_handle() {
    let rt = runtime();
    rt.block_on(async {
        let slow = evloop::spawn(sleep(Duration::from_secs(60)));
        assert!(timeout(ms(5), &mut Box::pin(slow)).await.is_err());
    });
}

/// Runs `ticks` ticks of an interval with `period`, stalling the thread for `stall` right
/// after the first tick; returns each tick's scheduled instant and when it was observed.
fn ticks_after_a_stall(
    behavior: MissedTickBehavior,
    period: Duration,
    stall: Duration,
    ticks: usize,
) -> (Instant, Vec<Instant>, Instant) {
    let rt = runtime();
    rt.block_on(async {
        let start = Instant::now();
        let mut ticker = interval_at(start, period);
        ticker.set_missed_tick_behavior(behavior);
        assert_eq!(ticker.missed_tick_behavior(), behavior);
        let mut scheduled = vec![ticker.tick().await];
        // A blocking call: the loop cannot run while the thread sleeps.
        std::thread::sleep(stall);
        let resumed = Instant::now();
        for _ in 1..ticks {
            scheduled.push(ticker.tick().await);
        }
        (start, scheduled, resumed)
    })
}

#[test]
fn interval_burst_fires_missed_ticks_on_the_original_schedule() {
    let period = ms(10);
    let (start, scheduled, _) = ticks_after_a_stall(MissedTickBehavior::Burst, period, ms(55), 8);
    for (n, tick) in scheduled.iter().enumerate() {
        assert_eq!(
            *tick,
            start + period * n as u32,
            "tick {n} left the schedule"
        );
    }
}

// The stall (55 ms) is longer than a period plus the first tick's own lateness, so the tick
// awaited right after it is at least a whole period late, however loaded the machine is.

#[test]
fn interval_delay_restarts_the_schedule_after_a_late_tick() {
    let period = ms(10);
    let (start, scheduled, resumed) =
        ticks_after_a_stall(MissedTickBehavior::Delay, period, ms(55), 4);
    assert_eq!(scheduled[0], start);
    // The late tick is returned at once; the next one is a whole period after it was seen,
    // where Burst would have returned start + 2 periods, long past.
    assert!(
        scheduled[2] >= resumed + period,
        "delay kept the old schedule"
    );
    for pair in scheduled.windows(2) {
        assert!(pair[1] - pair[0] >= period, "ticks closer than a period");
    }
}

#[test]
fn interval_skip_drops_missed_ticks_and_keeps_the_phase() {
    let period = ms(10);
    let (start, scheduled, resumed) =
        ticks_after_a_stall(MissedTickBehavior::Skip, period, ms(55), 4);
    assert_eq!(scheduled[0], start);
    assert!(
        scheduled[2] > resumed,
        "skip returned a tick that was already missed"
    );
    for tick in &scheduled {
        let offset = tick.duration_since(start).as_nanos();
        assert_eq!(
            offset % period.as_nanos(),
            0,
            "skip left the schedule's phase"
        );
    }
    for pair in scheduled.windows(2) {
        assert!(pair[1] > pair[0]);
    }
}

#[test]
fn interval_skip_far_behind_a_tiny_period_does_not_return_missed_ticks() {
    // Ten seconds behind a 1 ns period is 10^10 periods, more than a u32 counts: Skip used to
    // clamp the count and schedule the next tick seconds in the past, so it fired at once.
    let Some(start) = Instant::now().checked_sub(Duration::from_secs(10)) else {
        return; // the machine booted less than ten seconds ago
    };
    let rt = runtime();
    rt.block_on(async {
        let mut ticker = interval_at(start, Duration::from_nanos(1));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let asked = Instant::now();
        assert_eq!(ticker.tick().await, start);
        // The next tick is the first of the schedule after the (late) first tick was seen.
        let next = ticker.tick().await;
        assert!(
            next > asked,
            "skip returned a tick {:?} before the first was even awaited",
            asked - next
        );
    });
}

#[test]
fn interval_first_tick_is_immediate_and_later_ticks_are_not_early() {
    let rt = runtime();
    rt.block_on(async {
        let mut ticker = interval(ms(5));
        let first = ticker.tick().await;
        for n in 1..4u32 {
            let scheduled = ticker.tick().await;
            assert_eq!(scheduled, first + ms(5) * n);
            assert!(Instant::now() >= scheduled);
        }
        assert_eq!(ticker.period(), ms(5));
    });
}

#[test]
fn an_interval_whose_next_tick_cannot_be_represented_ticks_once_and_then_never() {
    // `Instant` cannot hold now + these periods: the next tick is clamped 30 years ahead. A
    // clamp to "now" (or a wrapped deadline) would make the interval tick continuously.
    let rt = runtime();
    rt.block_on(async {
        for period in [Duration::MAX, Duration::from_secs(u64::MAX)] {
            for behavior in [
                MissedTickBehavior::Burst,
                MissedTickBehavior::Delay,
                MissedTickBehavior::Skip,
            ] {
                let mut ticker = interval(period);
                ticker.set_missed_tick_behavior(behavior);
                let ticks = Cell::new(0);
                let count_ticks = async {
                    loop {
                        ticker.tick().await;
                        ticks.set(ticks.get() + 1);
                    }
                };
                // Bounded: the budget makes even a continuously ticking interval yield, so
                // the timeout fires either way.
                assert!(timeout(ms(30), count_ticks).await.is_err());
                assert_eq!(ticks.get(), 1, "period {period:?}, {behavior:?}");
                assert_eq!(ticker.period(), period);
            }
            let mut ticker = interval(period);
            ticker.tick().await;
            ticker.reset();
            assert!(
                timeout(ms(30), ticker.tick()).await.is_err(),
                "period {period:?}: ticked after reset"
            );
        }
    });
}

#[test]
fn a_zero_interval_period_panics_with_a_message() {
    let result = catch_unwind(|| interval(Duration::ZERO));
    let payload = result.unwrap_err();
    let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(message.contains("non-zero"), "message: {message}");
}

#[test]
fn many_pending_timers_fire_and_leave_nothing_behind() {
    let rt = runtime();
    let count = if cfg!(miri) { 200 } else { 20_000 };
    rt.block_on(async {
        let handles: Vec<_> = (0..count)
            .map(|i| evloop::spawn(sleep(Duration::from_micros((i * 7919) % 30_000))))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    assert_eq!(rt.metrics().pending_timers, 0);
    assert_eq!(rt.metrics().live_tasks, 0);
}

/// Regression: with a wheel whose level arithmetic was off by one, creating and cancelling
/// many timeouts and then sleeping past their deadlines spun forever inside `advance`.
#[test]
fn a_sleep_after_many_cancelled_timeouts_completes() {
    let rt = runtime();
    let count = if cfg!(miri) { 100 } else { 1000 };
    rt.block_on(async {
        for _ in 0..count {
            // A connect-style timeout that is never reached: created, polled, dropped.
            let quick = timeout(Duration::from_secs(5), async {}).await;
            assert!(quick.is_ok());
        }
        let cancelled: Vec<_> = (0..count)
            .map(|i| evloop::spawn(sleep(Duration::from_millis(5000 + i))))
            .collect();
        yield_now().await;
        cancelled.iter().for_each(|handle| handle.abort());
        let guarded = timeout(Duration::from_secs(30), sleep(ms(20))).await;
        assert!(guarded.is_ok(), "the sleep never completed");
    });
    assert_eq!(rt.metrics().pending_timers, 0);
}

thread_local! {
    /// A sleep owned by `DropsASleep`, released when that waker is dropped.
    static OWNED_BY_WAKER: RefCell<Option<std::pin::Pin<Box<evloop::time::Sleep>>>> =
        const { RefCell::new(None) };
}

/// A foreign waker whose destructor drops a `Sleep` (user code touching the timer wheel).
struct DropsASleep;

impl std::task::Wake for DropsASleep {
    fn wake(self: std::sync::Arc<Self>) {}
}

impl Drop for DropsASleep {
    fn drop(&mut self) {
        let released = OWNED_BY_WAKER.with(|slot| slot.borrow_mut().take());
        drop(released);
    }
}

/// Regression: replacing a sleep's stored waker dropped the old one while the wheel was
/// borrowed; a waker whose drop released another sleep hit a `RefCell` double borrow.
#[test]
fn a_waker_dropped_by_the_wheel_may_drop_a_sleep() {
    let rt = runtime();
    rt.block_on(async {
        let mut inner = Box::pin(sleep(Duration::from_secs(20)));
        let registered = std::future::poll_fn(|cx| Poll::Ready(inner.as_mut().poll(cx))).await;
        assert!(registered.is_pending());
        OWNED_BY_WAKER.with(|slot| *slot.borrow_mut() = Some(inner));
        let mut outer = pin!(sleep(Duration::from_secs(10)));
        let foreign = Waker::from(std::sync::Arc::new(DropsASleep));
        assert!(
            outer
                .as_mut()
                .poll(&mut Context::from_waker(&foreign))
                .is_pending()
        );
        drop(foreign); // the wheel now holds the last reference
        assert_eq!(rt.metrics().pending_timers, 2);
        // Polling with the task's own waker replaces, and so drops, the foreign one.
        let again = std::future::poll_fn(|cx| Poll::Ready(outer.as_mut().poll(cx))).await;
        assert!(again.is_pending());
        assert_eq!(
            rt.metrics().pending_timers,
            1,
            "the waker's sleep was released"
        );
    });
}

/// An interval of an hour: after its first tick, only a reset makes it tick within a test.
fn hourly() -> evloop::time::Interval {
    interval(Duration::from_secs(3600))
}

/// True if `ticker` does not tick within a few milliseconds (its next tick is far away).
async fn quiet(ticker: &mut evloop::time::Interval) -> bool {
    timeout(ms(5), ticker.tick()).await.is_err()
}

#[test]
fn interval_reset_immediately_ticks_now_then_a_period_later() {
    runtime().block_on(async {
        let mut ticker = hourly();
        ticker.tick().await;
        assert!(quiet(&mut ticker).await);
        let before = Instant::now();
        ticker.reset_immediately();
        let tick = timeout(Duration::from_secs(30), ticker.tick())
            .await
            .expect("reset_immediately ticks at once");
        assert!(
            tick >= before,
            "scheduled from the reset, not from the start"
        );
        assert!(quiet(&mut ticker).await, "the next tick is a period later");
    });
}

#[test]
fn interval_reset_after_and_reset_at_move_the_next_tick() {
    runtime().block_on(async {
        let mut ticker = hourly();
        ticker.tick().await;
        let before = Instant::now();
        ticker.reset_after(ms(10));
        let tick = timeout(Duration::from_secs(30), ticker.tick())
            .await
            .unwrap();
        assert!(tick >= before + ms(10), "never before the reset's delay");
        assert!(Instant::now() >= tick);

        let deadline = Instant::now() + ms(3);
        ticker.reset_at(deadline);
        assert_eq!(
            timeout(Duration::from_secs(30), ticker.tick()).await,
            Ok(deadline)
        );
        assert!(
            quiet(&mut ticker).await,
            "then one period after the deadline"
        );
    });
}
