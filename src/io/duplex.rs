//! [`duplex`]: an in-memory, bounded, bidirectional pipe between two [`DuplexStream`]s.
//!
//! Each direction is a [`Pipe`]: a byte queue of at most `max_buf_size` bytes, shared through
//! an `Rc<RefCell<_>>` by the stream that writes into it and the stream that reads from it.
//! Local: the streams are `!Send`, so both ends live on the runtime's thread (two tasks, or one
//! task that drives both).
//!
//! # Invariants
//!
//! 1. `Pipe::bytes.len() <= Pipe::max_buf_size`: a write takes only what fits and waits
//!    (`Pending`) when nothing fits.
//! 2. A reader waiting on an empty pipe has its waker in `read_waker`; anything that may let it
//!    progress (bytes written, the write side closed) takes and wakes it. The same holds for a
//!    writer waiting on a full pipe, `write_waker`, and bytes read or the read side closed.
//! 3. `write_closed` is set when the writing stream shuts down or is dropped: the reader gets
//!    the bytes still queued, then end of stream. `read_closed` is set when the reading stream
//!    is dropped: writes fail with `BrokenPipe`, and the queued bytes are dropped.
//! 4. An operation that completes spends one unit of the cooperative budget (`crate::coop`):
//!    a task that finds data every time still yields.
//! 5. No `RefCell` borrow is held across a waker call or outside one poll method.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker, ready};

use super::{AsyncRead, AsyncWrite, Error, ErrorKind, Result};
use crate::coop;

/// Creates a pair of connected in-memory streams, each direction holding at most
/// `max_buf_size` bytes.
///
/// What one stream writes, the other reads. A write waits while its direction is full, a read
/// waits while it is empty. After one stream is shut down or dropped, the other reads what is
/// left, then end of stream; writing to a stream whose peer was dropped fails with
/// [`ErrorKind::BrokenPipe`], as does writing after [`poll_shutdown`](AsyncWrite::poll_shutdown).
///
/// Unlike tokio's, the streams are `!Send`: both ends stay on the runtime's thread.
///
/// # Panics
///
/// If `max_buf_size` is 0: no write could ever complete.
///
/// # Examples
///
/// ```
/// use evloop::io::{self, AsyncReadExt, AsyncWriteExt};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (mut client, mut server) = io::duplex(64);
///     let echo = evloop::spawn(async move {
///         let mut request = Vec::new();
///         server.read_to_end(&mut request).await?; // until the client shuts down
///         server.write_all(&request).await
///     });
///     client.write_all(b"ping").await?;
///     client.shutdown().await?;
///     let mut reply = Vec::new();
///     client.read_to_end(&mut reply).await?; // until the server is dropped
///     assert_eq!(reply, b"ping");
///     echo.await.unwrap()
/// })?;
/// # Ok::<(), io::Error>(())
/// ```
pub fn duplex(max_buf_size: usize) -> (DuplexStream, DuplexStream) {
    assert!(max_buf_size > 0, "duplex: max_buf_size must be at least 1");
    let one_to_two = Rc::new(RefCell::new(Pipe::new(max_buf_size)));
    let two_to_one = Rc::new(RefCell::new(Pipe::new(max_buf_size)));
    let one = DuplexStream {
        read: two_to_one.clone(),
        write: one_to_two.clone(),
    };
    let two = DuplexStream {
        read: one_to_two,
        write: two_to_one,
    };
    (one, two)
}

/// One end of an in-memory pipe pair made by [`duplex`]. `!Send`.
///
/// A stand-in for a socket in tests: code written against [`AsyncRead`] and [`AsyncWrite`]
/// runs on it unchanged.
///
/// ```
/// use evloop::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader, duplex};
///
/// // Code under test: greets whoever is at the other end.
/// async fn greet(mut out: impl AsyncWrite + Unpin) -> std::io::Result<()> {
///     out.write_all(b"hello\n").await
/// }
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (ours, theirs) = duplex(64);
///     greet(ours).await?;
///     let mut line = String::new();
///     BufReader::new(theirs).read_line(&mut line).await?;
///     assert_eq!(line, "hello\n");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct DuplexStream {
    /// The direction this stream reads from; the peer writes into it.
    read: Rc<RefCell<Pipe>>,
    /// The direction this stream writes into; the peer reads from it.
    write: Rc<RefCell<Pipe>>,
}

/// One direction of a duplex pair (see the module's invariants).
struct Pipe {
    bytes: VecDeque<u8>,
    max_buf_size: usize,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
    /// The writing stream was shut down or dropped (invariant 3).
    write_closed: bool,
    /// The reading stream was dropped (invariant 3).
    read_closed: bool,
}

impl Pipe {
    fn new(max_buf_size: usize) -> Pipe {
        Pipe {
            bytes: VecDeque::new(),
            max_buf_size,
            read_waker: None,
            write_waker: None,
            write_closed: false,
            read_closed: false,
        }
    }

    /// Closes the write side and returns the reader's waker, to be woken after the borrow ends.
    fn close_write(&mut self) -> Option<Waker> {
        self.write_closed = true;
        self.read_waker.take()
    }

    /// Closes the read side and returns the writer's waker, to be woken after the borrow ends.
    fn close_read(&mut self) -> Option<Waker> {
        self.read_closed = true;
        self.bytes = VecDeque::new();
        self.write_waker.take()
    }
}

/// Keeps `cx`'s waker in `slot`, cloning only if it would wake a different task.
fn store_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

impl AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let progress = ready!(coop::poll_proceed(cx));
        let mut pipe = self.read.borrow_mut();
        if pipe.bytes.is_empty() {
            if pipe.write_closed {
                drop(pipe);
                progress.made_progress();
                return Poll::Ready(Ok(0));
            }
            store_waker(&mut pipe.read_waker, cx);
            // `progress` is dropped unspent: nothing was read (coop invariant 2).
            return Poll::Pending;
        }
        let n = buf.len().min(pipe.bytes.len());
        for (slot, byte) in buf.iter_mut().zip(pipe.bytes.drain(..n)) {
            *slot = byte;
        }
        let writer = pipe.write_waker.take();
        drop(pipe);
        if let Some(writer) = writer {
            writer.wake();
        }
        progress.made_progress();
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for DuplexStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        let progress = ready!(coop::poll_proceed(cx));
        let mut pipe = self.write.borrow_mut();
        if pipe.read_closed {
            return Poll::Ready(Err(Error::new(
                ErrorKind::BrokenPipe,
                "DuplexStream: the peer was dropped",
            )));
        }
        if pipe.write_closed {
            return Poll::Ready(Err(Error::new(
                ErrorKind::BrokenPipe,
                "DuplexStream: written after shutdown",
            )));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let room = pipe.max_buf_size - pipe.bytes.len();
        if room == 0 {
            store_waker(&mut pipe.write_waker, cx);
            return Poll::Pending;
        }
        let n = buf.len().min(room);
        pipe.bytes.extend(&buf[..n]);
        let reader = pipe.read_waker.take();
        drop(pipe);
        if let Some(reader) = reader {
            reader.wake();
        }
        progress.made_progress();
        Poll::Ready(Ok(n))
    }

    /// Nothing is held back: written bytes are readable at once.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// The peer reads what is queued, then end of stream; this stream can still read.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        let reader = self.write.borrow_mut().close_write();
        if let Some(reader) = reader {
            reader.wake();
        }
        Poll::Ready(Ok(()))
    }
}

/// Closes both directions: the peer reads end of stream after the queued bytes, and its writes
/// fail with `BrokenPipe`.
impl Drop for DuplexStream {
    fn drop(&mut self) {
        let reader = self.write.borrow_mut().close_write();
        let writer = self.read.borrow_mut().close_read();
        if let Some(reader) = reader {
            reader.wake();
        }
        if let Some(writer) = writer {
            writer.wake();
        }
    }
}

impl fmt::Debug for DuplexStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let read = self.read.borrow();
        let write = self.write.borrow();
        f.debug_struct("DuplexStream")
            .field("readable", &read.bytes.len())
            .field("unread_by_peer", &write.bytes.len())
            .field("max_buf_size", &write.max_buf_size)
            .finish()
    }
}
