//! Timers: [`sleep`], [`sleep_until`], [`timeout`], [`timeout_at`] and [`interval`].
//!
//! Deadlines are kept by the runtime's timer (`crate::timer`): a hierarchical timing wheel
//! with a resolution of one millisecond. The wheel is a pure data structure: it never reads
//! the clock; the runtime passes "now" in once per loop turn.
//!
//! # Guarantees
//!
//! - A timer never completes before its deadline: deadlines are rounded *up* to the next
//!   millisecond tick and "now" is rounded *down*.
//! - A timer completes in the first loop turn whose clock reading is at or past its deadline
//!   (rounded up to the millisecond), unless the loop is busy running tasks, which it does in
//!   batches of at most `EVENT_INTERVAL` polls between two clock readings.
//! - Dropping a [`Sleep`] removes its entry from the wheel (O(1)).

pub mod error;
mod interval;
mod sleep;
mod timeout;

pub use self::interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use self::sleep::{Sleep, sleep, sleep_until};
pub use self::timeout::{timeout, timeout_at};
pub use std::time::{Duration, Instant};
