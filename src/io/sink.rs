//! [`sink`]: a writer that drops everything.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncWrite, Result};
use crate::coop;

/// A writer that accepts and drops every byte, made by [`sink`].
///
/// Each operation completes at once and spends one unit of the cooperative budget, so a loop
/// over it still lets other tasks run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sink {
    _private: (),
}

/// Creates a writer that accepts and drops every byte, like `std::io::sink`.
///
/// # Examples
///
/// ```
/// use evloop::io;
///
/// let rt = evloop::Runtime::new()?;
/// let mut input: &[u8] = &[7; 1000];
/// let skipped = rt.block_on(io::copy(&mut input, &mut io::sink()))?;
/// assert_eq!(skipped, 1000);
/// # Ok::<(), io::Error>(())
/// ```
pub fn sink() -> Sink {
    Sink { _private: () }
}

impl AsyncWrite for Sink {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        ready!(coop::poll_proceed(cx)).made_progress();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        ready!(coop::poll_proceed(cx)).made_progress();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        ready!(coop::poll_proceed(cx)).made_progress();
        Poll::Ready(Ok(()))
    }
}
