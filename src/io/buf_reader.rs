//! [`BufReader`]: adds a read buffer to any reader.
//!
//! # Invariants
//!
//! 1. `buf[pos..filled]` are the bytes read from `inner` and not yet handed out;
//!    `pos <= filled <= buf.len()`, and `buf` is never empty.
//! 2. `inner` is read only when the buffer is empty, so bytes come out in the order they came
//!    in.
//! 3. Handing out buffered bytes completes without waiting, so it spends one unit of the
//!    cooperative budget (`crate::coop`); a read that goes to `inner` lets `inner` spend.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncBufRead, AsyncRead, AsyncWrite, Result, assert_within_buf};
use crate::coop;

/// The buffer size of [`BufReader::new`] and [`BufWriter::new`](super::BufWriter::new).
///
/// 8 KiB, `std::io`'s and tokio's default: one read moves a useful amount, and a buffer per
/// connection stays cheap for thousands of connections. Behaviour at the time of writing, not
/// a promise.
pub(super) const DEFAULT_BUF_SIZE: usize = 8 * 1024;

/// Adds a buffer to a reader, so that many small reads (a line, a header) cost few reads of
/// the source, and so that it is an [`AsyncBufRead`] with `read_line` and `lines`.
///
/// The same as tokio's `BufReader`, except that the reader must be [`Unpin`] for
/// `BufReader<R>` to be a reader: pin a `!Unpin` one first (`Box::pin(reader)`).
///
/// Reads of at least the buffer's capacity, made while the buffer is empty, go straight to
/// the reader. If `R` is also a writer, writes go straight to it.
///
/// # Examples
///
/// ```
/// use evloop::io::{self, AsyncBufReadExt, AsyncReadExt, BufReader};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let input: &[u8] = b"HELLO 5\r\nworld";
///     let mut reader = BufReader::new(input);
///     let mut header = String::new();
///     reader.read_line(&mut header).await?;
///     assert_eq!(header, "HELLO 5\r\n");
///     let mut body = [0; 5];
///     reader.read_exact(&mut body).await?;
///     assert_eq!(&body, b"world");
///     Ok::<(), io::Error>(())
/// })?;
/// # Ok::<(), io::Error>(())
/// ```
pub struct BufReader<R> {
    inner: R,
    buf: Box<[u8]>,
    /// The next byte to hand out (invariant 1).
    pos: usize,
    /// The end of the bytes read from `inner` (invariant 1).
    filled: usize,
}

impl<R> BufReader<R> {
    /// Wraps `inner` with a buffer of 8 KiB.
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(DEFAULT_BUF_SIZE, inner)
    }

    /// Wraps `inner` with a buffer of `capacity` bytes.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0: a read into an empty buffer would look like end of stream.
    pub fn with_capacity(capacity: usize, inner: R) -> BufReader<R> {
        assert!(
            capacity > 0,
            "BufReader::with_capacity: the capacity must be at least 1"
        );
        BufReader {
            inner,
            buf: vec![0; capacity].into_boxed_slice(),
            pos: 0,
            filled: 0,
        }
    }

    /// The reader. Reading from it directly skips the buffered bytes.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The reader. Reading from it directly skips the buffered bytes.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Returns the reader; the buffered bytes are lost (look at them with
    /// [`buffer`](BufReader::buffer) first).
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The bytes read from the reader and not yet handed out.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..self.filled]
    }

    /// The size of the buffer.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Forgets the buffered bytes.
    fn discard_buffer(&mut self) {
        self.pos = 0;
        self.filled = 0;
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for BufReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // A large read with nothing buffered: copying through the buffer would only cost.
        if this.pos == this.filled && buf.len() >= this.buf.len() {
            this.discard_buffer();
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let available = ready!(Pin::new(&mut *this).poll_fill_buf(cx))?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        Pin::new(this).consume(n);
        Poll::Ready(Ok(n))
    }
}

impl<R: AsyncRead + Unpin> AsyncBufRead for BufReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<&[u8]>> {
        let this = self.get_mut();
        if this.pos < this.filled {
            // Invariant 3: the bytes are here, so this completes without waiting.
            ready!(coop::poll_proceed(cx)).made_progress();
        } else {
            let n = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut this.buf))?;
            assert_within_buf("poll_read", n, this.buf.len());
            this.pos = 0;
            this.filled = n;
        }
        Poll::Ready(Ok(&this.buf[this.pos..this.filled]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        assert!(
            amt <= this.filled - this.pos,
            "BufReader::consume({amt}) with only {} bytes buffered",
            this.filled - this.pos
        );
        this.pos += amt;
    }
}

/// Writes go straight to the inner stream; the read buffer is not involved.
impl<R: AsyncWrite + Unpin> AsyncWrite for BufReader<R> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<R: fmt::Debug> fmt::Debug for BufReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufReader")
            .field("inner", &self.inner)
            .field("buffered", &(self.filled - self.pos))
            .field("capacity", &self.buf.len())
            .finish()
    }
}
