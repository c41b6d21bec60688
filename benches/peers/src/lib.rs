//! Peers for evloop's benchmarks: what the two peer echo servers share.
//!
//! evloop's `echo-server` is compared with three peers that serve the same protocol under the
//! same command line: `echo-server-threads` (std, one OS thread per connection, in evloop's
//! examples, `examples/`), and here `tokio-echo-server` (tokio's current_thread runtime, one task
//! per connection) and `mio-echo-server` (mio by hand, no futures: the bound a mio-based
//! runtime cannot beat). Run them with
//!
//! ```text
//! cargo run --release -p evloop-peers --bin tokio-echo-server -- --addr 127.0.0.1:7001
//! cargo run --release -p evloop-peers --bin mio-echo-server -- --addr 127.0.0.1:7002
//! ```
//!
//! and load them with evloop's `echo-client` example.
//!
//! # Invariants
//!
//! A comparison is fair only if the servers differ in how they run connections and in nothing
//! else. The modules below hold what must be alike, so no server can drift on its own; `args`,
//! `fd_limit` and `server` are the examples' own `examples/support` files, included here,
//! so the peers and evloop's examples share one copy:
//!
//! 1. the flags, their defaults and the `listening on ADDR` line ([`server`], [`args`]);
//! 2. the descriptor limit, raised to the hard limit at start ([`fd_limit`]);
//! 3. the listening socket: `SO_REUSEADDR` and a backlog of `SOMAXCONN`, as evloop's
//!    `TcpListener::bind` sets them ([`listener`]);
//! 4. `TCP_NODELAY` on every accepted connection, as both evloop examples set it (each server
//!    sets it right after `accept`);
//! 5. a pause of [`server::OUT_OF_RESOURCES_BACKOFF`] when `accept` runs out of descriptors,
//!    instead of a retry that would spin.
//!
//! This crate is a workspace member that is never built by default, so the root crate never
//! depends on tokio.

#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

#[path = "../../../examples/support/args.rs"]
pub mod args;
#[path = "../../../examples/support/fd_limit.rs"]
pub mod fd_limit;
pub mod listener;
#[path = "../../../examples/support/server.rs"]
pub mod server;
