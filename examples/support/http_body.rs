//! What the hyper examples share: a one-chunk body to send, and reading a whole body back.
//! hyper 1.x leaves both to helper crates; these few lines keep the examples on hyper alone.

use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, Incoming};

/// A body of one chunk, known in advance (its length goes into `content-length`).
#[derive(Debug)]
pub struct Full(Option<Bytes>);

impl Full {
    pub fn new(bytes: impl Into<Bytes>) -> Full {
        Full(Some(bytes.into()))
    }
}

impl Body for Full {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|bytes| Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        let len = self.0.as_ref().map_or(0, |bytes| bytes.len() as u64);
        hyper::body::SizeHint::with_exact(len)
    }
}

/// Every data frame of `body`, concatenated (trailers are skipped); `None` as soon as it grows
/// past `max` bytes, so that a peer cannot make it hold more than that.
pub async fn collect(mut body: Incoming, max: usize) -> hyper::Result<Option<Vec<u8>>> {
    let mut all = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame?.into_data() {
            if data.len() > max - all.len() {
                return Ok(None);
            }
            all.extend_from_slice(&data);
        }
    }
    Ok(Some(all))
}
