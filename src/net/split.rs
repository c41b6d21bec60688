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
///
/// ```
/// use evloop::io::{AsyncReadExt, AsyncWriteExt};
/// use evloop::net::{TcpListener, TcpStream};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"hello").await?;
///
///     let (mut read, _write) = server.split();
///     let mut buf = [0; 5];
///     read.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of a borrowed [`TcpStream::split`]. `shutdown` closes the stream's write
/// direction; dropping the half does not.
///
/// ```
/// use evloop::io::{AsyncReadExt, AsyncWriteExt};
/// use evloop::net::{TcpListener, TcpStream};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///
///     let (_read, mut write) = server.split();
///     write.write_all(b"bye").await?;
///     write.shutdown().await?; // the client reads EOF after "bye"
///     let mut reply = Vec::new();
///     client.read_to_end(&mut reply).await?;
///     assert_eq!(reply, b"bye");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

/// The splitting methods live beside the halves they make, so that `stream.rs` need not know
/// the halves (and the two files do not import each other).
impl TcpStream {
    /// Borrows the stream as a read half and a write half, usable from two futures at once
    /// (joined in one task, for instance). See [`into_split`](Self::into_split) for halves
    /// that can move into two tasks.
    ///
    /// An echo server's connection, with the halves copying into each other:
    ///
    /// ```
    /// use evloop::io::{AsyncReadExt, AsyncWriteExt};
    /// use evloop::net::{TcpListener, TcpStream};
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///
    ///     let echo = async {
    ///         let (mut read, mut write) = server.split();
    ///         evloop::io::copy(&mut read, &mut write).await?;
    ///         write.shutdown().await
    ///     };
    ///     let talk = async {
    ///         client.write_all(b"ping").await?;
    ///         client.shutdown().await?;
    ///         let mut reply = Vec::new();
    ///         client.read_to_end(&mut reply).await?;
    ///         Ok::<_, std::io::Error>(reply)
    ///     };
    ///     let (echoed, reply) = evloop::future::join(echo, talk).await;
    ///     echoed?;
    ///     assert_eq!(reply?, b"ping");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Splits the stream into owned halves that can move into two tasks. Dropping the write
    /// half shuts down the write direction; [`OwnedReadHalf::reunite`] puts them back together.
    ///
    /// ```
    /// use evloop::io::{AsyncReadExt, AsyncWriteExt};
    /// use evloop::net::{TcpListener, TcpStream};
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///
    ///     // One task writes, and dropping its half tells the server the client is done.
    ///     let (mut read, mut write) = client.into_split();
    ///     let writer = evloop::spawn(async move { write.write_all(b"a request").await });
    ///     let mut request = Vec::new();
    ///     server.read_to_end(&mut request).await?;
    ///     assert_eq!(request, b"a request");
    ///     writer.await.unwrap()?;
    ///
    ///     server.write_all(b"a reply").await?;
    ///     let mut reply = [0; 7];
    ///     read.read_exact(&mut reply).await?;
    ///     assert_eq!(&reply, b"a reply");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
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
///
/// ```
/// use evloop::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
/// use evloop::net::{TcpListener, TcpStream};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     let (read, _write) = server.into_split();
///
///     // A task of its own reads the lines.
///     let reader = evloop::spawn(async move {
///         let mut lines = BufReader::new(read).lines();
///         let mut got = Vec::new();
///         while let Some(line) = lines.next_line().await? {
///             got.push(line);
///         }
///         Ok::<_, std::io::Error>(got)
///     });
///     client.write_all(b"one\ntwo\n").await?;
///     client.shutdown().await?;
///     assert_eq!(reader.await.unwrap()?, ["one", "two"]);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: Rc<TcpStream>,
}

/// The write half of [`TcpStream::into_split`]; it can move into its own task. Dropping it
/// shuts down the write direction (the peer reads EOF), unless [`forget`](Self::forget) was
/// called or it was [reunited](OwnedReadHalf::reunite).
///
/// ```
/// use evloop::io::{AsyncReadExt, AsyncWriteExt};
/// use evloop::net::{TcpListener, TcpStream};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     let (_read, mut write) = server.into_split();
///
///     evloop::spawn(async move {
///         write.write_all(b"done").await
///         // `write` drops here: the client reads EOF.
///     });
///     let mut got = Vec::new();
///     client.read_to_end(&mut got).await?;
///     assert_eq!(got, b"done");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Rc<TcpStream>,
    shutdown_on_drop: bool,
}

/// The error of [`OwnedReadHalf::reunite`]: the halves came from different streams. Both are
/// given back.
///
/// ```
/// use evloop::net::{TcpListener, TcpStream};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let one = TcpStream::connect(listener.local_addr()?).await?;
///     let two = TcpStream::connect(listener.local_addr()?).await?;
///     let (read_one, write_one) = one.into_split();
///     let (read_two, write_two) = two.into_split();
///
///     let error = read_one.reunite(write_two).unwrap_err();
///     // Both halves come back, and each pair reunites.
///     let evloop::net::ReuniteError(read_one, write_two) = error;
///     read_one.reunite(write_one).unwrap();
///     read_two.reunite(write_two).unwrap();
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
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
