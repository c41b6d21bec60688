//! `Interval`: ticks at a fixed period, with a policy for ticks missed while the task was busy.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use super::sleep::{Sleep, far_future_saturating, sleep_until};

/// What an [`Interval`] does when a whole period or more passed since a tick was due (the task
/// was busy, or the loop was blocked).
///
/// ```
/// use std::time::Duration;
/// use evloop::time::{MissedTickBehavior, interval};
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let mut ticks = interval(Duration::from_millis(10));
///     // After a stall, tick one period after the late tick instead of catching up.
///     ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
///     ticks.tick().await;
///     std::thread::sleep(Duration::from_millis(30)); // the loop is blocked
///     let late = ticks.tick().await; // due 20 ms ago: completes at once
///     let next = ticks.tick().await; // a period after the late tick *ran*
///     // `Burst` would have scheduled it a period after `late` was due: 10 ms.
///     assert!(next - late >= Duration::from_millis(30));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back, as fast as they are awaited, until caught up; the
    /// schedule stays `start + n × period`.
    #[default]
    Burst,
    /// Start a new schedule: the next tick is one period after the late tick was observed.
    Delay,
    /// Drop the missed ticks: the next tick is the first `start + n × period` in the future.
    Skip,
}

/// Creates an interval whose first tick completes immediately, then every `period`.
///
/// ```
/// use std::time::Duration;
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let mut ticks = evloop::time::interval(Duration::from_millis(5));
///     for _ in 0..3 {
///         ticks.tick().await;
///     }
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// A period too large for the next tick to be represented (`Duration::MAX`, or anything that
/// overflows `Instant` when added) puts the next tick 30 years ahead, as [`sleep`] does with
/// such a duration: the interval ticks once, at once, and then not again while the process
/// lives. It never ticks continuously.
///
/// [`sleep`]: super::sleep()
///
/// # Panics
///
/// Panics if `period` is zero, with the message "evloop::time::interval: period must be
/// non-zero" (a zero period would tick continuously).
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Creates an interval whose first tick completes at `start`, then every `period`.
///
/// A period too large for the next tick to be represented is treated as in [`interval`].
///
/// # Panics
///
/// Panics if `period` is zero.
///
/// ```
/// use std::time::{Duration, Instant};
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     // Start one period from now, instead of at once as `interval` does.
///     let period = Duration::from_millis(10);
///     let start = Instant::now() + period;
///     let mut ticks = evloop::time::interval_at(start, period);
///     assert_eq!(ticks.tick().await, start);
///     assert_eq!(ticks.tick().await, start + period);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "evloop::time::interval: period must be non-zero"
    );
    Interval {
        period,
        timer: sleep_until(start),
        missed: MissedTickBehavior::default(),
    }
}

/// A stream of ticks; see [`interval`].
///
/// A periodic job beside other work, in one task:
///
/// ```
/// use std::time::Duration;
/// use evloop::sync::mpsc;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::channel(8);
///     evloop::spawn(async move {
///         for job in 0..3 {
///             tx.send(job).await.unwrap();
///         }
///     });
///     let mut flush = evloop::time::interval(Duration::from_millis(5));
///     let mut batch = Vec::new();
///     let mut flushed = Vec::new();
///     loop {
///         evloop::select! {
///             job = rx.recv() => match job {
///                 Some(job) => batch.push(job),
///                 None => break,
///             },
///             _ = flush.tick() => flushed.append(&mut batch),
///         }
///     }
///     flushed.append(&mut batch);
///     assert_eq!(flushed, [0, 1, 2]);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    /// Armed for the next tick's scheduled instant.
    timer: Sleep,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick (for use in hand-written futures).
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(Pin::new(&mut self.timer).poll(cx));
        let scheduled = self.timer.deadline();
        let next = self.next_after(scheduled, Instant::now());
        self.timer.reset(next);
        Poll::Ready(scheduled)
    }

    /// The instant of the tick after the one scheduled at `scheduled`, observed at `now`.
    ///
    /// Always later than `scheduled`, so a tick never fires twice: an instant that overflows
    /// becomes 30 years after `scheduled` (or `now`) through `far_future_saturating`. Its last
    /// fallback, the start itself, is only taken if that start plus 30 years overflows too,
    /// and a tick scheduled that late never fires (the clock does not get there).
    fn next_after(&self, scheduled: Instant, now: Instant) -> Instant {
        let on_schedule = far_future_saturating(scheduled, self.period);
        if now < on_schedule {
            return on_schedule;
        }
        match self.missed {
            MissedTickBehavior::Burst => on_schedule,
            MissedTickBehavior::Delay => far_future_saturating(now, self.period),
            MissedTickBehavior::Skip => {
                // In nanoseconds, as u128: a count of periods can exceed u32 (10 s behind a
                // 1 ns period), and clamping it would land the next tick in the past.
                let period = self.period.as_nanos();
                let behind = now.duration_since(scheduled).as_nanos();
                let ahead = (behind / period + 1) * period;
                duration_from_nanos(ahead)
                    .and_then(|ahead| scheduled.checked_add(ahead))
                    .unwrap_or_else(|| far_future_saturating(now, self.period))
            }
        }
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.timer
            .reset(far_future_saturating(Instant::now(), self.period));
    }

    /// Restarts the schedule from now: the next tick completes at once, then every period.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut ticks = evloop::time::interval(Duration::from_secs(3600));
    ///     ticks.tick().await; // the first tick is immediate
    ///     ticks.reset_immediately();
    ///     ticks.tick().await; // and so is this one, instead of an hour later
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reset_immediately(&mut self) {
        self.timer.reset(Instant::now());
    }

    /// Restarts the schedule: the next tick is `after` from now, then every period. A
    /// duration too large for an `Instant` puts the tick 30 years ahead (as [`sleep`] does).
    ///
    /// [`sleep`]: super::sleep()
    pub fn reset_after(&mut self, after: Duration) {
        self.timer
            .reset(far_future_saturating(Instant::now(), after));
    }

    /// Restarts the schedule: the next tick is at `deadline` (at once if it has passed), then
    /// every period after it.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut ticks = evloop::time::interval(Duration::from_secs(3600));
    ///     ticks.tick().await;
    ///     let deadline = Instant::now() + Duration::from_millis(5);
    ///     ticks.reset_at(deadline);
    ///     assert_eq!(ticks.tick().await, deadline);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reset_at(&mut self, deadline: Instant) {
        self.timer.reset(deadline);
    }

    /// The policy for missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets the policy for missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// `nanos` as a `Duration`, or `None` if it does not fit (more than `u64::MAX` seconds).
fn duration_from_nanos(nanos: u128) -> Option<Duration> {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).ok()?;
    // The remainder is below 10^9, so it fits a u32.
    Some(Duration::new(secs, (nanos % NANOS_PER_SEC) as u32))
}
