//! [`AsyncBufRead`]: a reader with a buffer the caller can look into before taking bytes.

use std::ops::DerefMut;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{AsyncRead, Result};

/// A reader with an internal buffer, read by looking at the buffer and then taking bytes.
///
/// The asynchronous counterpart of [`std::io::BufRead`]: [`poll_fill_buf`] returns the
/// buffered bytes, reading from the source only if the buffer is empty, and [`consume`] marks
/// the first `amt` of them as used. Most code does not call these directly but awaits the
/// futures of [`AsyncBufReadExt`](super::AsyncBufReadExt) (`read_line`, `lines`, ...).
/// [`BufReader`](super::BufReader) adds a buffer to any [`AsyncRead`].
///
/// # The contract an implementation keeps
///
/// 1. `poll_fill_buf` returns `Ready(Ok(bytes))` with `bytes` empty only at end of stream.
/// 2. The bytes it returns stay the same until the next `consume` or `poll_read`.
/// 3. `consume(amt)` is called with `amt` at most the length of the last `poll_fill_buf`
///    result; an implementation may panic otherwise.
///
/// [`poll_fill_buf`]: AsyncBufRead::poll_fill_buf
/// [`consume`]: AsyncBufRead::consume
///
/// # Examples
///
/// ```
/// use std::pin::Pin;
/// use std::task::{Context, Poll, Waker};
/// use evloop::io::AsyncBufRead;
///
/// let mut input: &[u8] = b"ab";
/// let mut cx = Context::from_waker(Waker::noop());
/// let Poll::Ready(Ok(bytes)) = Pin::new(&mut input).poll_fill_buf(&mut cx) else {
///     unreachable!("a byte slice is always ready");
/// };
/// assert_eq!(bytes, b"ab");
/// Pin::new(&mut input).consume(1);
/// assert_eq!(input, b"b");
/// ```
pub trait AsyncBufRead: AsyncRead {
    /// Returns the buffered bytes, first reading from the source if there are none.
    ///
    /// `Ready(Ok(&[]))` means end of stream. `Pending` means the buffer is empty and the task
    /// will be woken through `cx` when the source may have bytes.
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<&[u8]>>;

    /// Marks the first `amt` buffered bytes as read: the next `poll_fill_buf` or `poll_read`
    /// starts after them.
    fn consume(self: Pin<&mut Self>, amt: usize);
}

impl<T: AsyncBufRead + Unpin + ?Sized> AsyncBufRead for &mut T {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<&[u8]>> {
        Pin::new(&mut **self.get_mut()).poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut **self.get_mut()).consume(amt)
    }
}

impl<T: AsyncBufRead + Unpin + ?Sized> AsyncBufRead for Box<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<&[u8]>> {
        Pin::new(&mut **self.get_mut()).poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut **self.get_mut()).consume(amt)
    }
}

/// Lets a pinned `!Unpin` buffered reader be used where an `Unpin` one is needed.
impl<P> AsyncBufRead for Pin<P>
where
    P: DerefMut<Target: AsyncBufRead>,
{
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<&[u8]>> {
        self.as_deref_mut().poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.as_deref_mut().consume(amt)
    }
}

/// The slice is its own buffer: `poll_fill_buf` returns all of it, `consume` takes bytes off
/// the front. Never returns `Pending`.
impl AsyncBufRead for &[u8] {
    fn poll_fill_buf(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<&[u8]>> {
        Poll::Ready(Ok(*self.get_mut()))
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        assert!(
            amt <= self.len(),
            "consume({amt}) on a slice of {} bytes",
            self.len()
        );
        *self = &self[amt..];
    }
}
