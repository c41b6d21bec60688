//! `Semaphore`: FIFO fairness, partial assignment, cancellation, close, and the guards.

use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

use super::CountingWaker;
use crate::sync::{Semaphore, TryAcquireError};

fn stored(semaphore: &Semaphore) -> usize {
    semaphore.stored_waiters()
}

#[test]
fn permits_come_back_when_the_guard_drops() {
    let semaphore = Semaphore::new(3);
    let waker = CountingWaker::new();
    let Poll::Ready(Ok(permit)) = waker.poll(pin!(semaphore.acquire_many(2))) else {
        panic!("two of three free permits must be granted at once");
    };
    assert_eq!(permit.num_permits(), 2);
    assert_eq!(semaphore.available_permits(), 1);
    drop(permit);
    assert_eq!(semaphore.available_permits(), 3);
}

#[test]
fn forget_keeps_the_permits_out() {
    let semaphore = Semaphore::new(2);
    semaphore.try_acquire().unwrap().forget();
    assert_eq!(semaphore.available_permits(), 1);
    semaphore.add_permits(1);
    assert_eq!(semaphore.available_permits(), 2);
}

#[test]
fn a_large_request_at_the_head_is_not_overtaken_by_a_small_one() {
    let semaphore = Semaphore::new(2);
    let held = semaphore.try_acquire_many(2).unwrap();
    let (big_waker, small_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut big = pin!(semaphore.acquire_many(2));
    let mut small = pin!(semaphore.acquire());
    assert!(big_waker.poll(big.as_mut()).is_pending());
    assert!(small_waker.poll(small.as_mut()).is_pending());
    assert_eq!(
        semaphore.try_acquire().unwrap_err(),
        TryAcquireError::NoPermits,
        "try_acquire does not jump the queue"
    );

    drop(held);
    // Both permits go to the head; the small request behind it keeps waiting.
    assert_eq!((big_waker.wakes(), small_waker.wakes()), (1, 0));
    assert_eq!(semaphore.available_permits(), 0);
    let Poll::Ready(Ok(big_permit)) = big_waker.poll(big.as_mut()) else {
        panic!("the head was granted its two permits");
    };
    assert!(small_waker.poll(small.as_mut()).is_pending());
    drop(big_permit);
    assert_eq!(small_waker.wakes(), 1);
    assert!(matches!(
        small_waker.poll(small.as_mut()),
        Poll::Ready(Ok(_))
    ));
    assert_eq!(semaphore.available_permits(), 2);
    assert_eq!(stored(&semaphore), 0);
}

#[test]
fn the_head_collects_returned_permits_until_it_has_enough() {
    let semaphore = Semaphore::new(3);
    let first = semaphore.try_acquire().unwrap();
    let second = semaphore.try_acquire().unwrap();
    let third = semaphore.try_acquire().unwrap();
    let waker = CountingWaker::new();
    let mut big = pin!(semaphore.acquire_many(3));
    assert!(waker.poll(big.as_mut()).is_pending());
    drop(first);
    drop(second);
    assert_eq!(waker.wakes(), 0, "two of three permits: not yet");
    assert_eq!(
        semaphore.available_permits(),
        0,
        "they are held for the head"
    );
    drop(third);
    assert_eq!(waker.wakes(), 1);
    assert!(matches!(waker.poll(big.as_mut()), Poll::Ready(Ok(p)) if p.num_permits() == 3));
}

#[test]
fn a_cancelled_acquire_gives_back_its_partial_permits_to_the_next_waiter() {
    let semaphore = Semaphore::new(2);
    let held = semaphore.try_acquire_many(2).unwrap();
    let (big_waker, small_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut big = Box::pin(semaphore.acquire_many(3));
    let mut small = pin!(semaphore.acquire());
    assert!(big_waker.poll(big.as_mut()).is_pending());
    assert!(small_waker.poll(small.as_mut()).is_pending());
    drop(held); // the head now holds 2 of its 3
    assert_eq!(semaphore.available_permits(), 0);
    drop(big);
    assert_eq!(
        small_waker.wakes(),
        1,
        "the freed permits reached the next waiter"
    );
    let Poll::Ready(Ok(small_permit)) = small_waker.poll(small.as_mut()) else {
        panic!("the next waiter was granted");
    };
    assert_eq!(
        semaphore.available_permits(),
        1,
        "one for the small waiter, one free"
    );
    drop(small_permit);
    assert_eq!(semaphore.available_permits(), 2);
    assert_eq!(stored(&semaphore), 0);
}

#[test]
fn a_granted_acquire_dropped_before_it_ran_passes_its_permits_on() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.try_acquire().unwrap();
    let (first_waker, second_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut first = Box::pin(semaphore.acquire());
    let mut second = pin!(semaphore.acquire());
    assert!(first_waker.poll(first.as_mut()).is_pending());
    assert!(second_waker.poll(second.as_mut()).is_pending());
    drop(held);
    assert_eq!((first_waker.wakes(), second_waker.wakes()), (1, 0));
    drop(first);
    assert_eq!(second_waker.wakes(), 1);
    assert!(matches!(
        second_waker.poll(second.as_mut()),
        Poll::Ready(Ok(_))
    ));
}

#[test]
fn close_fails_waiters_and_returns_their_partial_permits() {
    let semaphore = Semaphore::new(1);
    let waker = CountingWaker::new();
    let mut waiting = pin!(semaphore.acquire_many(3));
    assert!(waker.poll(waiting.as_mut()).is_pending());
    assert_eq!(
        semaphore.available_permits(),
        0,
        "the head took the one free permit"
    );
    semaphore.close();
    assert_eq!(waker.wakes(), 1);
    assert!(matches!(waker.poll(waiting.as_mut()), Poll::Ready(Err(_))));
    assert_eq!(semaphore.available_permits(), 1);
    assert!(semaphore.is_closed());
    assert_eq!(
        semaphore.try_acquire().unwrap_err(),
        TryAcquireError::Closed
    );
    assert!(matches!(
        waker.poll(pin!(semaphore.acquire())),
        Poll::Ready(Err(_))
    ));
}

#[test]
fn a_waiter_granted_before_close_still_gets_its_permits() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.try_acquire().unwrap();
    let waker = CountingWaker::new();
    let mut waiting = pin!(semaphore.acquire());
    assert!(waker.poll(waiting.as_mut()).is_pending());
    drop(held);
    semaphore.close();
    assert_eq!(
        waker.wakes(),
        1,
        "granted once; the close does not wake it again"
    );
    assert!(matches!(waker.poll(waiting.as_mut()), Poll::Ready(Ok(_))));
}

#[test]
fn an_acquire_of_zero_behind_a_cancelled_head_is_served() {
    let semaphore = Semaphore::new(0);
    let (head_waker, zero_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut head = Box::pin(semaphore.acquire());
    let mut zero = pin!(semaphore.acquire_many(0));
    assert!(head_waker.poll(head.as_mut()).is_pending());
    assert!(
        zero_waker.poll(zero.as_mut()).is_pending(),
        "it queues behind the head"
    );
    drop(head);
    assert_eq!(zero_waker.wakes(), 1);
    assert!(matches!(zero_waker.poll(zero.as_mut()), Poll::Ready(Ok(p)) if p.num_permits() == 0));
}

#[test]
fn owned_permits_hold_the_semaphore_alive() {
    let semaphore = Rc::new(Semaphore::new(1));
    let permit = semaphore.clone().try_acquire_owned().unwrap();
    assert!(semaphore.clone().try_acquire_owned().is_err());
    let waker = CountingWaker::new();
    let mut waiting = pin!(semaphore.clone().acquire_owned());
    assert!(waker.poll(waiting.as_mut()).is_pending());
    drop(permit);
    assert_eq!(waker.wakes(), 1);
    let Poll::Ready(Ok(permit)) = waker.poll(waiting.as_mut()) else {
        panic!("the returned permit was granted");
    };
    assert!(Rc::ptr_eq(permit.semaphore(), &semaphore));
}

#[test]
fn each_waiter_is_woken_once_per_grant() {
    let semaphore = Semaphore::new(0);
    let wakers: Vec<CountingWaker> = (0..4).map(|_| CountingWaker::new()).collect();
    let mut futures: Vec<_> = (0..4).map(|_| Box::pin(semaphore.acquire())).collect();
    for (future, waker) in futures.iter_mut().zip(&wakers) {
        assert!(waker.poll(future.as_mut()).is_pending());
    }
    semaphore.add_permits(4);
    semaphore.add_permits(4);
    for (future, waker) in futures.iter_mut().zip(&wakers) {
        assert_eq!(waker.wakes(), 1);
        let Poll::Ready(Ok(permit)) = waker.poll(future.as_mut()) else {
            panic!("granted");
        };
        permit.forget();
    }
    assert_eq!(semaphore.available_permits(), 4);
}

#[test]
fn max_permits_is_tokios_and_more_panics_with_a_message() {
    assert_eq!(Semaphore::MAX_PERMITS, usize::MAX >> 3);
    let full = Semaphore::new(Semaphore::MAX_PERMITS);
    let error =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| full.add_permits(1))).unwrap_err();
    let message = error.downcast_ref::<String>().unwrap();
    assert!(message.contains("MAX_PERMITS"), "{message}");
    assert_eq!(full.available_permits(), Semaphore::MAX_PERMITS);
    let error = std::panic::catch_unwind(|| Semaphore::new(Semaphore::MAX_PERMITS + 1));
    assert!(error.is_err());
}

#[test]
fn forget_permits_removes_only_free_permits() {
    let semaphore = Semaphore::new(4);
    let held = semaphore.try_acquire_many(3).unwrap();
    assert_eq!(semaphore.forget_permits(2), 1);
    assert_eq!(semaphore.available_permits(), 0);
    assert_eq!(semaphore.forget_permits(1), 0);
    drop(held);
    assert_eq!(semaphore.available_permits(), 3);
}

#[test]
fn merged_permits_go_back_together_and_split_ones_separately() {
    let semaphore = Semaphore::new(5);
    let mut permit = semaphore.try_acquire_many(2).unwrap();
    permit.merge(semaphore.try_acquire_many(3).unwrap());
    assert_eq!(permit.num_permits(), 5);
    assert_eq!(semaphore.available_permits(), 0, "merging released nothing");
    assert!(permit.split(6).is_none());
    assert_eq!(permit.num_permits(), 5);
    let two = permit.split(2).unwrap();
    assert_eq!((permit.num_permits(), two.num_permits()), (3, 2));
    drop(two);
    assert_eq!(semaphore.available_permits(), 2);
    drop(permit);
    assert_eq!(semaphore.available_permits(), 5);
}

#[test]
fn a_split_permit_dropped_serves_the_waiting_head() {
    let semaphore = Semaphore::new(3);
    let mut permit = semaphore.try_acquire_many(3).unwrap();
    let waker = CountingWaker::new();
    let mut acquire = pin!(semaphore.acquire_many(2));
    assert!(waker.poll(acquire.as_mut()).is_pending());
    drop(permit.split(2).unwrap());
    assert_eq!(waker.wakes(), 1);
    assert!(waker.poll(acquire.as_mut()).is_ready());
    assert_eq!(stored(&semaphore), 0);
}

#[test]
fn owned_permits_merge_and_split() {
    let semaphore = Rc::new(Semaphore::new(3));
    let mut permit = semaphore.clone().try_acquire_owned().unwrap();
    permit.merge(semaphore.clone().try_acquire_many_owned(2).unwrap());
    assert_eq!(permit.num_permits(), 3);
    let one = permit.split(1).unwrap();
    assert!(Rc::ptr_eq(one.semaphore(), &semaphore));
    drop(permit);
    assert_eq!(semaphore.available_permits(), 2);
    drop(one);
    assert_eq!(semaphore.available_permits(), 3);
}

#[test]
#[should_panic(expected = "different semaphores")]
fn merging_permits_of_different_semaphores_panics() {
    let (a, b) = (Semaphore::new(1), Semaphore::new(1));
    let mut permit = a.try_acquire().unwrap();
    permit.merge(b.try_acquire().unwrap());
}
