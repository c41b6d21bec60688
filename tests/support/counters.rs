//! Drop- and poll-counting futures, which make executor tests exact, and `panic_message`.

#![allow(dead_code)] // each test file uses a different subset

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Counts how many values holding a clone of it were dropped.
#[derive(Clone, Default)]
pub struct DropCounter(Rc<Cell<usize>>);

impl DropCounter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn count(&self) -> usize {
        self.0.get()
    }

    /// A token whose drop is counted.
    pub fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }
}

pub struct DropToken(Rc<Cell<usize>>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Shared view of a [`Probe`] future: how often it was polled, its latest waker, and a
/// switch that makes its next poll return `Ready`.
#[derive(Clone, Default)]
pub struct ProbeState {
    polls: Rc<Cell<usize>>,
    waker: Rc<RefCell<Option<Waker>>>,
    finish: Rc<Cell<bool>>,
    in_poll: Rc<Cell<bool>>,
    wake_self: Rc<Cell<bool>>,
}

impl ProbeState {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn polls(&self) -> usize {
        self.polls.get()
    }

    /// The waker the future saw at its latest poll.
    pub fn waker(&self) -> Waker {
        self.waker
            .borrow()
            .clone()
            .expect("the probe has not been polled yet")
    }

    /// Makes the next poll return `Ready` (the caller still has to wake it).
    pub fn finish_on_next_poll(&self) {
        self.finish.set(true);
    }

    /// Makes the next poll wake its own waker from inside `poll` (a wake during the poll).
    pub fn wake_self_on_next_poll(&self) {
        self.wake_self.set(true);
    }

    /// A future that records each poll and stays pending until told to finish.
    pub fn future(&self) -> Probe {
        Probe(self.clone())
    }
}

pub struct Probe(ProbeState);

impl Future for Probe {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let state = &self.0;
        assert!(!state.in_poll.get(), "a task was polled re-entrantly");
        state.in_poll.set(true);
        state.polls.set(state.polls.get() + 1);
        *state.waker.borrow_mut() = Some(cx.waker().clone());
        if state.wake_self.replace(false) {
            cx.waker().wake_by_ref();
        }
        state.in_poll.set(false);
        if state.finish.get() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Yields to the loop `n` times, so every task woken before now has been polled.
pub async fn settle(n: usize) {
    for _ in 0..n {
        evloop::task::yield_now().await;
    }
}

/// The message of a panic payload made by `panic!` (empty for other payloads).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}
