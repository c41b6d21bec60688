//! Poll-based I/O traits, [`AsyncRead`] and [`AsyncWrite`], and the helpers built on them.
//!
//! The traits are the asynchronous twins of [`std::io::Read`] and [`std::io::Write`]: one
//! `poll_*` call tries the operation once and, if the stream is not ready, returns
//! [`Poll::Pending`] after arranging for the task to be woken. Code written against the traits
//! works with any stream: a TCP socket, an in-memory buffer, a test double.
//!
//! Buffers are plain byte slices. There is no `ReadBuf`: a reader is handed an initialized
//! `&mut [u8]` and says how many bytes it filled.
//!
//! The extension traits [`AsyncReadExt`] and [`AsyncWriteExt`] turn the poll methods into
//! futures (`read`, `read_exact`, `read_to_end`, `write`, `write_all`, `flush`, `shutdown`), and
//! [`copy`] moves a whole stream from a reader to a writer. Each extension method returns a
//! named future type, so it can be stored in a struct, and that type is [`Unpin`], so it can be
//! polled by hand without pinning.
//!
//! The rest of tokio's `io` helpers, with the same names and meaning:
//!
//! - [`AsyncBufRead`] (a reader with a buffer to look into) and [`AsyncBufReadExt`]:
//!   `read_until`, `read_line`, `lines` ([`Lines`]), `split` ([`Split`]), `fill_buf`, `consume`;
//! - [`BufReader`], [`BufWriter`] and [`BufStream`], which add buffers to any stream;
//! - [`copy_buf`] (from an `AsyncBufRead`, no buffer of its own) and [`copy_bidirectional`]
//!   (a proxy between two streams in one future);
//! - [`split`]: any stream as a [`ReadHalf`] and a [`WriteHalf`];
//! - [`duplex`]: a bounded in-memory pipe pair, for tests and for connecting tasks;
//! - [`empty`], [`repeat`] and [`sink`], like their `std::io` namesakes.
//!
//! Two differences from tokio: the wrappers need an [`Unpin`] inner stream (pin a `!Unpin` one
//! first, `Box::pin(stream)`), and the shared ones, [`DuplexStream`] and the split halves, are
//! local: `!Send`, built on `Rc<RefCell<_>>`, like everything on the runtime's thread. The
//! streams that can complete without waiting (`empty`, `repeat`, `sink`, a `DuplexStream` with
//! bytes or room, a `BufReader` with buffered bytes) spend one unit of the cooperative budget
//! ([`crate::coop`]) per operation, so a loop over them still yields to other tasks.
//!
//! # The contract an implementation keeps
//!
//! 1. `poll_read` returns `Ready(Ok(n))` with `n <= buf.len()` after writing `buf[..n]`.
//!    `Ok(0)` means end of stream, or that `buf` was empty.
//! 2. `poll_write` returns `Ready(Ok(n))` with `n <= buf.len()` after accepting `buf[..n]`.
//!    `Ok(0)` for a non-empty `buf` means the writer cannot take more bytes.
//! 3. `Pending` means nothing was read or written, and the waker in the `Context` will be
//!    woken when trying again may make progress.
//! 4. `poll_shutdown` flushes first, then closes the write direction.
//!
//! # What the helpers promise
//!
//! - They panic if a poll reports more bytes than the buffer it was given (rule 1 or 2 broken),
//!   rather than report bytes that were never moved.
//! - The helpers that loop (`read_exact`, `read_to_end`, `write_all`, [`copy`]) retry
//!   [`ErrorKind::Interrupted`] from `poll_read`/`poll_write`, as `std`'s do. The one-call
//!   helpers (`read`, `write`, `flush`, `shutdown`) hand every error back, as
//!   [`std::io::Read::read`] does.
//! - They return `Pending` only when the stream did, so the stream's waker registration is the
//!   one that wakes the task.
//! - Their progress lives in the future: after `Pending`, the next poll carries on where the
//!   last one stopped.
//!
//! [`Poll::Pending`]: std::task::Poll::Pending

use std::ops::DerefMut;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use std::io::{Error, ErrorKind, Result};

mod buf_read;
mod buf_read_ext;
mod buf_reader;
mod buf_stream;
mod buf_writer;
mod copy;
mod copy_bidirectional;
mod copy_buf;
mod duplex;
mod empty;
mod lines;
mod read_ext;
mod repeat;
mod segments;
mod sink;
mod split;
mod write_ext;

#[cfg(test)]
mod tests;

pub use buf_read::AsyncBufRead;
pub use buf_read_ext::{AsyncBufReadExt, FillBuf, ReadLine, ReadUntil};
pub use buf_reader::BufReader;
pub use buf_stream::BufStream;
pub use buf_writer::BufWriter;
pub use copy::copy;
pub use copy_bidirectional::copy_bidirectional;
pub use copy_buf::copy_buf;
pub use duplex::{DuplexStream, duplex};
pub use empty::{Empty, empty};
pub use lines::Lines;
pub use read_ext::{AsyncReadExt, Read, ReadExact, ReadToEnd};
pub use repeat::{Repeat, repeat};
pub use segments::Split;
pub use sink::{Sink, sink};
pub use split::{ReadHalf, WriteHalf, split};
pub use write_ext::{AsyncWriteExt, Flush, Shutdown, Write, WriteAll};

/// Reads bytes from a source that may not be ready yet.
///
/// The asynchronous counterpart of [`std::io::Read`]. Most code does not call
/// [`poll_read`](AsyncRead::poll_read) directly but awaits the futures of [`AsyncReadExt`].
///
/// # Examples
///
/// A reader that is always ready and never ends:
///
/// ```
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
/// use evloop::io::{self, AsyncRead};
///
/// /// Yields the same byte forever, like `std::io::repeat`.
/// struct Repeat(u8);
///
/// impl AsyncRead for Repeat {
///     fn poll_read(
///         self: Pin<&mut Self>,
///         _cx: &mut Context<'_>,
///         buf: &mut [u8],
///     ) -> Poll<io::Result<usize>> {
///         // Always ready, so there is no waker to register.
///         buf.fill(self.0);
///         Poll::Ready(Ok(buf.len()))
///     }
/// }
/// ```
pub trait AsyncRead {
    /// Tries to read bytes into `buf`.
    ///
    /// Returns `Ready(Ok(n))` once `buf[..n]` holds `n` new bytes, with `n <= buf.len()`.
    /// `Ok(0)` means end of stream, or that `buf` is empty. `Pending` means no bytes were read
    /// and the task will be woken through `cx` when the source may have some.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8])
    -> Poll<Result<usize>>;
}

/// Writes bytes to a sink that may not be ready yet.
///
/// The asynchronous counterpart of [`std::io::Write`], plus
/// [`poll_shutdown`](AsyncWrite::poll_shutdown) to close the write direction. Most code does
/// not call the poll methods directly but awaits the futures of [`AsyncWriteExt`].
///
/// # Examples
///
/// A writer that is always ready and only counts what it is given:
///
/// ```
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
/// use evloop::io::{self, AsyncWrite};
///
/// /// Accepts every byte and remembers how many there were.
/// struct Counter {
///     bytes: usize,
/// }
///
/// impl AsyncWrite for Counter {
///     fn poll_write(
///         mut self: Pin<&mut Self>,
///         _cx: &mut Context<'_>,
///         buf: &[u8],
///     ) -> Poll<io::Result<usize>> {
///         self.bytes += buf.len();
///         Poll::Ready(Ok(buf.len()))
///     }
///
///     fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
///         // Nothing is buffered, so there is nothing to flush.
///         Poll::Ready(Ok(()))
///     }
///
///     fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
///         Poll::Ready(Ok(()))
///     }
/// }
/// ```
pub trait AsyncWrite {
    /// Tries to write bytes from `buf`.
    ///
    /// Returns `Ready(Ok(n))` once the first `n` bytes of `buf` are accepted, with
    /// `n <= buf.len()`. `Ok(0)` for a non-empty `buf` means the writer cannot accept more.
    /// `Pending` means no bytes were accepted and the task will be woken through `cx` when the
    /// sink may take some.
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>>;

    /// Tries to push every byte buffered inside the writer to its destination.
    ///
    /// Returns `Ready(Ok(()))` once nothing accepted by `poll_write` is held back any more.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>>;

    /// Flushes, then closes the write direction.
    ///
    /// For TCP this is `shutdown(Write)`: the peer reads end of stream, and this side can still
    /// read. Writes after `Ready(Ok(()))` fail.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>>;
}

impl<T: AsyncRead + Unpin + ?Sized> AsyncRead for &mut T {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        Pin::new(&mut **self.get_mut()).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + Unpin + ?Sized> AsyncRead for Box<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        Pin::new(&mut **self.get_mut()).poll_read(cx, buf)
    }
}

/// Lets a pinned `!Unpin` reader, such as `Pin<Box<R>>` or `Pin<&mut R>`, be used where an
/// `Unpin` one is needed.
impl<P> AsyncRead for Pin<P>
where
    P: DerefMut<Target: AsyncRead>,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        self.as_deref_mut().poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin + ?Sized> AsyncWrite for &mut T {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        Pin::new(&mut **self.get_mut()).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut **self.get_mut()).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut **self.get_mut()).poll_shutdown(cx)
    }
}

impl<T: AsyncWrite + Unpin + ?Sized> AsyncWrite for Box<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        Pin::new(&mut **self.get_mut()).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut **self.get_mut()).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut **self.get_mut()).poll_shutdown(cx)
    }
}

/// Lets a pinned `!Unpin` writer, such as `Pin<Box<W>>` or `Pin<&mut W>`, be used where an
/// `Unpin` one is needed.
impl<P> AsyncWrite for Pin<P>
where
    P: DerefMut<Target: AsyncWrite>,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        self.as_deref_mut().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.as_deref_mut().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.as_deref_mut().poll_shutdown(cx)
    }
}

/// Reads from memory, like `impl Read for &[u8]`: each read takes bytes off the front of the
/// slice, and an empty slice is end of stream. Never returns `Pending`.
impl AsyncRead for &[u8] {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        let n = buf.len().min(self.len());
        let (taken, rest) = self.split_at(n);
        buf[..n].copy_from_slice(taken);
        *self = rest;
        Poll::Ready(Ok(n))
    }
}

/// Writes to memory, like `impl Write for Vec<u8>`: every write appends all of `buf`. Flush and
/// shutdown have nothing to do. Never returns `Pending`.
impl AsyncWrite for Vec<u8> {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        self.get_mut().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Panics unless `reported`, the byte count a `poll_read`/`poll_write` returned, fits the
/// `len`-byte buffer it was given.
///
/// A stream that breaks this rule would otherwise make a helper report bytes that were never
/// moved, or slice out of bounds somewhere less obvious.
fn assert_within_buf(call: &str, reported: usize, len: usize) {
    assert!(
        reported <= len,
        "{call} reported {reported} bytes for a buffer of {len} bytes"
    );
}
