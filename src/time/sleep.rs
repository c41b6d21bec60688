//! `Sleep`: a future that completes at a deadline.
//!
//! # Invariants
//!
//! 1. A `Sleep` owns at most one wheel entry, in the driver of the runtime that last polled it;
//!    the entry is removed when the sleep completes, is reset, moves to another runtime, or
//!    is dropped.
//! 2. Registration is lazy: creating a `Sleep` touches no runtime; the first poll does.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use crate::timer::wheel::TimerKey;
use crate::timer::{FAR_FUTURE, TimerDriver};
use crate::{context, coop};

/// Waits until `duration` has elapsed.
///
/// The timer has a resolution of one millisecond and never completes early.
///
/// ```
/// use std::time::{Duration, Instant};
/// let rt = evloop::Runtime::new()?;
/// let started = Instant::now();
/// rt.block_on(evloop::time::sleep(Duration::from_millis(20)));
/// assert!(started.elapsed() >= Duration::from_millis(20));
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
///
/// Polling the returned future outside of an evloop runtime panics.
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(far_future_saturating(Instant::now(), duration))
}

/// Waits until `deadline`.
///
/// A deadline in the past completes without waiting: at the first poll, or at the next loop
/// turn if the loop last read the clock before that deadline.
///
/// ```
/// use std::time::{Duration, Instant};
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(20);
///     evloop::time::sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
        elapsed: false,
    }
}

/// `start + duration`, or a date decades away if that overflows `Instant`.
pub(crate) fn far_future_saturating(start: Instant, duration: Duration) -> Instant {
    start
        .checked_add(duration)
        .unwrap_or_else(|| start.checked_add(FAR_FUTURE).unwrap_or(start))
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// A `Sleep` kept across the turns of a loop can be moved with [`reset`](Self::reset)
/// instead of made anew; pin it to poll it by reference:
///
/// ```
/// use std::pin::pin;
/// use std::time::{Duration, Instant};
/// use evloop::time::sleep;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let mut timer = pin!(sleep(Duration::from_secs(3600)));
///     assert!(!timer.is_elapsed());
///     // Something happened: wait a short while instead.
///     timer.as_mut().reset(Instant::now() + Duration::from_millis(10));
///     timer.as_mut().await;
///     assert!(timer.is_elapsed());
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
    entry: Option<Entry>,
    elapsed: bool,
}

struct Entry {
    driver: Rc<TimerDriver>,
    key: TimerKey,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("key", &self.key).finish()
    }
}

impl Sleep {
    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the sleep has completed.
    pub fn is_elapsed(&self) -> bool {
        self.elapsed
    }

    /// Moves the deadline (earlier or later); a completed sleep becomes pending again.
    pub fn reset(&mut self, deadline: Instant) {
        self.disarm();
        self.deadline = deadline;
        self.elapsed = false;
    }

    fn disarm(&mut self) {
        if let Some(entry) = self.entry.take() {
            entry.driver.remove(entry.key);
        }
    }

    /// Checks the wheel (registering on first poll); true once the deadline has passed.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(entry) = &self.entry {
            let same_runtime =
                context::with_current(|handle| Rc::ptr_eq(&handle.timers, &entry.driver))
                    .unwrap_or(false);
            if same_runtime {
                return entry.driver.poll_fired(entry.key, cx.waker());
            }
            // Polled by another runtime (or none): move the entry to the current one.
            self.disarm();
        }
        let driver = context::with_runtime("polling evloop::time::Sleep", |handle| {
            handle.timers.clone()
        });
        match driver.insert(self.deadline, cx.waker()) {
            None => true,
            Some(key) => {
                self.entry = Some(Entry { driver, key });
                false
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.elapsed {
            return Poll::Ready(());
        }
        let progress = ready!(coop::poll_proceed(cx));
        if this.poll_deadline(cx) {
            this.disarm();
            this.elapsed = true;
            progress.made_progress();
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.disarm();
    }
}
