//! Tasks: spawning, joining, yielding.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

mod blocking;
mod builder;
mod join_set;

pub use self::blocking::spawn_blocking;
pub use self::builder::Builder;
pub use crate::executor::{JoinError, JoinHandle};
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
