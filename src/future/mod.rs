//! Composing futures inside one task: wait for all ([`join()`], [`join_all`],
//! [`join!`](crate::join!), [`try_join!`](crate::try_join!)) or for the first ([`select()`],
//! [`select_all`], [`select!`](crate::select!)).
//!
//! These combinators run their children *in the task that awaits them*: no task is spawned,
//! the children need not be `'static`, and they may borrow from the caller. They are
//! concurrent, not parallel: one child runs at a time, each until it returns `Pending`. To run
//! futures as separate tasks, whose results arrive in completion order, use
//! [`task::JoinSet`](crate::task::JoinSet).
//!
//! | wait for | two futures | a list known at compile time | an iterator |
//! |---|---|---|---|
//! | all of them | [`join()`] | [`join!`](crate::join!) | [`join_all`] |
//! | the first | [`select()`] | [`select!`](crate::select!) | [`select_all`] |
//!
//! ```
//! use std::time::Duration;
//! use evloop::future::{join_all, select, Either};
//! use evloop::time::sleep;
//!
//! let rt = evloop::Runtime::new()?;
//! rt.block_on(async {
//!     let fetch = |ms: u64| async move {
//!         sleep(Duration::from_millis(ms)).await;
//!         ms
//!     };
//!     // All of them, in input order.
//!     assert_eq!(join_all([20, 10].map(fetch)).await, [20, 10]);
//!     // The first, the other one dropped (an hour apart: on a loaded machine both
//!     // 10 and 20 ms sleeps can be over by the first poll, and `select` prefers `a`).
//!     assert_eq!(select(fetch(3_600_000), fetch(10)).await, Either::Right(10));
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Invariants
//!
//! 1. A child that completed is dropped at once and never polled again.
//! 2. The select family drops every loser before it hands out the winner's output, so the
//!    code that handles the output runs after the losers' destructors.
//! 3. The iterator combinators ([`join_all`], [`select_all`]) give each child its own waker
//!    and poll only the woken children: a wake costs O(1), not O(number of children). The
//!    fixed-size ones (`join`, `join!`, `select`, `select!`) lend the task's waker to every
//!    child and poll every unfinished child at each poll, which is cheapest for a handful.
//! 4. Nothing here spawns a task or touches the runtime: the combinators work under any
//!    executor, and a timeout around them (`time::timeout`) drops them, with all their
//!    children, when it fires.

mod fair_start;
mod join;
mod select;
mod wake_set;

#[doc(hidden)]
pub use self::fair_start::select_start as __select_start;

pub use self::join::{JoinAll, join, join_all};
pub use self::select::{Either, SelectAll, select, select_all};
