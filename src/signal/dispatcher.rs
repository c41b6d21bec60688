//! The per-runtime half of signal handling: one registration of the self-pipe's read end with
//! the runtime's reactor, and the drain that turns its bytes into wake-ups.
//!
//! The dispatcher is not a task. Whichever `Signal` is polled drains the pipe through its
//! runtime's dispatcher; the pipe's read waker is [`WakeListeners`], which wakes every
//! listener, so the pipe is read however many `Signal`s exist, or are dropped, meanwhile.
//!
//! # Invariants
//!
//! 1. One dispatcher per runtime, found through the runtime's reactor; it holds that reactor
//!    weakly and is forgotten (its descriptor closed) the next time this thread looks for a
//!    dispatcher after the runtime is gone, or when the thread exits.
//! 2. Each dispatcher reads through its own duplicate of the read end, so each runtime's epoll
//!    has its own registration of it. Any runtime may read a byte meant for all:
//!    `registry::broadcast` wakes the listeners of every runtime, on the remote path if they
//!    run on other threads.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::registry;
use crate::context;
use crate::reactor::{Direction, PollEvented, Reactor};

/// Bytes read from the pipe per `read`; their values are not needed (the flags are), so the
/// size only sets how many syscalls a burst of signals costs.
const DRAIN_BUF: usize = 64;

/// The pipe's read waker: readiness of the pipe wakes every listener, and the first one polled
/// drains it.
struct WakeListeners;

impl Wake for WakeListeners {
    fn wake(self: Arc<Self>) {
        registry::wake_all_listeners();
    }
}

/// One runtime's registration of the self-pipe.
pub(super) struct Dispatcher {
    reactor: Weak<Reactor>,
    receiver: PollEvented<mio::net::UnixStream>,
    waker: Waker,
}

thread_local! {
    /// The dispatchers of the runtimes that used signals on this thread (invariant 1).
    static DISPATCHERS: RefCell<Vec<Rc<Dispatcher>>> = const { RefCell::new(Vec::new()) };
}

/// The dispatcher of the runtime running on this thread, created on first use.
pub(super) fn current() -> io::Result<Rc<Dispatcher>> {
    let reactor = context::with_current(|handle| handle.reactor.clone()).ok_or_else(|| {
        io::Error::other("evloop: a Signal can only be received inside an evloop runtime")
    })?;
    let (found, stale) = DISPATCHERS.with(|dispatchers| {
        let mut dispatchers = dispatchers.borrow_mut();
        let (live, stale): (Vec<_>, Vec<_>) = dispatchers
            .drain(..)
            .partition(|dispatcher| dispatcher.reactor.strong_count() > 0);
        *dispatchers = live;
        let found = dispatchers
            .iter()
            .find(|dispatcher| dispatcher.reactor.as_ptr() == Rc::as_ptr(&reactor))
            .cloned();
        (found, stale)
    });
    // Closed outside the borrow: a drop is not supposed to come back here, but need not know.
    drop(stale);
    if let Some(dispatcher) = found {
        return Ok(dispatcher);
    }
    let receiver = registry::receiver()?;
    let dispatcher = Rc::new(Dispatcher {
        reactor: Rc::downgrade(&reactor),
        receiver: PollEvented::new(mio::net::UnixStream::from_std(receiver), &reactor)?,
        waker: Waker::from(Arc::new(WakeListeners)),
    });
    DISPATCHERS.with(|dispatchers| dispatchers.borrow_mut().push(dispatcher.clone()));
    Ok(dispatcher)
}

impl Dispatcher {
    /// Reads the pipe until it would block (or the task's budget is spent, which wakes the
    /// listeners to go on), then publishes what was delivered. An error means the pipe can no
    /// longer be waited on in this runtime (it has shut down).
    pub(super) fn drain(&self) -> io::Result<()> {
        let mut cx = Context::from_waker(&self.waker);
        let mut buf = [0u8; DRAIN_BUF];
        let result = loop {
            let read = self
                .receiver
                .poll_io(&mut cx, Direction::Read, |mut receiver| {
                    receiver.read(&mut buf)
                });
            match read {
                Poll::Ready(Ok(0)) => {
                    break Err(io::Error::other("evloop: the signal pipe was closed"));
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(error)) if error.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(error)) => break Err(error),
                Poll::Pending => break Ok(()),
            }
        };
        registry::broadcast();
        result
    }
}
