//! `RwLock`: readers share, a writer excludes, a waiting writer is not starved by later
//! readers, cancelled and handed-over waiters pass the lock on, `downgrade`, the budget.

use std::pin::pin;
use std::task::Poll;

use super::CountingWaker;
use crate::coop;
use crate::sync::{RwLock, RwLockReadGuard};

#[test]
fn readers_share_and_a_writer_excludes_everyone() {
    let lock = RwLock::new(1);
    let (a, b) = (lock.try_read().unwrap(), lock.try_read().unwrap());
    assert_eq!(*a + *b, 2);
    assert!(lock.try_write().is_err());
    drop((a, b));
    let mut write = lock.try_write().unwrap();
    *write = 3;
    assert!(lock.try_read().is_err());
    assert!(lock.try_write().is_err());
    drop(write);
    assert_eq!(*lock.try_read().unwrap(), 3);
}

#[test]
fn a_waiting_writer_is_not_starved_by_readers_that_arrive_after_it() {
    let lock = RwLock::new(0);
    let early_reader = lock.try_read().unwrap();
    let (writer_waker, reader_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut writer = pin!(lock.write());
    let mut late_reader = pin!(lock.read());
    assert!(writer_waker.poll(writer.as_mut()).is_pending());
    assert!(
        reader_waker.poll(late_reader.as_mut()).is_pending(),
        "a reader behind a waiting writer waits, though only readers hold the lock"
    );
    assert!(lock.try_read().is_err(), "try_read does not jump the queue");

    drop(early_reader);
    assert_eq!((writer_waker.wakes(), reader_waker.wakes()), (1, 0));
    let Poll::Ready(mut write) = writer_waker.poll(writer.as_mut()) else {
        panic!("the writer was handed the lock when the last earlier reader left");
    };
    *write = 1;
    assert!(reader_waker.poll(late_reader.as_mut()).is_pending());
    drop(write);
    assert_eq!(reader_waker.wakes(), 1);
    let Poll::Ready(read) = reader_waker.poll(late_reader.as_mut()) else {
        panic!("the reader gets the lock after the writer");
    };
    assert_eq!(*read, 1);
}

#[test]
fn a_writer_leaving_wakes_every_reader_queued_behind_it_once() {
    let lock = RwLock::new(());
    let write = lock.try_write().unwrap();
    let wakers: Vec<CountingWaker> = (0..3).map(|_| CountingWaker::new()).collect();
    let mut readers: Vec<_> = (0..3).map(|_| Box::pin(lock.read())).collect();
    for (reader, waker) in readers.iter_mut().zip(&wakers) {
        assert!(waker.poll(reader.as_mut()).is_pending());
    }
    drop(write);
    let wakes: Vec<usize> = wakers.iter().map(CountingWaker::wakes).collect();
    assert_eq!(wakes, [1, 1, 1]);
    let guards: Vec<_> = readers
        .iter_mut()
        .zip(&wakers)
        .map(|(reader, waker)| match waker.poll(reader.as_mut()) {
            Poll::Ready(guard) => guard,
            Poll::Pending => panic!("every queued reader was granted"),
        })
        .collect();
    assert_eq!(guards.len(), 3);
}

#[test]
fn a_cancelled_writer_lets_the_readers_behind_it_in() {
    let lock = RwLock::new(());
    let early_reader = lock.try_read().unwrap();
    let (writer_waker, reader_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut writer = Box::pin(lock.write());
    let mut late_reader = pin!(lock.read());
    assert!(writer_waker.poll(writer.as_mut()).is_pending());
    assert!(reader_waker.poll(late_reader.as_mut()).is_pending());
    drop(writer); // it held every permit but the early reader's
    assert_eq!(reader_waker.wakes(), 1);
    assert!(reader_waker.poll(late_reader.as_mut()).is_ready());
    drop(early_reader);
}

#[test]
fn a_write_lock_handed_to_a_dropped_writer_goes_to_the_next_waiter() {
    let lock = RwLock::new(());
    let write = lock.try_write().unwrap();
    let (writer_waker, reader_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut writer = Box::pin(lock.write());
    let mut reader = pin!(lock.read());
    assert!(writer_waker.poll(writer.as_mut()).is_pending());
    assert!(reader_waker.poll(reader.as_mut()).is_pending());
    drop(write);
    assert_eq!((writer_waker.wakes(), reader_waker.wakes()), (1, 0));
    drop(writer);
    assert_eq!(reader_waker.wakes(), 1);
    assert!(reader_waker.poll(reader.as_mut()).is_ready());
}

#[test]
fn max_readers_bounds_the_readers_at_once() {
    let lock = RwLock::with_max_readers((), 2);
    let waker = CountingWaker::new();
    let first = lock.try_read().unwrap();
    let _second = lock.try_read().unwrap();
    let mut third = pin!(lock.read());
    assert!(waker.poll(third.as_mut()).is_pending());
    drop(first);
    assert_eq!(waker.wakes(), 1);
    assert!(waker.poll(third.as_mut()).is_ready());
}

#[test]
#[should_panic(expected = "a RwLock may not be created with more than 536870911 readers")]
fn too_many_max_readers_panics() {
    let _ = RwLock::with_max_readers((), u32::MAX);
}

#[test]
#[should_panic(expected = "a RwLock must admit at least one reader")]
fn zero_max_readers_panics() {
    let _ = RwLock::with_max_readers((), 0);
}

#[test]
fn downgrade_lets_readers_in_but_keeps_a_writer_out() {
    let lock = RwLock::new(0);
    let mut write = lock.try_write().unwrap();
    let (reader_waker, writer_waker) = (CountingWaker::new(), CountingWaker::new());
    let mut reader = pin!(lock.read());
    let mut writer = pin!(lock.write());
    assert!(reader_waker.poll(reader.as_mut()).is_pending());
    assert!(writer_waker.poll(writer.as_mut()).is_pending());
    *write = 5;
    let read = write.downgrade();
    assert_eq!(reader_waker.wakes(), 1);
    let Poll::Ready(other) = reader_waker.poll(reader.as_mut()) else {
        panic!("a queued reader gets in beside the downgraded guard");
    };
    assert_eq!((*read, *other), (5, 5));
    assert!(writer_waker.poll(writer.as_mut()).is_pending());
    drop(other);
    assert_eq!(writer_waker.wakes(), 0, "the downgraded guard still reads");
    drop(read);
    assert_eq!(writer_waker.wakes(), 1);
    assert!(writer_waker.poll(writer.as_mut()).is_ready());
}

#[test]
fn a_mapped_read_guard_keeps_the_read_lock() {
    let lock = RwLock::new((1, 2));
    let second = RwLockReadGuard::map(lock.try_read().unwrap(), |pair| &pair.1);
    assert_eq!(*second, 2);
    assert!(lock.try_write().is_err());
    drop(second);
    assert!(lock.try_write().is_ok());
}

#[test]
fn get_mut_and_into_inner_need_no_lock() {
    let mut lock = RwLock::new(vec![1]);
    lock.get_mut().push(2);
    assert_eq!(
        format!("{lock:?}"),
        "RwLock { data: [1, 2], max_readers: 536870911 }"
    );
    assert_eq!(lock.into_inner(), [1, 2]);
}

#[test]
fn read_and_write_spend_the_budget_and_yield_when_it_is_spent() {
    let lock = RwLock::new(());
    let waker = CountingWaker::new();
    let mut read = pin!(lock.read());
    coop::with_budget(1, || {
        assert!(waker.poll(pin!(lock.write())).is_ready());
        assert!(waker.poll(read.as_mut()).is_pending());
    });
    assert_eq!(waker.wakes(), 1);
    assert!(waker.poll(read.as_mut()).is_ready());
}
