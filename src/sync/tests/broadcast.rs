//! `broadcast`: every receiver gets every value in order, a slow receiver lags instead of
//! blocking the sender, close after the last value, clones per receiver, `len`, dropped
//! receivers release their values, no user code under the channel's borrow, and the budget.

use std::cell::Cell;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

use super::{CountingWaker, DropCounter, DropToken};
use crate::coop;
use crate::sync::broadcast::{
    self,
    error::{RecvError, SendError, TryRecvError},
};

#[test]
fn every_receiver_gets_every_value_in_order() {
    let (tx, mut first) = broadcast::channel(8);
    let mut second = tx.subscribe();
    for i in 0..5 {
        assert_eq!(tx.send(i), Ok(2), "send reports the receivers");
    }
    let waker = CountingWaker::new();
    for i in 0..5 {
        assert_eq!(waker.poll(pin!(first.recv())), Poll::Ready(Ok(i)));
    }
    for i in 0..5 {
        assert_eq!(second.try_recv(), Ok(i));
    }
    assert_eq!(first.try_recv(), Err(TryRecvError::Empty));
    assert!(waker.poll(pin!(second.recv())).is_pending());
}

#[test]
fn a_slow_receiver_lags_and_resumes_at_the_oldest_kept_value() {
    let (tx, mut slow) = broadcast::channel(2);
    let mut fast = tx.subscribe();
    for i in 0..5 {
        tx.send(i).unwrap(); // never refused: the oldest is overwritten
        assert_eq!(fast.try_recv(), Ok(i));
    }
    assert_eq!(slow.len(), 5);
    assert_eq!(slow.try_recv(), Err(TryRecvError::Lagged(3)));
    assert_eq!(slow.try_recv(), Ok(3));
    tx.send(5).unwrap();
    tx.send(6).unwrap();
    tx.send(7).unwrap();
    let waker = CountingWaker::new();
    assert_eq!(
        waker.poll(pin!(slow.recv())),
        Poll::Ready(Err(RecvError::Lagged(2)))
    );
    assert_eq!(waker.poll(pin!(slow.recv())), Poll::Ready(Ok(6)));
    assert_eq!(waker.poll(pin!(slow.recv())), Poll::Ready(Ok(7)));
    assert!(slow.is_empty());
}

#[test]
fn the_capacity_is_rounded_up_to_a_power_of_two() {
    let (tx, mut rx) = broadcast::channel(3);
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    assert_eq!(tx.len(), 4);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(1)));
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
#[should_panic(expected = "broadcast channel capacity cannot be zero")]
fn a_zero_capacity_panics_with_tokios_message() {
    let _ = broadcast::channel::<u8>(0);
}

#[test]
fn receivers_get_the_kept_values_then_closed_when_the_senders_are_gone() {
    let (tx, mut rx) = broadcast::channel(4);
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    drop(tx);
    tx2.send(2).unwrap();
    drop(tx2);
    assert_eq!(rx.try_recv(), Ok(1));
    let waker = CountingWaker::new();
    assert_eq!(waker.poll(pin!(rx.recv())), Poll::Ready(Ok(2)));
    assert_eq!(
        waker.poll(pin!(rx.recv())),
        Poll::Ready(Err(RecvError::Closed))
    );
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn dropping_the_last_sender_wakes_every_waiting_receiver_once() {
    let (tx, mut first) = broadcast::channel::<u8>(4);
    let mut second = tx.subscribe();
    let (first_waker, second_waker) = (CountingWaker::new(), CountingWaker::new());
    {
        let mut a = pin!(first.recv());
        let mut b = pin!(second.recv());
        assert!(first_waker.poll(a.as_mut()).is_pending());
        assert!(second_waker.poll(b.as_mut()).is_pending());
        drop(tx);
        assert_eq!((first_waker.wakes(), second_waker.wakes()), (1, 1));
        assert_eq!(
            first_waker.poll(a.as_mut()),
            Poll::Ready(Err(RecvError::Closed))
        );
        assert_eq!(
            second_waker.poll(b.as_mut()),
            Poll::Ready(Err(RecvError::Closed))
        );
    }
}

#[test]
fn a_send_wakes_every_waiting_receiver_once() {
    let (tx, mut first) = broadcast::channel(4);
    let mut second = tx.subscribe();
    let (first_waker, second_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut a = pin!(first.recv());
    let mut b = pin!(second.recv());
    assert!(first_waker.poll(a.as_mut()).is_pending());
    assert!(second_waker.poll(b.as_mut()).is_pending());
    tx.send("v").unwrap();
    assert_eq!((first_waker.wakes(), second_waker.wakes()), (1, 1));
    assert_eq!(first_waker.poll(a.as_mut()), Poll::Ready(Ok("v")));
    assert_eq!(second_waker.poll(b.as_mut()), Poll::Ready(Ok("v")));
    tx.send("w").unwrap();
    assert_eq!(
        (first_waker.wakes(), second_waker.wakes()),
        (1, 1),
        "finished receives are not woken again"
    );
}

#[test]
fn send_without_receivers_hands_the_value_back() {
    let (tx, rx) = broadcast::channel(2);
    drop(rx);
    assert_eq!(tx.send(7), Err(SendError(7)));
    assert!(tx.is_empty());
    let mut rx = tx.subscribe();
    assert_eq!(tx.send(8), Ok(1));
    assert_eq!(rx.try_recv(), Ok(8));
}

#[test]
fn resubscribe_starts_at_the_next_value() {
    let (tx, mut rx) = broadcast::channel(4);
    tx.send(1).unwrap();
    let mut late = rx.resubscribe();
    assert!(late.same_channel(&rx));
    assert_eq!(late.try_recv(), Err(TryRecvError::Empty));
    tx.send(2).unwrap();
    assert_eq!(late.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
}

/// A value that counts its clones and its drops.
struct Counted {
    clones: Rc<Cell<usize>>,
    _token: DropToken,
    drops: DropCounter,
}

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.clones.set(self.clones.get() + 1);
        Counted {
            clones: self.clones.clone(),
            _token: self.drops.token(),
            drops: self.drops.clone(),
        }
    }
}

#[test]
fn each_receiver_but_the_last_gets_a_clone_and_the_last_gets_the_value() {
    let clones = Rc::new(Cell::new(0));
    let drops = DropCounter::default();
    let (tx, mut first) = broadcast::channel(2);
    let mut second = tx.subscribe();
    let value = Counted {
        clones: clones.clone(),
        _token: drops.token(),
        drops: drops.clone(),
    };
    tx.send(value)
        .unwrap_or_else(|_| panic!("two receivers exist"));
    let a = first
        .try_recv()
        .unwrap_or_else(|_| panic!("one value was sent"));
    assert_eq!(clones.get(), 1);
    assert_eq!(tx.len(), 1, "the second receiver has not read it");
    let b = second
        .try_recv()
        .unwrap_or_else(|_| panic!("one value was sent"));
    assert_eq!(
        clones.get(),
        1,
        "the last reader took the value without a clone"
    );
    assert!(tx.is_empty());
    drop((a, b));
    assert_eq!(drops.dropped(), 2);
}

#[test]
fn a_dropped_receiver_releases_the_values_it_had_not_read() {
    let drops = DropCounter::default();
    let (tx, mut reader) = broadcast::channel(4);
    let idle = tx.subscribe();
    for _ in 0..3 {
        tx.send(Rc::new(drops.token())).unwrap();
    }
    for _ in 0..3 {
        drop(reader.try_recv().unwrap());
    }
    assert_eq!(tx.len(), 3, "the idle receiver still holds them");
    assert_eq!(drops.dropped(), 0);
    drop(idle);
    assert_eq!(tx.len(), 0);
    assert_eq!(drops.dropped(), 3, "nobody is left to read them");
}

/// A value whose `Clone` and `Drop` look at the channel (its sender's `len`): a clone or drop
/// run under the channel's `RefCell` borrow panics with "already mutably borrowed".
struct LooksAtTheChannel(Rc<Cell<Option<broadcast::Sender<LooksAtTheChannel>>>>);

impl std::fmt::Debug for LooksAtTheChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LooksAtTheChannel")
    }
}

impl LooksAtTheChannel {
    fn look(&self) {
        let sender = self.0.take();
        if let Some(sender) = &sender {
            let _ = sender.len();
        }
        self.0.set(sender);
    }
}

impl Clone for LooksAtTheChannel {
    fn clone(&self) -> Self {
        self.look();
        LooksAtTheChannel(self.0.clone())
    }
}

impl Drop for LooksAtTheChannel {
    fn drop(&mut self) {
        self.look();
    }
}

#[test]
fn values_are_cloned_and_dropped_outside_the_channels_borrow() {
    let (tx, mut first) = broadcast::channel(1);
    let mut second = tx.subscribe();
    let slot = Rc::new(Cell::new(None));
    slot.set(Some(tx.clone()));
    tx.send(LooksAtTheChannel(slot.clone())).unwrap();
    // A clone (`second` has not read it yet), made and dropped with the channel unborrowed.
    drop(first.try_recv().unwrap());
    // Evicts the first value, which `second` never read: dropped after the send's borrow.
    tx.send(LooksAtTheChannel(slot.clone())).unwrap();
    assert_eq!(second.try_recv().unwrap_err(), TryRecvError::Lagged(1));
    drop(first.try_recv().unwrap());
    // `second` was the last to owe a read of the second value: dropping it pops the value.
    drop(second);
    assert!(tx.is_empty());
    drop(slot.take()); // break the cycle sender -> value -> slot -> sender
}

#[test]
fn closed_completes_when_the_last_receiver_drops() {
    let (tx, rx) = broadcast::channel::<()>(1);
    let rx2 = rx.resubscribe();
    assert_eq!(tx.receiver_count(), 2);
    let waker = CountingWaker::new();
    {
        let mut closed = pin!(tx.closed());
        assert!(waker.poll(closed.as_mut()).is_pending());
        drop(rx);
        assert_eq!(waker.wakes(), 0);
        drop(rx2);
        assert_eq!(waker.wakes(), 1);
        assert!(waker.poll(closed.as_mut()).is_ready());
    }
    assert_eq!(tx.stored_waiters(), 0);
}

#[test]
fn a_cancelled_recv_takes_nothing_and_leaves_no_waiter() {
    let (tx, mut rx) = broadcast::channel(2);
    let waker = CountingWaker::new();
    {
        let mut recv = pin!(rx.recv());
        assert!(waker.poll(recv.as_mut()).is_pending());
        assert_eq!(tx.stored_waiters(), 1);
    }
    assert_eq!(tx.stored_waiters(), 0);
    tx.send(1).unwrap();
    assert_eq!(waker.wakes(), 0);
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn recv_spends_the_budget_and_yields_when_it_is_spent() {
    let (tx, mut rx) = broadcast::channel(4);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    let waker = CountingWaker::new();
    coop::with_budget(1, || {
        assert_eq!(waker.poll(pin!(rx.recv())), Poll::Ready(Ok(1)));
        assert!(waker.poll(pin!(rx.recv())).is_pending());
    });
    assert_eq!(waker.wakes(), 1);
    assert_eq!(rx.len(), 1, "the refused receive took nothing");
    assert_eq!(waker.poll(pin!(rx.recv())), Poll::Ready(Ok(2)));
}
