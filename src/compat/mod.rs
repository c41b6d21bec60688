//! Bridges to other crates' I/O and runtime traits, each behind an optional feature (off by
//! default; the default build depends on `mio`, `slab` and `libc` alone).
//!
//! - `hyper`: [`hyper`](mod@hyper), which runs hyper 1.x's HTTP/1 server and client on evloop:
//!   its I/O traits for [`TcpStream`](crate::net::TcpStream), an executor and a timer.
//!
//! Nothing here adds a thread or a lock: the bridges translate one poll into another, on the
//! runtime's thread.

#[cfg(feature = "hyper")]
pub mod hyper;
