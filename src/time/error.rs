//! Timer errors.

use std::fmt;

/// The error of [`timeout`](crate::time::timeout): the deadline passed before the future
/// completed (the future has been dropped).
///
/// It converts into an [`std::io::Error`] of kind `TimedOut`, so `?` passes it up from a
/// function returning `io::Result`:
///
/// ```
/// use std::time::Duration;
/// use evloop::time::{sleep, timeout};
///
/// async fn slow_step() -> std::io::Result<()> {
///     timeout(Duration::from_millis(10), sleep(Duration::from_secs(60))).await?;
///     Ok(())
/// }
///
/// let rt = evloop::Runtime::new()?;
/// let error = rt.block_on(slow_step()).unwrap_err();
/// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl Elapsed {
    pub(crate) fn new() -> Self {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline has elapsed")
    }
}
