//! The atomics and the lock that other threads touch (the schedule state, the remote run
//! queue): std's in every build, loom's under `cfg(loom)`, so that the one cross-thread race
//! of the executor can be model-checked (see `loom_tests.rs`).

#[cfg(loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, Ordering};

#[cfg(not(loom))]
pub(crate) use std::sync::Mutex;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
