//! [`Split`]: a buffered reader read in segments separated by a delimiter byte.
//!
//! # Invariants
//!
//! The bytes of a segment taken from the reader wait in `Split::segment` until the whole
//! segment is there, so a [`Split::next_segment`] future dropped halfway loses nothing.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::buf_read_ext::poll_read_until;
use super::{AsyncBufRead, Result};

/// The segments of an [`AsyncBufRead`] between a delimiter byte, made by
/// [`AsyncBufReadExt::split`].
///
/// Not to be confused with [`io::split`](super::split), which splits a stream into its read
/// and write halves.
///
/// [`AsyncBufReadExt::split`]: super::AsyncBufReadExt::split
///
/// # Examples
///
/// ```
/// use evloop::io::{self, AsyncBufReadExt, BufReader};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let input: &[u8] = b"a\0bc\0\0d";
///     // `BufReader` around the slice: a bare `input.split(..)` would be the slice's own method.
///     let mut fields = BufReader::new(input).split(0);
///     let mut seen = Vec::new();
///     while let Some(field) = fields.next_segment().await? {
///         seen.push(field);
///     }
///     assert_eq!(seen, [&b"a"[..], b"bc", b"", b"d"]);
///     Ok::<(), io::Error>(())
/// })?;
/// # Ok::<(), io::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "a split does nothing unless you call `next_segment`"]
pub struct Split<R> {
    reader: R,
    delimiter: u8,
    /// The bytes of the segment being read, taken from `reader` but not yet returned.
    segment: Vec<u8>,
}

impl<R> Split<R> {
    pub(super) fn new(reader: R, delimiter: u8) -> Split<R> {
        Split {
            reader,
            delimiter,
            segment: Vec::new(),
        }
    }

    /// The reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader. Reading from it directly skips the bytes of a partly read segment, which
    /// stay in the `Split`.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// Returns the reader. The bytes of a partly read segment are lost.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead + Unpin> Split<R> {
    /// Reads the next segment, without its delimiter.
    ///
    /// Resolves to `None` at end of stream. Bytes after the last delimiter are a last segment;
    /// a stream that ends with the delimiter has no empty segment after it.
    /// [`ErrorKind::Interrupted`](super::ErrorKind::Interrupted) is retried.
    ///
    /// Cancel safe: a future dropped before it resolves leaves the bytes it took in the
    /// `Split`, and the next call returns the whole segment.
    pub async fn next_segment(&mut self) -> Result<Option<Vec<u8>>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next_segment(cx)).await
    }

    /// The poll form of [`next_segment`](Split::next_segment).
    pub fn poll_next_segment(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Vec<u8>>>> {
        let this = self.get_mut();
        ready!(poll_read_until(
            Pin::new(&mut this.reader),
            cx,
            this.delimiter,
            &mut this.segment
        ))?;
        if this.segment.is_empty() {
            return Poll::Ready(Ok(None));
        }
        let mut segment = std::mem::take(&mut this.segment);
        if segment.last() == Some(&this.delimiter) {
            segment.pop();
        }
        Poll::Ready(Ok(Some(segment)))
    }
}
