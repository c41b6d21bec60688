//! `JoinHandle`: the caller's side of a spawned task.
//!
//! # Invariants
//!
//! 1. A handle holds the task's cell alive (an `Arc`), never the task's place in the schedule:
//!    dropping the handle *detaches* the task, which runs on; its output is dropped when the
//!    last of the slab and the handle lets go of the cell.
//! 2. `abort` (here or on an [`AbortHandle`]) only asks: it sets a flag and wakes the task; the executor drops the future the
//!    next time it pops the task (in this loop turn unless more than `EVENT_INTERVAL` tasks
//!    are queued ahead of it), on the runtime's thread, and never polls it again.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::abort::AbortHandle;
use super::cell::JoinTarget;
use super::error::JoinError;
use super::id::TaskId;
use crate::coop;

/// An owned permission to await a spawned task's output, or to cancel it.
///
/// Awaiting the handle gives `Ok(output)`, or a [`JoinError`] if the task panicked or was
/// aborted. Dropping the handle detaches the task: it keeps running, and its output is
/// dropped when it finishes.
///
/// ```
/// let rt = evloop::Runtime::new()?;
/// let answer = rt.block_on(async {
///     let handle = evloop::spawn(async { 6 * 7 });
///     handle.await
/// });
/// assert_eq!(answer.unwrap(), 42);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// [`abort`](Self::abort) takes `&self`; [`abort_handle`](Self::abort_handle) gives a handle
/// that can only abort, for code that must not await the output.
pub struct JoinHandle<T> {
    cell: Arc<dyn JoinTarget<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(cell: Arc<dyn JoinTarget<T>>) -> Self {
        JoinHandle { cell }
    }

    /// Cancels the task: it is woken, and when the executor reaches it in the run queue it
    /// drops the future, on the runtime's thread, instead of polling it. The task never runs
    /// again. Awaiting the handle then gives an error whose
    /// [`is_cancelled`](JoinError::is_cancelled) is true. Aborting a finished task does nothing.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let handle = evloop::spawn(evloop::time::sleep(Duration::from_secs(3600)));
    ///     handle.abort();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn abort(&self) {
        self.cell.header().abort();
    }

    /// True once the task has finished: returned, panicked or been cancelled.
    ///
    /// ```
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let handle = evloop::spawn(async { 1 });
    ///     assert!(!handle.is_finished()); // spawned tasks start at the next turn
    ///     evloop::task::yield_now().await;
    ///     assert!(handle.is_finished());
    ///     assert_eq!(handle.await.unwrap(), 1);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.cell.header().is_finished()
    }

    /// The task's id, unique among the tasks of its runtime.
    pub fn id(&self) -> TaskId {
        self.cell.header().id
    }

    /// A handle that can abort the task but not await it; cloneable, and it does not keep
    /// the task's output alive.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let handle = evloop::spawn(evloop::time::sleep(Duration::from_secs(3600)));
    ///     let abort = handle.abort_handle();
    ///     assert_eq!(abort.id(), handle.id());
    ///     abort.abort();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    ///     assert!(abort.is_finished());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle::new(self.cell.clone())
    }

    /// The output if the task has finished, without waiting and without spending the
    /// cooperative budget; `None` while it runs. For `JoinSet::try_join_next`.
    pub(crate) fn try_take_output(&mut self) -> Option<Result<T, JoinError>> {
        if !self.is_finished() {
            return None;
        }
        match self.cell.poll_output(std::task::Waker::noop()) {
            Poll::Ready(output) => Some(output),
            Poll::Pending => None,
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    /// Detaches the task; an output it already produced is dropped now, on this thread.
    fn drop(&mut self) {
        self.cell.drop_join_interest();
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = std::task::ready!(coop::poll_proceed(cx));
        let output = self.cell.poll_output(cx.waker());
        if output.is_ready() {
            coop.made_progress();
        }
        output
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("task", &self.cell.header().id)
            .field("finished", &self.is_finished())
            .finish()
    }
}
