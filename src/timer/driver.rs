//! The timer driver: the runtime's wheel of `Waker`s and the conversion between `Instant`s
//! and the wheel's millisecond ticks.
//!
//! # Invariants
//!
//! 1. Tick `t` is the instant `start + t ms`. A deadline maps to the first tick at or after it
//!    ([`TimerDriver::deadline_tick`], rounding up); the clock maps to the last tick at or
//!    before it ([`TimerDriver::now_tick`], rounding down). So "tick ≤ now tick" implies
//!    "deadline ≤ now": nothing fires early.
//! 2. Only the loop reads the clock and advances the wheel ([`TimerDriver::fire_due`]); timer
//!    futures only insert, update and remove entries. The loop does so only while a timer is
//!    pending ([`TimerDriver::is_armed`]), so `elapsed` may lag the clock while none is.
//! 3. No waker is cloned, woken or dropped while the wheel is borrowed: a foreign waker's
//!    `clone`, `wake` and `drop` are user code, which may create or drop timers.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::task::Waker;

use super::wheel::{TimerKey, Wheel};

/// One tick of the wheel is one millisecond: `epoll_wait` cannot wait for less, so a finer
/// wheel would only add cascades, and network timeouts rarely need finer.
const NANOS_PER_TICK: u128 = 1_000_000;

/// What "never" means for a deadline: a sleep of `Duration::MAX` is clamped to this far
/// ahead, because `Instant` cannot represent every `Duration` past now. Thirty years outlives
/// any process, and stays well inside the range of `Instant` on every platform.
pub(crate) const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// Borrow rule: `wheel` is borrowed only briefly, never while a waker is cloned, woken or
/// dropped (invariant 3).
pub(crate) struct TimerDriver {
    id: DriverId,
    start: Instant,
    wheel: RefCell<Wheel<Waker>>,
    wake_later: RefCell<Vec<Waker>>,
}

impl TimerDriver {
    pub(crate) fn new(start: Instant) -> Self {
        TimerDriver {
            id: DriverId::next(),
            start,
            wheel: RefCell::new(Wheel::new()),
            wake_later: RefCell::new(Vec::new()),
        }
    }

    /// Names this driver among every driver the process has made, for a timer that cannot
    /// hold an `Rc` of it (a `Send` one: `compat::hyper::Sleep`) but must know that a key it
    /// holds was handed out here.
    #[cfg_attr(
        not(feature = "hyper"),
        expect(dead_code, reason = "only compat::hyper's Send sleep asks")
    )]
    pub(crate) fn id(&self) -> DriverId {
        self.id
    }

    /// The first tick at or after `deadline`.
    pub(crate) fn deadline_tick(&self, deadline: Instant) -> u64 {
        let nanos = deadline.saturating_duration_since(self.start).as_nanos();
        u64::try_from(nanos.div_ceil(NANOS_PER_TICK)).unwrap_or(u64::MAX)
    }

    /// The last tick at or before `now`.
    pub(crate) fn now_tick(&self, now: Instant) -> u64 {
        let nanos = now.saturating_duration_since(self.start).as_nanos();
        u64::try_from(nanos / NANOS_PER_TICK).unwrap_or(u64::MAX)
    }

    fn tick_instant(&self, tick: u64) -> Instant {
        self.start
            .checked_add(Duration::from_millis(tick))
            .unwrap_or_else(|| self.start + FAR_FUTURE)
    }

    /// Inserts a timer for `deadline`, or returns `None` if the wheel has already passed it
    /// (the caller is ready now).
    pub(crate) fn insert(&self, deadline: Instant, waker: &Waker) -> Option<TimerKey> {
        let tick = self.deadline_tick(deadline);
        if tick <= self.wheel.borrow().elapsed() {
            return None;
        }
        // Cloning a foreign waker runs user code: not under the wheel's borrow.
        let waker = waker.clone();
        Some(self.wheel.borrow_mut().insert(tick, waker))
    }

    /// True once the entry fired; otherwise refreshes its waker.
    pub(crate) fn poll_fired(&self, key: TimerKey, waker: &Waker) -> bool {
        match self.wheel.borrow_mut().get_mut(key) {
            None => return true,
            Some(stored) if stored.will_wake(waker) => return false,
            Some(_) => {}
        }
        // The task's waker changed. Cloning the new one and dropping the old one may run user
        // code (a foreign waker), so neither happens under the wheel's borrow.
        let fresh = waker.clone();
        let old = self
            .wheel
            .borrow_mut()
            .get_mut(key)
            .map(|stored| std::mem::replace(stored, fresh));
        drop(old);
        false
    }

    /// Frees an entry (pending or fired). The old waker is dropped after the borrow ends.
    pub(crate) fn remove(&self, key: TimerKey) {
        let removed = self.wheel.borrow_mut().remove(key);
        drop(removed);
    }

    /// Fires every timer whose deadline is at or before `now`.
    pub(crate) fn fire_due(&self, now: Instant) {
        let now_tick = self.now_tick(now);
        let mut wake_later = std::mem::take(&mut *self.wake_later.borrow_mut());
        self.wheel
            .borrow_mut()
            .advance(now_tick, |_, waker| wake_later.push(waker));
        for waker in wake_later.drain(..) {
            waker.wake();
        }
        *self.wake_later.borrow_mut() = wake_later;
    }

    /// How long the loop may block before the next timer is due; `None` if no timer is pending.
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        let tick = self.wheel.borrow().next_deadline()?;
        Some(self.tick_instant(tick).saturating_duration_since(now))
    }

    /// True while a timer is pending. The loop asks before it reads the clock: with no timer
    /// there is nothing to fire and no deadline to wait for, so a turn needs no "now".
    ///
    /// Skipping [`fire_due`](Self::fire_due) leaves the wheel's `elapsed` behind the clock.
    /// That never fires anything early (a timer fires only once a later `fire_due` has read a
    /// clock at or past its deadline); a timer inserted meanwhile whose deadline has already
    /// passed is merely inserted instead of reported ready, and fires on the next turn.
    pub(crate) fn is_armed(&self) -> bool {
        !self.wheel.borrow().is_empty()
    }

    /// Timers registered and not yet fired or dropped.
    pub(crate) fn pending(&self) -> usize {
        self.wheel.borrow().len()
    }
}

/// A process-wide unique name of a [`TimerDriver`]: two drivers never share one, even when one
/// was dropped before the other was made (an address could be reused; a counter is not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DriverId(u64);

impl DriverId {
    fn next() -> DriverId {
        // Only uniqueness matters, not ordering with other memory: `Relaxed` suffices.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        DriverId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl std::fmt::Debug for TimerDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerDriver")
            .field("id", &self.id)
            .field("pending", &self.pending())
            .finish()
    }
}
