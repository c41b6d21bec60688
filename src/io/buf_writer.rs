//! [`BufWriter`]: adds a write buffer to any writer.
//!
//! # Invariants
//!
//! 1. `buf` holds bytes accepted by `poll_write` and not yet written to `inner`, in order;
//!    `buf.len() <= capacity`: a write that would overflow it first empties it.
//! 2. Bytes reach `inner` in the order they were accepted: a write that bypasses the buffer
//!    (one of at least `capacity` bytes) happens only once the buffer is empty.
//! 3. `poll_flush` and `poll_shutdown` empty the buffer before they flush or shut down
//!    `inner`.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::buf_reader::DEFAULT_BUF_SIZE;
use super::{AsyncBufRead, AsyncRead, AsyncWrite, Error, ErrorKind, Result, assert_within_buf};

/// Adds a buffer to a writer, so that many small writes cost few writes of the sink.
///
/// The same as tokio's `BufWriter`, except that the writer must be [`Unpin`] for
/// `BufWriter<W>` to be a writer: pin a `!Unpin` one first (`Box::pin(writer)`).
///
/// Bytes are held until the buffer is full, or until [`flush`] or [`shutdown`]; a write of at
/// least the buffer's capacity goes straight to the writer once the buffer is empty. Dropping
/// a `BufWriter` drops the bytes it holds: flush or shut it down first. If `W` is also a
/// reader, reads go straight to it.
///
/// Writing into the buffer spends none of the cooperative budget: the writer spends it each
/// time the buffer is written out.
///
/// [`flush`]: super::AsyncWriteExt::flush
/// [`shutdown`]: super::AsyncWriteExt::shutdown
///
/// # Examples
///
/// ```
/// use evloop::io::{self, AsyncWriteExt, BufWriter};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let mut writer = BufWriter::new(Vec::new());
///     writer.write_all(b"held in the buffer").await?;
///     assert!(writer.get_ref().is_empty());
///     writer.flush().await?;
///     assert_eq!(writer.get_ref(), b"held in the buffer");
///     Ok::<(), io::Error>(())
/// })?;
/// # Ok::<(), io::Error>(())
/// ```
pub struct BufWriter<W> {
    inner: W,
    buf: Vec<u8>,
    /// The most bytes `buf` holds (invariant 1).
    capacity: usize,
}

impl<W> BufWriter<W> {
    /// Wraps `inner` with a buffer of 8 KiB.
    pub fn new(inner: W) -> BufWriter<W> {
        BufWriter::with_capacity(DEFAULT_BUF_SIZE, inner)
    }

    /// Wraps `inner` with a buffer of `capacity` bytes. With 0 every write goes straight
    /// through.
    pub fn with_capacity(capacity: usize, inner: W) -> BufWriter<W> {
        BufWriter {
            inner,
            buf: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// The writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The writer. Writing to it directly puts bytes before the buffered ones.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Returns the writer; the buffered bytes are lost (flush first).
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// The bytes accepted and not yet written to the writer.
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// The size of the buffer.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl<W: AsyncWrite + Unpin> BufWriter<W> {
    /// Writes every buffered byte to `inner`, keeping the ones not yet written on `Pending` or
    /// an error.
    fn poll_flush_buf(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let mut written = 0;
        let outcome = loop {
            if written == self.buf.len() {
                break Poll::Ready(Ok(()));
            }
            let rest = &self.buf[written..];
            match Pin::new(&mut self.inner).poll_write(cx, rest) {
                Poll::Ready(Ok(0)) => {
                    break Poll::Ready(Err(Error::new(
                        ErrorKind::WriteZero,
                        "BufWriter: the writer accepted none of the buffered bytes",
                    )));
                }
                Poll::Ready(Ok(n)) => {
                    assert_within_buf("poll_write", n, rest.len());
                    written += n;
                }
                Poll::Ready(Err(e)) if e.kind() == ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => break Poll::Ready(Err(e)),
                Poll::Pending => break Poll::Pending,
            }
        };
        self.buf.drain(..written);
        outcome
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for BufWriter<W> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        let this = self.get_mut();
        if this.buf.len() + buf.len() > this.capacity {
            ready!(this.poll_flush_buf(cx))?;
        }
        if buf.len() >= this.capacity {
            // Invariant 2: the buffer is empty here.
            Pin::new(&mut this.inner).poll_write(cx, buf)
        } else {
            this.buf.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_flush_buf(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_flush_buf(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// Reads go straight to the inner stream; the write buffer is not involved.
impl<W: AsyncRead + Unpin> AsyncRead for BufWriter<W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

/// Buffered reads go straight to the inner stream, so a `BufReader<BufWriter<S>>` (see
/// [`BufStream`](super::BufStream)) buffers both ways.
impl<W: AsyncBufRead + Unpin> AsyncBufRead for BufWriter<W> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<&[u8]>> {
        Pin::new(&mut self.get_mut().inner).poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.get_mut().inner).consume(amt)
    }
}

impl<W: fmt::Debug> fmt::Debug for BufWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufWriter")
            .field("inner", &self.inner)
            .field("buffered", &self.buf.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}
