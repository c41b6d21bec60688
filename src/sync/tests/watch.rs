//! `watch`: versions and `changed()`, the last value before the close, `has_changed`,
//! `mark_changed` / `mark_unchanged`, `wait_for`, `send` without receivers, `closed()`, one
//! wake per waiter per send, and the budget.

use std::pin::pin;
use std::task::Poll;

use super::CountingWaker;
use crate::coop;
use crate::sync::watch::{self, error::RecvError};

#[test]
fn changed_completes_once_per_new_value_and_borrow_and_update_marks_it_seen() {
    let (tx, mut rx) = watch::channel(0);
    let waker = CountingWaker::new();
    assert!(
        waker.poll(pin!(rx.changed())).is_pending(),
        "the initial value is seen"
    );
    tx.send(1).unwrap();
    assert!(rx.has_changed().unwrap());
    assert!(rx.borrow().has_changed());
    assert_eq!(*rx.borrow(), 1, "borrow does not mark the value seen");
    let value = rx.borrow_and_update();
    assert!(value.has_changed());
    assert_eq!(*value, 1);
    drop(value);
    assert!(!rx.has_changed().unwrap());
    assert!(waker.poll(pin!(rx.changed())).is_pending());

    tx.send(2).unwrap();
    tx.send(3).unwrap();
    assert_eq!(waker.poll(pin!(rx.changed())), Poll::Ready(Ok(())));
    assert_eq!(
        *rx.borrow(),
        3,
        "a receiver sees the latest value, not each one"
    );
    assert!(waker.poll(pin!(rx.changed())).is_pending());
}

#[test]
fn every_waiting_receiver_is_woken_once_per_send() {
    let (tx, rx) = watch::channel(());
    let mut receivers: Vec<_> = (0..3).map(|_| rx.clone()).collect();
    let wakers: Vec<CountingWaker> = (0..3).map(|_| CountingWaker::new()).collect();
    {
        let mut waits: Vec<_> = receivers
            .iter_mut()
            .map(|rx| Box::pin(rx.changed()))
            .collect();
        for (wait, waker) in waits.iter_mut().zip(&wakers) {
            assert!(waker.poll(wait.as_mut()).is_pending());
        }
        tx.send(()).unwrap();
        let wakes: Vec<usize> = wakers.iter().map(CountingWaker::wakes).collect();
        assert_eq!(wakes, [1, 1, 1]);
        for (wait, waker) in waits.iter_mut().zip(&wakers) {
            assert_eq!(waker.poll(wait.as_mut()), Poll::Ready(Ok(())));
        }
        tx.send(()).unwrap();
        let wakes: Vec<usize> = wakers.iter().map(CountingWaker::wakes).collect();
        assert_eq!(wakes, [1, 1, 1], "finished futures are not woken again");
    }
    assert_eq!(tx.stored_waiters(), 0);
}

#[test]
fn changed_returns_the_last_value_before_it_reports_the_close() {
    let (tx, mut rx) = watch::channel("first");
    tx.send("last").unwrap();
    drop(tx);
    assert_eq!(
        rx.has_changed(),
        Err(RecvError(())),
        "has_changed reports the close"
    );
    let waker = CountingWaker::new();
    assert_eq!(waker.poll(pin!(rx.changed())), Poll::Ready(Ok(())));
    assert_eq!(*rx.borrow_and_update(), "last");
    assert_eq!(
        waker.poll(pin!(rx.changed())),
        Poll::Ready(Err(RecvError(())))
    );
}

#[test]
fn dropping_the_last_sender_wakes_a_waiting_receiver_with_an_error() {
    let (tx, mut rx) = watch::channel(0);
    let tx2 = tx.clone();
    assert_eq!(tx.sender_count(), 2);
    let waker = CountingWaker::new();
    let mut changed = pin!(rx.changed());
    assert!(waker.poll(changed.as_mut()).is_pending());
    drop(tx);
    assert_eq!(waker.wakes(), 0, "one sender is left");
    drop(tx2);
    assert_eq!(waker.wakes(), 1);
    assert_eq!(
        waker.poll(changed.as_mut()),
        Poll::Ready(Err(RecvError(())))
    );
}

#[test]
fn mark_changed_and_mark_unchanged_set_what_counts_as_seen() {
    let (_tx, mut rx) = watch::channel(0);
    rx.mark_changed();
    assert!(rx.has_changed().unwrap());
    let waker = CountingWaker::new();
    assert_eq!(waker.poll(pin!(rx.changed())), Poll::Ready(Ok(())));
    rx.mark_changed();
    rx.mark_unchanged();
    assert!(!rx.has_changed().unwrap());
    assert!(waker.poll(pin!(rx.changed())).is_pending());
}

#[test]
fn send_without_receivers_fails_and_stores_nothing_but_send_replace_stores() {
    let (tx, rx) = watch::channel(1);
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(2), Err(watch::error::SendError(2)));
    assert_eq!(*tx.borrow(), 1);
    assert_eq!(tx.send_replace(3), 1);
    tx.send_modify(|value| *value += 1);
    assert_eq!(*tx.borrow(), 4);
    let rx = tx.subscribe();
    assert!(!tx.is_closed(), "subscribe reopens the channel");
    assert!(
        !rx.has_changed().unwrap(),
        "a new receiver has seen the current value"
    );
    assert_eq!(tx.receiver_count(), 1);
    tx.send(5).unwrap();
    assert!(rx.has_changed().unwrap());
}

#[test]
fn a_cloned_receiver_has_seen_what_the_original_has() {
    let (tx, mut rx) = watch::channel(0);
    tx.send(1).unwrap();
    let unseen = rx.clone();
    rx.borrow_and_update();
    let seen = rx.clone();
    assert!(unseen.has_changed().unwrap());
    assert!(!seen.has_changed().unwrap());
    assert!(seen.same_channel(&unseen));
    assert!(!seen.same_channel(&watch::channel(0).1));
    assert_eq!(tx.receiver_count(), 3);
}

#[test]
fn send_if_modified_publishes_only_when_the_closure_says_so() {
    let (tx, mut rx) = watch::channel(0);
    let waker = CountingWaker::new();
    let mut changed = pin!(rx.changed());
    assert!(waker.poll(changed.as_mut()).is_pending());
    assert!(!tx.send_if_modified(|_| false));
    assert_eq!(waker.wakes(), 0, "an unmodified value wakes nobody");
    assert!(tx.send_if_modified(|value| {
        *value = 9;
        true
    }));
    assert_eq!(waker.wakes(), 1);
    assert_eq!(waker.poll(changed.as_mut()), Poll::Ready(Ok(())));
}

#[test]
fn a_panic_in_send_modify_publishes_nothing() {
    let (tx, rx) = watch::channel(0);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tx.send_modify(|value| {
            *value = 1;
            panic!("modify failed");
        })
    }));
    assert!(result.is_err());
    assert!(!rx.has_changed().unwrap(), "the panic did not publish");
    tx.send(2).unwrap();
    assert_eq!(*rx.borrow(), 2, "the value is usable after the panic");
}

#[test]
fn wait_for_checks_the_current_value_first_then_each_new_one() {
    let (tx, mut rx) = watch::channel(5);
    let waker = CountingWaker::new();
    match waker.poll(pin!(rx.wait_for(|n| *n == 5))) {
        Poll::Ready(Ok(value)) => assert!(!value.has_changed()),
        _ => panic!("the current value satisfies the condition"),
    }
    let mut calls = Vec::new();
    {
        let mut wait = pin!(rx.wait_for(|n| {
            calls.push(*n);
            *n >= 7
        }));
        assert!(waker.poll(wait.as_mut()).is_pending());
        tx.send(6).unwrap();
        assert!(waker.poll(wait.as_mut()).is_pending());
        tx.send(7).unwrap();
        match waker.poll(wait.as_mut()) {
            Poll::Ready(Ok(value)) => assert_eq!((*value, value.has_changed()), (7, true)),
            _ => panic!("7 satisfies the condition"),
        }
    }
    assert_eq!(calls, [5, 6, 7]);
    assert!(
        !rx.has_changed().unwrap(),
        "the value returned is marked seen"
    );
}

#[test]
fn wait_for_fails_on_close_after_checking_the_last_value() {
    let (tx, mut rx) = watch::channel(0);
    tx.send(1).unwrap();
    drop(tx);
    let mut checked = Vec::new();
    let waker = CountingWaker::new();
    let result = waker.poll(pin!(rx.wait_for(|n| {
        checked.push(*n);
        false
    })));
    assert!(matches!(result, Poll::Ready(Err(RecvError(())))));
    assert_eq!(
        checked,
        [1],
        "the condition saw the last value before the error"
    );

    // Waiting when the sender goes: the close wakes the wait, which fails without calling the
    // condition again on a value it already rejected.
    let (tx, mut rx) = watch::channel(0);
    let mut checked = Vec::new();
    {
        let mut wait = pin!(rx.wait_for(|n| {
            checked.push(*n);
            false
        }));
        assert!(waker.poll(wait.as_mut()).is_pending());
        drop(tx);
        assert!(matches!(
            waker.poll(wait.as_mut()),
            Poll::Ready(Err(RecvError(())))
        ));
    }
    assert_eq!(checked, [0]);
}

#[test]
fn closed_completes_when_the_last_receiver_drops() {
    let (tx, rx) = watch::channel(());
    let rx2 = rx.clone();
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
    assert!(
        waker.poll(pin!(tx.closed())).is_ready(),
        "closed stays closed"
    );
    assert_eq!(tx.stored_waiters(), 0);
}

#[test]
fn a_cancelled_changed_leaves_no_waiter_behind() {
    let (tx, mut rx) = watch::channel(0);
    let waker = CountingWaker::new();
    {
        let mut changed = pin!(rx.changed());
        assert!(waker.poll(changed.as_mut()).is_pending());
        assert_eq!(tx.stored_waiters(), 1);
    }
    assert_eq!(tx.stored_waiters(), 0);
    tx.send(1).unwrap();
    assert_eq!(waker.wakes(), 0);
    assert!(
        rx.has_changed().unwrap(),
        "the cancelled wait marked nothing seen"
    );
}

#[test]
fn changed_spends_the_budget_and_yields_when_it_is_spent() {
    let (tx, mut rx) = watch::channel(0);
    let waker = CountingWaker::new();
    coop::with_budget(1, || {
        tx.send(1).unwrap();
        assert!(waker.poll(pin!(rx.changed())).is_ready());
        tx.send(2).unwrap();
        assert!(
            waker.poll(pin!(rx.changed())).is_pending(),
            "a ready change is refused once the budget is spent"
        );
    });
    assert_eq!(waker.wakes(), 1);
    assert!(
        rx.has_changed().unwrap(),
        "the refused call marked nothing seen"
    );
    assert_eq!(waker.poll(pin!(rx.changed())), Poll::Ready(Ok(())));
}
