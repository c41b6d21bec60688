//! `Mutex`: FIFO hand-over, a lock handed to a dropped waiter goes on, `try_lock` does not
//! jump the queue, owned and mapped guards, and the cooperative budget.

use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

use super::CountingWaker;
use crate::coop;
use crate::sync::{Mutex, MutexGuard};

#[test]
fn the_lock_is_handed_to_waiters_in_the_order_they_asked() {
    let mutex = Mutex::new(Vec::new());
    let held = mutex.try_lock().unwrap();
    let wakers: Vec<CountingWaker> = (0..3).map(|_| CountingWaker::new()).collect();
    let mut waiters: Vec<_> = (0..3).map(|_| Box::pin(mutex.lock())).collect();
    for (waiter, waker) in waiters.iter_mut().zip(&wakers) {
        assert!(waker.poll(waiter.as_mut()).is_pending());
    }
    drop(held);
    for i in 0..3 {
        let wakes: Vec<usize> = wakers.iter().map(CountingWaker::wakes).collect();
        let expected: Vec<usize> = (0..3).map(|j| usize::from(j <= i)).collect();
        assert_eq!(wakes, expected, "only waiter {i} is woken, once");
        let Poll::Ready(mut guard) = wakers[i].poll(waiters[i].as_mut()) else {
            panic!("waiter {i} was handed the lock");
        };
        guard.push(i);
        // Later waiters still wait while this one holds the lock.
        for j in i + 1..3 {
            assert!(wakers[j].poll(waiters[j].as_mut()).is_pending());
        }
    }
    assert_eq!(*mutex.try_lock().unwrap(), [0, 1, 2]);
}

#[test]
fn a_lock_handed_to_a_waiter_that_is_dropped_goes_to_the_next_waiter() {
    let mutex = Mutex::new(0);
    let held = mutex.try_lock().unwrap();
    let (first_waker, second_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut first = Box::pin(mutex.lock());
    let mut second = pin!(mutex.lock());
    assert!(first_waker.poll(first.as_mut()).is_pending());
    assert!(second_waker.poll(second.as_mut()).is_pending());
    drop(held);
    assert_eq!((first_waker.wakes(), second_waker.wakes()), (1, 0));
    drop(first); // handed the lock, never ran
    assert_eq!(
        second_waker.wakes(),
        1,
        "the lock went on to the next waiter"
    );
    assert!(second_waker.poll(second.as_mut()).is_ready());
}

#[test]
fn a_cancelled_waiter_leaves_the_queue_and_the_lock_stays_usable() {
    let mutex = Mutex::new(());
    let held = mutex.try_lock().unwrap();
    let waker = CountingWaker::new();
    let mut waiter = Box::pin(mutex.lock());
    assert!(waker.poll(waiter.as_mut()).is_pending());
    drop(waiter);
    drop(held);
    assert_eq!(waker.wakes(), 0, "a cancelled waiter is not woken");
    assert!(mutex.try_lock().is_ok(), "nothing keeps the lock");
}

#[test]
fn try_lock_does_not_jump_the_queue() {
    let mutex = Mutex::new(());
    let held = mutex.try_lock().unwrap();
    let waker = CountingWaker::new();
    let mut waiter = pin!(mutex.lock());
    assert!(waker.poll(waiter.as_mut()).is_pending());
    drop(held);
    assert!(
        mutex.try_lock().is_err(),
        "the lock belongs to the waiter now, even before it runs"
    );
    let Poll::Ready(guard) = waker.poll(waiter.as_mut()) else {
        panic!("the waiter was handed the lock");
    };
    drop(guard);
    assert!(mutex.try_lock().is_ok());
}

#[test]
fn owned_guards_keep_the_mutex_alive_and_unlock_on_drop() {
    let mutex = Rc::new(Mutex::new(String::from("a")));
    let waker = CountingWaker::new();
    let Poll::Ready(mut owned) = waker.poll(pin!(mutex.clone().lock_owned())) else {
        panic!("a free mutex locks at once");
    };
    owned.push('b');
    assert!(Rc::ptr_eq(
        crate::sync::OwnedMutexGuard::mutex(&owned),
        &mutex
    ));
    assert!(mutex.clone().try_lock_owned().is_err());
    drop(owned);
    let owned = mutex.clone().try_lock_owned().unwrap();
    assert_eq!(*owned, "ab");
    drop(owned);
    let mutex = Rc::try_unwrap(mutex).expect("the guards gave their Rc back");
    assert_eq!(mutex.into_inner(), "ab");
}

#[test]
fn a_mapped_guard_keeps_the_lock_until_it_drops() {
    let mut mutex = Mutex::new((0, vec![1]));
    {
        let guard = mutex.try_lock().unwrap();
        let mut list = MutexGuard::map(guard, |pair| &mut pair.1);
        list.push(2);
        assert!(mutex.try_lock().is_err());
    }
    mutex.get_mut().0 = 7;
    assert_eq!(*mutex.try_lock().unwrap(), (7, vec![1, 2]));
}

#[test]
fn debug_shows_the_value_or_that_it_is_locked() {
    let mutex = Mutex::new(5);
    assert_eq!(format!("{mutex:?}"), "Mutex { data: 5 }");
    let guard = mutex.try_lock().unwrap();
    assert_eq!(format!("{mutex:?}"), "Mutex { data: <locked> }");
    assert_eq!(format!("{guard:?}"), "5");
}

#[test]
fn lock_spends_the_budget_and_yields_when_it_is_spent() {
    let mutex = Mutex::new(());
    let waker = CountingWaker::new();
    let mut second = pin!(mutex.lock());
    coop::with_budget(1, || {
        let Poll::Ready(guard) = waker.poll(pin!(mutex.lock())) else {
            panic!("a free mutex locks at once");
        };
        drop(guard);
        assert!(
            waker.poll(second.as_mut()).is_pending(),
            "the budget of one unit was spent by the first lock"
        );
    });
    assert_eq!(waker.wakes(), 1, "a lock refused for budget wakes its task");
    assert!(waker.poll(second.as_mut()).is_ready());
}
