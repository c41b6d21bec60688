//! `JoinError`: why a task gave no output (it was cancelled, or it panicked).

use std::any::Any;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use super::id::TaskId;

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
