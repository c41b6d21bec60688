//! Synchronisation between tasks: [`oneshot`], [`mpsc`], [`watch`] and [`broadcast`]
//! channels, [`Mutex`], [`RwLock`], [`Semaphore`], [`Notify`], [`Barrier`], and a thread-safe
//! oneshot in [`threadsafe`].
//!
//! The names and semantics are tokio's (`tokio::sync`), so code written for tokio's
//! current-thread runtime ports by changing the import; the one visible difference is that the
//! local types are shared with `Rc` where tokio uses `Arc` (for example
//! [`Mutex::lock_owned`] takes an `Rc<Mutex<T>>`).
//!
//! # Local or thread-safe
//!
//! evloop runs every task on one thread, so the primitives here are **local**: built on
//! `Cell`, `RefCell` and `Rc`, with no atomics and no locks. The compiler keeps them on the
//! runtime's thread:
//!
//! | type | thread-safety |
//! |---|---|
//! | [`oneshot::Sender`], [`oneshot::Receiver`] | local (`!Send`, `!Sync`: they hold an `Rc`) |
//! | [`mpsc::Sender`], [`mpsc::Receiver`], [`mpsc::UnboundedSender`], [`mpsc::UnboundedReceiver`], their weak senders and permits | local (`!Send`, `!Sync`) |
//! | [`Semaphore`], [`Notify`] | local: `!Sync`, so tasks share them through an `Rc` (`Rc<Semaphore>` is `!Send`); a fresh one may be moved to another thread before anyone waits on it |
//! | [`SemaphorePermit`], [`OwnedSemaphorePermit`], the futures | local (`!Send`) |
//! | [`Mutex`], [`RwLock`], [`Barrier`] | local: `!Sync`, shared through an `Rc`, like [`Semaphore`] |
//! | [`MutexGuard`], [`MappedMutexGuard`], [`OwnedMutexGuard`], [`RwLockReadGuard`], [`RwLockWriteGuard`] | local (`!Send`) |
//! | [`watch::Sender`], [`watch::Receiver`], [`watch::Ref`], [`broadcast::Sender`], [`broadcast::Receiver`] | local (`!Send`, `!Sync`: they hold an `Rc`) |
//! | [`threadsafe::oneshot::Sender`], [`threadsafe::oneshot::Receiver`] | **thread-safe**: `Send + Sync` when `T: Send`; a `Mutex` and a stored `Waker` |
//!
//! To hand a result from a `std::thread` (or a blocking pool) to a task, use
//! [`threadsafe::oneshot`]: the sender moves to the thread and wakes the task from there. A
//! local handle cannot make that trip; the compiler refuses:
//!
//! ```compile_fail
//! let (tx, _rx) = evloop::sync::oneshot::channel::<u32>();
//! std::thread::spawn(move || tx.send(1)); // `Rc<..>` cannot be sent between threads safely
//! ```
//!
//! # Shared rules
//!
//! These hold for every primitive; each module's `# Invariants` says how.
//!
//! 1. **FIFO.** Waiters are served in the order they started to wait (their first poll):
//!    values of an mpsc channel, senders waiting for room, semaphore acquires (a large request
//!    at the head is not overtaken by small ones), `Notify::notify_one`, `Mutex` and `RwLock`
//!    (a waiting writer is not overtaken by later readers). `watch`, `broadcast` and `Barrier`
//!    wake all their waiters at once, so order does not arise.
//! 2. **No lost and no double wake.** A waiter is served by exactly one event, and its waker
//!    is taken out when it is served, so a second event cannot wake it again. A waiter that is
//!    served and then dropped before it runs passes what it got on (a `notify_one`, semaphore
//!    permits and so a `Mutex` or `RwLock` lock, a channel slot), so the next waiter gets it.
//! 3. **O(1) cancellation.** Waiting futures sit in a slab-backed FIFO linked by index
//!    (`wait_list.rs`): a dropped future unlinks itself in constant time, no `unsafe`.
//! 4. **Cooperative budget.** Every future here spends one unit of the task's budget
//!    ([`coop`](crate::coop)) when it completes, also when it completes without waiting (a
//!    permit already free, a closed channel's `closed()`), and yields when the budget is
//!    spent, so a task draining a channel that is never empty still lets others run.
//! 5. **No user code under a borrow.** Wakers are woken, and values dropped, after the
//!    `RefCell` borrow (or the lock) is released.

mod barrier;
pub mod broadcast;
pub mod mpsc;
mod mutex;
mod notify;
pub mod oneshot;
mod rwlock;
mod semaphore;
pub mod threadsafe;
mod until;
mod wait_list;
pub mod watch;

#[cfg(test)]
mod tests;

pub use barrier::{Barrier, BarrierWaitResult};
pub use mutex::{MappedMutexGuard, Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{
    Acquire, AcquireError, AcquireOwned, OwnedSemaphorePermit, Semaphore, SemaphorePermit,
    TryAcquireError,
};
