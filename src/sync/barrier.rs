//! `Barrier`: `n` tasks wait until all `n` have arrived, then all go on together.
//!
//! State: how many tasks arrived in the current round, and the round's number (the
//! *generation*). The `n`th arrival starts a new generation, wakes every waiter through a
//! [`Notify`], and is the round's leader; a waiter is done when the generation it arrived in
//! has ended.
//!
//! # Invariants
//!
//! 1. `arrived < n` between calls: the arrival that makes it `n` resets it to 0 and bumps the
//!    generation in the same step, so rounds never mix and the barrier is reusable.
//! 2. **One leader per round**: only the arrival that completes the round returns
//!    `is_leader() == true`.
//! 3. An arrival counts from the first poll of `wait()`. As in tokio, it is not taken back if
//!    the future is then dropped: a cancelled waiter still counts towards its round.
//! 4. **Budget.** `wait()` spends one unit when it completes (`sync/until.rs`).

use std::cell::Cell;
use std::fmt;

use super::Notify;
use super::until::until;

/// Makes `n` tasks meet: each calls [`wait`](Barrier::wait), the first `n - 1` wait, and the
/// `n`th wakes them all. Then the barrier is ready for the next round.
///
/// The same API as `tokio::sync::Barrier`, made local (`!Sync`: share it through an `Rc`).
///
/// ```
/// use std::rc::Rc;
/// use evloop::sync::Barrier;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let barrier = Rc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let barrier = barrier.clone();
///             evloop::spawn(async move { barrier.wait().await.is_leader() })
///         })
///         .collect();
///     let mut leaders = 0;
///     for task in tasks {
///         leaders += usize::from(task.await.unwrap());
///     }
///     assert_eq!(leaders, 1, "exactly one task leads each round");
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Barrier {
    /// Tasks per round; `new(0)` is treated as 1, like tokio and `std::sync::Barrier`.
    n: usize,
    /// Arrivals in the current round (invariant 1).
    arrived: Cell<usize>,
    /// Rounds completed so far (wrapping).
    generation: Cell<u64>,
    /// Woken (all waiters) when a round completes.
    round_done: Notify,
}

/// What [`Barrier::wait`] returns: whether this task was the round's leader.
///
/// ```
/// use std::rc::Rc;
/// use evloop::sync::Barrier;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let barrier = Rc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let barrier = barrier.clone();
///             evloop::spawn(async move { barrier.wait().await.is_leader() })
///         })
///         .collect();
///     let mut leaders = 0;
///     for task in tasks {
///         leaders += task.await.unwrap() as u32;
///     }
///     assert_eq!(leaders, 1); // one task per round does the round's extra work
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// True for exactly one task per round: the one whose arrival completed it.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for rounds of `n` tasks. `n == 0` behaves as `n == 1`: every `wait` returns
    /// at once, as the leader.
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n: n.max(1),
            arrived: Cell::new(0),
            generation: Cell::new(0),
            round_done: Notify::new(),
        }
    }

    /// Arrives at the barrier and waits until `n` tasks have arrived in this round.
    ///
    /// Cancel safety: none, as in tokio: the arrival counts from the first poll even if the
    /// future is dropped before the round completes.
    pub async fn wait(&self) -> BarrierWaitResult {
        let generation = self.generation.get();
        let arrived = self.arrived.get() + 1;
        if arrived == self.n {
            self.arrived.set(0);
            self.generation.set(generation.wrapping_add(1));
            self.round_done.notify_waiters();
        } else {
            self.arrived.set(arrived);
        }
        let leader = arrived == self.n;
        until(&self.round_done, move || {
            (self.generation.get() != generation).then_some(BarrierWaitResult(leader))
        })
        .await
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("arrived", &self.arrived.get())
            .field("generation", &self.generation.get())
            .finish()
    }
}
