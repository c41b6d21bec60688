//! [`copy_bidirectional`]: copy two streams into each other at once, in one future.
//!
//! # Invariants
//!
//! 1. Each direction is a [`Transfer`] with a buffer of its own: bytes read from one stream
//!    wait in `buf[pos..end]` until the other stream accepted them, and the next read happens
//!    only once they have all been written. So each direction keeps its order, and a slow
//!    writer holds back only its own direction.
//! 2. A direction that has written bytes flushes its writer before it waits for its reader,
//!    so no byte sits in a writer's buffer while the copy waits for more input.
//! 3. A direction finishes after its reader's end of stream, all its bytes written, and its
//!    writer shut down (flushed, then closed), so the peer sees the end of stream too. A
//!    finished direction is not polled again.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncRead, AsyncWrite, Error, ErrorKind, Result, assert_within_buf};

/// The buffer of each direction: 8 KiB, the size `std::io::copy` and [`copy`](super::copy)
/// use, allocated once per call on the heap.
const TRANSFER_BUF_SIZE: usize = 8 * 1024;

/// Copies `a` into `b` and `b` into `a` at the same time, until both have reached end of
/// stream.
///
/// Resolves to `(bytes from a to b, bytes from b to a)`. When one stream reaches end of stream,
/// the bytes read from it are written out and the other stream is shut down
/// ([`poll_shutdown`](AsyncWrite::poll_shutdown)), so its peer sees the end too; the other
/// direction carries on until its own end of stream. This is tokio's `copy_bidirectional`:
/// a proxy between a client and a server in one future.
///
/// # Errors
///
/// The first error from a read, a write, a flush or a shutdown, in either direction, ends the
/// whole copy; [`ErrorKind::Interrupted`] from a read or write is retried. A write that accepts
/// no bytes is an error of kind [`ErrorKind::WriteZero`]. Bytes copied before an error are not
/// counted anywhere.
///
/// # Examples
///
/// ```
/// use evloop::io::{self, AsyncReadExt, AsyncWriteExt};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     // client <-> (a, b) proxy <-> server
///     let (mut client, mut a) = io::duplex(64);
///     let (mut b, mut server) = io::duplex(64);
///     let proxy = evloop::spawn(async move { io::copy_bidirectional(&mut a, &mut b).await });
///
///     client.write_all(b"request").await?;
///     client.shutdown().await?;
///     let mut request = Vec::new();
///     server.read_to_end(&mut request).await?; // ends: the proxy shut `b` down
///     server.write_all(b"response").await?;
///     drop(server);
///     let mut response = Vec::new();
///     client.read_to_end(&mut response).await?;
///
///     assert_eq!(request, b"request");
///     assert_eq!(response, b"response");
///     assert_eq!(proxy.await.unwrap()?, (7, 8));
///     Ok::<(), io::Error>(())
/// })?;
/// # Ok::<(), io::Error>(())
/// ```
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let mut a_to_b = Transfer::new();
    let mut b_to_a = Transfer::new();
    poll_fn(|cx| {
        // Both directions are polled every time, so each registers its wakers.
        let forward = a_to_b.poll_transfer(cx, &mut *a, &mut *b)?;
        let backward = b_to_a.poll_transfer(cx, &mut *b, &mut *a)?;
        Poll::Ready(Ok((ready!(forward), ready!(backward))))
    })
    .await
}

/// Where one direction of a [`copy_bidirectional`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Reading and writing.
    Copying,
    /// The reader ended and every byte was written: shutting the writer down.
    ShuttingDown,
    /// Finished (invariant 3).
    Done,
}

/// One direction of a [`copy_bidirectional`] (see the module's invariants).
#[derive(Debug)]
struct Transfer {
    buf: Box<[u8]>,
    /// `buf[pos..end]` was read and is not yet written.
    pos: usize,
    end: usize,
    /// Bytes were written since the writer was last flushed (invariant 2).
    need_flush: bool,
    /// Bytes written so far.
    copied: u64,
    stage: Stage,
}

impl Transfer {
    fn new() -> Transfer {
        Transfer {
            buf: vec![0; TRANSFER_BUF_SIZE].into_boxed_slice(),
            pos: 0,
            end: 0,
            need_flush: false,
            copied: 0,
            stage: Stage::Copying,
        }
    }

    /// Moves bytes from `reader` to `writer` until it has to wait, fails, or finishes.
    /// Returns the bytes copied once finished, then the same again on every later call.
    fn poll_transfer<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        reader: &mut R,
        writer: &mut W,
    ) -> Poll<Result<u64>>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        loop {
            match self.stage {
                Stage::Done => return Poll::Ready(Ok(self.copied)),
                Stage::ShuttingDown => {
                    ready!(Pin::new(&mut *writer).poll_shutdown(cx))?;
                    self.stage = Stage::Done;
                }
                Stage::Copying if self.pos < self.end => {
                    let pending = &self.buf[self.pos..self.end];
                    match ready!(Pin::new(&mut *writer).poll_write(cx, pending)) {
                        Ok(0) => {
                            return Poll::Ready(Err(Error::new(
                                ErrorKind::WriteZero,
                                "copy_bidirectional: the writer accepted no bytes",
                            )));
                        }
                        Ok(n) => {
                            assert_within_buf("poll_write", n, pending.len());
                            self.pos += n;
                            self.copied += n as u64;
                            self.need_flush = true;
                        }
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
                Stage::Copying => match Pin::new(&mut *reader).poll_read(cx, &mut self.buf) {
                    Poll::Ready(Ok(0)) => self.stage = Stage::ShuttingDown,
                    Poll::Ready(Ok(n)) => {
                        assert_within_buf("poll_read", n, self.buf.len());
                        self.pos = 0;
                        self.end = n;
                    }
                    Poll::Ready(Err(e)) if e.kind() == ErrorKind::Interrupted => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        // Invariant 2: nothing waits in the writer while we wait to read.
                        if self.need_flush {
                            ready!(Pin::new(&mut *writer).poll_flush(cx))?;
                            self.need_flush = false;
                        }
                        return Poll::Pending;
                    }
                },
            }
        }
    }
}
