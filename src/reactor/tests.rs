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
