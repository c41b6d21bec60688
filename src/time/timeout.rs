//! `timeout`: bound the time a future may take.

use std::future::{Future, IntoFuture, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::{Duration, Instant};

use super::error::Elapsed;
use super::sleep::{far_future_saturating, sleep_until};
use crate::coop;

/// Runs `future` for at most `duration`; `Err(Elapsed)` if the deadline passes first, in which
/// case `future` is dropped.
///
/// The future is polled before the timer, so a future that is ready wins even when its
/// deadline has passed. The timer is checked outside the cooperative budget, so a future that
/// is always busy cannot postpone its own deadline.
///
/// ```
/// use std::time::Duration;
/// use evloop::time::{sleep, timeout};
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let slow = timeout(Duration::from_millis(10), sleep(Duration::from_secs(60))).await;
///     assert!(slow.is_err());
///     let fast = timeout(Duration::from_secs(60), async { 7 }).await;
///     assert_eq!(fast, Ok(7));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn timeout<F: IntoFuture>(
    duration: Duration,
    future: F,
) -> impl Future<Output = Result<F::Output, Elapsed>> {
    timeout_at(far_future_saturating(Instant::now(), duration), future)
}

/// Like [`timeout`], with an absolute deadline: one deadline shared by several steps.
///
/// ```
/// use std::time::{Duration, Instant};
/// use evloop::time::{sleep, timeout_at};
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(50);
///     assert_eq!(timeout_at(deadline, async { 1 }).await, Ok(1));
///     // The second step gets what is left of the same 50 ms, not 50 ms more.
///     assert!(timeout_at(deadline, sleep(Duration::from_secs(60))).await.is_err());
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn timeout_at<F: IntoFuture>(
    deadline: Instant,
    future: F,
) -> impl Future<Output = Result<F::Output, Elapsed>> {
    let future = future.into_future();
    async move {
        let mut future = pin!(future);
        let mut timer = sleep_until(deadline);
        poll_fn(|cx| {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(Ok(output));
            }
            match coop::unconstrained(|| Pin::new(&mut timer).poll(cx)) {
                Poll::Ready(()) => Poll::Ready(Err(Elapsed::new())),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}
