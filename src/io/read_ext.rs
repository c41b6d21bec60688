//! [`AsyncReadExt`] and its futures: [`Read`], [`ReadExact`] and [`ReadToEnd`].
//!
//! # Invariants
//!
//! Each future holds `&mut` borrows of its reader and its buffer for its whole life, and keeps
//! its progress in its own fields, never on the stack of `poll`. So a `poll` that returns
//! `Pending` loses nothing, and the next one carries on from the same byte.
//!
//! Each `poll_read` that completes costs the task one unit of its cooperative budget, spent by
//! the reader if it is an evloop socket and by the future otherwise ([`coop`]); a read of an
//! empty buffer, which does not call the reader, costs one too. With the budget spent, the
//! futures return `Pending` after waking the task, before calling the reader again.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncRead, Error, ErrorKind, Result, assert_within_buf};
use crate::coop;

/// How many bytes [`ReadToEnd`] offers the reader in one `poll_read`.
///
/// The window is zero-filled before each read (a reader is given initialized bytes), so it
/// is kept to the 8 KiB of `std::io`'s default buffer: large enough that one system call moves
/// a useful amount, small enough that the zeroing stays cheap when reads come back short.
/// Behaviour at the time of writing, not a promise.
const READ_TO_END_WINDOW: usize = 8 * 1024;

/// Futures for reading from an [`AsyncRead`].
///
/// Implemented for every `AsyncRead`. The methods need `Self: Unpin`; pin a `!Unpin` reader
/// first (`Box::pin`, or `std::pin::pin!`), since [`Pin<P>`](Pin) is a reader too.
///
/// # Examples
///
/// A framed read, generic over the stream. In a program `reader` would be an
/// `evloop::net::TcpStream`; here it is a byte slice, which never waits, so one poll with a
/// no-op waker finishes the future.
///
/// ```
/// use std::pin::pin;
/// use std::task::{Context, Poll, Waker};
/// use evloop::io::{self, AsyncRead, AsyncReadExt};
///
/// /// Reads a 4-byte big-endian length, then that many bytes.
/// async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Vec<u8>> {
///     let mut len = [0; 4];
///     reader.read_exact(&mut len).await?;
///     let mut frame = vec![0; u32::from_be_bytes(len) as usize];
///     reader.read_exact(&mut frame).await?;
///     Ok(frame)
/// }
///
/// let mut input: &[u8] = &[0, 0, 0, 2, b'h', b'i', b'!'];
/// let mut cx = Context::from_waker(Waker::noop());
/// let Poll::Ready(frame) = pin!(read_frame(&mut input)).poll(&mut cx) else {
///     unreachable!("a byte slice is always ready");
/// };
/// assert_eq!(frame?, b"hi");
/// assert_eq!(input, b"!"); // left for the next read
/// # Ok::<(), io::Error>(())
/// ```
pub trait AsyncReadExt: AsyncRead {
    /// Reads some bytes into `buf`, with one successful `poll_read`.
    ///
    /// Resolves to the number of bytes read, which may be fewer than `buf.len()`; `0` means
    /// end of stream, or that `buf` is empty. Errors, [`ErrorKind::Interrupted`] included, are
    /// handed back as they are, as [`std::io::Read::read`] does.
    ///
    /// Dropping the future before it resolves loses no bytes.
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a, Self>
    where
        Self: Unpin,
    {
        Read { reader: self, buf }
    }

    /// Reads exactly `buf.len()` bytes into `buf`.
    ///
    /// Resolves to `buf.len()`. If the stream ends first, resolves to an error of kind
    /// [`ErrorKind::UnexpectedEof`]. [`ErrorKind::Interrupted`] is retried; any other error ends
    /// the read. An empty `buf` resolves without touching the reader.
    ///
    /// If the future is dropped, or fails, before it resolves, some bytes may have been
    /// consumed into `buf` with no way to tell how many.
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        ReadExact {
            reader: self,
            buf,
            filled: 0,
        }
    }

    /// Reads until end of stream, appending every byte to `buf`.
    ///
    /// Resolves to the number of bytes appended; what `buf` held before is left alone.
    /// [`ErrorKind::Interrupted`] is retried; any other error ends the read.
    ///
    /// If the future is dropped, or fails, before it resolves, `buf` holds exactly the bytes
    /// read so far, after its old contents.
    ///
    /// For a `String` (tokio's `read_to_string`), read into a `Vec<u8>` and check it with
    /// [`String::from_utf8`].
    #[doc(alias = "read_to_string")]
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        let start_len = buf.len();
        ReadToEnd {
            reader: self,
            buf,
            start_len,
        }
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// The future of [`AsyncReadExt::read`]: one successful `poll_read`.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Read<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut [u8],
}

impl<R: AsyncRead + Unpin + ?Sized> Future for Read<'_, R> {
    type Output = Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<usize>> {
        let this = self.get_mut();
        let progress = ready!(coop::poll_proceed_for_stream(cx));
        let n = ready!(Pin::new(&mut *this.reader).poll_read(cx, this.buf));
        progress.made_progress();
        let n = n?;
        assert_within_buf("poll_read", n, this.buf.len());
        Poll::Ready(Ok(n))
    }
}

impl<R: ?Sized> fmt::Debug for Read<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Read")
            .field("buf_len", &self.buf.len())
            .finish_non_exhaustive()
    }
}

/// The future of [`AsyncReadExt::read_exact`]: `poll_read` until `buf` is full.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadExact<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut [u8],
    /// `buf[..filled]` holds bytes already read; the next read goes to `buf[filled..]`.
    /// Never exceeds `buf.len()`.
    filled: usize,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadExact<'_, R> {
    type Output = Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<usize>> {
        let this = self.get_mut();
        if this.buf.is_empty() {
            // Done without a read, like any completed operation it costs a unit: a loop of
            // empty reads must yield too.
            ready!(coop::poll_spend(cx));
            return Poll::Ready(Ok(0));
        }
        while this.filled < this.buf.len() {
            let unfilled = &mut this.buf[this.filled..];
            let unfilled_len = unfilled.len();
            let progress = ready!(coop::poll_proceed_for_stream(cx));
            let result = ready!(Pin::new(&mut *this.reader).poll_read(cx, unfilled));
            progress.made_progress();
            match result {
                Ok(0) => {
                    let message = format!(
                        "stream ended after {} of the {} bytes read_exact needed",
                        this.filled,
                        this.buf.len()
                    );
                    return Poll::Ready(Err(Error::new(ErrorKind::UnexpectedEof, message)));
                }
                Ok(n) => {
                    assert_within_buf("poll_read", n, unfilled_len);
                    this.filled += n;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(this.buf.len()))
    }
}

impl<R: ?Sized> fmt::Debug for ReadExact<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadExact")
            .field("filled", &self.filled)
            .field("buf_len", &self.buf.len())
            .finish_non_exhaustive()
    }
}

/// The future of [`AsyncReadExt::read_to_end`]: `poll_read` into a growing `Vec` until end of
/// stream.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadToEnd<'a, R: ?Sized> {
    reader: &'a mut R,
    /// Holds the caller's bytes, then every byte read. Between polls its length covers only
    /// real bytes: the zeroed window a read goes into is cut off again before `poll` returns.
    buf: &'a mut Vec<u8>,
    /// `buf.len()` when the future was made: the bytes before it are not ours to count.
    start_len: usize,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToEnd<'_, R> {
    type Output = Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<usize>> {
        let this = self.get_mut();
        loop {
            // Grow by a zeroed window, read into it, then cut the vector back to the bytes
            // actually read, whatever the outcome, so no padding is ever left behind.
            let progress = ready!(coop::poll_proceed_for_stream(cx));
            let filled = this.buf.len();
            this.buf.resize(filled + READ_TO_END_WINDOW, 0);
            let poll = Pin::new(&mut *this.reader).poll_read(cx, &mut this.buf[filled..]);
            let n = match &poll {
                Poll::Ready(Ok(n)) => *n,
                _ => 0,
            };
            assert_within_buf("poll_read", n, READ_TO_END_WINDOW);
            this.buf.truncate(filled + n);

            let result = ready!(poll);
            progress.made_progress();
            match result {
                Ok(0) => return Poll::Ready(Ok(this.buf.len() - this.start_len)),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl<R: ?Sized> fmt::Debug for ReadToEnd<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadToEnd")
            .field("appended", &(self.buf.len() - self.start_len))
            .finish_non_exhaustive()
    }
}
