//! `TcpListener`: accepts connections, and keeps accepting through descriptor exhaustion
//! (`accept_backoff`).

mod accept_backoff;

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll, ready};

use self::accept_backoff::{AcceptBackoff, is_resource_exhaustion};
use super::{TcpStream, resolve};
use crate::context;
use crate::reactor::{Direction, Interest, PollEvented, Ready, Waiter};
use crate::time::Sleep;

/// A TCP socket listening for connections.
///
/// ```
/// use evloop::io::{AsyncReadExt, AsyncWriteExt};
/// use evloop::net::{TcpListener, TcpStream};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let client = evloop::spawn(async move {
///         let mut stream = TcpStream::connect(addr).await?;
///         stream.write_all(b"hello").await?;
///         stream.shutdown().await
///     });
///     let (mut conn, _peer) = listener.accept().await?;
///     let mut received = Vec::new();
///     conn.read_to_end(&mut received).await?;
///     assert_eq!(received, b"hello");
///     client.await?
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Running out of descriptors
///
/// `accept` does not return `EMFILE`, `ENFILE`, `ENOBUFS` or `ENOMEM`: it handles them (see
/// [`poll_accept`](Self::poll_accept)) so that an accept loop neither spins nor stalls when
/// the process runs out of descriptors, and resumes by itself once they free up. Each listener
/// holds one spare descriptor (open on `/dev/null`) for this.
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
    backoff: AcceptBackoff,
}

impl TcpListener {
    /// Binds to `addr` (the first of its addresses that works) and listens.
    ///
    /// Port 0 picks a free port: read it back with [`local_addr`](Self::local_addr). The
    /// listen backlog is the operating system's maximum (`SOMAXCONN`), so bursts of
    /// connections wait in the kernel instead of being refused.
    ///
    /// ```
    /// use evloop::net::TcpListener;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     assert_ne!(listener.local_addr()?.port(), 0); // the port the kernel picked
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let mut last_error = None;
        for addr in resolve(addr)? {
            match bind_listen(addr) {
                Ok(listener) => return TcpListener::from_std(listener),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("resolve returns at least one address"))
    }

    /// Wraps a listening `std` socket (made non-blocking here) into the current runtime.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: PollEvented::new(
                mio::net::TcpListener::from_std(listener),
                &context::current_reactor()?,
            )?,
            backoff: AcceptBackoff::new(),
        })
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// Any number of `accept` futures may wait on one listener at once, in several tasks or in
    /// one (`join_all`): each is a waiter of its own, every new connection wakes all of them,
    /// and those that find no connection left wait again. A future dropped while waiting
    /// removes itself and takes no wake from the others.
    ///
    /// ```
    /// use evloop::io::{AsyncReadExt, AsyncWriteExt};
    /// use evloop::net::{TcpListener, TcpStream};
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     // The server: one task per connection, answering its first bytes.
    ///     evloop::spawn(async move {
    ///         loop {
    ///             let (mut stream, _peer) = listener.accept().await?;
    ///             evloop::spawn(async move {
    ///                 let mut buf = [0; 4];
    ///                 stream.read_exact(&mut buf).await?;
    ///                 stream.write_all(&buf).await
    ///             });
    ///         }
    ///         #[allow(unreachable_code)]
    ///         Ok::<(), std::io::Error>(())
    ///     });
    ///
    ///     let mut client = TcpStream::connect(addr).await?;
    ///     client.write_all(b"ping").await?;
    ///     let mut reply = [0; 4];
    ///     client.read_exact(&mut reply).await?;
    ///     assert_eq!(&reply, b"ping");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let mut own = OwnWait {
            waiter: self.io.registration().waiter(),
            pause_timer: None,
        };
        poll_fn(|cx| self.poll_accept_as(cx, Some(&mut own))).await
    }

    /// Accepts a connection if one is queued, without waiting: `WouldBlock` if none is (or if
    /// the reactor has seen no connection arrive since the last `WouldBlock`; wait with
    /// [`readable`](Self::readable) and try again).
    ///
    /// Unlike [`accept`](Self::accept), it does not handle running out of descriptors: it
    /// returns `EMFILE` and the like, and it is the caller's turn to pause. `ECONNABORTED` (a
    /// client reset its queued connection) is skipped.
    pub fn try_accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        loop {
            let accepted = self
                .io
                .registration()
                .try_io(Direction::Read, || self.io.get_ref().accept());
            match accepted {
                Ok((stream, peer)) => {
                    self.backoff.on_accept_ok();
                    return Ok((TcpStream::from_mio(stream)?, peer));
                }
                Err(error) if error.raw_os_error() == Some(libc::ECONNABORTED) => {}
                Err(error) => {
                    if is_resource_exhaustion(&error) {
                        self.backoff.on_exhaustion();
                    }
                    return Err(error);
                }
            }
        }
    }

    /// Waits until a connection may be accepted (or an error reported), as a waiter of its
    /// own like [`accept`](Self::accept); then [`try_accept`](Self::try_accept) takes it.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Waits until the listener is ready for any of `interest` and says for what. A listener
    /// is only ever readable; asking for `WRITABLE` alone waits until its runtime shuts down.
    /// Any number of these futures may wait at once; each is woken by the event that
    /// satisfies it.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.registration().ready(interest).await
    }

    /// Polls for a connection (for use in hand-written futures).
    ///
    /// Only the waker of the most recent call is woken: `poll_accept` keeps one waker for
    /// the listener, shared by every caller (as tokio's does). Two tasks that poll it at once
    /// lose wakes; they should use [`accept`](Self::accept), which keeps one per future.
    ///
    /// # Out of descriptors
    ///
    /// Guaranteed: when `accept(2)` fails for lack of descriptors or kernel memory (`EMFILE`,
    /// `ENFILE`, `ENOBUFS`, `ENOMEM`), the error is not returned; the task waits without
    /// spinning, other tasks keep running, and accepting resumes by itself once descriptors
    /// free up, without needing a new connection to arrive. `ECONNABORTED` (a client reset its
    /// connection while it was queued) is skipped. Every other error is returned.
    ///
    /// How, at the time of writing:
    ///
    /// 1. the listener closes its spare descriptor, accepts the oldest queued connection into
    ///    the freed slot, resets it (the client sees `ECONNRESET`), reopens the spare and goes
    ///    on accepting: a full descriptor table sheds connections instead of queueing them;
    /// 2. if that cannot free a slot, accepting pauses on a timer (50 ms, doubling up to 1 s,
    ///    short again after a successful accept) and the syscall is retried when it ends, so
    ///    accepting resumes at most a second after descriptors free up.
    ///
    /// [`exhausted_accepts`](Self::exhausted_accepts) and
    /// [`shed_connections`](Self::shed_connections) count what happened.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.poll_accept_as(cx, None)
    }

    /// [`poll_accept`](Self::poll_accept), waiting in `own` (`None`: the shared slot and the
    /// shared pause timer).
    fn poll_accept_as(
        &self,
        cx: &mut Context<'_>,
        mut own: Option<&mut OwnWait<'_>>,
    ) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        loop {
            let pause_timer = own.as_deref_mut().map(|own| &mut own.pause_timer);
            ready!(self.backoff.poll_pause(cx, pause_timer));
            let accepted = ready!(self.io.poll_io_as(
                cx,
                Direction::Read,
                own.as_deref_mut().map(|own| &mut own.waiter),
                mio::net::TcpListener::accept
            ));
            match accepted {
                Ok((stream, peer)) => {
                    self.backoff.on_accept_ok();
                    return Poll::Ready(Ok((TcpStream::from_mio(stream)?, peer)));
                }
                // The kernel already dropped that connection; the next one may be fine.
                Err(error) if error.raw_os_error() == Some(libc::ECONNABORTED) => {}
                Err(error) if is_resource_exhaustion(&error) => {
                    self.backoff.on_exhaustion();
                    // Outside a runtime there is no timer to pause on.
                    if context::with_current(|_| ()).is_none() {
                        return Poll::Ready(Err(error));
                    }
                    let shed = self
                        .backoff
                        .shed(|| self.io.get_ref().accept().map(|(stream, _)| stream));
                    match shed {
                        // One connection dropped; the queue may hold more.
                        Some(Ok(())) => {}
                        // The queue is empty. Linux reserves the descriptor before it looks at
                        // the queue, so with a full table accept says `EMFILE`, never
                        // `WouldBlock`: only this shedding accept can tell. Wait for the next
                        // connection's edge, as after any `WouldBlock`.
                        Some(Err(error)) if error.kind() == io::ErrorKind::WouldBlock => {
                            self.io.registration().clear_ready(Direction::Read);
                        }
                        // No spare, or no room even with it closed: wait on the timer. The
                        // readiness bit stays set, so the retry makes the syscall directly.
                        _ => self.backoff.arm_pause(),
                    }
                }
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }

    /// How many accepts have failed for lack of descriptors or kernel memory so far.
    ///
    /// These failures are handled inside [`poll_accept`](Self::poll_accept) and never
    /// returned; this count is how to see that they happened.
    pub fn exhausted_accepts(&self) -> u64 {
        self.backoff.exhaustions()
    }

    /// How many queued connections were accepted and reset at once because the process had no
    /// descriptor to give them (see [`poll_accept`](Self::poll_accept)).
    pub fn shed_connections(&self) -> u64 {
        self.backoff.shed_count()
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets the time-to-live (`IP_TTL`) of the packets this listener sends, which the
    /// connections it accepts inherit.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The time-to-live (`IP_TTL`) of the packets this listener sends.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

/// What an `accept` future waits on of its own, so that any number of them may wait at once:
/// its entry for the listener's readiness, and its timer for a pause (see `accept_backoff`).
struct OwnWait<'a> {
    waiter: Waiter<'a>,
    pause_timer: Option<Sleep>,
}

/// Binds with std (which sets `SO_REUSEADDR` and listens with a backlog of 128), then raises
/// the backlog to `SOMAXCONN`: Linux lets `listen` be called again on a listening socket.
fn bind_listen(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    crate::sys::listen(&listener, libc::SOMAXCONN)?;
    Ok(listener)
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
