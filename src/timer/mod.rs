//! The timer: the runtime's part that keeps deadlines, beside the executor and the reactor.
//!
//! Two files: `wheel`, a hierarchical timing wheel that is a pure data structure (it never
//! reads the clock: "now" is an argument, so it is tested alone against a sorted-list model),
//! and `driver`, which holds the runtime's wheel of `Waker`s and converts between `Instant`s
//! and the wheel's millisecond ticks. The user-facing futures built on it (`sleep`,
//! `timeout`, `interval`) live in [`time`](crate::time).
//!
//! The timer never sees task types: it stores and wakes `Waker`s, as the reactor does.

mod driver;
pub(crate) mod wheel;

#[cfg(feature = "hyper")]
pub(crate) use self::driver::DriverId;
pub(crate) use self::driver::{FAR_FUTURE, TimerDriver};
