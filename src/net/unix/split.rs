//! The two halves of a `UnixStream`: borrowed (`split`) and owned (`into_split`), shaped like
//! TCP's (`crate::net::{ReadHalf, OwnedReadHalf, ...}`) and working the same way: the read half
//! waits in the read direction's shared slot, the write half in the write direction's, and
//! the readiness methods are waiters of their own.

use std::error::Error;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{SocketAddr, UnixStream};
use crate::io::{AsyncRead, AsyncWrite};
use crate::reactor::{Interest, Ready};

/// The readiness methods of a read half: the stream's, for reading.
macro_rules! read_readiness {
    () => {
        /// [`UnixStream::ready`] on the stream this half reads from.
        pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
            self.stream().ready(interest).await
        }

        /// [`UnixStream::readable`]: waits until a read is worth trying.
        pub async fn readable(&self) -> io::Result<()> {
            self.stream().readable().await
        }

        /// [`UnixStream::try_read`]: reads without waiting, or `WouldBlock`.
        pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.stream().try_read(buf)
        }

        /// The address of this end of the stream.
        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            self.stream().local_addr()
        }

        /// The address of the other end of the stream.
        pub fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.stream().peer_addr()
        }
    };
}

/// The readiness methods of a write half: the stream's, for writing.
macro_rules! write_readiness {
    () => {
        /// [`UnixStream::ready`] on the stream this half writes to.
        pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
            self.stream().ready(interest).await
        }

        /// [`UnixStream::writable`]: waits until a write is worth trying.
        pub async fn writable(&self) -> io::Result<()> {
            self.stream().writable().await
        }

        /// [`UnixStream::try_write`]: writes without waiting, or `WouldBlock`.
        pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            self.stream().try_write(buf)
        }

        /// The address of this end of the stream.
        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            self.stream().local_addr()
        }

        /// The address of the other end of the stream.
        pub fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.stream().peer_addr()
        }
    };
}

/// The read half of a borrowed [`UnixStream::split`].
///
/// ```
/// use evloop::io::{AsyncReadExt, AsyncWriteExt};
/// use evloop::net::UnixStream;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (mut ours, mut theirs) = UnixStream::pair()?;
///     theirs.write_all(b"hi").await?;
///     let (mut read, _write) = ours.split();
///     let mut got = [0; 2];
///     read.read_exact(&mut got).await?;
///     assert_eq!(&got, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a UnixStream);

/// The write half of a borrowed [`UnixStream::split`]. `shutdown` closes the stream's write
/// direction; dropping the half does not.
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a UnixStream);

/// The splitting methods live beside the halves they make, so that `stream.rs` need not know
/// the halves (and the two files do not import each other).
impl UnixStream {
    /// Borrows the stream as a read half and a write half, usable from two futures at once.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Splits the stream into owned halves that can move into two tasks. Dropping the write
    /// half shuts down the write direction; [`OwnedReadHalf::reunite`] puts them back together.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let stream = Rc::new(self);
        (
            OwnedReadHalf {
                stream: stream.clone(),
            },
            OwnedWriteHalf {
                stream,
                shutdown_on_drop: true,
            },
        )
    }
}

impl ReadHalf<'_> {
    fn stream(&self) -> &UnixStream {
        self.0
    }

    read_readiness!();
}

impl WriteHalf<'_> {
    fn stream(&self) -> &UnixStream {
        self.0
    }

    write_readiness!();
}

impl AsyncRead for ReadHalf<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_read_shared(cx, buf)
    }
}

impl AsyncWrite for WriteHalf<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_write_shared(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.shutdown_write())
    }
}

/// The read half of [`UnixStream::into_split`]; it can move into its own task.
///
/// ```
/// use evloop::io::{AsyncReadExt, AsyncWriteExt};
/// use evloop::net::UnixStream;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (ours, mut theirs) = UnixStream::pair()?;
///     let (mut read, mut write) = ours.into_split();
///     let reader = evloop::spawn(async move {
///         let mut got = Vec::new();
///         read.read_to_end(&mut got).await.map(|_| got)
///     });
///     write.write_all(b"ping").await?;
///     drop(write); // shuts our write direction down: the peer reads EOF
///     let mut heard = Vec::new();
///     theirs.read_to_end(&mut heard).await?;
///     assert_eq!(heard, b"ping");
///     theirs.write_all(b"pong").await?;
///     drop(theirs);
///     assert_eq!(reader.await.unwrap()?, b"pong");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: Rc<UnixStream>,
}

/// The write half of [`UnixStream::into_split`]; it can move into its own task. Dropping it
/// shuts down the write direction (the peer reads EOF), unless [`forget`](Self::forget) was
/// called or it was [reunited](OwnedReadHalf::reunite).
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Rc<UnixStream>,
    shutdown_on_drop: bool,
}

/// The error of [`OwnedReadHalf::reunite`]: the halves came from different streams. Both are
/// given back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same UnixStream")
    }
}

impl Error for ReuniteError {}

impl OwnedReadHalf {
    fn stream(&self) -> &UnixStream {
        &self.stream
    }

    read_readiness!();

    /// Joins the halves back into the stream they came from.
    pub fn reunite(self, mut write: OwnedWriteHalf) -> Result<UnixStream, ReuniteError> {
        if !Rc::ptr_eq(&self.stream, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        drop(write);
        Ok(Rc::try_unwrap(self.stream).expect("only the two halves hold the stream"))
    }
}

impl OwnedWriteHalf {
    fn stream(&self) -> &UnixStream {
        &self.stream
    }

    write_readiness!();

    /// Drops the half without shutting down the write direction.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may be gone already; there is nobody to tell.
            let _ = self.stream.shutdown_write();
        }
    }
}

impl AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_read_shared(cx, buf)
    }
}

impl AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_write_shared(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.stream.shutdown_write())
    }
}
