//! hyper 1.x on evloop (feature `hyper`): hyper's I/O traits for [`TcpStream`], an
//! [`Executor`] for the tasks hyper spawns, and a [`Timer`] so that hyper's timeouts fire.
//!
//! What each piece is for:
//!
//! - [`hyper::rt::Read`] and [`hyper::rt::Write`] for
//!   [`TcpStream`]: pass the stream itself to `serve_connection` or `handshake`, no wrapper.
//!   Writes are vectored ([`TcpStream::poll_write_vectored`], one `writev`):
//!   `is_write_vectored` is true, and only then does hyper hand a response's head and body
//!   over as separate buffers instead of copying them into one.
//! - [`Executor`]: hyper's `spawn`, as [`crate::spawn`]. HTTP/1 needs none (its connection is
//!   one future that you spawn or await); it is here for the builders that ask for one.
//! - [`Timer`] and [`Sleep`]: without a timer hyper silently drops its timeouts, including the
//!   server's 30 s `header_read_timeout`, so a client that sends half a request head holds
//!   its connection forever. Give the builder `.timer(Timer)`.
//!
//! Everything runs on the runtime's thread: the stream is `!Send`, so the connection future is
//! too, and it is spawned with [`crate::spawn`], which takes `!Send` futures.
//!
//! # Example: a server and a client
//!
//! ```
//! use std::convert::Infallible;
//! use evloop::compat::hyper::Timer;
//! use evloop::net::{TcpListener, TcpStream};
//! use hyper::{Request, Response, body::Incoming};
//!
//! let rt = evloop::Runtime::new()?;
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     evloop::spawn(async move {
//!         let (stream, _) = listener.accept().await.expect("accept");
//!         let hello = hyper::service::service_fn(|_: Request<Incoming>| async {
//!             Ok::<_, Infallible>(Response::new(String::from("hello")))
//!         });
//!         let served = hyper::server::conn::http1::Builder::new()
//!             .timer(Timer)
//!             .serve_connection(stream, hello)
//!             .await;
//!         served.expect("the connection ends cleanly");
//!     });
//!
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, connection) = hyper::client::conn::http1::handshake(stream)
//!         .await
//!         .expect("handshake");
//!     evloop::spawn(connection);
//!     let request = Request::get("/").body(String::new()).expect("a valid request");
//!     let response = sender.send_request(request).await.expect("a response");
//!     assert_eq!(response.status(), 200);
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod timer;

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use ::hyper::rt::ReadBufCursor;

use crate::io::AsyncWrite;
use crate::net::TcpStream;

pub use self::timer::{Sleep, Timer};

/// hyper's executor on evloop: [`execute`](::hyper::rt::Executor::execute) is
/// [`crate::spawn`], and the task runs detached (hyper keeps no handle to it).
///
/// Like `spawn`, it must be called on the runtime's thread, inside
/// [`Runtime::block_on`](crate::Runtime::block_on), and it panics anywhere else. It takes
/// `!Send` futures, which hyper's own executors do not need to.
///
/// ```
/// use hyper::rt::Executor as _;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, rx) = evloop::sync::oneshot::channel();
///     let local = std::rc::Rc::new("not Send");
///     evloop::compat::hyper::Executor.execute(async move { tx.send(*local).unwrap() });
///     assert_eq!(rx.await, Ok("not Send"));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Executor;

impl<F> ::hyper::rt::Executor<F> for Executor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, future: F) {
        // Dropping the handle detaches the task; hyper reports its outcome through its own
        // channels (a response, a connection error), not through the task's output.
        drop(crate::spawn(future));
    }
}

/// Reads straight into the cursor's unfilled part, which may be uninitialized: `read(2)`
/// writes only the bytes it reports, so nothing is zeroed first (zeroing hyper's 8 KiB read
/// buffer before every read cost more instructions than the rest of a request).
impl ::hyper::rt::Read for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: `as_mut` requires that no initialized byte be de-initialized through the
        // slice; `read(2)` only ever writes bytes into it.
        let unfilled = unsafe { buf.as_mut() };
        let len = unfilled.len();
        let n = ready!(self.poll_read_uninit(cx, unfilled))?;
        assert!(n <= len, "read(2) reported {n} bytes read into {len}");
        // SAFETY: `advance(n)` requires the first `n` unfilled bytes to be initialized: the
        // read wrote exactly those (it reports the bytes it wrote, from the start, and `n` is
        // within the slice, checked above).
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

/// Writes through [`TcpStream::poll_write_vectored`]: hyper sees `is_write_vectored` true and
/// gives a message's head and body as separate buffers, which leave in one `writev`.
impl ::hyper::rt::Write for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(self, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        TcpStream::poll_write_vectored(&self, cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(self, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_shutdown(self, cx)
    }
}
