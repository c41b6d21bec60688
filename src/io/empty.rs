//! [`empty`]: a reader at end of stream and a writer that drops everything.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncBufRead, AsyncRead, AsyncWrite, Result};
use crate::coop;

/// A stream that is always at end of stream and accepts every write, made by [`empty`].
///
/// Each operation completes at once and spends one unit of the cooperative budget, so a loop
/// over it still lets other tasks run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Empty {
    _private: (),
}

/// Creates a reader that is always at end of stream (reads return 0) and a writer that
/// accepts and drops every byte, like `std::io::empty`.
///
/// # Examples
///
/// ```
/// use evloop::io::{self, AsyncReadExt, AsyncWriteExt};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let mut nothing = io::empty();
///     let mut buf = Vec::new();
///     assert_eq!(nothing.read_to_end(&mut buf).await?, 0);
///     assert_eq!(nothing.write(b"dropped").await?, 7);
///     Ok::<(), io::Error>(())
/// })?;
/// # Ok::<(), io::Error>(())
/// ```
pub fn empty() -> Empty {
    Empty { _private: () }
}

impl AsyncRead for Empty {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        ready!(coop::poll_proceed(cx)).made_progress();
        Poll::Ready(Ok(0))
    }
}

impl AsyncBufRead for Empty {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<&[u8]>> {
        ready!(coop::poll_proceed(cx)).made_progress();
        Poll::Ready(Ok(&[]))
    }

    fn consume(self: Pin<&mut Self>, _amt: usize) {}
}

impl AsyncWrite for Empty {
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
