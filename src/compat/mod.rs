//! Bridges to other crates' I/O and runtime traits, each behind an optional feature (off by
//! default; the default build depends on `mio`, `slab` and `libc` alone).
//!
//! - `futures-io`: the [`futures_io`](::futures_io) traits for evloop's TCP stream, its halves
//!   and buffered wrappers, and the wrappers [`FuturesIo`] (an evloop stream seen as a
//!   `futures-io` one) and [`EvloopIo`] (a `futures-io` stream seen as an evloop one).
//! - `hyper`: [`hyper`](mod@hyper), which runs hyper 1.x's HTTP/1 server and client on evloop:
//!   its I/O traits for [`TcpStream`](crate::net::TcpStream), an executor and a timer.
//!
//! Nothing here adds a thread or a lock: the bridges translate one poll into another, on the
//! runtime's thread.

#[cfg(feature = "futures-io")]
mod futures_io;
#[cfg(feature = "hyper")]
pub mod hyper;

#[cfg(feature = "futures-io")]
pub use self::futures_io::{EvloopIo, FuturesIo};
