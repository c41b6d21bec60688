//! Event dispatch: stale tokens are ignored, live ones wake the right direction.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use super::readiness::{Direction, READABLE, WRITABLE};
use super::*;

/// Counts its wakes.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn token(generation: u32, index: usize) -> Token {
    Token(((generation as usize) << 32) | index)
}

/// A slab whose slot 0 holds a registration of generation 7 with a parked reader.
fn parked_reader() -> (Slab<Rc<ScheduledIo>>, Arc<CountingWaker>) {
    let mut sources = Slab::new();
    let io = Rc::new(ScheduledIo::new(7));
    sources.insert(io.clone());
    let counter = Arc::new(CountingWaker::default());
    let waker = Waker::from(counter.clone());
    let parked = io.poll_ready(&mut Context::from_waker(&waker), Direction::Read);
    assert_eq!(parked, Poll::Pending);
    (sources, counter)
}

fn deliver(sources: &Slab<Rc<ScheduledIo>>, token: Token, bits: u8) -> usize {
    let mut wake_later = Vec::new();
    dispatch(sources, token, bits, &mut wake_later);
    let woken = wake_later.len();
    wake_later.into_iter().for_each(Waker::wake);
    woken
}

#[test]
fn an_event_for_a_reused_slot_is_ignored() {
    let (sources, counter) = parked_reader();
    assert_eq!(deliver(&sources, token(6, 0), READABLE), 0);
    assert_eq!(counter.0.load(Ordering::SeqCst), 0);
    assert!(
        sources[0]
            .poll_ready(&mut Context::from_waker(Waker::noop()), Direction::Read)
            .is_pending()
    );
}

#[test]
fn an_event_for_a_vacant_slot_is_ignored() {
    let (sources, _counter) = parked_reader();
    assert_eq!(deliver(&sources, token(7, 1), READABLE), 0);
    assert_eq!(deliver(&sources, WAKE_TOKEN, READABLE | WRITABLE), 0);
}

#[test]
fn an_event_wakes_only_the_direction_it_makes_ready() {
    let (sources, counter) = parked_reader();
    assert_eq!(
        deliver(&sources, token(7, 0), WRITABLE),
        0,
        "writability must not wake a reader"
    );
    assert_eq!(deliver(&sources, token(7, 0), READABLE), 1);
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    let ready = sources[0].poll_ready(&mut Context::from_waker(Waker::noop()), Direction::Read);
    assert!(ready.is_ready());
}

#[test]
fn readiness_is_kept_until_cleared_by_would_block() {
    let (sources, _counter) = parked_reader();
    deliver(&sources, token(7, 0), READABLE);
    let mut cx = Context::from_waker(Waker::noop());
    // A short read leaves the bit set: the next read tries the socket again.
    assert!(sources[0].poll_ready(&mut cx, Direction::Read).is_ready());
    assert!(sources[0].poll_ready(&mut cx, Direction::Read).is_ready());
    sources[0].clear(Direction::Read);
    assert!(sources[0].poll_ready(&mut cx, Direction::Read).is_pending());
}

/// A waker for `counter`, in a context.
fn counting(counter: &Arc<CountingWaker>) -> Waker {
    Waker::from(counter.clone())
}

fn wakes(counter: &Arc<CountingWaker>) -> usize {
    counter.0.load(Ordering::SeqCst)
}

/// Delivers `bits` straight to `io`, waking what it hands out.
fn deliver_to(io: &ScheduledIo, bits: u8) -> usize {
    let mut wake_later = Vec::new();
    io.set_ready(bits, &mut wake_later);
    let woken = wake_later.len();
    wake_later.into_iter().for_each(Waker::wake);
    woken
}

#[test]
fn one_event_wakes_every_waiter_it_satisfies_inline_and_spilled() {
    let io = ScheduledIo::new(0);
    let read = Direction::Read.ready_mask();
    let counters: Vec<_> = (0..5).map(|_| Arc::new(CountingWaker::default())).collect();
    let mut keys = vec![None; 5];
    for (counter, key) in counters.iter().zip(&mut keys) {
        let waker = counting(counter);
        let polled = io.poll_ready_as(&mut Context::from_waker(&waker), read, key);
        assert_eq!(polled, Poll::Pending);
    }
    let writer = Arc::new(CountingWaker::default());
    let mut writer_key = None;
    let waker = counting(&writer);
    let polled = io.poll_ready_as(
        &mut Context::from_waker(&waker),
        Direction::Write.ready_mask(),
        &mut writer_key,
    );
    assert_eq!(polled, Poll::Pending);
    assert_eq!(io.waiter_count(), 6);

    assert_eq!(deliver_to(&io, READABLE), 5, "every reader, no writer");
    assert!(counters.iter().all(|counter| wakes(counter) == 1));
    assert_eq!(wakes(&writer), 0);
    // Taken wakers are not woken again by a later event until their futures park again.
    assert_eq!(deliver_to(&io, READABLE), 0);
    for key in keys.into_iter().chain([writer_key]) {
        io.remove_waiter(key.expect("registered"));
    }
    assert_eq!(io.waiter_count(), 0);
}

#[test]
fn a_waiter_removed_while_waiting_leaves_no_entry_and_no_wake() {
    let io = ScheduledIo::new(0);
    let read = Direction::Read.ready_mask();
    let (kept, dropped) = (
        Arc::new(CountingWaker::default()),
        Arc::new(CountingWaker::default()),
    );
    let (mut kept_key, mut dropped_key) = (None, None);
    // Many rounds: the list must not grow with futures that come and go.
    for _ in 0..100 {
        let waker = counting(&dropped);
        let polled = io.poll_ready_as(&mut Context::from_waker(&waker), read, &mut dropped_key);
        assert_eq!(polled, Poll::Pending);
        io.remove_waiter(dropped_key.take().expect("registered"));
    }
    let waker = counting(&kept);
    let polled = io.poll_ready_as(&mut Context::from_waker(&waker), read, &mut kept_key);
    assert_eq!(polled, Poll::Pending);
    assert_eq!(io.waiter_count(), 1);
    assert_eq!(deliver_to(&io, READABLE), 1);
    assert_eq!((wakes(&kept), wakes(&dropped)), (1, 0));
    io.remove_waiter(kept_key.expect("registered"));
}

#[test]
fn a_waiter_woken_without_readiness_parks_again_once() {
    let io = ScheduledIo::new(0);
    let read = Direction::Read.ready_mask();
    let counter = Arc::new(CountingWaker::default());
    let waker = counting(&counter);
    let mut cx = Context::from_waker(&waker);
    let mut key = None;
    assert!(io.poll_ready_as(&mut cx, read, &mut key).is_pending());
    deliver_to(&io, READABLE);
    // The operation found nothing after all.
    io.clear(Direction::Read);
    assert!(io.poll_ready_as(&mut cx, read, &mut key).is_pending());
    assert_eq!(wakes(&counter), 1, "parked, not woken in a loop");
    io.remove_waiter(key.expect("registered"));
}

#[test]
fn a_short_read_clears_readable_unless_an_urgent_mark_may_have_cut_it() {
    use super::readiness::URGENT;
    let io = ScheduledIo::new(0);
    let mut cx = Context::from_waker(Waker::noop());
    deliver_to(&io, READABLE);
    io.clear_drained(Direction::Read);
    assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());

    deliver_to(&io, READABLE | URGENT);
    io.clear_drained(Direction::Read);
    assert!(
        io.poll_ready(&mut cx, Direction::Read).is_ready(),
        "a read that stopped at the urgent mark must be followed by another"
    );
    // Only `WouldBlock` proves the queue empty, and ends the urgent state.
    io.clear(Direction::Read);
    assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
    deliver_to(&io, READABLE);
    io.clear_drained(Direction::Read);
    assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
}
