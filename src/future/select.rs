//! `select` and `select_all`: wait for the first of several futures, drop the others.
//!
//! # Invariants
//!
//! 1. The losers are dropped before the output is returned: whoever receives the winner's
//!    output can rely on the other futures' destructors having run (a lock they held is
//!    released, a timer they registered is gone).
//! 2. [`SelectAll`] polls a child only after that child's own waker was woken (or at the first
//!    poll), so a wake costs O(1) whatever the number of children (see `wake_set`).

use std::fmt;
use std::future::{Future, IntoFuture, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use super::wake_set::WakeSet;

/// The output of [`select()`]: which of the two futures finished first, with its output.
///
/// ```
/// use evloop::future::Either;
/// let first: Either<u32, &str> = Either::Right("b won");
/// assert!(matches!(first, Either::Right("b won")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Either<L, R> {
    /// The first future (`a`) finished first.
    Left(L),
    /// The second future (`b`) finished first.
    Right(R),
}

/// Waits for the first of `a` and `b` to finish, drops the other, and returns the winner's
/// output.
///
/// `a` is polled before `b` at every poll, so if both are ready at the same poll `a` wins
/// (the selection is *biased*). The loser is dropped before this future returns.
///
/// ```
/// use std::time::Duration;
/// use evloop::future::{Either, select};
/// use evloop::time::sleep;
///
/// let rt = evloop::Runtime::new()?;
/// let winner = rt.block_on(select(
///     async { sleep(Duration::from_secs(3600)).await; "an hour" },
///     async { sleep(Duration::from_millis(5)).await; 5 },
/// ));
/// assert_eq!(winner, Either::Right(5)); // and the hour-long sleep is gone
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn select<A, B>(a: A, b: B) -> Either<A::Output, B::Output>
where
    A: IntoFuture,
    B: IntoFuture,
{
    let mut a = pin!(a.into_future());
    let mut b = pin!(b.into_future());
    poll_fn(|cx| {
        if let Poll::Ready(output) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(output));
        }
        if let Poll::Ready(output) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(output));
        }
        Poll::Pending
    })
    .await
    // `a` and `b` are dropped here, before the caller sees the output (invariant 1).
}

/// Waits for the first of `futures` to finish, drops all the others, and returns its output
/// with its index in `futures`.
///
/// Each child gets its own waker, so a wake polls only the child it concerns (O(1) per wake,
/// whatever the number of futures). When several children are ready at the same poll, the
/// one woken first wins (at the first poll, the lowest index).
///
/// ```
/// use std::time::Duration;
/// use evloop::future::select_all;
/// use evloop::time::sleep;
///
/// let rt = evloop::Runtime::new()?;
/// let (ms, index) = rt.block_on(select_all([30u64, 10, 20].map(|ms| async move {
///     sleep(Duration::from_millis(ms)).await;
///     ms
/// })));
/// assert_eq!((ms, index), (10, 1));
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
///
/// Panics if `futures` is empty: there would be no first to finish.
pub fn select_all<I>(futures: I) -> SelectAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let children: Vec<_> = futures
        .into_iter()
        .map(|future| Box::pin(future.into_future()))
        .collect();
    assert!(
        !children.is_empty(),
        "evloop::future::select_all needs at least one future"
    );
    SelectAll {
        wake_set: WakeSet::new(children.len()),
        children,
        batch: Vec::new(),
    }
}

/// The future returned by [`select_all`]: a named type, so it can be stored in a struct.
///
/// ```
/// use std::future::{Ready, ready};
/// use evloop::future::{SelectAll, select_all};
///
/// let first: SelectAll<Ready<u8>> = select_all([ready(1), ready(2)]);
/// let rt = evloop::Runtime::new()?;
/// assert_eq!(rt.block_on(first), (1, 0));
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct SelectAll<F> {
    /// The children, all still running; emptied (every child dropped) when one completes.
    children: Vec<Pin<Box<F>>>,
    /// One waker per child and the list of woken children.
    wake_set: WakeSet,
    /// Indices taken from the woken list in the current poll; kept to reuse its allocation.
    batch: Vec<usize>,
}

impl<F: Future> Future for SelectAll<F> {
    type Output = (F::Output, usize);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every field is `Unpin` (children are boxed), so the struct may be moved freely.
        let this = self.get_mut();
        assert!(
            !this.children.is_empty(),
            "SelectAll polled after it completed"
        );
        this.wake_set.register(cx.waker());
        this.wake_set.drain_into(&mut this.batch);
        let mut winner = None;
        for &index in &this.batch {
            let child_cx = &mut Context::from_waker(this.wake_set.start_poll(index));
            if let Poll::Ready(output) = this.children[index].as_mut().poll(child_cx) {
                winner = Some((output, index));
                break;
            }
        }
        // Indices after the winner are simply forgotten: their children are dropped below.
        this.batch.clear();
        match winner {
            Some(winner) => {
                // Invariant 1: drop every loser before handing the output out.
                this.children.clear();
                Poll::Ready(winner)
            }
            None => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for SelectAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectAll")
            .field("len", &self.children.len())
            .finish()
    }
}
