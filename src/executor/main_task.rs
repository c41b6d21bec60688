//! The future given to `block_on`, as the executor sees it: a task with a key in the run queue
//! and a waker, whose future lives on the caller's stack instead of in the slab.
//!
//! # Invariants
//!
//! 1. Its key's index is [`MAIN_INDEX`], which no spawned task's slab index reaches (`spawn`
//!    checks), and its id is fresh for each `block_on` call, so a key left in the run queue by
//!    an earlier call is told apart and skipped.
//! 2. Its schedule state is `COMPLETE` once the `MainTask` is dropped, however `block_on`
//!    ends (return or unwind), so its wakers are no-ops from then on.
//! 3. While it exists, its executor's run queue is the thread's active one (same-thread wakes
//!    go to the local queue), and the previous one is restored when it drops.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::id::{TaskId, TaskKey};
use super::run_queue::{Active, RemoteQueue};
use super::slow_poll::TaskDescription;
use super::state::ScheduleState;
use super::waker::MainWaker;

/// Index used in the key of the `block_on` future, which is not in the slab.
pub(crate) const MAIN_INDEX: u32 = u32::MAX;

/// The `block_on` future, its waker, and where `block_on` was called.
pub(crate) struct MainTask<'a, F: Future> {
    future: Pin<&'a mut F>,
    sched: Arc<MainWaker>,
    waker: Waker,
    location: &'static Location<'static>,
    /// Keeps the run queue active for as long as `block_on` runs (invariant 3).
    _active: Active,
}

impl<'a, F: Future> MainTask<'a, F> {
    /// A main task in state `SCHEDULED`; the caller queues its key.
    pub(crate) fn new(
        future: Pin<&'a mut F>,
        id: TaskId,
        remote: Arc<RemoteQueue>,
        location: &'static Location<'static>,
        active: Active,
    ) -> Self {
        let sched = Arc::new(MainWaker::new_scheduled(
            id,
            TaskKey::new(MAIN_INDEX, id),
            remote,
        ));
        MainTask {
            future,
            waker: Waker::from(sched.clone()),
            sched,
            location,
            _active: active,
        }
    }

    pub(crate) fn key(&self) -> TaskKey {
        self.sched.key
    }

    pub(crate) fn state(&self) -> &ScheduleState {
        &self.sched.state
    }

    /// Polls the future once with its own waker.
    pub(crate) fn poll(&mut self) -> Poll<F::Output> {
        let mut cx = Context::from_waker(&self.waker);
        self.future.as_mut().poll(&mut cx)
    }

    /// The future as slow-poll reports name it.
    pub(crate) fn describe(&self) -> TaskDescription {
        TaskDescription {
            id: self.sched.id.0,
            name: Some("block_on".to_owned()),
            location: self.location,
        }
    }
}

impl<F: Future> Drop for MainTask<'_, F> {
    fn drop(&mut self) {
        self.sched.state.complete();
    }
}
