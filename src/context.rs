//! The thread-local "current runtime": how `spawn`, `sleep`, `spawn_blocking` and the I/O
//! types' constructors (`TcpStream::connect`, `TcpListener::bind`) find the runtime they run
//! in.
//!
//! Nothing on the hot path of a wake comes here: a waker finds its run queue by itself (see
//! the executor's `run_queue`).
//!
//! # Invariants
//!
//! 1. `CURRENT` is set only while a runtime runs on this thread (inside `block_on`, or while
//!    the runtime drops its tasks) and is restored on every exit, unwinding included.
//! 2. Runtimes do not nest on one thread: entering while another is current panics. The one
//!    exception is a runtime being dropped ([`enter_for_drop`]): it is current while it drops
//!    its tasks, even inside a task of another runtime, whose handle is put back afterwards.
//! 3. Borrows of `CURRENT` are short and never held across user code; only [`Enter`] takes a
//!    mutable borrow.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use crate::blocking::BlockingPool;
use crate::executor::Executor;
use crate::reactor::Reactor;
use crate::timer::TimerDriver;

/// The runtime's parts, as seen by code running inside it.
#[derive(Clone)]
pub(crate) struct Handle {
    pub(crate) executor: Rc<Executor>,
    pub(crate) reactor: Rc<Reactor>,
    pub(crate) timers: Rc<TimerDriver>,
    pub(crate) blocking: Rc<BlockingPool>,
}

thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Proof that a runtime is current on this thread: dropping it restores "no runtime".
pub(crate) struct Enter {
    _not_send: std::marker::PhantomData<Rc<()>>,
}

/// Makes `handle` the current runtime of this thread until the guard drops.
///
/// # Panics
///
/// Panics if a runtime is already current on this thread (a `block_on` inside a task).
pub(crate) fn enter(handle: Handle) -> Enter {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        if current.is_some() {
            panic!(
                "cannot start an evloop runtime from inside another one on the same thread \
                 (block_on was called from a task); await the future instead"
            );
        }
        *current = Some(handle);
    });
    Enter {
        _not_send: std::marker::PhantomData,
    }
}

/// Proof that a runtime being dropped is current on this thread, in place of whatever runtime
/// was current before (invariant 2's one exception); dropping it restores that one.
pub(crate) struct EnterForDrop {
    previous: Option<Handle>,
    _not_send: std::marker::PhantomData<Rc<()>>,
}

/// Makes `handle`, whose runtime is being dropped, the current runtime of this thread until the
/// guard drops, even inside a task of another runtime: the dropped runtime's destructors then
/// find their own runtime (a `spawn` lands on it and is dropped with it), never the outer one.
///
/// Returns `None` only where no runtime can be current: during thread teardown, once the
/// thread-local is gone.
pub(crate) fn enter_for_drop(handle: Handle) -> Option<EnterForDrop> {
    CURRENT
        .try_with(|current| {
            // Never fails: no borrow of `CURRENT` is held across user code (invariant 3), and
            // a runtime is dropped only by user code.
            let mut current = current.try_borrow_mut().ok()?;
            Some(EnterForDrop {
                previous: current.replace(handle),
                _not_send: std::marker::PhantomData,
            })
        })
        .ok()
        .flatten()
}

impl Drop for Enter {
    fn drop(&mut self) {
        // `try_with`: during thread teardown the slot may already be gone, which is fine.
        let _ = CURRENT.try_with(|current| current.borrow_mut().take());
    }
}

impl Drop for EnterForDrop {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|current| *current.borrow_mut() = previous);
    }
}

/// Runs `f` with the current runtime, or returns `None` outside of one.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Handle) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| current.try_borrow().ok()?.as_ref().map(f))
        .ok()
        .flatten()
}

/// Runs `f` with the current runtime, or panics with a message naming `what` if there is
/// none. Borrows the handle rather than cloning its four `Rc`s: this is on every spawn and
/// every timer registration. `f` must not run user code (invariant 3).
#[inline]
pub(crate) fn with_runtime<R>(what: &str, f: impl FnOnce(&Handle) -> R) -> R {
    with_current(f).unwrap_or_else(|| {
        panic!("{what} must be called from inside an evloop runtime (Runtime::block_on)")
    })
}

/// The current runtime's reactor, for an I/O object being created; an error outside of one.
pub(crate) fn current_reactor() -> io::Result<Rc<Reactor>> {
    with_current(|handle| handle.reactor.clone()).ok_or_else(|| {
        io::Error::other(
            "evloop I/O objects must be created inside an evloop runtime (Runtime::block_on)",
        )
    })
}
