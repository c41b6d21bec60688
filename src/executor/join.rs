//! `JoinHandle`, the caller's side of a spawned task, and `JoinError`, why a task gave no output.
//!
//! # Invariants
//!
//! 1. A handle holds the task's cell alive (an `Arc`), never the task's place in the schedule:
//!    dropping the handle *detaches* the task, which runs on; its output is dropped when the
//!    last of the slab and the handle lets go of the cell.
//! 2. `abort` only asks: it sets a flag and wakes the task; the executor drops the future the
//!    next time it pops the task (in this loop turn unless more than `EVENT_INTERVAL` tasks
//!    are queued ahead of it), on the runtime's thread, and never polls it again.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use super::cell::JoinTarget;
use super::waker::TaskId;
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
        let header = self.cell.header();
        if !header.state.is_complete() {
            header.request_cancel();
            header.wake();
        }
    }

    /// True once the task has finished: returned, panicked or been cancelled.
    pub fn is_finished(&self) -> bool {
        self.cell.header().is_finished()
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

/// Why a task produced no output: it was cancelled, or it panicked.
///
/// One pointer wide (the details live in a box), so that a task's stored result is no larger
/// than its output, plus a tag.
///
/// `Send + Sync + Error`, like tokio's, so `?` turns it into a `Box<dyn Error + Send + Sync>`
/// (or an `anyhow::Error`):
///
/// ```
/// fn run() -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
///     let rt = evloop::Runtime::new()?;
///     let value = rt.block_on(async { evloop::spawn(async { 7 }).await })?;
///     Ok(value)
/// }
/// assert_eq!(run().unwrap(), 7);
/// ```
pub struct JoinError {
    inner: Box<Inner>,
}

struct Inner {
    task: TaskId,
    repr: Repr,
}

enum Repr {
    Cancelled,
    /// A panic payload is only `Send`; the mutex makes the error `Sync` without `unsafe`. It is
    /// locked only to read a message for `Display`/`Debug`, never across user code.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn cancelled(task: TaskId) -> Self {
        JoinError {
            inner: Box::new(Inner {
                task,
                repr: Repr::Cancelled,
            }),
        }
    }

    pub(crate) fn panic(task: TaskId, payload: Box<dyn Any + Send + 'static>) -> Self {
        JoinError {
            inner: Box::new(Inner {
                task,
                repr: Repr::Panic(Mutex::new(payload)),
            }),
        }
    }

    /// True if the task was aborted, or dropped when its runtime shut down.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.inner.repr, Repr::Cancelled)
    }

    /// True if the task panicked (in `poll`, or in its future's destructor).
    pub fn is_panic(&self) -> bool {
        matches!(self.inner.repr, Repr::Panic(_))
    }

    /// The panic's payload, to inspect it or to resume it with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// Panics if the error is not a panic (see [`is_panic`](Self::is_panic)).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .unwrap_or_else(|_| panic!("JoinError::into_panic called on a cancellation"))
    }

    /// The panic's payload, or the error back if it is a cancellation.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.inner.repr {
            Repr::Panic(payload) => {
                Ok(payload.into_inner().unwrap_or_else(PoisonError::into_inner))
            }
            Repr::Cancelled => Err(self),
        }
    }
}

/// The panic message, when the payload is a string (as `panic!` makes it).
fn panic_message(payload: &Mutex<Box<dyn Any + Send + 'static>>) -> Option<String> {
    // Poisoned only if a panic happened while it was locked, and nothing that runs under the
    // lock can panic; the payload is intact either way.
    let payload = payload.lock().unwrap_or_else(PoisonError::into_inner);
    payload
        .downcast_ref::<&'static str>()
        .map(|message| (*message).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.inner.task),
            Repr::Panic(payload) => match panic_message(payload) {
                Some(message) => write!(f, "task {} panicked: {message}", self.inner.task),
                None => write!(f, "task {} panicked", self.inner.task),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({})", self.inner.task),
            Repr::Panic(payload) => match panic_message(payload) {
                Some(message) => write!(f, "JoinError::Panic({}, {message:?})", self.inner.task),
                None => write!(f, "JoinError::Panic({}, ..)", self.inner.task),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(error: JoinError) -> Self {
        std::io::Error::other(error.to_string())
    }
}
