//! Reading up to a delimiter: the one loop behind `read_until`, `read_line`, `lines` and
//! `split`, kept apart from the extension trait so that the futures built on it (in
//! `buf_read_ext.rs`, `lines.rs`, `segments.rs`) do not import each other.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncBufRead, ErrorKind, Result};

/// Reads from `reader` into `buf` until `delimiter` (appended) or end of stream.
///
/// Returns `Ready(Ok(()))` once the delimiter was appended or the stream ended; `buf` then
/// holds everything read. Used by [`ReadUntil`](super::ReadUntil), [`ReadLine`](super::ReadLine), [`Lines`](super::Lines) and
/// [`Split`](super::Split), whose
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
