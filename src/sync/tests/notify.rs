//! `Notify`: one stored permit, FIFO `notify_one`, `notify_waiters` wakes the current waiters
//! only, and a dropped waiter passes a `notify_one` on.

use std::pin::pin;
use std::task::Poll;

use super::CountingWaker;
use crate::sync::Notify;

#[test]
fn notify_one_with_nobody_waiting_stores_exactly_one_permit() {
    let notify = Notify::new();
    notify.notify_one();
    notify.notify_one();
    let waker = CountingWaker::new();
    assert!(waker.poll(pin!(notify.notified())).is_ready());
    assert!(
        waker.poll(pin!(notify.notified())).is_pending(),
        "two notify_one calls with nobody waiting store one permit, not two"
    );
}

#[test]
fn notify_one_wakes_waiters_in_the_order_they_started_waiting() {
    let notify = Notify::new();
    let wakers: Vec<CountingWaker> = (0..3).map(|_| CountingWaker::new()).collect();
    let mut futures: Vec<_> = (0..3).map(|_| Box::pin(notify.notified())).collect();
    for (future, waker) in futures.iter_mut().zip(&wakers) {
        assert!(waker.poll(future.as_mut()).is_pending());
    }
    for i in 0..3 {
        notify.notify_one();
        let wakes: Vec<usize> = wakers.iter().map(CountingWaker::wakes).collect();
        let expected: Vec<usize> = (0..3).map(|j| usize::from(j <= i)).collect();
        assert_eq!(wakes, expected, "after notify_one #{i}");
        assert!(wakers[i].poll(futures[i].as_mut()).is_ready());
    }
    assert_eq!(notify.stored_waiters(), 0);
}

#[test]
fn notify_waiters_wakes_every_current_waiter_once_and_stores_nothing() {
    let notify = Notify::new();
    let wakers: Vec<CountingWaker> = (0..3).map(|_| CountingWaker::new()).collect();
    let mut futures: Vec<_> = (0..3).map(|_| Box::pin(notify.notified())).collect();
    for (future, waker) in futures.iter_mut().zip(&wakers) {
        assert!(waker.poll(future.as_mut()).is_pending());
    }
    notify.notify_waiters();
    notify.notify_waiters();
    for (future, waker) in futures.iter_mut().zip(&wakers) {
        assert_eq!(
            waker.wakes(),
            1,
            "woken once, however many notify_waiters calls"
        );
        assert!(waker.poll(future.as_mut()).is_ready());
    }
    let later = CountingWaker::new();
    assert!(
        later.poll(pin!(notify.notified())).is_pending(),
        "notify_waiters must not store a permit"
    );
}

#[test]
fn a_notified_created_before_notify_waiters_completes_at_its_first_poll() {
    let notify = Notify::new();
    let before = notify.notified();
    notify.notify_waiters();
    let after = notify.notified();
    let waker = CountingWaker::new();
    assert!(waker.poll(pin!(before)).is_ready());
    assert!(waker.poll(pin!(after)).is_pending());
}

#[test]
fn a_waiter_dropped_after_notify_one_chose_it_passes_the_notification_on() {
    let notify = Notify::new();
    let (first_waker, second_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut first = Box::pin(notify.notified());
    let mut second = Box::pin(notify.notified());
    assert!(first_waker.poll(first.as_mut()).is_pending());
    assert!(second_waker.poll(second.as_mut()).is_pending());
    notify.notify_one();
    assert_eq!((first_waker.wakes(), second_waker.wakes()), (1, 0));
    drop(first); // woken, but cancelled before it ran
    assert_eq!(
        second_waker.wakes(),
        1,
        "the notification moved to the next waiter"
    );
    assert!(second_waker.poll(second.as_mut()).is_ready());
}

#[test]
fn a_waiter_dropped_after_notify_one_with_nobody_behind_it_stores_the_permit() {
    let notify = Notify::new();
    let waker = CountingWaker::new();
    let mut waiting = Box::pin(notify.notified());
    assert!(waker.poll(waiting.as_mut()).is_pending());
    notify.notify_one();
    drop(waiting);
    assert!(waker.poll(pin!(notify.notified())).is_ready());
}

#[test]
fn a_waiter_dropped_after_notify_waiters_passes_nothing_on() {
    let notify = Notify::new();
    let waker = CountingWaker::new();
    let mut waiting = Box::pin(notify.notified());
    assert!(waker.poll(waiting.as_mut()).is_pending());
    notify.notify_waiters();
    drop(waiting);
    assert!(waker.poll(pin!(notify.notified())).is_pending());
}

#[test]
fn a_dropped_waiting_notified_leaves_the_queue() {
    let notify = Notify::new();
    let waker = CountingWaker::new();
    let mut waiting = Box::pin(notify.notified());
    assert!(waker.poll(waiting.as_mut()).is_pending());
    drop(waiting);
    assert_eq!(notify.stored_waiters(), 0);
    notify.notify_one(); // nobody waits: stored as a permit, not given to the dropped future
    assert_eq!(waker.wakes(), 0);
    assert!(waker.poll(pin!(notify.notified())).is_ready());
}

#[test]
fn a_repoll_with_another_waker_wakes_the_latest_one() {
    let notify = Notify::new();
    let (old, new) = (CountingWaker::new(), CountingWaker::new());
    let mut waiting = pin!(notify.notified());
    assert!(old.poll(waiting.as_mut()).is_pending());
    assert!(new.poll(waiting.as_mut()).is_pending());
    notify.notify_one();
    assert_eq!((old.wakes(), new.wakes()), (0, 1));
    assert_eq!(new.poll(waiting.as_mut()), Poll::Ready(()));
}

#[test]
fn notify_last_wakes_the_newest_waiter() {
    let notify = Notify::new();
    let (first_waker, second_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut first = pin!(notify.notified());
    let mut second = pin!(notify.notified());
    assert!(first_waker.poll(first.as_mut()).is_pending());
    assert!(second_waker.poll(second.as_mut()).is_pending());
    notify.notify_last();
    assert_eq!((first_waker.wakes(), second_waker.wakes()), (0, 1));
    assert_eq!(second_waker.poll(second.as_mut()), Poll::Ready(()));
    assert!(first_waker.poll(first.as_mut()).is_pending());
    notify.notify_last();
    assert_eq!(first_waker.poll(first.as_mut()), Poll::Ready(()));
}

#[test]
fn notify_last_with_nobody_waiting_stores_the_permit() {
    let notify = Notify::new();
    notify.notify_last();
    let waker = CountingWaker::new();
    assert_eq!(waker.poll(pin!(notify.notified())), Poll::Ready(()));
    assert!(waker.poll(pin!(notify.notified())).is_pending());
}

#[test]
fn a_waiter_dropped_after_notify_last_passes_it_to_the_newest_remaining() {
    let notify = Notify::new();
    let wakers: Vec<CountingWaker> = (0..3).map(|_| CountingWaker::new()).collect();
    let mut waiters: Vec<_> = (0..3).map(|_| Box::pin(notify.notified())).collect();
    for (waiter, waker) in waiters.iter_mut().zip(&wakers) {
        assert!(waker.poll(waiter.as_mut()).is_pending());
    }
    notify.notify_last();
    drop(waiters.pop()); // chosen, never polled again
    assert_eq!(
        wakers.iter().map(CountingWaker::wakes).collect::<Vec<_>>(),
        [0, 1, 1],
        "the notification went to the newest remaining waiter, not the oldest"
    );
    assert!(wakers[1].poll(waiters[1].as_mut()).is_ready());
    assert!(wakers[0].poll(waiters[0].as_mut()).is_pending());
}

#[test]
fn an_enabled_notified_is_chosen_by_notify_one_before_its_first_poll() {
    let notify = Notify::new();
    let mut enabled = pin!(notify.notified());
    assert!(!enabled.as_mut().enable());
    notify.notify_one();
    assert!(enabled.as_mut().enable(), "it was chosen");
    // The notification went to the enabled future, not to the permit.
    let waker = CountingWaker::new();
    assert!(waker.poll(pin!(notify.notified())).is_pending());
    assert_eq!(waker.poll(enabled.as_mut()), Poll::Ready(()));
    assert_eq!(notify.stored_waiters(), 0);
}

#[test]
fn enable_consumes_a_stored_permit_and_sees_an_earlier_notify_waiters() {
    let notify = Notify::new();
    notify.notify_one();
    let mut first = pin!(notify.notified());
    assert!(first.as_mut().enable(), "the stored permit was consumed");
    let waker = CountingWaker::new();
    assert!(
        waker.poll(pin!(notify.notified())).is_pending(),
        "the permit is gone"
    );
    assert_eq!(waker.poll(first.as_mut()), Poll::Ready(()));

    let mut created = pin!(notify.notified());
    notify.notify_waiters();
    assert!(created.as_mut().enable());
    let mut enabled = pin!(notify.notified());
    assert!(!enabled.as_mut().enable());
    notify.notify_waiters();
    assert!(
        enabled.as_mut().enable(),
        "notify_waiters serves enabled futures"
    );
}

#[test]
fn a_dropped_enabled_notified_passes_its_notify_one_on() {
    let notify = Notify::new();
    let mut enabled = Box::pin(notify.notified());
    assert!(!enabled.as_mut().enable());
    notify.notify_one();
    drop(enabled);
    let waker = CountingWaker::new();
    assert_eq!(
        waker.poll(pin!(notify.notified())),
        Poll::Ready(()),
        "the notification was stored again"
    );
}
