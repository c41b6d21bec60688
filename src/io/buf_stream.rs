//! [`BufStream`]: a read buffer and a write buffer around one stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use super::buf_reader::DEFAULT_BUF_SIZE;
use super::{AsyncBufRead, AsyncRead, AsyncWrite, BufReader, BufWriter, Result};

/// Buffers both directions of a stream: a [`BufReader`] around a [`BufWriter`].
///
/// Reads fill the read buffer; writes fill the write buffer until it is full or flushed.
/// Reading does not flush the write buffer: flush a request before waiting for its answer.
/// Dropping a `BufStream` drops the bytes its write buffer holds.
///
/// # Examples
///
/// ```
/// use evloop::io::{self, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (client, mut server) = io::duplex(64);
///     let mut client = BufStream::new(client);
///     client.write_all(b"PING\n").await?;
///     client.flush().await?; // without it the server would wait forever
///     let mut request = [0; 5];
///     server.read_exact(&mut request).await?;
///     server.write_all(b"PONG\n").await?;
///     let mut reply = String::new();
///     client.read_line(&mut reply).await?;
///     assert_eq!(reply, "PONG\n");
///     Ok::<(), io::Error>(())
/// })?;
/// # Ok::<(), io::Error>(())
/// ```
#[derive(Debug)]
pub struct BufStream<RW> {
    inner: BufReader<BufWriter<RW>>,
}

impl<RW> BufStream<RW> {
    /// Wraps `stream` with a read buffer and a write buffer of 8 KiB each.
    pub fn new(stream: RW) -> BufStream<RW> {
        BufStream::with_capacity(DEFAULT_BUF_SIZE, DEFAULT_BUF_SIZE, stream)
    }

    /// Wraps `stream` with buffers of the given sizes.
    ///
    /// # Panics
    ///
    /// If `reader_capacity` is 0 (see [`BufReader::with_capacity`]).
    pub fn with_capacity(
        reader_capacity: usize,
        writer_capacity: usize,
        stream: RW,
    ) -> BufStream<RW> {
        BufStream {
            inner: BufReader::with_capacity(
                reader_capacity,
                BufWriter::with_capacity(writer_capacity, stream),
            ),
        }
    }

    /// The stream.
    pub fn get_ref(&self) -> &RW {
        self.inner.get_ref().get_ref()
    }

    /// The stream. Using it directly bypasses both buffers.
    pub fn get_mut(&mut self) -> &mut RW {
        self.inner.get_mut().get_mut()
    }

    /// Returns the stream; the bytes in both buffers are lost.
    pub fn into_inner(self) -> RW {
        self.inner.into_inner().into_inner()
    }
}

impl<RW: AsyncRead + AsyncWrite + Unpin> AsyncRead for BufStream<RW> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<RW: AsyncRead + AsyncWrite + Unpin> AsyncBufRead for BufStream<RW> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<&[u8]>> {
        Pin::new(&mut self.get_mut().inner).poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.get_mut().inner).consume(amt)
    }
}

impl<RW: AsyncRead + AsyncWrite + Unpin> AsyncWrite for BufStream<RW> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
