//! `mpsc` reservations and batches: a permit holds its slot until it sends or drops, permits
//! wait in the senders' FIFO queue, outstanding permits may still send after a close, and
//! `recv_many` moves values in batches. Shaped after tokio's `sync_mpsc` tests.

use std::pin::pin;
use std::task::Poll;

use super::{CountingWaker, DropCounter};
use crate::coop;
use crate::sync::mpsc::{self, error::SendError, error::TrySendError};

#[test]
fn a_permit_holds_its_slot_and_sends_without_waiting() {
    let (tx, mut rx) = mpsc::channel(2);
    let permit = tx.try_reserve().unwrap();
    assert_eq!(tx.capacity(), 1, "the reserved slot is not free");
    tx.try_send(1).unwrap();
    assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
    permit.send(0);
    assert_eq!(tx.capacity(), 0);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!((tx.capacity(), rx.capacity(), rx.max_capacity()), (2, 2, 2));
}

#[test]
fn a_permit_dropped_unused_gives_its_slot_to_the_next_waiting_sender() {
    let (tx, mut rx) = mpsc::channel(1);
    let permit = tx.try_reserve().unwrap();
    let waker = CountingWaker::new();
    let mut send = pin!(tx.send(7));
    assert!(waker.poll(send.as_mut()).is_pending());
    drop(permit);
    assert_eq!(
        waker.wakes(),
        1,
        "the freed slot went to the waiting sender"
    );
    assert!(
        tx.try_reserve().is_err(),
        "try_reserve does not overtake the granted sender"
    );
    assert_eq!(waker.poll(send.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(7));
}

#[test]
fn reserve_waits_in_line_behind_earlier_senders() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let (send_waker, reserve_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut send = pin!(tx.send(1));
    let mut reserve = pin!(tx.reserve());
    assert!(send_waker.poll(send.as_mut()).is_pending());
    assert!(reserve_waker.poll(reserve.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!((send_waker.wakes(), reserve_waker.wakes()), (1, 0));
    assert!(send_waker.poll(send.as_mut()).is_ready());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(reserve_waker.wakes(), 1);
    let Poll::Ready(Ok(permit)) = reserve_waker.poll(reserve.as_mut()) else {
        panic!("the freed slot was granted to reserve");
    };
    permit.send(2);
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn a_cancelled_reserve_that_was_granted_passes_the_slot_on() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let (first, second) = (CountingWaker::new(), CountingWaker::new());
    let mut reserve = Box::pin(tx.reserve());
    let mut send = pin!(tx.send(1));
    assert!(first.poll(reserve.as_mut()).is_pending());
    assert!(second.poll(send.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(0)); // grants the slot to the reserve
    drop(reserve);
    assert_eq!(second.wakes(), 1, "the slot moved on to the next waiter");
    assert!(second.poll(send.as_mut()).is_ready());
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn reserve_many_takes_n_slots_and_returns_those_not_taken_out() {
    let (tx, mut rx) = mpsc::channel(4);
    let mut permits = tx.try_reserve_many(3).unwrap();
    assert_eq!(permits.len(), 3);
    assert_eq!(tx.capacity(), 1);
    permits.next().unwrap().send('a');
    let unused = permits.next().unwrap();
    assert_eq!(permits.len(), 1);
    drop(permits); // one slot still in the iterator
    assert_eq!(tx.capacity(), 1 + 1);
    drop(unused);
    assert_eq!(tx.capacity(), 3);
    assert_eq!(rx.try_recv(), Ok('a'));
    assert_eq!(tx.capacity(), 4);
}

#[test]
fn reserve_many_more_than_the_capacity_fails_at_once() {
    let (tx, _rx) = mpsc::channel::<u8>(2);
    assert!(matches!(
        tx.try_reserve_many(3),
        Err(TrySendError::Full(()))
    ));
    let waker = CountingWaker::new();
    assert_eq!(
        waker.poll(pin!(tx.reserve_many(3))).map(|r| r.map(|_| ())),
        Poll::Ready(Err(SendError(())))
    );
    assert_eq!(tx.capacity(), 2);
    assert_eq!(tx.try_reserve_many(0).unwrap().len(), 0);
}

#[test]
fn reserve_many_waits_until_all_n_slots_are_free() {
    let (tx, mut rx) = mpsc::channel(2);
    tx.try_send(0).unwrap();
    tx.try_send(1).unwrap();
    let waker = CountingWaker::new();
    let mut reserve = pin!(tx.reserve_many(2));
    assert!(waker.poll(reserve.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(waker.wakes(), 0, "one slot of two is not enough");
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(waker.wakes(), 1);
    let Poll::Ready(Ok(permits)) = waker.poll(reserve.as_mut()) else {
        panic!("both slots were free");
    };
    assert_eq!(permits.len(), 2);
}

#[test]
fn reserve_fails_on_a_closed_channel_and_when_closed_while_waiting() {
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    tx.try_send(0).unwrap();
    let waker = CountingWaker::new();
    let mut reserve = pin!(tx.reserve());
    assert!(waker.poll(reserve.as_mut()).is_pending());
    rx.close();
    assert_eq!(waker.wakes(), 1);
    assert!(matches!(
        waker.poll(reserve.as_mut()),
        Poll::Ready(Err(SendError(())))
    ));
    assert!(matches!(tx.try_reserve(), Err(TrySendError::Closed(()))));
    assert!(waker.poll(pin!(tx.reserve())).is_ready());
}

#[test]
fn a_permit_reserved_before_close_still_sends_and_recv_waits_for_it() {
    let (tx, mut rx) = mpsc::channel(2);
    let permit = tx.try_reserve_owned().unwrap();
    rx.close();
    let waker = CountingWaker::new();
    let _tx = {
        let mut recv = pin!(rx.recv());
        assert!(
            waker.poll(recv.as_mut()).is_pending(),
            "an outstanding permit may still send: recv must not end yet"
        );
        let tx = permit.send(5);
        assert_eq!(waker.wakes(), 1);
        assert_eq!(waker.poll(recv.as_mut()), Poll::Ready(Some(5)));
        tx
    };
    // The sender is alive, but the channel is closed and no permit is out: the end.
    assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Disconnected));
}

#[test]
fn the_last_permit_dropped_after_close_wakes_the_receiver_to_see_the_end() {
    let (tx, mut rx) = mpsc::channel::<u8>(2);
    let permits = tx.try_reserve_many(2).unwrap();
    rx.close();
    let waker = CountingWaker::new();
    let mut recv = pin!(rx.recv());
    assert!(waker.poll(recv.as_mut()).is_pending());
    assert_eq!(tx.capacity(), 0);
    drop(permits);
    assert_eq!(waker.wakes(), 1, "the end of the stream wakes the receiver");
    assert_eq!(waker.poll(recv.as_mut()), Poll::Ready(None));
}

#[test]
fn a_permit_used_after_the_receiver_dropped_drops_its_value() {
    let dropped = DropCounter::default();
    let (tx, rx) = mpsc::channel(1);
    let permit = tx.try_reserve().unwrap();
    drop(rx);
    permit.send(dropped.token());
    assert_eq!(
        dropped.dropped(),
        1,
        "the value did not linger in the channel"
    );
    assert_eq!(tx.capacity(), 1);
}

#[test]
fn owned_permits_give_the_sender_back() {
    let (tx, mut rx) = mpsc::channel(1);
    let permit = tx.clone().try_reserve_owned().unwrap();
    let tx2 = match tx.clone().try_reserve_owned() {
        Err(TrySendError::Full(sender)) => sender,
        other => panic!("expected Full with the sender back, got {other:?}"),
    };
    assert!(tx2.same_channel(&tx));
    let tx3 = permit.send(9);
    assert!(tx3.same_channel(&tx));
    assert_eq!(rx.try_recv(), Ok(9));
    let released = tx3.try_reserve_owned().unwrap().release();
    assert_eq!(released.capacity(), 1);
    drop(tx.try_reserve_owned().unwrap()); // dropped unused: slot and sender go back
    assert_eq!(tx2.capacity(), 1);
    rx.close();
    assert!(matches!(
        tx2.try_reserve_owned(),
        Err(TrySendError::Closed(_))
    ));
}

#[test]
fn recv_many_moves_up_to_the_limit_and_frees_slots_for_waiting_senders() {
    let (tx, mut rx) = mpsc::channel(3);
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    let waker = CountingWaker::new();
    let mut send = pin!(tx.send(3));
    assert!(waker.poll(send.as_mut()).is_pending());
    let mut buffer = vec![-1];
    assert_eq!(
        waker.poll(pin!(rx.recv_many(&mut buffer, 2))),
        Poll::Ready(2)
    );
    assert_eq!(buffer, [-1, 0, 1], "appended, not overwritten");
    assert_eq!(waker.wakes(), 1, "a freed slot woke the waiting sender");
    assert!(waker.poll(send.as_mut()).is_ready());
    assert_eq!(
        waker.poll(pin!(rx.recv_many(&mut buffer, 0))),
        Poll::Ready(0)
    );
    assert_eq!(
        waker.poll(pin!(rx.recv_many(&mut buffer, 10))),
        Poll::Ready(2)
    );
    assert_eq!(buffer, [-1, 0, 1, 2, 3]);
}

#[test]
fn recv_many_waits_for_a_value_and_returns_zero_at_the_end() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let waker = CountingWaker::new();
    let mut buffer = Vec::new();
    {
        let mut recv = pin!(rx.recv_many(&mut buffer, 4));
        assert!(waker.poll(recv.as_mut()).is_pending());
        tx.send('x').unwrap();
        assert_eq!(waker.wakes(), 1);
        assert_eq!(waker.poll(recv.as_mut()), Poll::Ready(1));
    }
    assert_eq!(buffer, ['x']);
    let mut recv = pin!(rx.recv_many(&mut buffer, 4));
    assert!(waker.poll(recv.as_mut()).is_pending());
    drop(tx);
    assert_eq!(waker.wakes(), 2);
    assert_eq!(waker.poll(recv.as_mut()), Poll::Ready(0));
}

#[test]
fn reserve_and_recv_many_spend_one_unit_each_and_yield_when_it_is_spent() {
    let (tx, mut rx) = mpsc::channel(4);
    let waker = CountingWaker::new();
    coop::with_budget(1, || {
        let Poll::Ready(Ok(permit)) = waker.poll(pin!(tx.reserve())) else {
            panic!("a free slot is reserved at once");
        };
        permit.send(1);
        assert!(
            waker.poll(pin!(tx.reserve())).is_pending(),
            "the budget of one unit was spent by the first reserve"
        );
    });
    assert_eq!(
        waker.wakes(),
        1,
        "a reserve refused for budget wakes its task"
    );
    let mut buffer = Vec::new();
    coop::with_budget(1, || {
        assert_eq!(
            waker.poll(pin!(rx.recv_many(&mut buffer, 8))),
            Poll::Ready(1)
        );
        assert_eq!(coop::left(), Some(0), "one unit for the whole batch");
        assert!(waker.poll(pin!(rx.recv_many(&mut buffer, 8))).is_pending());
    });
    assert_eq!(waker.wakes(), 2);
}
