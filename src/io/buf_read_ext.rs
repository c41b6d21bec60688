//! [`AsyncBufReadExt`] and its futures: [`FillBuf`], [`ReadUntil`] and [`ReadLine`].
//!
//! # Invariants
//!
//! 1. Every byte a future takes from the reader (`consume`) is, in the same step, either
//!    appended to the caller's buffer or held in the future's own field; nothing consumed lives
//!    only on the stack of `poll`. What a dropped future leaves behind is documented per method.
//! 2. The loops retry [`ErrorKind::Interrupted`] from `poll_fill_buf`, as `std`'s
//!    `read_until` does, and hand back every other error.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncBufRead, Error, ErrorKind, Lines, Result, Split};

/// Futures for reading from an [`AsyncBufRead`]: by delimiter, by line, or by looking into its
/// buffer.
///
/// Implemented for every `AsyncBufRead`, such as a [`BufReader`](super::BufReader) around a
/// socket. The methods that borrow need `Self: Unpin`; pin a `!Unpin` reader first.
///
/// # Examples
///
/// A line-based protocol, generic over the stream. In a program the reader would be a
/// `BufReader<TcpStream>`; here it is a byte slice, which never waits.
///
/// ```
/// use evloop::io::{self, AsyncBufReadExt};
///
/// let rt = evloop::Runtime::new()?;
/// let commands = rt.block_on(async {
///     let input: &[u8] = b"GET a\r\nGET b\nQUIT";
///     let mut lines = input.lines();
///     let mut commands = Vec::new();
///     while let Some(line) = lines.next_line().await? {
///         commands.push(line);
///     }
///     Ok::<_, io::Error>(commands)
/// })?;
/// assert_eq!(commands, ["GET a", "GET b", "QUIT"]);
/// # Ok::<(), io::Error>(())
/// ```
pub trait AsyncBufReadExt: AsyncBufRead {
    /// Reads bytes into `buf` until `byte` or end of stream, the delimiter included.
    ///
    /// Resolves to the number of bytes appended to `buf` (what it held before is left alone);
    /// `0` means the stream had ended. [`ErrorKind::Interrupted`] is retried; any other error
    /// ends the read.
    ///
    /// Cancel safe: if the future is dropped, or fails, before it resolves, `buf` holds every
    /// byte taken from the reader so far, and a new call carries on from the next byte.
    fn read_until<'a>(&'a mut self, byte: u8, buf: &'a mut Vec<u8>) -> ReadUntil<'a, Self>
    where
        Self: Unpin,
    {
        ReadUntil {
            reader: self,
            delimiter: byte,
            start_len: buf.len(),
            buf,
        }
    }

    /// Reads one line, its `\n` (and any `\r` before it) included, and appends it to `buf`.
    ///
    /// Resolves to the number of bytes appended; `0` means the stream had ended. A last line
    /// without `\n` is returned as it is. The bytes must be UTF-8: if they are not, the future
    /// resolves to an error of kind [`ErrorKind::InvalidData`] and appends nothing, though the
    /// bytes were taken from the reader (as `std`'s `read_line` does).
    ///
    /// Not cancel safe, as in tokio, but it loses nothing that is valid: the bytes are held in
    /// the future until the line is complete. If the future is dropped, or another error ends
    /// it, the bytes taken so far are appended to `buf` if they are valid UTF-8, and dropped if
    /// they are not (a line cut inside a multi-byte character, for instance). To be able to
    /// cancel without any loss, use [`lines`](AsyncBufReadExt::lines), whose partial line
    /// lives in the [`Lines`], or [`read_until`](AsyncBufReadExt::read_until).
    fn read_line<'a>(&'a mut self, buf: &'a mut String) -> ReadLine<'a, Self>
    where
        Self: Unpin,
    {
        ReadLine {
            reader: self,
            buf,
            bytes: Vec::new(),
        }
    }

    /// Turns the reader into a stream of lines, read with [`Lines::next_line`].
    ///
    /// Each line comes without its `\n` or `\r\n`; a last line without `\n` is returned too.
    fn lines(self) -> Lines<Self>
    where
        Self: Sized,
    {
        Lines::new(self)
    }

    /// Turns the reader into a stream of segments separated by `byte`, read with
    /// [`Split::next_segment`].
    ///
    /// Each segment comes without the delimiter; bytes after the last delimiter are a last
    /// segment.
    fn split(self, byte: u8) -> Split<Self>
    where
        Self: Sized,
    {
        Split::new(self, byte)
    }

    /// Resolves to the buffered bytes, reading from the source first if there are none.
    ///
    /// An empty slice means end of stream. The bytes stay buffered until
    /// [`consume`](AsyncBufReadExt::consume) is called. Errors, [`ErrorKind::Interrupted`]
    /// included, are handed back as they are.
    fn fill_buf(&mut self) -> FillBuf<'_, Self>
    where
        Self: Unpin,
    {
        FillBuf { reader: Some(self) }
    }

    /// Marks the first `amt` buffered bytes as read (see [`AsyncBufRead::consume`]).
    fn consume(&mut self, amt: usize)
    where
        Self: Unpin,
    {
        Pin::new(self).consume(amt)
    }
}

impl<R: AsyncBufRead + ?Sized> AsyncBufReadExt for R {}

/// Reads from `reader` into `buf` until `delimiter` (appended) or end of stream.
///
/// Returns `Ready(Ok(()))` once the delimiter was appended or the stream ended; `buf` then
/// holds everything read. Used by [`ReadUntil`], [`ReadLine`], [`Lines`] and [`Split`], whose
/// `buf` outlives a `Pending` (invariant 1).
pub(super) fn poll_read_until<R: AsyncBufRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    delimiter: u8,
    buf: &mut Vec<u8>,
) -> Poll<Result<()>> {
    loop {
        let available = match ready!(reader.as_mut().poll_fill_buf(cx)) {
            Ok(available) => available,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let (taken, found) = match available.iter().position(|&b| b == delimiter) {
            Some(at) => (&available[..=at], true),
            None => (available, available.is_empty()),
        };
        buf.extend_from_slice(taken);
        let taken = taken.len();
        reader.as_mut().consume(taken);
        if found {
            return Poll::Ready(Ok(()));
        }
    }
}

/// The future of [`AsyncBufReadExt::read_until`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadUntil<'a, R: ?Sized> {
    reader: &'a mut R,
    delimiter: u8,
    /// Holds the caller's bytes, then every byte read so far.
    buf: &'a mut Vec<u8>,
    /// `buf.len()` when the future was made: the bytes before it are not ours to count.
    start_len: usize,
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadUntil<'_, R> {
    type Output = Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<usize>> {
        let this = self.get_mut();
        ready!(poll_read_until(
            Pin::new(&mut *this.reader),
            cx,
            this.delimiter,
            this.buf
        ))?;
        Poll::Ready(Ok(this.buf.len() - this.start_len))
    }
}

impl<R: ?Sized> fmt::Debug for ReadUntil<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadUntil")
            .field("delimiter", &self.delimiter)
            .field("appended", &(self.buf.len() - self.start_len))
            .finish_non_exhaustive()
    }
}

/// The future of [`AsyncBufReadExt::read_line`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadLine<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut String,
    /// The bytes of the line taken from the reader so far. Appended to `buf` only once they
    /// are known to be UTF-8; empty again once the future has resolved, so `Drop` then has
    /// nothing to append.
    bytes: Vec<u8>,
}

impl<R: ?Sized> ReadLine<'_, R> {
    /// Appends the bytes held to `buf` if they are UTF-8, and drops them either way.
    /// Returns how many bytes were appended, or the UTF-8 error.
    fn append_if_utf8(&mut self) -> Result<usize> {
        let bytes = std::mem::take(&mut self.bytes);
        match std::str::from_utf8(&bytes) {
            Ok(line) => {
                self.buf.push_str(line);
                Ok(line.len())
            }
            Err(e) => Err(Error::new(
                ErrorKind::InvalidData,
                format!("read_line: the line is not valid UTF-8 ({e})"),
            )),
        }
    }
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadLine<'_, R> {
    type Output = Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<usize>> {
        let this = self.get_mut();
        let read = ready!(poll_read_until(
            Pin::new(&mut *this.reader),
            cx,
            b'\n',
            &mut this.bytes
        ));
        // On an error the valid bytes are kept, as `std` does, and the read error wins.
        let appended = this.append_if_utf8();
        Poll::Ready(read.and(appended))
    }
}

/// Appends the bytes taken so far if they are UTF-8 (see [`AsyncBufReadExt::read_line`]).
impl<R: ?Sized> Drop for ReadLine<'_, R> {
    fn drop(&mut self) {
        if !self.bytes.is_empty() {
            let _ = self.append_if_utf8();
        }
    }
}

impl<R: ?Sized> fmt::Debug for ReadLine<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadLine")
            .field("held", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// The future of [`AsyncBufReadExt::fill_buf`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct FillBuf<'a, R: ?Sized> {
    /// `None` once the future has resolved: the slice it returned borrows the reader for `'a`.
    reader: Option<&'a mut R>,
}

impl<'a, R: AsyncBufRead + Unpin + ?Sized> Future for FillBuf<'a, R> {
    type Output = Result<&'a [u8]>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<&'a [u8]>> {
        let reader = self
            .reader
            .take()
            .expect("FillBuf polled after it resolved");
        match Pin::new(&mut *reader).poll_fill_buf(cx) {
            Poll::Ready(Ok(bytes)) => {
                let bytes: *const [u8] = bytes;
                // SAFETY: `bytes` borrows from `*reader`, an `&'a mut R` taken out of
                // `self.reader` (which stays `None`) and never used again, so the borrow can
                // last all of `'a`. The compiler cannot see this only because the `Pending` arm
                // below keeps using `reader` (the borrow checker's "conditional return of a
                // borrow" limitation, NLL problem case #3).
                Poll::Ready(Ok(unsafe { &*bytes }))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                self.reader = Some(reader);
                Poll::Pending
            }
        }
    }
}

impl<R: ?Sized> fmt::Debug for FillBuf<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FillBuf")
            .field("resolved", &self.reader.is_none())
            .finish()
    }
}
