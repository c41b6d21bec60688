//! evloop: a single-threaded async runtime on `mio`, written to be read.
//!
//! One thread runs everything: an **executor** that polls tasks kept in a slab, a **reactor**
//! that waits on `epoll` through `mio`, and a **timer wheel**. A task runs only when something
//! woke it; the loop in [`Runtime::block_on`] reads top to bottom in the order `DESIGN.md`
//! tells it.
//!
//! ```
//! use evloop::io::{AsyncReadExt, AsyncWriteExt};
//! use evloop::net::{TcpListener, TcpStream};
//!
//! let rt = evloop::Runtime::new()?;
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     // An echo server: one task per connection.
//!     evloop::spawn(async move {
//!         while let Ok((mut conn, _)) = listener.accept().await {
//!             evloop::spawn(async move {
//!                 let mut buf = [0u8; 4096];
//!                 while let Ok(n @ 1..) = conn.read(&mut buf).await {
//!                     if conn.write_all(&buf[..n]).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             });
//!         }
//!     });
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"ping").await?;
//!     let mut reply = [0u8; 4];
//!     client.read_exact(&mut reply).await?;
//!     assert_eq!(&reply, b"ping");
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Components and who owns what
//!
//! | module | owns | never touches |
//! |---|---|---|
//! | [`runtime`] | the loop; the three parts below | - |
//! | `executor` | the task slab, the run queue, join handles, wakers | mio, the clock |
//! | `reactor` | the `mio::Poll`, the slab of registrations, per-source wakers | task types |
//! | [`time`] | the timer wheel (a pure structure) and its driver | epoll |
//! | [`net`] | `TcpListener`, `TcpStream`, built on the reactor's registration API | the executor |
//! | [`io`] | the `AsyncRead` / `AsyncWrite` traits and their helpers | the runtime |
//! | [`coop`] | the per-poll cooperative budget | - |
//!
//! Only wakers cross threads: everything else is `!Send` and lives on the runtime's thread,
//! which is why futures given to [`spawn`] need not be `Send`.

#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

#[macro_use]
mod macros;

mod blocking;
mod context;
pub mod coop;
mod executor;
pub mod future;
pub mod io;
pub mod net;
mod reactor;
pub mod runtime;
pub mod signal;
pub mod sync;
mod sys;
pub mod task;
pub mod time;
mod unwind;

pub use runtime::{Builder, Runtime};
pub use task::spawn;

/// Runs an `async fn` on a new [`Runtime`]: `#[evloop::main] async fn main()` is
/// `fn main() { Runtime::new().expect(..).block_on(async { .. }) }`, with the return type, if
/// any, kept (feature `macros`).
///
/// The function takes no arguments and may return anything `main` may; it runs to completion
/// on the calling thread. The arguments tokio's `#[tokio::main]` takes are accepted where they
/// mean what evloop does: `flavor = "current_thread"`, and `crate = "path"` for evloop
/// re-exported under another path. Any other argument is a compile error naming it.
///
/// ```
/// #[evloop::main]
/// async fn main() -> std::io::Result<()> {
///     let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await?;
///     println!("listening on {}", listener.local_addr()?);
///     Ok(())
/// }
/// ```
///
/// ```compile_fail
/// #[evloop::main(flavor = "multi_thread", worker_threads = 4)]
/// async fn main() {}
/// ```
///
/// ```compile_fail
/// #[evloop::main] // not `async`
/// fn main() {}
/// ```
#[cfg(feature = "macros")]
pub use evloop_macros::main;

/// Runs an `async fn` test on a new [`Runtime`], one per test: `#[evloop::test]` adds
/// `#[test]` and runs the body as [`main`] does (feature `macros`).
///
/// Other attributes (`#[should_panic]`, `#[ignore]`) apply as usual, and the test may return
/// a `Result`. As for [`main`], `flavor = "current_thread"` and `crate = "path"` are accepted;
/// `start_paused` and every other argument are compile errors naming it.
///
/// ```
/// #[evloop::test]
/// async fn a_spawned_task_runs() {
///     let handle = evloop::spawn(async { 1 + 1 });
///     assert_eq!(handle.await.unwrap(), 2);
/// }
/// ```
///
/// ```compile_fail
/// #[evloop::test(start_paused = true)]
/// async fn paused() {}
/// ```
#[cfg(feature = "macros")]
pub use evloop_macros::test;
