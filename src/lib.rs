//! evloop: a single-threaded async runtime on `mio`, written to be read.
//!
//! (crate docs are written at the end of the core work)

#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod context;
pub mod coop;
mod executor;
pub mod io;
pub mod net;
mod reactor;
pub mod runtime;
mod sys;
pub mod task;
pub mod time;

pub use runtime::{Builder, Runtime};
pub use task::spawn;
