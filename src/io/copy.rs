//! [`copy`]: move every byte of a reader into a writer.

use super::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ErrorKind, Result};

/// The size of the buffer [`copy`] reads into, allocated once per call.
///
/// 8 KiB, the size `std::io::copy` uses: one read moves a useful amount, and the buffer is
/// small enough to allocate per call. It lives on the heap, not in the future, so the future
/// stays small to move and to embed in a caller's future.
const COPY_BUF_SIZE: usize = 8 * 1024;

/// Copies every byte of `reader` into `writer`, then flushes `writer`.
///
/// Reads into an 8 KiB buffer and writes each read out in full before reading again, until
/// `reader` reaches end of stream. Resolves to the number of bytes copied. `writer` is
/// flushed at the end but not shut down.
///
/// Each read and each write costs the task one unit of its cooperative budget, like any other
/// evloop operation, so a copy from a stream that is always ready (bytes in memory) yields to
/// the loop every [`TASK_BUDGET`](crate::coop::TASK_BUDGET) / 2 buffers instead of holding the
/// thread until it ends.
///
/// # Errors
///
/// The first error from a read, a write or the final flush ends the copy, except
/// [`ErrorKind::Interrupted`] from a read or write, which is retried. A write that accepts no
/// bytes is an error of kind [`ErrorKind::WriteZero`]. After an error, bytes already read may
/// or may not have reached `writer`.
///
/// The future is `!Unpin`: `.await` it, or pin it (`std::pin::pin!`) to poll it by hand.
///
/// # Examples
///
/// ```
/// use std::pin::pin;
/// use std::task::{Context, Poll, Waker};
/// use evloop::io;
///
/// let mut input: &[u8] = b"one stream into another";
/// let mut output = Vec::new();
///
/// // In memory nothing waits, so one poll with a no-op waker finishes the copy.
/// let mut cx = Context::from_waker(Waker::noop());
/// let Poll::Ready(copied) = pin!(io::copy(&mut input, &mut output)).poll(&mut cx) else {
///     unreachable!("in-memory streams are always ready");
/// };
/// assert_eq!(copied?, 23);
/// assert_eq!(output, b"one stream into another");
/// # Ok::<(), io::Error>(())
/// ```
pub async fn copy<R, W>(reader: &mut R, writer: &mut W) -> Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buf = vec![0; COPY_BUF_SIZE];
    let mut copied: u64 = 0;
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        // `write_all` retries `Interrupted` and turns a zero-byte write into `WriteZero`.
        writer.write_all(&buf[..n]).await?;
        copied += n as u64;
    }
    writer.flush().await?;
    Ok(copied)
}
