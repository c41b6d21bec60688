//! Synchronisation that crosses threads: `Send + Sync` variants of the local primitives.
//!
//! Everything else in [`sync`](crate::sync) is local to the runtime's thread, which keeps it
//! free of atomics and locks. The types here pay for a `Mutex` so that one side may live on
//! another thread — a `std::thread` or a blocking pool handing a result back to a task, or a
//! task answering a plain thread. The waiting side is woken through its `Waker`, which is
//! always safe to use from any thread (see `DESIGN.md`, "What may cross threads").
//!
//! | type | `Send` | `Sync` |
//! |---|---|---|
//! | [`oneshot::Sender<T>`], [`oneshot::Receiver<T>`] | if `T: Send` | if `T: Send` |

pub mod oneshot;
