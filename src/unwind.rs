//! Containing panics of user code that runs inside the runtime: destructors, foreign wakers,
//! outputs nobody reads.
//!
//! A task's own panic becomes its [`JoinError`](crate::task::JoinError). Everything else that
//! the runtime calls on the user's behalf (dropping a future, an output or a queued blocking
//! job, waking or dropping a waker it did not make) can panic too, and such a panic must not
//! unwind through the loop: it would leave a task half-finished in the slab, a joiner never
//! woken, and the runtime's own allocations leaked.
//!
//! # Invariants
//!
//! 1. No function here lets a panic escape, except [`FirstPanic::resume`], whose whole point is
//!    to report one.
//! 2. A caught panic's payload is itself user data: its destructor may panic as well. Every
//!    payload is dropped through [`drop_quietly`], which contains that too.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// What a caught panic carries.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

// `catch`, `drop_quietly` and `contain` are on the hot path (every task's completion and
// every dropped `JoinHandle` goes through them), hence `#[inline]`: inlined, a `catch_unwind`
// costs nothing until something panics; the panic's handling is kept out of line.

/// Runs `f`, returning the payload of its panic, if it panicked.
#[inline]
pub(crate) fn catch(f: impl FnOnce()) -> Option<Payload> {
    catch_unwind(AssertUnwindSafe(f)).err()
}

/// Drops `value`; a panic of its destructor, and of the panic payload's own destructor, and so
/// on, is caught and dropped here.
#[inline]
pub(crate) fn drop_quietly<T>(value: T) {
    if let Some(payload) = catch(move || drop(value)) {
        drop_payload(payload);
    }
}

/// Runs `f` and drops whatever panic it raised: for user code whose panic has nowhere to go.
#[inline]
pub(crate) fn contain(f: impl FnOnce()) {
    if let Some(payload) = catch(f) {
        drop_payload(payload);
    }
}

/// Drops a caught panic's payload, whose destructor may panic in turn (invariant 2).
#[cold]
#[inline(never)]
fn drop_payload(payload: Payload) {
    let mut caught = Some(payload);
    while let Some(payload) = caught {
        caught = catch(move || drop(payload));
    }
}

/// The first of several panics caught while finishing a job that must run to its end (a
/// runtime's shutdown): later ones are dropped, the first is reported at the end.
#[derive(Default)]
pub(crate) struct FirstPanic(Option<Payload>);

impl FirstPanic {
    /// Keeps `payload` if it is the first panic seen, else drops it quietly.
    pub(crate) fn keep(&mut self, payload: Option<Payload>) {
        match (&self.0, payload) {
            (None, payload) => self.0 = payload,
            (Some(_), Some(later)) => drop_payload(later),
            (Some(_), None) => {}
        }
    }

    /// Runs `f`, keeping its panic if it is the first.
    pub(crate) fn catch(&mut self, f: impl FnOnce()) {
        let caught = catch(f);
        self.keep(caught);
    }

    /// Resumes the first panic, if any, in the caller. If the thread is already unwinding
    /// (a second panic would abort the process), the panic is printed to stderr instead.
    pub(crate) fn resume(mut self, what: &str) {
        let Some(payload) = self.0.take() else {
            return;
        };
        if std::thread::panicking() {
            let message = payload
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("a non-string payload");
            eprintln!("evloop: {what} panicked while the thread was unwinding: {message}");
            drop_payload(payload);
        } else {
            resume_unwind(payload);
        }
    }
}

impl Drop for FirstPanic {
    fn drop(&mut self) {
        if let Some(payload) = self.0.take() {
            drop_payload(payload);
        }
    }
}

impl std::fmt::Debug for FirstPanic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("FirstPanic")
            .field(&self.0.is_some())
            .finish()
    }
}
