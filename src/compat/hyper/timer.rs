//! hyper's timer on evloop's wheel: [`Timer`] and its `Send + Sync` [`Sleep`].
//!
//! hyper keeps its sleeps as `Pin<Box<dyn hyper::rt::Sleep>>`, and that trait requires
//! `Send + Sync`. evloop's [`time::Sleep`](crate::time::Sleep) is neither: it holds an `Rc` of
//! its runtime's timer driver. So this `Sleep` holds only plain data: its deadline and, while
//! it waits, the [`DriverId`] of the driver that holds its wheel entry and the entry's key.
//! Each poll finds the driver through the thread's current runtime (the lookup evloop's own
//! sleep makes), and uses the key only if the ids match. No `unsafe`, no lock, no thread.
//!
//! # Invariants
//!
//! 1. `entry` is `Some` exactly while the wheel of driver `entry.driver` holds an entry (pending
//!    or fired) that belongs to this sleep, under `entry.key`.
//! 2. A key is used only with the driver whose id it was stored with: a key of one wheel never
//!    frees or updates an entry of another.
//! 3. Registration is lazy, as for evloop's sleep: making one touches no runtime; the first
//!    poll inserts the entry.
//!
//! # Used from another thread
//!
//! The bounds are for hyper's type; in practice a sleep is polled and dropped on its runtime's
//! thread, because hyper keeps it inside the connection future, which holds evloop's `!Send`
//! stream. Where it is not:
//!
//! - polled on a thread with no evloop runtime, it panics, as evloop's sleep does;
//! - polled in another runtime, it registers there; dropped or reset outside its runtime, its
//!   entry cannot be reached, and is left behind (invariant 2). A left-behind entry fires at
//!   its deadline (a wake-up of a task that no longer waits for it, which is harmless) and its
//!   slot is freed when its runtime is dropped.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::context;
use crate::timer::wheel::TimerKey;
use crate::timer::{DriverId, TimerDriver};

/// hyper's timer on evloop: give it to a builder with `.timer(Timer)`, and hyper's timeouts
/// (the server's `header_read_timeout`, keep-alive timeouts) fire on evloop's wheel.
///
/// Its sleeps are [`Sleep`]s, polled on the runtime's thread (see the module docs).
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer as _;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let started = std::time::Instant::now();
///     evloop::compat::hyper::Timer.sleep(Duration::from_millis(20)).await;
///     assert!(started.elapsed() >= Duration::from_millis(20));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Timer;

impl ::hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        // evloop's `sleep` computes the deadline (saturating far past now) without touching
        // the runtime; only the deadline is kept.
        self.sleep_until(crate::time::sleep(duration).deadline())
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(Sleep::until(deadline))
    }

    /// Resets one of this timer's sleeps in place (no new allocation); any other sleep is
    /// replaced by one of ours.
    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Sleep>() {
            Some(ours) => ours.get_mut().reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// The sleep of [`Timer`]: completes at its deadline, like evloop's
/// [`time::Sleep`](crate::time::Sleep), but `Send + Sync` as hyper requires (see the module
/// docs for what that costs and where it must be polled).
///
/// # Panics
///
/// Polling it outside of an evloop runtime panics.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: Instant,
    entry: Option<Entry>,
    elapsed: bool,
}

/// Where the wheel entry is (invariant 1): plain data, so `Sleep` stays `Send + Sync`.
#[derive(Clone, Copy, Debug)]
struct Entry {
    driver: DriverId,
    key: TimerKey,
}

impl Sleep {
    /// A sleep that completes at `deadline` (at once if it has passed).
    pub fn until(deadline: Instant) -> Sleep {
        Sleep {
            deadline,
            entry: None,
            elapsed: false,
        }
    }

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

    /// Frees the wheel entry, if the current runtime holds it; otherwise leaves it behind
    /// (module docs). Either way this sleep no longer has one.
    fn disarm(&mut self) {
        if let Some(entry) = self.entry.take()
            && let Some(driver) = current_driver()
            && driver.id() == entry.driver
        {
            driver.remove(entry.key);
        }
    }

    /// Checks the wheel, registering on the first poll; true once the deadline has passed.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> bool {
        // Cloned out of the thread-local rather than used inside its borrow: inserting or
        // updating an entry clones and drops wakers, which is user code.
        let driver = current_driver().unwrap_or_else(|| {
            panic!(
                "polling evloop::compat::hyper::Sleep must be called from inside an evloop \
                 runtime (Runtime::block_on)"
            )
        });
        match self.entry {
            Some(entry) if entry.driver == driver.id() => {
                return driver.poll_fired(entry.key, cx.waker());
            }
            // Registered with another runtime's driver: left there (module docs).
            Some(_) => self.entry = None,
            None => {}
        }
        match driver.insert(self.deadline, cx.waker()) {
            None => true,
            Some(key) => {
                self.entry = Some(Entry {
                    driver: driver.id(),
                    key,
                });
                false
            }
        }
    }
}

/// The timer driver of the runtime current on this thread, if any.
fn current_driver() -> Option<Rc<TimerDriver>> {
    context::with_current(|handle| handle.timers.clone())
}

/// Unlike evloop's sleep, it does not draw on the cooperative budget: hyper polls it only to
/// check a timeout beside the I/O it waits for, and that I/O draws on the budget already.
impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.elapsed {
            return Poll::Ready(());
        }
        if this.poll_deadline(cx) {
            this.disarm();
            this.elapsed = true;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl ::hyper::rt::Sleep for Sleep {}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.disarm();
    }
}
