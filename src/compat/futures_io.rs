//! `futures-io` on evloop (feature `futures-io`): the `futures_io` traits for evloop's streams,
//! and wrappers both ways for everything else.
//!
//! The two families of traits have the same shape (`poll_read` into a `&mut [u8]`,
//! `poll_write`, `poll_flush`, a close that flushes first, `poll_fill_buf` and `consume`), so
//! every bridge here is a call from one method to its twin, with no buffer and no state of its
//! own. The one difference in names: `futures_io`'s `poll_close` is evloop's `poll_shutdown`
//! (for TCP, both flush and then close the write direction).
//!
//! - Implemented directly, so `futures`' combinators work on them as they are:
//!   [`TcpStream`] (with a vectored write: one `writev`), its halves ([`ReadHalf`],
//!   [`WriteHalf`], [`OwnedReadHalf`], [`OwnedWriteHalf`]), and the buffered wrappers
//!   [`BufReader`], [`BufWriter`] and [`BufStream`] (`AsyncBufRead` too) over any evloop stream.
//! - [`FuturesIo`]: any other evloop `AsyncRead`/`AsyncWrite`/`AsyncBufRead` seen as a
//!   `futures_io` one.
//! - [`EvloopIo`]: any `futures_io` stream seen as an evloop one, so evloop's helpers
//!   ([`AsyncReadExt`](crate::io::AsyncReadExt), [`copy`](crate::io::copy), ...) work on it.
//!
//! The wrappers require `T: Unpin`, as evloop's `BufReader` does: pin a `!Unpin` stream first
//! (`Box::pin(stream)` is `Unpin` and is a stream of both kinds).

use std::io::{IoSlice, Result};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::io::{AsyncBufRead, AsyncRead, AsyncWrite, BufReader, BufStream, BufWriter};
use crate::net::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpStream, WriteHalf};

/// `futures_io::AsyncRead` for an evloop reader: `poll_read` is the same call.
macro_rules! futures_read {
    ($([$($generics:tt)*] $ty:ty;)*) => {$(
        impl<$($generics)*> ::futures_io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<Result<usize>> {
                AsyncRead::poll_read(self, cx, buf)
            }
        }
    )*};
}

/// `futures_io::AsyncWrite` for an evloop writer: `poll_close` is `poll_shutdown`.
macro_rules! futures_write {
    ($([$($generics:tt)*] $ty:ty;)*) => {$(
        impl<$($generics)*> ::futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<Result<usize>> {
                AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
                AsyncWrite::poll_flush(self, cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
                AsyncWrite::poll_shutdown(self, cx)
            }
        }
    )*};
}

/// `futures_io::AsyncBufRead` for an evloop buffered reader: the same two calls.
macro_rules! futures_buf_read {
    ($([$($generics:tt)*] $ty:ty;)*) => {$(
        impl<$($generics)*> ::futures_io::AsyncBufRead for $ty {
            fn poll_fill_buf(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<Result<&[u8]>> {
                AsyncBufRead::poll_fill_buf(self, cx)
            }

            fn consume(self: Pin<&mut Self>, amt: usize) {
                AsyncBufRead::consume(self, amt)
            }
        }
    )*};
}

futures_read! {
    [] TcpStream;
    ['a] ReadHalf<'a>;
    [] OwnedReadHalf;
    [R: AsyncRead + Unpin] BufReader<R>;
    [W: AsyncRead + Unpin] BufWriter<W>;
    [S: AsyncRead + AsyncWrite + Unpin] BufStream<S>;
}

futures_write! {
    ['a] WriteHalf<'a>;
    [] OwnedWriteHalf;
    [R: AsyncWrite + Unpin] BufReader<R>;
    [W: AsyncWrite + Unpin] BufWriter<W>;
    [S: AsyncRead + AsyncWrite + Unpin] BufStream<S>;
}

futures_buf_read! {
    [R: AsyncRead + Unpin] BufReader<R>;
    [W: AsyncBufRead + Unpin] BufWriter<W>;
    [S: AsyncRead + AsyncWrite + Unpin] BufStream<S>;
}

/// Written by hand rather than by `futures_write!`: the stream has a real vectored write
/// ([`TcpStream::poll_write_vectored`]), where the trait's default writes the first non-empty
/// buffer only.
impl ::futures_io::AsyncWrite for TcpStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        AsyncWrite::poll_write(self, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<Result<usize>> {
        TcpStream::poll_write_vectored(&self, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        AsyncWrite::poll_flush(self, cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        AsyncWrite::poll_shutdown(self, cx)
    }
}

/// An evloop stream seen as a `futures_io` one: [`futures_io::AsyncRead`],
/// [`futures_io::AsyncWrite`] and [`futures_io::AsyncBufRead`], each where `T` has evloop's
/// twin.
///
/// evloop's own streams implement the `futures_io` traits already; this is for the others
/// (yours, or evloop's in-memory ones such as [`DuplexStream`](crate::io::DuplexStream)).
///
/// ```
/// use evloop::compat::FuturesIo;
/// use futures::io::AsyncReadExt as _;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     // `&[u8]` is an evloop reader; wrapped, `futures`' `read_to_string` takes it.
///     let mut reader = FuturesIo::new(&b"hello"[..]);
///     let mut text = String::new();
///     reader.read_to_string(&mut text).await?;
///     assert_eq!(text, "hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct FuturesIo<T> {
    inner: T,
}

/// A `futures_io` stream seen as an evloop one: [`AsyncRead`], [`AsyncWrite`] and
/// [`AsyncBufRead`], each where `T` has the `futures_io` twin. evloop's `poll_shutdown` is
/// `T`'s `poll_close`.
///
/// ```
/// use evloop::compat::EvloopIo;
/// use evloop::io::AsyncWriteExt;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     // A `futures` in-memory writer, driven by evloop's `write_all`.
///     let mut writer = EvloopIo::new(futures::io::Cursor::new(Vec::new()));
///     writer.write_all(b"hello").await?;
///     assert_eq!(writer.into_inner().into_inner(), b"hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct EvloopIo<T> {
    inner: T,
}

/// The accessors both wrappers have.
macro_rules! wrapper_accessors {
    ($($wrapper:ident)*) => {$(
        impl<T> $wrapper<T> {
            /// Wraps `inner`.
            pub fn new(inner: T) -> Self {
                $wrapper { inner }
            }

            /// The wrapped stream.
            pub fn get_ref(&self) -> &T {
                &self.inner
            }

            /// The wrapped stream, mutably: reading or writing through it directly is fine,
            /// since the wrapper keeps no state of its own.
            pub fn get_mut(&mut self) -> &mut T {
                &mut self.inner
            }

            /// Unwraps the stream.
            pub fn into_inner(self) -> T {
                self.inner
            }
        }
    )*};
}

wrapper_accessors!(FuturesIo EvloopIo);

impl<T: AsyncRead + Unpin> ::futures_io::AsyncRead for FuturesIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        AsyncRead::poll_read(Pin::new(&mut self.get_mut().inner), cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> ::futures_io::AsyncWrite for FuturesIo<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        AsyncWrite::poll_write(Pin::new(&mut self.get_mut().inner), cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().inner), cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        AsyncWrite::poll_shutdown(Pin::new(&mut self.get_mut().inner), cx)
    }
}

impl<T: AsyncBufRead + Unpin> ::futures_io::AsyncBufRead for FuturesIo<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<&[u8]>> {
        AsyncBufRead::poll_fill_buf(Pin::new(&mut self.get_mut().inner), cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        AsyncBufRead::consume(Pin::new(&mut self.get_mut().inner), amt)
    }
}

impl<T: ::futures_io::AsyncRead + Unpin> AsyncRead for EvloopIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        ::futures_io::AsyncRead::poll_read(Pin::new(&mut self.get_mut().inner), cx, buf)
    }
}

impl<T: ::futures_io::AsyncWrite + Unpin> AsyncWrite for EvloopIo<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        ::futures_io::AsyncWrite::poll_write(Pin::new(&mut self.get_mut().inner), cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        ::futures_io::AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().inner), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        ::futures_io::AsyncWrite::poll_close(Pin::new(&mut self.get_mut().inner), cx)
    }
}

impl<T: ::futures_io::AsyncBufRead + Unpin> AsyncBufRead for EvloopIo<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<&[u8]>> {
        ::futures_io::AsyncBufRead::poll_fill_buf(Pin::new(&mut self.get_mut().inner), cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        ::futures_io::AsyncBufRead::consume(Pin::new(&mut self.get_mut().inner), amt)
    }
}
