//! The `stream` feature: `futures_core::Stream` for the mpsc receivers, `Interval`, `JoinSet`
//! and `Signal` yields what the types' own methods yield, and ends where they end. Polled with
//! a hand-written `next` (no `futures` dependency).
//!
//! Run with `cargo test --features stream --test stream`.
#![cfg(feature = "stream")]

mod support;

use std::future::poll_fn;
use std::pin::Pin;
use std::time::{Duration, Instant};

use evloop::signal::unix::{SignalKind, signal};
use evloop::sync::mpsc;
use evloop::task::JoinSet;
use futures_core::Stream;
use support::{rt, with_deadline};

/// Hang guard for every test body: far more than any of them needs.
const LIMIT: Duration = Duration::from_secs(30);

/// The next item of `stream`, like `StreamExt::next`.
async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

#[test]
fn an_mpsc_receiver_streams_every_value_then_ends_when_the_senders_are_gone() {
    rt().block_on(with_deadline(LIMIT, "mpsc stream", async {
        let (tx, mut rx) = mpsc::channel(2);
        evloop::spawn(async move {
            for i in 0..5 {
                tx.send(i).await.unwrap(); // waits for room: the stream must free slots
            }
        });
        let mut got = Vec::new();
        while let Some(i) = next(&mut rx).await {
            got.push(i);
        }
        assert_eq!(got, [0, 1, 2, 3, 4]);
        assert_eq!(next(&mut rx).await, None, "ended streams stay ended");
    }));
}

#[test]
fn an_unbounded_receiver_streams_and_reports_what_is_buffered() {
    rt().block_on(with_deadline(LIMIT, "unbounded stream", async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send("a").unwrap();
        tx.send("b").unwrap();
        assert_eq!(rx.size_hint(), (2, None));
        assert_eq!(next(&mut rx).await, Some("a"));
        drop(tx);
        assert_eq!(next(&mut rx).await, Some("b"));
        assert_eq!(next(&mut rx).await, None);
    }));
}

#[test]
fn an_interval_streams_its_scheduled_ticks() {
    rt().block_on(with_deadline(LIMIT, "interval stream", async {
        let start = Instant::now();
        let period = Duration::from_millis(2);
        let mut ticks = evloop::time::interval_at(start, period);
        for n in 0..3 {
            assert_eq!(next(&mut ticks).await, Some(start + period * n));
        }
        assert_eq!(ticks.size_hint(), (usize::MAX, None));
    }));
}

#[test]
fn a_join_set_streams_each_result_and_ends_when_empty() {
    rt().block_on(with_deadline(LIMIT, "join set stream", async {
        let mut set = JoinSet::new();
        for i in 0..3u32 {
            set.spawn(async move { i * 10 });
        }
        set.spawn(async { panic!("boom") });
        assert_eq!(set.size_hint(), (4, Some(4)));
        let (mut values, mut panics) = (Vec::new(), 0);
        while let Some(result) = next(&mut set).await {
            match result {
                Ok(value) => values.push(value),
                Err(error) if error.is_panic() => panics += 1,
                Err(error) => panic!("unexpected {error}"),
            }
        }
        values.sort();
        assert_eq!((values, panics), (vec![0, 10, 20], 1));
        set.spawn(async { 7 });
        assert_eq!(next(&mut set).await.map(Result::unwrap), Some(7));
    }));
}

#[test]
#[cfg_attr(miri, ignore = "signals are beyond Miri")]
fn a_signal_streams_a_delivery() {
    rt().block_on(with_deadline(LIMIT, "signal stream", async {
        // The handler is installed before the signal is raised: this binary would end otherwise.
        let mut deliveries = signal(SignalKind::user_defined1()).unwrap();
        let kind = SignalKind::user_defined1().as_raw_value();
        // SAFETY: `kill` and `getpid` take and return plain integers; the handler installed
        // above runs instead of the default action.
        let sent = unsafe { libc::kill(libc::getpid(), kind) };
        assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
        assert_eq!(next(&mut deliveries).await, Some(()));
    }));
}
