//! [`copy_buf`]: move every byte of a buffered reader into a writer, with no buffer of its own.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Poll, ready};

use super::{AsyncBufRead, AsyncWrite, Error, ErrorKind, Result, assert_within_buf};

/// Copies every byte of `reader` into `writer`, then flushes `writer`, writing straight from
/// the reader's buffer.
///
/// Like [`copy`](super::copy), but for an [`AsyncBufRead`]: no buffer is allocated, and a byte
/// is consumed from the reader only once the writer accepted it, so after an error or a drop
/// nothing read is lost. Resolves to the number of bytes copied; `writer` is flushed, not shut
/// down.
///
/// # Errors
///
/// The first error from the reader, a write or the final flush ends the copy, except
/// [`ErrorKind::Interrupted`] from the reader or a write, which is retried. A write that accepts
/// no bytes is an error of kind [`ErrorKind::WriteZero`].
///
/// # Examples
///
/// ```
/// use evloop::io::{self, BufReader};
///
/// let rt = evloop::Runtime::new()?;
/// let mut reader = BufReader::new(&b"buffered bytes"[..]);
/// let mut output = Vec::new();
/// let copied = rt.block_on(io::copy_buf(&mut reader, &mut output))?;
/// assert_eq!(copied, 14);
/// assert_eq!(output, b"buffered bytes");
/// # Ok::<(), io::Error>(())
/// ```
pub async fn copy_buf<R, W>(reader: &mut R, writer: &mut W) -> Result<u64>
where
    R: AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut copied: u64 = 0;
    poll_fn(|cx| {
        loop {
            let available = match ready!(Pin::new(&mut *reader).poll_fill_buf(cx)) {
                Ok(available) => available,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            };
            if available.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let n = match ready!(Pin::new(&mut *writer).poll_write(cx, available)) {
                Ok(0) => {
                    return Poll::Ready(Err(Error::new(
                        ErrorKind::WriteZero,
                        "copy_buf: the writer accepted no bytes",
                    )));
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            };
            assert_within_buf("poll_write", n, available.len());
            Pin::new(&mut *reader).consume(n);
            copied += n as u64;
        }
    })
    .await?;
    poll_fn(|cx| Pin::new(&mut *writer).poll_flush(cx)).await?;
    Ok(copied)
}
