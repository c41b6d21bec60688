//! `mpsc`: multi-producer, single-consumer channels between tasks of the same runtime.
//!
//! - [`channel`]`(capacity)`: bounded. At most `capacity` values wait in the channel;
//!   [`Sender::send`] waits for room (backpressure), senders waiting for room are served in
//!   the order they started to wait, and [`Sender::try_send`] fails with `Full` instead.
//!   [`Sender::reserve`] waits for a slot without a value yet, and returns a [`Permit`] that
//!   sends one later without waiting; dropping a permit unused frees its slot for the next
//!   waiting sender.
//! - [`unbounded_channel`]: [`UnboundedSender::send`] never waits (and never fails for lack of
//!   room).
//!
//! A sender's [`downgrade`](Sender::downgrade) gives a [`WeakSender`] (or
//! [`WeakUnboundedSender`]), which does not keep the channel open and upgrades back to a sender
//! only while one still lives.
//!
//! Values arrive in the order they were sent (per channel, across all senders, in the order
//! their sends completed). `recv` returns `None` once the buffer is drained and every sender
//! is gone or the receiver was closed. When the receiver drops, the values still buffered are
//! dropped at once.
//!
//! Both are local to the runtime's thread (`!Send`); they are a `VecDeque` behind an `Rc`.
//!
//! # Cancel safety
//!
//! | method | dropped while pending |
//! |---|---|
//! | `Receiver::recv`, `UnboundedReceiver::recv` | cancel-safe: no value is lost |
//! | `Sender::send`, `Sender::send_timeout` | the value is dropped; the queue of waiting senders and the slots are unaffected (a slot granted to the dropped future goes to the next sender) |
//! | `Sender::reserve`, `reserve_many`, `reserve_owned` | cancel-safe: only the place in the queue is lost (slots granted to the dropped future go to the next sender) |
//! | `Receiver::recv_many`, `UnboundedReceiver::recv_many` | cancel-safe: values move into the buffer only in the poll that returns their count |
//! | `Sender::closed`, `UnboundedSender::closed` | cancel-safe |
//!
//! # Invariants
//!
//! See `chan.rs`: the buffer plus free and granted slots always add up to the capacity; no
//! value enters after the receiver closed; every push and the last sender's drop wake the
//! receiver.

mod bounded;
mod chan;
pub mod error;
mod unbounded;

pub use bounded::{OwnedPermit, Permit, PermitIterator, Receiver, Sender, WeakSender, channel};
pub use unbounded::{UnboundedReceiver, UnboundedSender, WeakUnboundedSender, unbounded_channel};
