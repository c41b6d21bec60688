//! Unit tests of the sync primitives, polled by hand with counting wakers: no runtime, so
//! every wake-up can be counted exactly (and everything runs under Miri).

mod barrier;
mod broadcast;
mod mpsc;
mod mpsc_permit;
mod mpsc_props;
mod mutex;
mod notify;
mod oneshot;
mod rwlock;
mod semaphore;
mod threadsafe;
mod wait_list;
mod watch;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// A waker that counts how often it was woken.
#[derive(Clone)]
pub(super) struct CountingWaker {
    wakes: Arc<Counter>,
    waker: Waker,
}

struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl CountingWaker {
    pub(super) fn new() -> Self {
        let wakes = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        CountingWaker { wakes, waker }
    }

    /// How many times it was woken so far.
    pub(super) fn wakes(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }

    /// Polls `future` once with this waker.
    pub(super) fn poll<F: Future + ?Sized>(&self, future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(&self.waker))
    }
}

/// Counts how many of its tokens were dropped.
#[derive(Clone, Default)]
pub(super) struct DropCounter(Rc<Cell<usize>>);

impl DropCounter {
    pub(super) fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }

    pub(super) fn dropped(&self) -> usize {
        self.0.get()
    }
}

/// Adds one to its counter when dropped.
#[derive(Debug)]
pub(super) struct DropToken(Rc<Cell<usize>>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}
