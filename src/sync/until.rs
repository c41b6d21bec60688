//! `until`: wait on a [`Notify`] until a condition holds, spending one unit of the cooperative
//! budget when it does. The waiting core of `watch`, `broadcast` and `Barrier`.
//!
//! These types change state and then wake *every* waiter (`notify_waiters`); each waiter looks
//! at the state itself and decides whether it is done. `until` is that loop, written once:
//!
//! ```text
//! arm a Notified  →  check the state  →  done? return  →  else park on the Notified  ↺
//! ```
//!
//! # Invariants
//!
//! 1. **No lost wake-up.** The `Notified` is created *before* each check; `notify_waiters`
//!    completes a `Notified` created before its call even if it was never polled (`Notify`'s
//!    invariant 4), so a change that lands between the check and the park still wakes us.
//! 2. **One unit per completion.** The unit is taken before the check and kept only when the
//!    check succeeds ([`coop::poll_proceed`]); a poll that parks gives it back. The inner
//!    `Notified` is polled `unconstrained`, so waking up does not spend a second unit, and a
//!    spent budget makes `until` yield before it looks at the state.
//! 3. `check` runs with no borrow of the `Notify` held; it may borrow the caller's state.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use super::{Notified, Notify};
use crate::coop;

/// Calls `check` until it returns `Some`, parking on `notify` in between.
///
/// Whoever changes the state `check` reads must call `notify.notify_waiters()` afterwards.
///
/// The returned future owns `check` and its `Notified` (a `move` closure), so it holds no
/// reference into itself: a task suspended here keeps no `&mut` into its own state, which
/// Miri's borrow checker would flag when something reads the task's memory meanwhile.
pub(crate) fn until<'a, R>(
    notify: &'a Notify,
    mut check: impl FnMut() -> Option<R> + 'a,
) -> impl Future<Output = R> + 'a {
    // Armed at the first poll, before the first check (invariant 1).
    let mut notified: Option<Notified<'a>> = None;
    poll_fn(move |cx| {
        let progress = std::task::ready!(coop::poll_proceed(cx));
        loop {
            let armed = notified.get_or_insert_with(|| notify.notified());
            if let Some(ready) = check() {
                progress.made_progress();
                return Poll::Ready(ready);
            }
            if coop::unconstrained(|| Pin::new(&mut *armed).poll(cx)).is_pending() {
                return Poll::Pending;
            }
            // Woken: re-arm before the next check (invariant 1).
            notified = None;
        }
    })
}
