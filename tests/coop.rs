//! The cooperative budget covers every evloop future that can complete without waiting: in a
//! `select!` against `yield_now()`, a loop of such futures that never has to wait must still
//! let `yield_now` win.
//!
//! Each busy loop is bounded ([`BOUND`] operations, or a reader that ends after that many
//! reads): a future that does not spend budget runs to its bound within one poll and wins
//! the `select!`, and the test fails instead of spinning for ever. With the budget spent
//! where it should be, the busy branch returns `Pending` after [`BUDGET`] operations,
//! `yield_now` (polled second) completes at the next poll, and the busy loop is far from its
//! bound. No sockets: these run under Miri too.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use evloop::coop::TASK_BUDGET;
use evloop::io::{self, AsyncRead, AsyncWrite};
use evloop::sync::{Notify, Semaphore, mpsc, oneshot};
use evloop::task::{JoinSet, yield_now};
use evloop::{Builder, Runtime};

/// The runtime's budget: the default, or a smaller one under Miri, where every operation is
/// interpreted (the races scale with it; what they check does not depend on it).
const BUDGET: u32 = if cfg!(miri) { 16 } else { TASK_BUDGET };

/// Operations a busy loop performs at most: several budgets' worth, so that only a loop that
/// spends no budget reaches it before `yield_now` completes.
const BOUND: usize = 4 * BUDGET as usize;

/// A runtime with a budget of [`BUDGET`].
fn rt() -> Runtime {
    Builder::new()
        .task_budget(BUDGET)
        .build()
        .expect("creating an evloop runtime")
}

/// Which branch of the race won.
#[derive(Debug, PartialEq, Eq)]
enum Winner {
    /// The busy loop reached its bound: it never yielded.
    Busy,
    /// `yield_now` completed while the busy loop was still going.
    YieldNow,
}

/// Races `busy` against `yield_now()` in a `select!`, `busy` first (the selection is biased,
/// so `busy` gets every chance to run first).
async fn race<F: Future>(busy: F) -> Winner {
    evloop::select! {
        _ = busy => Winner::Busy,
        _ = yield_now() => Winner::YieldNow,
    }
}

/// An endless in-memory reader, like `std::io::repeat`, that ends after `reads_left` reads so
/// that a copy which never yields finishes (and its test fails) instead of running for ever.
struct Repeat {
    reads_left: usize,
}

impl AsyncRead for Repeat {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.reads_left == 0 {
            return Poll::Ready(Ok(0));
        }
        self.reads_left -= 1;
        buf.fill(b'r');
        Poll::Ready(Ok(buf.len()))
    }
}

/// A writer that accepts everything and keeps nothing, like `std::io::sink`.
struct Sink;

impl AsyncWrite for Sink {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[test]
fn io_copy_from_a_byte_slice_into_a_vec_lets_yield_now_win() {
    // The scenario of the report: more bytes than [`BOUND`] buffers of `copy`'s 8 KiB, so a
    // copy that does not spend budget ends first.
    let input = vec![7u8; BOUND * 8 * 1024];
    let (winner, copied) = rt().block_on(async {
        let mut reader: &[u8] = &input;
        let mut output = Vec::new();
        let winner = race(io::copy(&mut reader, &mut output)).await;
        (winner, output.len())
    });
    assert_eq!(winner, Winner::YieldNow, "the copy never yielded");
    assert!(copied > 0 && copied < input.len(), "copied {copied} bytes");
}

#[test]
fn io_copy_from_an_endless_reader_into_a_sink_lets_yield_now_win() {
    let winner = rt().block_on(race(async {
        let mut reader = Repeat { reads_left: BOUND };
        io::copy(&mut reader, &mut Sink).await
    }));
    assert_eq!(winner, Winner::YieldNow, "the copy never yielded");
}

#[test]
fn draining_a_channel_that_is_never_empty_lets_yield_now_win() {
    let winner = rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(1);
        let (utx, mut urx) = mpsc::unbounded_channel();
        race(async {
            for i in 0..BOUND {
                tx.send(i).await.unwrap();
                utx.send(i).unwrap();
                assert_eq!(rx.recv().await, Some(i));
                assert_eq!(urx.recv().await, Some(i));
            }
        })
        .await
    });
    assert_eq!(winner, Winner::YieldNow);
}

#[test]
fn mpsc_sender_closed_on_a_closed_channel_lets_yield_now_win() {
    let winner = rt().block_on(async {
        let (tx, rx) = mpsc::channel::<u32>(1);
        let (utx, urx) = mpsc::unbounded_channel::<u32>();
        drop((rx, urx));
        race(async {
            for _ in 0..BOUND {
                tx.closed().await;
                utx.closed().await;
            }
        })
        .await
    });
    assert_eq!(winner, Winner::YieldNow, "closed() never yielded");
}

#[test]
fn receiving_oneshots_that_already_hold_a_value_lets_yield_now_win() {
    let winner = rt().block_on(race(async {
        for i in 0..BOUND {
            let (tx, rx) = oneshot::channel();
            tx.send(i).unwrap();
            assert_eq!(rx.await, Ok(i));
        }
    }));
    assert_eq!(winner, Winner::YieldNow);
}

#[test]
fn acquiring_a_semaphore_that_always_has_permits_lets_yield_now_win() {
    let semaphore = Semaphore::new(1);
    let winner = rt().block_on(race(async {
        for _ in 0..BOUND {
            drop(semaphore.acquire().await.unwrap());
        }
    }));
    assert_eq!(winner, Winner::YieldNow);
}

#[test]
fn notified_with_a_stored_permit_every_time_lets_yield_now_win() {
    let notify = Notify::new();
    let winner = rt().block_on(race(async {
        for _ in 0..BOUND {
            notify.notify_one();
            notify.notified().await;
        }
    }));
    assert_eq!(winner, Winner::YieldNow);
}

#[test]
fn join_next_over_many_finished_tasks_lets_yield_now_win() {
    let winner = rt().block_on(async {
        let finished = Rc::new(Cell::new(0));
        let mut set = JoinSet::new();
        for i in 0..BOUND {
            let finished = finished.clone();
            set.spawn(async move {
                finished.set(finished.get() + 1);
                i
            });
        }
        // Bounded: each round lets every woken task run once.
        for _ in 0..BOUND {
            if finished.get() == BOUND {
                break;
            }
            yield_now().await;
        }
        assert_eq!(finished.get(), BOUND, "the tasks did not all run");
        race(async { while set.join_next().await.is_some() {} }).await
    });
    assert_eq!(winner, Winner::YieldNow);
}

#[test]
fn join_next_on_an_empty_set_lets_yield_now_win() {
    let winner = rt().block_on(async {
        let mut set = JoinSet::<()>::new();
        race(async {
            for _ in 0..BOUND {
                assert!(set.join_next().await.is_none());
            }
        })
        .await
    });
    assert_eq!(
        winner,
        Winner::YieldNow,
        "join_next on an empty set never yielded"
    );
}

#[test]
fn a_loop_of_consume_budget_lets_yield_now_win() {
    let (winner, spent) = rt().block_on(async {
        let spent = Cell::new(0);
        let winner = race(async {
            for _ in 0..BOUND {
                evloop::task::consume_budget().await;
                spent.set(spent.get() + 1);
            }
        })
        .await;
        (winner, spent.get())
    });
    assert_eq!(winner, Winner::YieldNow, "consume_budget never yielded");
    // `yield_now` needs two polls of the task; each poll the loop runs one whole budget,
    // no less (it yields only when the budget is spent) and no more.
    assert_eq!(
        spent,
        2 * BUDGET as usize,
        "one unit per call, a yield per spent budget"
    );
}

#[test]
fn unconstrained_runs_its_future_without_budget_yields() {
    let winner = rt().block_on(race(evloop::task::unconstrained(async {
        let (tx, mut rx) = mpsc::channel(1);
        for i in 0..BOUND {
            tx.send(i).await.unwrap();
            assert_eq!(rx.recv().await, Some(i));
            evloop::task::consume_budget().await;
        }
    })));
    assert_eq!(
        winner,
        Winner::Busy,
        "the unconstrained loop was made to yield"
    );
}

#[test]
fn the_budget_applies_again_after_an_unconstrained_future() {
    let winner = rt().block_on(race(async {
        evloop::task::unconstrained(async {
            for _ in 0..BOUND {
                evloop::task::consume_budget().await;
            }
        })
        .await;
        for _ in 0..BOUND {
            evloop::task::consume_budget().await;
        }
    }));
    assert_eq!(
        winner,
        Winner::YieldNow,
        "the task's budget was not restored after unconstrained"
    );
}
