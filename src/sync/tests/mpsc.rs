//! `mpsc`: FIFO values, backpressure, waiting senders served in order and on cancellation,
//! closing, and values dropped with the receiver.

use std::panic::{self, AssertUnwindSafe};
use std::pin::{Pin, pin};
use std::task::Poll;

use super::{CountingWaker, DropCounter, DropToken};
use crate::sync::mpsc::{
    self,
    error::{SendError, TryRecvError, TrySendError},
};

#[test]
fn values_arrive_in_send_order_across_senders() {
    let (tx, mut rx) = mpsc::channel(8);
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    tx.try_send(3).unwrap();
    let got: Vec<i32> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(got, [1, 2, 3]);
}

#[test]
fn a_send_wakes_the_waiting_receiver_once() {
    let (tx, mut rx) = mpsc::channel(4);
    let waker = CountingWaker::new();
    let mut recv = pin!(rx.recv());
    assert!(waker.poll(recv.as_mut()).is_pending());
    tx.try_send('a').unwrap();
    assert_eq!(waker.wakes(), 1);
    tx.try_send('b').unwrap();
    assert_eq!(waker.wakes(), 1, "the waker was taken by the first send");
    assert_eq!(waker.poll(recv.as_mut()), Poll::Ready(Some('a')));
}

#[test]
fn a_full_channel_makes_senders_wait_until_a_recv_frees_a_slot() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
    assert_eq!(tx.capacity(), 0);

    let waker = CountingWaker::new();
    let mut send = pin!(tx.send(1));
    assert!(waker.poll(send.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(waker.wakes(), 1, "the recv woke the waiting sender");
    assert_eq!(waker.poll(send.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(tx.capacity(), 1);
}

#[test]
fn waiting_senders_are_served_in_order_and_try_send_does_not_overtake_them() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let wakers: Vec<CountingWaker> = (0..3).map(|_| CountingWaker::new()).collect();
    let mut sends: Vec<Pin<Box<_>>> = (1..=3).map(|i| Box::pin(tx.send(i))).collect();
    for (send, waker) in sends.iter_mut().zip(&wakers) {
        assert!(waker.poll(send.as_mut()).is_pending());
    }
    let mut got = Vec::new();
    for i in 0..3 {
        got.push(rx.try_recv().unwrap());
        // The slot went to the oldest waiting sender, not to try_send.
        assert!(matches!(tx.try_send(99), Err(TrySendError::Full(99))));
        assert_eq!(wakers[i].wakes(), 1);
        assert!(wakers[i].poll(sends[i].as_mut()).is_ready());
    }
    got.push(rx.try_recv().unwrap());
    assert_eq!(got, [0, 1, 2, 3]);
}

#[test]
fn a_granted_sender_dropped_before_it_ran_gives_its_slot_to_the_next() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let (first_waker, second_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut first = Box::pin(tx.send(1));
    let mut second = Box::pin(tx.send(2));
    assert!(first_waker.poll(first.as_mut()).is_pending());
    assert!(second_waker.poll(second.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!((first_waker.wakes(), second_waker.wakes()), (1, 0));
    drop(first);
    assert_eq!(second_waker.wakes(), 1, "the slot moved on");
    assert!(second_waker.poll(second.as_mut()).is_ready());
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(tx.capacity(), 1, "no slot leaked");
}

#[test]
fn a_waiting_sender_dropped_keeps_the_others_in_line() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let wakers: Vec<CountingWaker> = (0..3).map(|_| CountingWaker::new()).collect();
    let mut sends: Vec<Option<Pin<Box<_>>>> = (1..=3).map(|i| Some(Box::pin(tx.send(i)))).collect();
    for (send, waker) in sends.iter_mut().zip(&wakers) {
        assert!(waker.poll(send.as_mut().unwrap().as_mut()).is_pending());
    }
    sends[1] = None; // the middle one gives up
    assert_eq!(rx.try_recv(), Ok(0));
    assert!(
        wakers[0]
            .poll(sends[0].as_mut().unwrap().as_mut())
            .is_ready()
    );
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(wakers[2].wakes(), 1);
    assert!(
        wakers[2]
            .poll(sends[2].as_mut().unwrap().as_mut())
            .is_ready()
    );
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn recv_returns_none_after_every_sender_dropped_and_the_buffer_drained() {
    let (tx, mut rx) = mpsc::channel(4);
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    drop(tx);
    let waker = CountingWaker::new();
    assert_eq!(waker.poll(pin!(rx.recv())), Poll::Ready(Some(1)));
    let mut recv = pin!(rx.recv());
    assert!(waker.poll(recv.as_mut()).is_pending(), "one sender is left");
    drop(tx2);
    assert_eq!(waker.wakes(), 1, "the last sender's drop woke the receiver");
    assert_eq!(waker.poll(recv.as_mut()), Poll::Ready(None));
}

#[test]
fn close_fails_sends_and_waiting_senders_but_keeps_buffered_values() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(1).unwrap();
    let waker = CountingWaker::new();
    let mut waiting = pin!(tx.send(2));
    assert!(waker.poll(waiting.as_mut()).is_pending());
    rx.close();
    assert_eq!(waker.wakes(), 1);
    assert!(matches!(
        waker.poll(waiting.as_mut()),
        Poll::Ready(Err(SendError(2)))
    ));
    assert!(matches!(tx.try_send(3), Err(TrySendError::Closed(3))));
    assert!(tx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn a_sender_granted_a_slot_before_close_does_not_send_after_it() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(1).unwrap();
    let waker = CountingWaker::new();
    let mut waiting = pin!(tx.send(2));
    assert!(waker.poll(waiting.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(1)); // grants the slot to the waiting sender
    rx.close();
    assert!(matches!(
        waker.poll(waiting.as_mut()),
        Poll::Ready(Err(SendError(2)))
    ));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn sender_closed_is_woken_by_the_receivers_drop() {
    let (tx, rx) = mpsc::channel::<()>(1);
    let tx2 = tx.clone();
    let (a, b) = (CountingWaker::new(), CountingWaker::new());
    let mut closed_a = pin!(tx.closed());
    let mut closed_b = pin!(tx2.closed());
    assert!(a.poll(closed_a.as_mut()).is_pending());
    assert!(b.poll(closed_b.as_mut()).is_pending());
    drop(rx);
    assert_eq!((a.wakes(), b.wakes()), (1, 1));
    assert!(a.poll(closed_a.as_mut()).is_ready());
    assert!(b.poll(closed_b.as_mut()).is_ready());
}

#[test]
#[should_panic(expected = "capacity must be at least 1")]
fn a_bounded_channel_of_capacity_zero_panics() {
    let _ = mpsc::channel::<()>(0);
}

#[test]
fn values_left_in_the_channel_are_dropped_with_the_receiver() {
    let drops = DropCounter::default();
    let (tx, rx) = mpsc::channel(4);
    let (utx, urx) = mpsc::unbounded_channel();
    for _ in 0..3 {
        tx.try_send(drops.token()).unwrap();
        utx.send(drops.token()).unwrap();
    }
    drop(rx);
    assert_eq!(
        drops.dropped(),
        3,
        "dropped when the receiver goes, senders still alive"
    );
    drop(urx);
    assert_eq!(drops.dropped(), 6);
    assert!(tx.try_send(drops.token()).is_err());
    assert_eq!(
        drops.dropped(),
        7,
        "a refused value comes back and is dropped by the caller"
    );
}

/// A value whose destructor panics with `message`; its token is dropped all the same (fields
/// are dropped on the unwind).
struct PanicOnDrop {
    message: &'static str,
    _token: DropToken,
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.message);
    }
}

#[test]
fn dropping_the_receiver_drops_every_value_even_when_a_destructor_panics() {
    let drops = DropCounter::default();
    let (tx, rx) = mpsc::channel(8);
    let (utx, urx) = mpsc::unbounded_channel();
    for message in ["first", "second"] {
        let value = || (Some(drops.token()), None);
        let panicking = || {
            let token = drops.token();
            (
                None,
                Some(PanicOnDrop {
                    message,
                    _token: token,
                }),
            )
        };
        tx.try_send(value()).unwrap();
        tx.try_send(panicking()).unwrap();
        utx.send(value()).unwrap();
        utx.send(panicking()).unwrap();
    }
    tx.try_send((Some(drops.token()), None)).unwrap();
    utx.send((Some(drops.token()), None)).unwrap();

    // The senders stay alive: only the receiver's drop can drop the values.
    for (rx_drop, kind) in [
        (Box::new(move || drop(rx)) as Box<dyn FnOnce()>, "bounded"),
        (Box::new(move || drop(urx)), "unbounded"),
    ] {
        let before = drops.dropped();
        let payload = panic::catch_unwind(AssertUnwindSafe(rx_drop))
            .expect_err("the destructor's panic propagates from the receiver's drop");
        assert_eq!(
            drops.dropped() - before,
            5,
            "{kind}: every value was dropped, those after the panicking ones too"
        );
        let message = payload.downcast_ref::<String>().map(String::as_str);
        assert_eq!(message, Some("first"), "{kind}: the first panic propagates");
    }
    assert!(tx.is_closed() && utx.is_closed());
}

#[test]
fn a_value_whose_drop_drops_a_sender_is_dropped_safely() {
    // The buffered value owns a sender of its own channel: dropping it (while the receiver
    // drains) touches the channel again.
    struct Holder(#[allow(dead_code)] mpsc::UnboundedSender<Holder>);
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(Holder(tx.clone())).unwrap();
    drop(tx);
    drop(rx);
}

#[test]
fn unbounded_send_never_waits_and_fails_after_close() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..100 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.len(), 100);
    rx.close();
    assert!(matches!(tx.send(100), Err(SendError(100))));
    let got: Vec<i32> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn a_weak_sender_does_not_keep_the_channel_open_and_upgrades_only_while_a_sender_lives() {
    let (tx, mut rx) = mpsc::channel::<u8>(2);
    let weak = tx.downgrade();
    let weak2 = weak.clone();
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 2));
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 2));
    let upgraded = weak.upgrade().unwrap();
    assert!(upgraded.same_channel(&tx));
    assert_eq!(weak.strong_count(), 2);
    drop(upgraded);
    drop(weak2);
    assert_eq!(weak.weak_count(), 1);

    let waker = CountingWaker::new();
    let mut recv = pin!(rx.recv());
    assert!(waker.poll(recv.as_mut()).is_pending());
    drop(tx);
    assert_eq!(waker.wakes(), 1, "the last strong sender ends the stream");
    assert_eq!(waker.poll(recv.as_mut()), Poll::Ready(None));
    assert!(weak.upgrade().is_none(), "an ended channel stays ended");
    assert_eq!(weak.strong_count(), 0);
}

#[test]
fn a_weak_unbounded_sender_upgrades_only_while_a_sender_lives() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let weak = tx.downgrade();
    weak.upgrade().unwrap().send(1).unwrap();
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 1));
    drop(tx);
    assert!(weak.upgrade().is_none());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    drop(weak);
    assert_eq!(rx.sender_weak_count(), 0);
}
