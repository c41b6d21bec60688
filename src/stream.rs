//! `futures_core::Stream` for evloop's stream-like types (the `stream` feature).
//!
//! Each impl forwards `poll_next` to the type's own poll method, so a stream behaves exactly
//! as the type's `recv`/`tick`/`join_next` does: the same wake-ups, the same cooperative
//! budget, the same cancel safety.
//!
//! | type | `Item` | ends (`None`) |
//! |---|---|---|
//! | [`mpsc::Receiver<T>`], [`mpsc::UnboundedReceiver<T>`] | `T` | when `recv` returns `None`: every sender gone (or closed) and the buffer drained |
//! | [`Interval`] | `Instant` (the tick's scheduled instant) | never |
//! | [`JoinSet<T>`] | `Result<T, JoinError>` | when the set is empty; spawning more makes it yield again |
//! | [`Signal`] | `()` | when it cannot wait (outside a runtime) |
//!
//! The impls live here, in one file, rather than beside each type, so the optional dependency
//! is named in one place only.
//!
//! ```
//! use std::future::poll_fn;
//! use std::pin::Pin;
//! use futures_core::Stream;
//! use evloop::sync::mpsc;
//!
//! let rt = evloop::Runtime::new()?;
//! rt.block_on(async {
//!     let (tx, mut rx) = mpsc::unbounded_channel();
//!     tx.send(1).unwrap();
//!     drop(tx);
//!     let next = poll_fn(|cx| Pin::new(&mut rx).poll_next(cx));
//!     assert_eq!(next.await, Some(1));
//! });
//! # Ok::<(), std::io::Error>(())
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_core::Stream;

use crate::signal::unix::Signal;
use crate::sync::mpsc;
use crate::task::{JoinError, JoinSet};
use crate::time::Interval;

impl<T> Stream for mpsc::Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), None)
    }
}

impl<T> Stream for mpsc::UnboundedReceiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), None)
    }
}

impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl<T> Stream for JoinSet<T> {
    type Item = Result<T, JoinError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_join_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}
