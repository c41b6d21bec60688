//! [`repeat`]: a reader that yields one byte forever.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{AsyncRead, Result};
use crate::coop;

/// A reader that fills every buffer with one byte and never ends, made by [`repeat`].
///
/// Each read completes at once and spends one unit of the cooperative budget, so copying from
/// it forever still lets other tasks run.
#[derive(Debug, Clone, Copy)]
pub struct Repeat {
    byte: u8,
}

/// Creates a reader that yields `byte` forever, like `std::io::repeat`.
///
/// # Examples
///
/// ```
/// use evloop::io::{self, AsyncReadExt};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let mut buf = [0; 3];
///     io::repeat(b'z').read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"zzz");
///     Ok::<(), io::Error>(())
/// })?;
/// # Ok::<(), io::Error>(())
/// ```
pub fn repeat(byte: u8) -> Repeat {
    Repeat { byte }
}

impl AsyncRead for Repeat {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        ready!(coop::poll_proceed(cx)).made_progress();
        buf.fill(self.byte);
        Poll::Ready(Ok(buf.len()))
    }
}
