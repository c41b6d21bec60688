//! [`Lines`]: a buffered reader read line by line.
//!
//! # Invariants
//!
//! The bytes of a line taken from the reader wait in `Lines::line` until the whole line is
//! there, so a [`Lines::next_line`] future dropped halfway loses nothing: the next call
//! carries on with the same line.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::buf_read_ext::poll_read_until;
use super::{AsyncBufRead, Error, ErrorKind, Result};

/// The lines of an [`AsyncBufRead`], made by [`AsyncBufReadExt::lines`].
///
/// [`AsyncBufReadExt::lines`]: super::AsyncBufReadExt::lines
///
/// # Examples
///
/// ```
/// use evloop::io::{self, AsyncBufReadExt, BufReader};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let input: &[u8] = b"first\r\nsecond\nlast, with no newline";
///     let mut lines = BufReader::new(input).lines();
///     assert_eq!(lines.next_line().await?.as_deref(), Some("first"));
///     assert_eq!(lines.next_line().await?.as_deref(), Some("second"));
///     assert_eq!(lines.next_line().await?.as_deref(), Some("last, with no newline"));
///     assert_eq!(lines.next_line().await?, None);
///     Ok::<(), io::Error>(())
/// })?;
/// # Ok::<(), io::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "lines do nothing unless you call `next_line`"]
pub struct Lines<R> {
    reader: R,
    /// The bytes of the line being read, taken from `reader` but not yet returned.
    line: Vec<u8>,
}

impl<R> Lines<R> {
    pub(super) fn new(reader: R) -> Lines<R> {
        Lines {
            reader,
            line: Vec::new(),
        }
    }

    /// The reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader. Reading from it directly skips the bytes of a partly read line, which stay
    /// in the `Lines`.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// Returns the reader. The bytes of a partly read line, if a `next_line` was cancelled
    /// halfway, are lost.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead + Unpin> Lines<R> {
    /// Reads the next line, without its `\n` or `\r\n`.
    ///
    /// Resolves to `None` at end of stream. A last line without `\n` is returned as it is (a
    /// `\r` is stripped only before `\n`). A line that is not UTF-8 resolves to an error of
    /// kind [`ErrorKind::InvalidData`]; its bytes are dropped and the next call reads the next
    /// line. [`ErrorKind::Interrupted`] is retried.
    ///
    /// Cancel safe: a future dropped before it resolves leaves the bytes it took in the
    /// `Lines`, and the next call returns the whole line.
    pub async fn next_line(&mut self) -> Result<Option<String>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next_line(cx)).await
    }

    /// The poll form of [`next_line`](Lines::next_line), for code that implements a future or
    /// stream by hand.
    pub fn poll_next_line(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<String>>> {
        let this = self.get_mut();
        ready!(poll_read_until(
            Pin::new(&mut this.reader),
            cx,
            b'\n',
            &mut this.line
        ))?;
        if this.line.is_empty() {
            return Poll::Ready(Ok(None));
        }
        let mut line = std::mem::take(&mut this.line);
        if line.ends_with(b"\n") {
            line.pop();
            if line.ends_with(b"\r") {
                line.pop();
            }
        }
        Poll::Ready(match String::from_utf8(line) {
            Ok(line) => Ok(Some(line)),
            Err(e) => Err(Error::new(
                ErrorKind::InvalidData,
                format!(
                    "next_line: the line is not valid UTF-8 ({})",
                    e.utf8_error()
                ),
            )),
        })
    }
}
