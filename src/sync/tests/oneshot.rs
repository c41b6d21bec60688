//! `oneshot`: a send wakes the receiver, a dropped sender ends it, a closed receiver refuses.

use std::pin::pin;
use std::task::Poll;

use super::{CountingWaker, DropCounter};
use crate::sync::oneshot::{
    self,
    error::{RecvError, TryRecvError},
};

#[test]
fn a_send_wakes_the_waiting_receiver_once() {
    let (tx, rx) = oneshot::channel();
    let waker = CountingWaker::new();
    let mut rx = pin!(rx);
    assert!(waker.poll(rx.as_mut()).is_pending());
    tx.send(3).unwrap();
    assert_eq!(waker.wakes(), 1);
    assert_eq!(waker.poll(rx.as_mut()), Poll::Ready(Ok(3)));
    assert_eq!(
        waker.poll(rx.as_mut()),
        Poll::Ready(Err(RecvError(()))),
        "the value is given once"
    );
}

#[test]
fn a_sender_dropped_without_sending_gives_recv_error() {
    let (tx, rx) = oneshot::channel::<u8>();
    let waker = CountingWaker::new();
    let mut rx = pin!(rx);
    assert!(waker.poll(rx.as_mut()).is_pending());
    drop(tx);
    assert_eq!(waker.wakes(), 1);
    assert_eq!(waker.poll(rx.as_mut()), Poll::Ready(Err(RecvError(()))));
}

#[test]
fn send_after_the_receiver_dropped_gives_the_value_back() {
    let (tx, rx) = oneshot::channel();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send("lost?"), Err("lost?"));
}

#[test]
fn close_refuses_later_sends_but_keeps_an_earlier_value() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert_eq!(tx.send(2), Err(2));
    let waker = CountingWaker::new();
    assert_eq!(waker.poll(pin!(rx)), Poll::Ready(Err(RecvError(()))));
}

#[test]
fn try_recv_reports_empty_then_the_value_then_closed() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send('x').unwrap();
    assert_eq!(rx.try_recv(), Ok('x'));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn an_unread_value_is_dropped_with_the_receiver() {
    let drops = DropCounter::default();
    let (tx, rx) = oneshot::channel();
    tx.send(drops.token()).unwrap();
    assert_eq!(drops.dropped(), 0);
    drop(rx);
    assert_eq!(drops.dropped(), 1);
}

#[test]
fn sender_closed_is_woken_by_the_receivers_drop() {
    let (mut tx, rx) = oneshot::channel::<()>();
    let waker = CountingWaker::new();
    {
        let mut closed = pin!(tx.closed());
        assert!(waker.poll(closed.as_mut()).is_pending());
        drop(rx);
        assert_eq!(waker.wakes(), 1);
        assert!(waker.poll(closed.as_mut()).is_ready());
    }
    assert!(tx.is_closed());
}

#[test]
fn is_terminated_once_an_await_returned_the_value_or_the_error() {
    let waker = CountingWaker::new();
    let (tx, mut rx) = oneshot::channel();
    assert!(waker.poll(pin!(&mut rx)).is_pending());
    tx.send(3).unwrap();
    assert!(!rx.is_terminated());
    assert_eq!(waker.poll(pin!(&mut rx)), Poll::Ready(Ok(3)));
    assert!(rx.is_terminated());

    let (tx, mut rx) = oneshot::channel::<u8>();
    drop(tx);
    assert!(!rx.is_terminated(), "the error is not yet returned");
    assert_eq!(waker.poll(pin!(&mut rx)), Poll::Ready(Err(RecvError(()))));
    assert!(rx.is_terminated());
}

#[test]
fn is_terminated_after_try_recv_returns_the_value_or_closed_but_not_empty() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(!rx.is_terminated());
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert!(rx.is_terminated());
}

#[test]
fn is_empty_until_a_value_is_sent_and_again_once_it_is_taken() {
    let dropped = DropCounter::default();
    let (tx, mut rx) = oneshot::channel();
    assert!(rx.is_empty());
    tx.send(dropped.token()).unwrap();
    assert!(!rx.is_empty());
    assert!(!rx.is_empty(), "looking does not take the value");
    assert_eq!(dropped.dropped(), 0);
    drop(rx.try_recv().unwrap());
    assert!(rx.is_empty());
    assert_eq!(dropped.dropped(), 1);
}
