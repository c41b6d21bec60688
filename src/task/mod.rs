//! Tasks: spawning, joining, yielding, and the cooperative budget ([`consume_budget`],
//! [`unconstrained`]).

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::coop;

mod blocking;
mod builder;
mod join_set;

pub use self::blocking::spawn_blocking;
pub use self::builder::Builder;
pub use crate::executor::{AbortHandle, JoinError, JoinHandle, TaskId as Id};
pub use join_set::JoinSet;

/// Spawns `future` as a new task on the current runtime and returns its handle.
///
/// The task starts at the runtime's next turn; it runs even if the handle is dropped. The
/// future need not be `Send`: it never leaves this thread.
///
/// ```
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let shared = std::rc::Rc::new(5); // not Send, and that is fine
///     let task = evloop::spawn(async move { *shared * 2 });
///     assert_eq!(task.await.unwrap(), 10);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// The caller's location is recorded as the task's spawn site, for slow-poll reports; use
/// [`Builder`] to name the task as well.
///
/// # Panics
///
/// Panics if called outside of an evloop runtime (use [`Runtime::spawn`](crate::Runtime::spawn)
/// there).
///
/// Every evloop task is local to its runtime's thread, so this is also what tokio's
/// `task::spawn_local` on a `LocalSet` is: there is no `LocalSet` to set up.
#[doc(alias = "spawn_local", alias = "LocalSet")]
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    Builder::new().spawn(future)
}

/// Yields to the runtime: the task goes to the back of the run queue, so every other woken
/// task runs before it continues.
///
/// ```
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     for _ in 0..3 {
///         evloop::task::yield_now().await;
///     }
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Spends one unit of the task's cooperative budget ([`coop`] module), yielding first
/// if the budget is spent. Call it in a loop that does work without awaiting any evloop
/// future (parsing a buffer, a CPU-bound step), so that the loop gives the runtime its turn
/// as evloop's own operations do. Unlike [`yield_now`], it yields only once every
/// [`TASK_BUDGET`](crate::coop::TASK_BUDGET) calls or so, not at every call.
///
/// ```
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let mut sum = 0u64;
///     for i in 0..1000u64 {
///         evloop::task::consume_budget().await; // lets other tasks run now and then
///         sum += i;
///     }
///     assert_eq!(sum, 499_500);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn consume_budget() {
    poll_fn(coop::poll_spend).await
}

/// Runs `future` with no cooperative budget: evloop's futures inside it never yield because
/// the budget is spent (`consume_budget` inside it never yields either). The budget of the
/// task around it is left as it was.
///
/// Use it for a future that must not be interrupted by budget yields, knowing that a loop
/// inside it that is always ready then holds the thread until it awaits something that is
/// not ready.
///
/// ```
/// use evloop::sync::mpsc;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     for i in 0..1000 {
///         tx.send(i).unwrap();
///     }
///     drop(tx);
///     // Drains all 1000 values in one poll, without budget yields.
///     let count = evloop::task::unconstrained(async {
///         let mut count = 0;
///         while rx.recv().await.is_some() {
///             count += 1;
///         }
///         count
///     })
///     .await;
///     assert_eq!(count, 1000);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn unconstrained<F: Future>(future: F) -> Unconstrained<F> {
    Unconstrained { future }
}

/// The future of [`unconstrained`]: polls the inner future with no budget limit.
///
/// ```
/// use evloop::sync::mpsc;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     for i in 0..1000 {
///         tx.send(i).unwrap();
///     }
///     drop(tx);
///     // Drains all 1000 without yielding to other tasks every few hundred receives.
///     let drained = evloop::task::unconstrained(async {
///         let mut n = 0;
///         while rx.recv().await.is_some() {
///             n += 1;
///         }
///         n
///     });
///     assert_eq!(drained.await, 1000);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Unconstrained<F> {
    future: F,
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self` (no method
        // gives it out by value or `&mut`, and `Unconstrained` has no `Drop` impl that could
        // move it), and `Unconstrained` is `Unpin` only when `F` is (the auto trait).
        let future = unsafe { self.map_unchecked_mut(|this| &mut this.future) };
        coop::unconstrained(|| future.poll(cx))
    }
}

impl<F> fmt::Debug for Unconstrained<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unconstrained").finish_non_exhaustive()
    }
}
