//! `threadsafe::oneshot`: the same contract as the local oneshot, across threads.

use std::pin::pin;
use std::task::Poll;
use std::thread;

use super::CountingWaker;
use crate::sync::oneshot::error::{RecvError, TryRecvError};
use crate::sync::threadsafe::oneshot;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn both_halves_are_send_and_sync() {
    assert_send_sync::<oneshot::Sender<Vec<u8>>>();
    assert_send_sync::<oneshot::Receiver<Vec<u8>>>();
}

#[test]
fn a_send_from_another_thread_wakes_the_receiver_once() {
    let (tx, rx) = oneshot::channel();
    let waker = CountingWaker::new();
    let mut rx = pin!(rx);
    assert!(waker.poll(rx.as_mut()).is_pending());
    thread::spawn(move || tx.send(vec![1, 2, 3]).unwrap())
        .join()
        .unwrap();
    assert_eq!(waker.wakes(), 1);
    assert_eq!(waker.poll(rx.as_mut()), Poll::Ready(Ok(vec![1, 2, 3])));
}

#[test]
fn a_sender_dropped_on_another_thread_gives_recv_error() {
    let (tx, rx) = oneshot::channel::<u8>();
    let waker = CountingWaker::new();
    let mut rx = pin!(rx);
    assert!(waker.poll(rx.as_mut()).is_pending());
    thread::spawn(move || drop(tx)).join().unwrap();
    assert_eq!(waker.wakes(), 1);
    assert_eq!(waker.poll(rx.as_mut()), Poll::Ready(Err(RecvError(()))));
}

#[test]
fn send_after_close_gives_the_value_back() {
    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(5), Err(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn blocking_recv_waits_for_a_task_or_thread() {
    let (tx, rx) = oneshot::channel();
    let waiter = thread::spawn(move || rx.blocking_recv());
    tx.send("hi").unwrap();
    assert_eq!(waiter.join().unwrap(), Ok("hi"));

    let (tx, rx) = oneshot::channel::<()>();
    let waiter = thread::spawn(move || rx.blocking_recv());
    drop(tx);
    assert_eq!(waiter.join().unwrap(), Err(RecvError(())));
}

#[test]
fn is_terminated_and_is_empty_follow_the_local_oneshot() {
    let waker = CountingWaker::new();
    let (tx, mut rx) = oneshot::channel();
    assert!(rx.is_empty() && !rx.is_terminated());
    thread::spawn(move || tx.send(4).unwrap()).join().unwrap();
    assert!(!rx.is_empty() && !rx.is_terminated());
    assert_eq!(waker.poll(pin!(&mut rx)), Poll::Ready(Ok(4)));
    assert!(rx.is_empty() && rx.is_terminated());

    let (tx, mut rx) = oneshot::channel::<u8>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(!rx.is_terminated());
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert!(rx.is_terminated());
}
