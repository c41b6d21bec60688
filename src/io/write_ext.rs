//! [`AsyncWriteExt`] and its futures: [`Write`], [`WriteAll`], [`Flush`] and [`Shutdown`].
//!
//! # Invariants
//!
//! Each future holds a `&mut` borrow of its writer for its whole life and keeps its progress
//! in its own fields, never on the stack of `poll`. So a `poll` that returns `Pending` loses
//! nothing, and the next one carries on from the same byte or step.
//!
//! Each `poll_write`, `poll_flush` or `poll_shutdown` that completes costs the task one unit of
//! its cooperative budget, spent by the writer if it is an evloop socket and by the future
//! otherwise ([`coop`]); a `write_all` of an empty buffer, which does not call the writer,
//! costs one too. With the budget spent, the futures return `Pending` after waking the task,
//! before calling the writer again.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncWrite, Error, ErrorKind, Result, assert_within_buf};
use crate::coop;

/// Futures for writing to an [`AsyncWrite`].
///
/// Implemented for every `AsyncWrite`. The methods need `Self: Unpin`; pin a `!Unpin` writer
/// first (`Box::pin`, or `std::pin::pin!`), since [`Pin<P>`](Pin) is a writer too.
///
/// # Examples
///
/// A framed write, generic over the stream. In a program `writer` would be an
/// `evloop::net::TcpStream`; here it is a `Vec<u8>`, which never waits, so one poll with a
/// no-op waker finishes the future.
///
/// ```
/// use std::pin::pin;
/// use std::task::{Context, Poll, Waker};
/// use evloop::io::{self, AsyncWrite, AsyncWriteExt};
///
/// /// Writes a 4-byte big-endian length, then the frame, then closes the stream.
/// async fn send_frame<W: AsyncWrite + Unpin>(writer: &mut W, frame: &[u8]) -> io::Result<()> {
///     let len = u32::try_from(frame.len()).expect("frame fits a u32 length");
///     writer.write_all(&len.to_be_bytes()).await?;
///     writer.write_all(frame).await?;
///     writer.shutdown().await
/// }
///
/// let mut output = Vec::new();
/// let mut cx = Context::from_waker(Waker::noop());
/// let Poll::Ready(sent) = pin!(send_frame(&mut output, b"hi")).poll(&mut cx) else {
///     unreachable!("a Vec is always ready");
/// };
/// sent?;
/// assert_eq!(output, [0, 0, 0, 2, b'h', b'i']);
/// # Ok::<(), io::Error>(())
/// ```
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some bytes from `buf`, with one successful `poll_write`.
    ///
    /// Resolves to the number of bytes written, which may be fewer than `buf.len()`. Errors,
    /// [`ErrorKind::Interrupted`] included, are handed back as they are, as
    /// [`std::io::Write::write`] does.
    ///
    /// Dropping the future before it resolves writes nothing.
    fn write<'a>(&'a mut self, buf: &'a [u8]) -> Write<'a, Self>
    where
        Self: Unpin,
    {
        Write { writer: self, buf }
    }

    /// Writes every byte of `buf`, in order.
    ///
    /// A write that accepts no bytes ends it with an error of kind [`ErrorKind::WriteZero`].
    /// [`ErrorKind::Interrupted`] is retried; any other error ends the write. An empty `buf`
    /// resolves without touching the writer.
    ///
    /// If the future is dropped, or fails, before it resolves, a prefix of `buf` may have been
    /// written with no way to tell how long.
    fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> WriteAll<'a, Self>
    where
        Self: Unpin,
    {
        WriteAll { writer: self, buf }
    }

    /// Flushes the writer: resolves once `poll_flush` does.
    fn flush(&mut self) -> Flush<'_, Self>
    where
        Self: Unpin,
    {
        Flush { writer: self }
    }

    /// Flushes, then shuts down the write direction.
    ///
    /// Polls `poll_flush` until it is ready, then `poll_shutdown`; a flush error ends it
    /// without shutting down. `poll_shutdown` flushes by contract too, but flushing here first
    /// means data is not lost to a writer that forgets, and a flushed writer finds nothing to
    /// do the second time.
    fn shutdown(&mut self) -> Shutdown<'_, Self>
    where
        Self: Unpin,
    {
        Shutdown {
            writer: self,
            flushed: false,
        }
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

/// The future of [`AsyncWriteExt::write`]: one successful `poll_write`.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Write<'a, W: ?Sized> {
    writer: &'a mut W,
    buf: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Write<'_, W> {
    type Output = Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<usize>> {
        let this = self.get_mut();
        let progress = ready!(coop::poll_proceed_for_stream(cx));
        let n = ready!(Pin::new(&mut *this.writer).poll_write(cx, this.buf));
        progress.made_progress();
        let n = n?;
        assert_within_buf("poll_write", n, this.buf.len());
        Poll::Ready(Ok(n))
    }
}

impl<W: ?Sized> fmt::Debug for Write<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Write")
            .field("buf_len", &self.buf.len())
            .finish_non_exhaustive()
    }
}

/// The future of [`AsyncWriteExt::write_all`]: `poll_write` until every byte is written.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteAll<'a, W: ?Sized> {
    writer: &'a mut W,
    /// The bytes not written yet: each write cuts what it accepted off the front.
    buf: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteAll<'_, W> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        if this.buf.is_empty() {
            // Done without a write, like any completed operation it costs a unit: a loop of
            // empty writes must yield too.
            ready!(coop::poll_spend(cx));
            return Poll::Ready(Ok(()));
        }
        while !this.buf.is_empty() {
            let progress = ready!(coop::poll_proceed_for_stream(cx));
            let result = ready!(Pin::new(&mut *this.writer).poll_write(cx, this.buf));
            progress.made_progress();
            match result {
                Ok(0) => {
                    let message = format!(
                        "writer accepted no bytes with {} still to write",
                        this.buf.len()
                    );
                    return Poll::Ready(Err(Error::new(ErrorKind::WriteZero, message)));
                }
                Ok(n) => {
                    assert_within_buf("poll_write", n, this.buf.len());
                    this.buf = &this.buf[n..];
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<W: ?Sized> fmt::Debug for WriteAll<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteAll")
            .field("remaining", &self.buf.len())
            .finish_non_exhaustive()
    }
}

/// The future of [`AsyncWriteExt::flush`]: `poll_flush` until it is ready.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Flush<'a, W: ?Sized> {
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Flush<'_, W> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let progress = ready!(coop::poll_proceed_for_stream(cx));
        let result = ready!(Pin::new(&mut *self.get_mut().writer).poll_flush(cx));
        progress.made_progress();
        Poll::Ready(result)
    }
}

impl<W: ?Sized> fmt::Debug for Flush<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flush").finish_non_exhaustive()
    }
}

/// The future of [`AsyncWriteExt::shutdown`]: `poll_flush` until it is ready, then
/// `poll_shutdown` until it is.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Shutdown<'a, W: ?Sized> {
    writer: &'a mut W,
    /// Set once `poll_flush` has returned `Ready(Ok(()))`; from then on only `poll_shutdown`
    /// is called.
    flushed: bool,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Shutdown<'_, W> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        if !this.flushed {
            let progress = ready!(coop::poll_proceed_for_stream(cx));
            let flushed = ready!(Pin::new(&mut *this.writer).poll_flush(cx));
            progress.made_progress();
            flushed?;
            this.flushed = true;
        }
        let progress = ready!(coop::poll_proceed_for_stream(cx));
        let result = ready!(Pin::new(&mut *this.writer).poll_shutdown(cx));
        progress.made_progress();
        Poll::Ready(result)
    }
}

impl<W: ?Sized> fmt::Debug for Shutdown<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("flushed", &self.flushed)
            .finish_non_exhaustive()
    }
}
