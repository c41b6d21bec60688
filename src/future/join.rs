//! `join` and `join_all`: run futures concurrently inside one task and wait for all of them.
//!
//! # Invariants
//!
//! 1. A child is polled until it returns `Ready`, then dropped at once, in place; it is never
//!    polled again. Its output waits in its slot until every child is done.
//! 2. [`JoinAll`] polls a child only after that child's own waker was woken (or at the first
//!    poll), so a wake costs O(1) whatever the number of children (see `wake_set`).
//! 3. Outputs are returned in the order the futures were given, whatever the order in which
//!    they completed.

use std::fmt;
use std::future::{Future, IntoFuture, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use super::wake_set::WakeSet;

/// Runs `a` and `b` concurrently in the current task and returns both outputs once both are
/// done.
///
/// Both futures are polled with the task's waker, so a wake of either polls the one that has
/// not finished yet (and only that one: a finished future is dropped at once). For more than
/// two futures use [`join!`](crate::join!) or [`join_all`](super::join_all).
///
/// ```
/// use std::time::Duration;
/// use evloop::future::join;
/// use evloop::time::sleep;
///
/// let rt = evloop::Runtime::new()?;
/// let (a, b) = rt.block_on(join(
///     async { sleep(Duration::from_millis(20)).await; "slow" },
///     async { "fast" },
/// ));
/// assert_eq!((a, b), ("slow", "fast"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn join<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: IntoFuture,
    B: IntoFuture,
{
    let mut a = pin!(Some(a.into_future()));
    let mut b = pin!(Some(b.into_future()));
    let mut out_a = None;
    let mut out_b = None;
    poll_fn(|cx| {
        poll_child(a.as_mut(), &mut out_a, cx);
        poll_child(b.as_mut(), &mut out_b, cx);
        if out_a.is_none() || out_b.is_none() {
            return Poll::Pending;
        }
        Poll::Ready((
            out_a.take().expect("join: `a` has completed"),
            out_b.take().expect("join: `b` has completed"),
        ))
    })
    .await
}

/// Polls the child in `slot` if it is still running; when it completes, drops it and stores
/// its output in `out`.
fn poll_child<F: Future>(
    mut slot: Pin<&mut Option<F>>,
    out: &mut Option<F::Output>,
    cx: &mut Context<'_>,
) {
    if let Some(future) = slot.as_mut().as_pin_mut()
        && let Poll::Ready(output) = future.poll(cx)
    {
        slot.set(None);
        *out = Some(output);
    }
}

/// Runs every future of `futures` concurrently in the current task and returns their outputs,
/// in the order the futures were given, once all are done.
///
/// Each child gets its own waker, so a wake polls only the child it concerns: joining ten
/// thousand futures costs O(1) per wake, not O(n). Each child is boxed (one allocation per
/// future, plus one for its waker) and dropped as soon as it completes.
///
/// ```
/// use std::time::Duration;
/// use evloop::future::join_all;
/// use evloop::time::sleep;
///
/// let rt = evloop::Runtime::new()?;
/// let outputs = rt.block_on(join_all([30u64, 10, 20].map(|ms| async move {
///     sleep(Duration::from_millis(ms)).await;
///     ms
/// })));
/// // Input order, although the futures finished as 10, 20, 30.
/// assert_eq!(outputs, [30, 10, 20]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn join_all<I>(futures: I) -> JoinAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let children: Vec<_> = futures
        .into_iter()
        .map(|future| Some(Box::pin(future.into_future())))
        .collect();
    let n = children.len();
    JoinAll {
        wake_set: WakeSet::new(n),
        outputs: std::iter::repeat_with(|| None).take(n).collect(),
        children,
        remaining: n,
        batch: Vec::new(),
    }
}

/// The future returned by [`join_all`]: a named type, so it can be stored in a struct.
///
/// ```
/// use std::future::{Ready, ready};
/// use evloop::future::{JoinAll, join_all};
///
/// let all: JoinAll<Ready<u8>> = join_all([ready(1), ready(2)]);
/// let rt = evloop::Runtime::new()?;
/// assert_eq!(rt.block_on(all), [1, 2]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct JoinAll<F: Future> {
    /// Child `i`, or `None` once it completed (invariant 1).
    children: Vec<Option<Pin<Box<F>>>>,
    /// Child `i`'s output, once it completed.
    outputs: Vec<Option<F::Output>>,
    /// Children not yet completed.
    remaining: usize,
    /// One waker per child and the list of woken children.
    wake_set: WakeSet,
    /// Indices taken from the woken list in the current poll; kept to reuse its allocation.
    batch: Vec<usize>,
}

// Children are boxed and outputs are never pinned: moving a `JoinAll` moves nothing that a
// pin promised to keep in place.
impl<F: Future> Unpin for JoinAll<F> {}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.wake_set.register(cx.waker());
        this.wake_set.drain_into(&mut this.batch);
        for &index in &this.batch {
            // A child that completed may still be woken (by a stale clone of its waker).
            let Some(child) = &mut this.children[index] else {
                continue;
            };
            let mut child_cx = Context::from_waker(this.wake_set.start_poll(index));
            if let Poll::Ready(output) = child.as_mut().poll(&mut child_cx) {
                this.children[index] = None;
                this.outputs[index] = Some(output);
                this.remaining -= 1;
            }
        }
        // Cleared only now: if a child panicked above, the batch survives for the next poll.
        this.batch.clear();
        if this.remaining > 0 {
            return Poll::Pending;
        }
        let outputs = std::mem::take(&mut this.outputs);
        Poll::Ready(
            outputs
                .into_iter()
                .map(|output| output.expect("join_all: every child has completed"))
                .collect(),
        )
    }
}

impl<F: Future> fmt::Debug for JoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll")
            .field("len", &self.children.len())
            .field("remaining", &self.remaining)
            .finish()
    }
}
