//! Property test: the bounded channel against a model (a `VecDeque` buffer, a count of free
//! slots, and a FIFO of waiting senders) under random sends, receives, cancellations, clones,
//! drops and closes.
//!
//! Checked after every step: every value and error the channel gives, the number of wake-ups
//! of each waiting sender and of the receiver (exactly as many as the model owes: no lost and
//! no double wake), the free slots and the buffer length. At the end every value was dropped
//! exactly once (received, refused, or left in the channel).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use proptest::prelude::*;

use super::CountingWaker;
use crate::sync::mpsc::{
    self,
    error::{SendError, TryRecvError, TrySendError},
};

/// A value that logs its id when dropped.
struct Value {
    id: u32,
    log: Rc<RefCell<Vec<u32>>>,
}

impl Drop for Value {
    fn drop(&mut self) {
        self.log.borrow_mut().push(self.id);
    }
}

#[derive(Debug, Clone)]
enum Op {
    TrySend,
    /// Start a `send` future (owning a clone of a sender) and poll it once.
    StartSend,
    /// Poll the `n % len`-th pending send.
    PollSend(usize),
    /// Drop the `n % len`-th pending send (cancel it).
    DropSend(usize),
    TryRecv,
    PollRecv,
    CloneSender,
    DropSender(usize),
    Close,
    DropReceiver,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::TrySend),
        4 => Just(Op::StartSend),
        3 => any::<usize>().prop_map(Op::PollSend),
        2 => any::<usize>().prop_map(Op::DropSend),
        4 => Just(Op::TryRecv),
        2 => Just(Op::PollRecv),
        1 => Just(Op::CloneSender),
        1 => any::<usize>().prop_map(Op::DropSender),
        1 => Just(Op::Close),
        1 => Just(Op::DropReceiver),
    ]
}

type SendFuture = Pin<Box<dyn Future<Output = Result<(), SendError<Value>>>>>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SendState {
    /// Queued for a slot.
    Waiting,
    /// Given a slot; its next poll sends (or fails, if the receiver closed since).
    Granted,
    /// Woken by the close; its next poll fails.
    Refused,
}

struct PendingSend {
    future: SendFuture,
    waker: CountingWaker,
    expected_wakes: usize,
    state: SendState,
    id: u32,
}

struct Model {
    buffer: VecDeque<u32>,
    free: usize,
    waiting: VecDeque<u32>,
    closed: bool,
    rx_registered: bool,
    rx_expected_wakes: usize,
}

struct Harness {
    model: Model,
    pending: Vec<PendingSend>,
    senders: Vec<mpsc::Sender<Value>>,
    rx: Option<mpsc::Receiver<Value>>,
    rx_waker: CountingWaker,
    log: Rc<RefCell<Vec<u32>>>,
    next_id: u32,
}

impl Harness {
    fn value(&mut self) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        Value {
            id,
            log: self.log.clone(),
        }
    }

    fn live_senders(&self) -> usize {
        self.senders.len() + self.pending.len()
    }

    fn pending_mut(&mut self, id: u32) -> &mut PendingSend {
        self.pending.iter_mut().find(|p| p.id == id).unwrap()
    }

    /// The model's push: the value enters the buffer and a registered receiver is owed a wake.
    fn model_push(&mut self, id: u32) {
        self.model.buffer.push_back(id);
        if std::mem::take(&mut self.model.rx_registered) {
            self.model.rx_expected_wakes += 1;
        }
    }

    /// Free slots go to the oldest waiting senders.
    fn model_grant(&mut self) {
        while self.model.free > 0 {
            let Some(id) = self.model.waiting.pop_front() else {
                break;
            };
            self.model.free -= 1;
            let pending = self.pending_mut(id);
            pending.state = SendState::Granted;
            pending.expected_wakes += 1;
        }
    }

    fn model_close(&mut self) {
        if std::mem::replace(&mut self.model.closed, true) {
            return;
        }
        while let Some(id) = self.model.waiting.pop_front() {
            let pending = self.pending_mut(id);
            pending.state = SendState::Refused;
            pending.expected_wakes += 1;
        }
    }

    fn model_sender_dropped(&mut self) {
        if self.live_senders() == 0 && std::mem::take(&mut self.model.rx_registered) {
            self.model.rx_expected_wakes += 1;
        }
    }

    /// A value left the buffer through the receiver: its slot is free again.
    fn model_pop(&mut self) -> Option<u32> {
        let id = self.model.buffer.pop_front()?;
        self.model.free += 1;
        self.model_grant();
        Some(id)
    }

    fn model_finished(&self) -> bool {
        self.model.closed || self.live_senders() == 0
    }

    fn step(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::TrySend => {
                let Some(tx) = self.senders.first() else {
                    return Ok(());
                };
                let tx = tx.clone();
                let value = self.value();
                let id = value.id;
                let result = tx.try_send(value);
                if self.model.closed {
                    prop_assert!(matches!(result, Err(TrySendError::Closed(_))));
                } else if self.model.waiting.is_empty() && self.model.free > 0 {
                    prop_assert!(result.is_ok());
                    self.model.free -= 1;
                    self.model_push(id);
                } else {
                    prop_assert!(matches!(result, Err(TrySendError::Full(_))));
                }
            }
            Op::StartSend => {
                let Some(tx) = self.senders.first() else {
                    return Ok(());
                };
                let tx = tx.clone();
                let value = self.value();
                let id = value.id;
                let mut future: SendFuture = Box::pin(async move { tx.send(value).await });
                let waker = CountingWaker::new();
                let polled = waker.poll(future.as_mut());
                if self.model.closed {
                    prop_assert!(matches!(polled, Poll::Ready(Err(_))));
                } else if self.model.waiting.is_empty() && self.model.free > 0 {
                    prop_assert!(matches!(polled, Poll::Ready(Ok(()))));
                    drop(future);
                    self.model.free -= 1;
                    self.model_push(id);
                } else {
                    prop_assert!(polled.is_pending());
                    self.pending.push(PendingSend {
                        future,
                        waker,
                        expected_wakes: 0,
                        state: SendState::Waiting,
                        id,
                    });
                    self.model.waiting.push_back(id);
                }
            }
            Op::PollSend(n) if !self.pending.is_empty() => {
                let index = n % self.pending.len();
                let pending = &mut self.pending[index];
                let polled = pending.waker.poll(pending.future.as_mut());
                match pending.state {
                    SendState::Waiting => prop_assert!(polled.is_pending()),
                    SendState::Refused => {
                        prop_assert!(matches!(polled, Poll::Ready(Err(_))));
                        self.pending.remove(index);
                        self.model_sender_dropped();
                    }
                    SendState::Granted => {
                        let id = pending.id;
                        if self.model.closed {
                            prop_assert!(matches!(polled, Poll::Ready(Err(_))));
                            self.model.free += 1;
                        } else {
                            prop_assert!(matches!(polled, Poll::Ready(Ok(()))));
                            self.model_push(id);
                        }
                        self.pending.remove(index);
                        self.model_sender_dropped();
                    }
                }
            }
            Op::DropSend(n) if !self.pending.is_empty() => {
                let pending = self.pending.remove(n % self.pending.len());
                let (id, state) = (pending.id, pending.state);
                drop(pending);
                match state {
                    SendState::Waiting => self.model.waiting.retain(|&w| w != id),
                    SendState::Granted => {
                        self.model.free += 1;
                        self.model_grant();
                    }
                    SendState::Refused => {}
                }
                self.model_sender_dropped();
            }
            Op::PollSend(_) | Op::DropSend(_) => {}
            Op::TryRecv => {
                let Some(rx) = self.rx.as_mut() else {
                    return Ok(());
                };
                let got = rx.try_recv().map(|value| value.id);
                let expected = match self.model_pop() {
                    Some(id) => Ok(id),
                    None if self.model_finished() => Err(TryRecvError::Disconnected),
                    None => Err(TryRecvError::Empty),
                };
                prop_assert_eq!(got, expected);
            }
            Op::PollRecv => {
                let Some(rx) = self.rx.as_mut() else {
                    return Ok(());
                };
                let mut cx = Context::from_waker(&self.rx_waker.waker);
                let got = rx.poll_recv(&mut cx).map(|value| value.map(|v| v.id));
                let expected = match self.model_pop() {
                    Some(id) => Poll::Ready(Some(id)),
                    None if self.model_finished() => Poll::Ready(None),
                    None => {
                        self.model.rx_registered = true;
                        Poll::Pending
                    }
                };
                prop_assert_eq!(got, expected);
            }
            Op::CloneSender => {
                if let Some(tx) = self.senders.first() {
                    self.senders.push(tx.clone());
                }
            }
            Op::DropSender(n) if !self.senders.is_empty() => {
                let index = n % self.senders.len();
                self.senders.remove(index);
                self.model_sender_dropped();
            }
            Op::DropSender(_) => {}
            Op::Close => {
                if let Some(rx) = self.rx.as_mut() {
                    rx.close();
                    self.model_close();
                }
            }
            Op::DropReceiver => {
                if self.rx.take().is_some() {
                    self.model_close();
                    self.model.buffer.clear();
                    self.model.rx_registered = false;
                }
            }
        }
        self.check()
    }

    fn check(&self) -> Result<(), TestCaseError> {
        for pending in &self.pending {
            prop_assert_eq!(
                pending.waker.wakes(),
                pending.expected_wakes,
                "wakes of the send of value {}",
                pending.id
            );
        }
        prop_assert_eq!(self.rx_waker.wakes(), self.model.rx_expected_wakes);
        if let Some(tx) = self.senders.first() {
            prop_assert_eq!(tx.capacity(), self.model.free);
        }
        if let Some(rx) = &self.rx {
            prop_assert_eq!(rx.len(), self.model.buffer.len());
        }
        Ok(())
    }
}

fn run(capacity: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (tx, rx) = mpsc::channel(capacity);
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut harness = Harness {
        model: Model {
            buffer: VecDeque::new(),
            free: capacity,
            waiting: VecDeque::new(),
            closed: false,
            rx_registered: false,
            rx_expected_wakes: 0,
        },
        pending: Vec::new(),
        senders: vec![tx],
        rx: Some(rx),
        rx_waker: CountingWaker::new(),
        log: log.clone(),
        next_id: 0,
    };
    for op in ops {
        harness.step(op)?;
    }
    let created = harness.next_id;
    drop(harness);
    let mut dropped = log.borrow().clone();
    dropped.sort_unstable();
    prop_assert_eq!(
        dropped,
        (0..created).collect::<Vec<_>>(),
        "every value is dropped exactly once"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn bounded_channel_matches_a_vecdeque_model(
        capacity in 1usize..4,
        ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 40 } else { 200 }),
    ) {
        run(capacity, ops)?;
    }
}
