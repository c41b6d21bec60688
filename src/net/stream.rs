//! `TcpStream`: a connected TCP socket.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, Read, Write};
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::resolve;
use crate::context;
use crate::io::{AsyncRead, AsyncWrite};
use crate::reactor::{Direction, Interest, PollEvented, Ready};

/// A TCP connection, readable and writable through [`AsyncRead`] and [`AsyncWrite`] (use the
/// methods of [`AsyncReadExt`](crate::io::AsyncReadExt) and
/// [`AsyncWriteExt`](crate::io::AsyncWriteExt)).
///
/// The read and write directions wait independently: after [`split`](Self::split) or
/// [`into_split`](Self::into_split), one task may read while another writes.
///
/// A read into an empty buffer, or a write of an empty buffer, completes at once with `Ok(0)`
/// whatever the socket's state: there is nothing to wait for.
///
/// # Waiting on one stream from many places
///
/// [`readable`](Self::readable), [`writable`](Self::writable) and [`ready`](Self::ready) take
/// `&self`, and any number of them may wait on one stream at once, in several tasks or in one:
/// each future is a waiter of its own, and one readiness event wakes every one it satisfies.
/// Pair them with [`try_read`](Self::try_read) and [`try_write`](Self::try_write), which never
/// wait:
///
/// ```
/// use evloop::net::{TcpListener, TcpStream};
/// use std::io::Write;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
///     peer.write_all(b"hi")?;
///     let (stream, _) = listener.accept().await?;
///     let mut buf = [0; 16];
///     let n = loop {
///         stream.readable().await?;
///         match stream.try_read(&mut buf) {
///             Ok(n) => break n,
///             // Readiness was a hint; the next `readable` waits for a new event.
///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
///             Err(e) => return Err(e),
///         }
///     };
///     assert_eq!(&buf[..n], b"hi");
///     Ok(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// The `poll_*` methods (`poll_read`, `poll_write`, [`poll_read_ready`](Self::poll_read_ready),
/// [`poll_write_ready`](Self::poll_write_ready)) instead share one waker per direction: only
/// the most recent caller's waker is woken, as with tokio's. They suit the one reader and the
/// one writer that `&mut self` (or a split half) allows.
pub struct TcpStream {
    io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each of its addresses in turn; the error of the last one
    /// if none accepts.
    ///
    /// ```no_run
    /// use evloop::io::AsyncWriteExt;
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut stream = evloop::net::TcpStream::connect("127.0.0.1:7000").await?;
    ///     stream.write_all(b"ping\n").await
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let mut last_error = None;
        for addr in resolve(addr)? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("resolve returns at least one address"))
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        poll_fn(|cx| stream.poll_connected(cx)).await?;
        Ok(stream)
    }

    /// Ready once a non-blocking connect has finished: writable, then either an error in
    /// `SO_ERROR` or a peer address (no peer address yet means a spurious wake-up).
    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(
                self.io
                    .registration()
                    .poll_ready(cx, Direction::Write, None)
            )?;
            if let Some(error) = self.io.get_ref().take_error()? {
                return Poll::Ready(Err(error));
            }
            match self.io.get_ref().peer_addr() {
                Ok(_) => return Poll::Ready(Ok(())),
                Err(error) if error.kind() == io::ErrorKind::NotConnected => {
                    self.io.registration().clear_ready(Direction::Write);
                }
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }

    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(stream, &context::current_reactor()?)?,
        })
    }

    /// Wraps a connected `std` stream (made non-blocking here) into the current runtime.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// The address of the peer at the other end of the connection.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The address of this end of the connection (the port the kernel picked, for a client).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY`: send small writes at once instead of coalescing them (Nagle).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Waits until the stream is ready for any of `interest` and says for what.
    ///
    /// Any number of these futures may wait at once (see the type's docs); each is woken by
    /// the event that satisfies it. Readiness is a hint: the operation that follows may still
    /// return `WouldBlock`, which clears it so that the next wait sleeps until the next event.
    /// A peer's EOF or reset counts as ready ([`Ready::is_read_closed`],
    /// [`Ready::is_write_closed`]).
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.registration().ready(interest).await
    }

    /// Waits until a read is worth trying (data, EOF or an error); then
    /// [`try_read`](Self::try_read). Any number may wait at once.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Waits until a write is worth trying (room, or an error); then
    /// [`try_write`](Self::try_write). Any number may wait at once.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(drop)
    }

    /// Reads what has arrived into `buf`, without waiting: `WouldBlock` if nothing has (or the
    /// reactor has seen nothing arrive since the last `WouldBlock`), `Ok(0)` at EOF or for an
    /// empty `buf`.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.io
            .registration()
            .try_transfer(Direction::Read, buf.len(), || {
                (&mut self.io.get_ref()).read(buf)
            })
    }

    /// Writes as much of `buf` as the send buffer takes, without waiting: `WouldBlock` if it
    /// is full (or the reactor has seen no room since the last `WouldBlock`), `Ok(0)` for an
    /// empty `buf`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.io
            .registration()
            .try_transfer(Direction::Write, buf.len(), || {
                (&mut self.io.get_ref()).write(buf)
            })
    }

    /// Polls for read readiness (for hand-written futures). Only the most recent caller's
    /// waker is woken: the read direction has one shared slot, used by `poll_read` too.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.registration().poll_ready(cx, Direction::Read, None)
    }

    /// Polls for write readiness (for hand-written futures). Only the most recent caller's
    /// waker is woken: the write direction has one shared slot, used by `poll_write` too.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io
            .registration()
            .poll_ready(cx, Direction::Write, None)
    }

    /// `poll_read` through a shared reference: the halves share one stream.
    ///
    /// An empty `buf` gives `Ok(0)` at once, without a system call: asking for nothing must
    /// not wait for data that may never come.
    pub(crate) fn poll_read_shared(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.io
            .poll_transfer(cx, Direction::Read, buf.len(), |mut stream| {
                stream.read(buf)
            })
    }

    /// `poll_write` through a shared reference.
    ///
    /// An empty `buf` gives `Ok(0)` at once, without a system call: writing nothing must not
    /// wait for room in a full send buffer, which a peer that stopped reading never makes.
    pub(crate) fn poll_write_shared(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.io
            .poll_transfer(cx, Direction::Write, buf.len(), |mut stream| {
                stream.write(buf)
            })
    }

    /// Closes the write direction: the peer reads EOF once it has read what was sent.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        self.io.get_ref().shutdown(Shutdown::Write)
    }

    /// Reads what the peer sent into `buf` without taking it: the next read or peek returns
    /// the same bytes again (`recv` with `MSG_PEEK`). Waits, like a read, until there is data
    /// or end of stream (`Ok(0)`); an empty `buf` gives `Ok(0)` at once.
    ///
    /// It returns as soon as any data is there and never waits for `buf` to fill: peeking
    /// again without reading returns at once, so a loop that peeks until enough has arrived
    /// spins. It waits on the read direction, so it shares the one read waker with reads:
    /// one task at a time should read or peek.
    ///
    /// ```
    /// use evloop::io::{AsyncReadExt, AsyncWriteExt};
    /// use evloop::net::{TcpListener, TcpStream};
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut conn, _) = listener.accept().await?;
    ///     client.write_all(b"GET /").await?;
    ///     let mut first = [0; 3];
    ///     let n = conn.peek(&mut first).await?;
    ///     assert_eq!(&first[..n], &b"GET"[..n]);
    ///     let mut all = [0; 5];
    ///     conn.read_exact(&mut all).await?; // the peeked bytes are still there
    ///     assert_eq!(&all, b"GET /");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_peek(cx, buf)).await
    }

    /// Polls for a [`peek`](Self::peek) (for use in hand-written futures).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // `poll_io`, never `poll_transfer`: a short peek leaves every byte in the receive
        // buffer, so it must not count as having drained it. The direction would wait for an
        // edge that only new data brings, and a read of the bytes already there would hang.
        self.io
            .poll_io(cx, Direction::Read, |stream| stream.peek(buf))
    }

    /// Sets `SO_LINGER`; see [`TcpSocket::set_linger`](super::TcpSocket::set_linger). A
    /// linger other than `None` or `Some(ZERO)` makes dropping the stream block the runtime.
    pub fn set_linger(&self, duration: Option<std::time::Duration>) -> io::Result<()> {
        crate::sys::set_linger(self.io.get_ref(), duration)
    }

    /// `SO_LINGER` as [`set_linger`](Self::set_linger) takes it.
    pub fn linger(&self) -> io::Result<Option<std::time::Duration>> {
        crate::sys::linger(self.io.get_ref())
    }

    /// Sets the time-to-live of the packets this stream sends (`IP_TTL`): how many routers
    /// they may cross.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The time-to-live of the packets this stream sends (`IP_TTL`).
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Wraps `stream`, whose non-blocking connect has been started, and waits until the
    /// connect has finished; fails with its error (`ConnectionRefused`, say). How
    /// [`TcpSocket::connect`](super::TcpSocket::connect) ends.
    pub(crate) async fn connecting(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::from_std(stream))?;
        poll_fn(|cx| stream.poll_connected(cx)).await?;
        Ok(stream)
    }

    /// Writes from several buffers in one system call (`writev`), in order, as much as the
    /// send buffer takes; returns how many bytes in all.
    ///
    /// A response's head and body can leave in one call without being copied together first
    /// (hyper's vectored path, see `compat::hyper`). Like `poll_write`, it waits in the write
    /// direction's one shared waker slot, and buffers that hold no byte at all give `Ok(0)` at
    /// once, without a system call.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::io::{IoSlice, Read};
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    ///     let (stream, _) = listener.accept().await?;
    ///     let parts = [IoSlice::new(b"head "), IoSlice::new(b"body")];
    ///     let n = poll_fn(|cx| stream.poll_write_vectored(cx, &parts)).await?;
    ///     assert_eq!(n, 9); // a fresh socket's send buffer takes nine bytes whole
    ///     let mut got = [0; 9];
    ///     peer.read_exact(&mut got)?;
    ///     assert_eq!(&got, b"head body");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total = bufs
            .iter()
            .map(|buf| buf.len())
            .fold(0, usize::saturating_add);
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        self.io
            .poll_transfer(cx, Direction::Write, total, |mut stream| {
                stream.write_vectored(bufs)
            })
    }

    /// `poll_read` into memory that may be uninitialized (`sys::read_uninit`): for callers
    /// that hand out such buffers, hyper's read buffer among them, so that no byte is zeroed
    /// only to be overwritten. Returns how many bytes of `buf` the read initialized, from the
    /// start; an empty `buf` gives `Ok(0)` at once. Same waker slot as `poll_read`.
    #[cfg_attr(
        not(feature = "hyper"),
        expect(
            dead_code,
            reason = "only compat::hyper reads into uninitialized memory"
        )
    )]
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let len = buf.len();
        self.io.poll_transfer(cx, Direction::Read, len, |stream| {
            crate::sys::read_uninit(stream, buf)
        })
    }
}

/// `poll_read` wakes only the most recent caller's waker (the read direction's shared slot).
impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_shared(cx, buf)
    }
}

/// `poll_write` wakes only the most recent caller's waker (the write direction's shared slot).
impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_shared(cx, buf)
    }

    /// A TCP stream has no user-space buffer: flushing is always done.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_write())
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
