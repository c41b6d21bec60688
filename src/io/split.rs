//! [`split`]: one stream as a read half and a write half that can be used separately.
//!
//! Both halves hold an `Rc<RefCell<T>>` of the stream. Local: the halves are `!Send`, so they
//! stay on the runtime's thread (in two tasks, or two futures of one task).
//!
//! # Invariants
//!
//! The `RefCell` is borrowed only inside one `poll_*` call of a half, never across a
//! `Pending`, so the two halves can be polled in any order without a borrow conflict.

use std::cell::RefCell;
use std::fmt;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{AsyncRead, AsyncWrite, Result};

/// Splits a stream into a reader and a writer that can be moved and used separately, for
/// instance by two tasks.
///
/// Works for any `AsyncRead + AsyncWrite` (a [`TcpStream`] has its own, allocation-free
/// `split` and `into_split`). Unlike tokio's, the halves are `!Send`, and the stream must be
/// [`Unpin`] (pin a `!Unpin` one first: `Box::pin(stream)`).
///
/// [`TcpStream`]: crate::net::TcpStream
///
/// # Examples
///
/// ```
/// use evloop::io::{self, AsyncReadExt, AsyncWriteExt};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (stream, mut peer) = io::duplex(64);
///     let (mut reader, mut writer) = io::split(stream);
///     let writing = evloop::spawn(async move { writer.write_all(b"out").await });
///     peer.write_all(b"in").await?;
///     let mut got = [0; 2];
///     reader.read_exact(&mut got).await?;
///     assert_eq!(&got, b"in");
///     writing.await.unwrap()?;
///     let mut sent = [0; 3];
///     peer.read_exact(&mut sent).await?;
///     assert_eq!(&sent, b"out");
///     Ok::<(), io::Error>(())
/// })?;
/// # Ok::<(), io::Error>(())
/// ```
pub fn split<T>(stream: T) -> (ReadHalf<T>, WriteHalf<T>)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let shared = Rc::new(RefCell::new(stream));
    (
        ReadHalf {
            stream: shared.clone(),
        },
        WriteHalf { stream: shared },
    )
}

/// The reading half of a stream split by [`split`]. `!Send`.
///
/// [`unsplit`](Self::unsplit) gives the stream back:
///
/// ```
/// use evloop::io::{AsyncReadExt, AsyncWriteExt, duplex, split};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (stream, mut peer) = duplex(64);
///     let (mut read, write) = split(stream);
///     peer.write_all(b"hi").await?;
///     let mut got = [0; 2];
///     read.read_exact(&mut got).await?;
///     assert_eq!(&got, b"hi");
///     let _stream = read.unsplit(write);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ReadHalf<T> {
    stream: Rc<RefCell<T>>,
}

/// The writing half of a stream split by [`split`]. `!Send`.
///
/// ```
/// use evloop::io::{AsyncReadExt, AsyncWriteExt, duplex, split};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (stream, mut peer) = duplex(64);
///     let (read, mut write) = split(stream);
///     assert!(write.is_pair_of(&read));
///     write.write_all(b"hi").await?;
///     let mut got = [0; 2];
///     peer.read_exact(&mut got).await?;
///     assert_eq!(&got, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct WriteHalf<T> {
    stream: Rc<RefCell<T>>,
}

impl<T> ReadHalf<T> {
    /// Whether `other` is the write half of the same stream.
    pub fn is_pair_of(&self, other: &WriteHalf<T>) -> bool {
        Rc::ptr_eq(&self.stream, &other.stream)
    }

    /// Puts the two halves back together and returns the stream.
    ///
    /// # Panics
    ///
    /// If `other` is the write half of another stream.
    pub fn unsplit(self, other: WriteHalf<T>) -> T {
        assert!(
            self.is_pair_of(&other),
            "ReadHalf::unsplit: the WriteHalf belongs to another stream"
        );
        drop(other);
        match Rc::try_unwrap(self.stream) {
            Ok(stream) => stream.into_inner(),
            Err(_) => unreachable!("the two halves are the only owners of the stream"),
        }
    }
}

impl<T> WriteHalf<T> {
    /// Whether `other` is the read half of the same stream.
    pub fn is_pair_of(&self, other: &ReadHalf<T>) -> bool {
        other.is_pair_of(self)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ReadHalf<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        Pin::new(&mut *self.stream.borrow_mut()).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteHalf<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        Pin::new(&mut *self.stream.borrow_mut()).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut *self.stream.borrow_mut()).poll_flush(cx)
    }

    /// Shuts down the write direction of the stream; the read half can still read.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut *self.stream.borrow_mut()).poll_shutdown(cx)
    }
}

impl<T> fmt::Debug for ReadHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadHalf").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for WriteHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteHalf").finish_non_exhaustive()
    }
}
