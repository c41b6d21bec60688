//! `Barrier`: one leader per round, the first `n - 1` wait and are woken once, rounds do not
//! mix, `n == 0` acts as 1, a cancelled wait still counts (as in tokio), and the budget.

use std::pin::pin;
use std::task::Poll;

use super::CountingWaker;
use crate::coop;
use crate::sync::Barrier;

#[test]
fn the_nth_arrival_releases_the_others_and_exactly_one_leads() {
    let barrier = Barrier::new(3);
    for round in 0..3 {
        let wakers: Vec<CountingWaker> = (0..3).map(|_| CountingWaker::new()).collect();
        let mut waits: Vec<_> = (0..3).map(|_| Box::pin(barrier.wait())).collect();
        assert!(wakers[0].poll(waits[0].as_mut()).is_pending());
        assert!(wakers[1].poll(waits[1].as_mut()).is_pending());
        let Poll::Ready(last) = wakers[2].poll(waits[2].as_mut()) else {
            panic!("round {round}: the third arrival completes the round at once");
        };
        let wakes: Vec<usize> = wakers.iter().map(CountingWaker::wakes).collect();
        assert_eq!(wakes, [1, 1, 0], "round {round}: each waiter woken once");
        let mut leaders = usize::from(last.is_leader());
        for (wait, waker) in waits.iter_mut().zip(&wakers).take(2) {
            let Poll::Ready(result) = waker.poll(wait.as_mut()) else {
                panic!("round {round}: a woken waiter is released");
            };
            leaders += usize::from(result.is_leader());
        }
        assert_eq!(leaders, 1, "round {round}: exactly one leader");
    }
}

#[test]
fn a_waiter_of_the_next_round_is_not_released_by_the_previous_one() {
    let barrier = Barrier::new(2);
    let waker = CountingWaker::new();
    let mut first = pin!(barrier.wait());
    assert!(waker.poll(first.as_mut()).is_pending());
    assert!(waker.poll(pin!(barrier.wait())).is_ready()); // completes round 1
    let late_waker = CountingWaker::new();
    let mut late = pin!(barrier.wait()); // round 2
    assert!(late_waker.poll(late.as_mut()).is_pending());
    assert!(waker.poll(first.as_mut()).is_ready());
    assert_eq!(late_waker.wakes(), 0);
    assert!(late_waker.poll(late.as_mut()).is_pending());
}

#[test]
fn a_barrier_of_zero_or_one_never_waits() {
    for n in [0, 1] {
        let barrier = Barrier::new(n);
        let waker = CountingWaker::new();
        for _ in 0..2 {
            let Poll::Ready(result) = waker.poll(pin!(barrier.wait())) else {
                panic!("Barrier::new({n}) must not wait");
            };
            assert!(result.is_leader());
        }
    }
}

#[test]
fn a_cancelled_wait_still_counts_towards_its_round() {
    let barrier = Barrier::new(2);
    let waker = CountingWaker::new();
    {
        let mut cancelled = pin!(barrier.wait());
        assert!(waker.poll(cancelled.as_mut()).is_pending());
    }
    let Poll::Ready(result) = waker.poll(pin!(barrier.wait())) else {
        panic!("the dropped wait counted, so this arrival is the second");
    };
    assert!(result.is_leader());
}

#[test]
fn wait_spends_the_budget_and_yields_when_it_is_spent() {
    let barrier = Barrier::new(1);
    let waker = CountingWaker::new();
    coop::with_budget(1, || {
        assert!(waker.poll(pin!(barrier.wait())).is_ready());
        assert!(waker.poll(pin!(barrier.wait())).is_pending());
    });
    assert_eq!(waker.wakes(), 1);
}
