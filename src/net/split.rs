//! The two halves of a `TcpStream`: borrowed (`split`) and owned (`into_split`).
//!
//! Both kinds work because the reactor keeps a shared waker slot per direction: the read
//! half's `poll_read` waits in the reader slot, the write half's `poll_write` in the writer
//! slot. The readiness methods (`readable`, `writable`, `ready`) are waiters of their own, as
//! on the stream, so any number of them may wait on either half.

use std::error::Error;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{Interest, Ready, TcpStream};
use crate::io::{AsyncRead, AsyncWrite};

/// The readiness methods of a read half: the stream's, for reading.
macro_rules! read_readiness {
    () => {
        /// [`TcpStream::ready`] on the stream this half reads from.
        pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
            self.stream().ready(interest).await
        }

        /// [`TcpStream::readable`]: waits until a read is worth trying; any number may wait.
        pub async fn readable(&self) -> io::Result<()> {
            self.stream().readable().await
        }

        /// [`TcpStream::try_read`]: reads without waiting, or `WouldBlock`.
        pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.stream().try_read(buf)
        }
    };
}

/// The readiness methods of a write half: the stream's, for writing.
macro_rules! write_readiness {
    () => {
        /// [`TcpStream::ready`] on the stream this half writes to.
        pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
            self.stream().ready(interest).await
        }

        /// [`TcpStream::writable`]: waits until a write is worth trying; any number may wait.
        pub async fn writable(&self) -> io::Result<()> {
            self.stream().writable().await
        }

        /// [`TcpStream::try_write`]: writes without waiting, or `WouldBlock`.
        pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            self.stream().try_write(buf)
        }
    };
}

/// The read half of a borrowed [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of a borrowed [`TcpStream::split`]. `shutdown` closes the stream's write
/// direction; dropping the half does not.
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

/// The splitting methods live beside the halves they make, so that `stream.rs` need not know
/// the halves (and the two files do not import each other).
impl TcpStream {
    /// Borrows the stream as a read half and a write half, usable from two futures at once
    /// (joined in one task, for instance). See [`into_split`](Self::into_split) for halves
    /// that can move into two tasks.
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
    fn stream(&self) -> &TcpStream {
        self.0
    }

    read_readiness!();
}

impl WriteHalf<'_> {
    fn stream(&self) -> &TcpStream {
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

/// The read half of [`TcpStream::into_split`]; it can move into its own task.
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: Rc<TcpStream>,
}

/// The write half of [`TcpStream::into_split`]; it can move into its own task. Dropping it
/// shuts down the write direction (the peer reads EOF), unless [`forget`](Self::forget) was
/// called or it was [reunited](OwnedReadHalf::reunite).
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Rc<TcpStream>,
    shutdown_on_drop: bool,
}

/// The error of [`OwnedReadHalf::reunite`]: the halves came from different streams. Both are
/// given back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same TcpStream")
    }
}

impl Error for ReuniteError {}

impl OwnedReadHalf {
    fn stream(&self) -> &TcpStream {
        &self.stream
    }

    read_readiness!();

    /// Joins the halves back into the stream they came from.
    pub fn reunite(self, mut write: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Rc::ptr_eq(&self.stream, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        drop(write);
        Ok(Rc::try_unwrap(self.stream).expect("only the two halves hold the stream"))
    }

    /// The address of the peer at the other end of the connection.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The address of this end of the connection (the port the kernel picked, for a client).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl OwnedWriteHalf {
    fn stream(&self) -> &TcpStream {
        &self.stream
    }

    write_readiness!();

    /// Drops the half without shutting down the write direction.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// The address of the peer at the other end of the connection.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The address of this end of the connection (the port the kernel picked, for a client).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may already have reset the connection; there is nobody to tell.
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
