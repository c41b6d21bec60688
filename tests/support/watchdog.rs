//! A watchdog for tests whose failure mode is a runtime that never returns: the work runs on a
//! thread of its own, and the test fails if that thread has not reported in time.
//!
//! Included with `#[path = "support/watchdog.rs"] mod watchdog;` by the test crates that need
//! it.

#![allow(
    dead_code,
    reason = "each test crate compiles this module and uses a subset of it"
)]

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

/// How long [`on_own_thread`] waits for its thread: many times what any test needs. Miri
/// interprets the code some hundred times slower, so it gets more.
pub const THREAD_LIMIT: Duration = if cfg!(miri) {
    Duration::from_secs(300)
} else {
    Duration::from_secs(10)
};

/// Runs `work` on a new thread and returns its result, failing the test if the thread has not
/// finished after [`THREAD_LIMIT`].
///
/// The thread gives the runtime a thread of its own (so thread CPU time counts it alone),
/// and the limit catches what a `with_deadline` guard cannot: a runtime that never gets back
/// to its timers, or never wakes up at all. Such a thread is left behind, blocked or
/// spinning; the test process ends anyway.
pub fn on_own_thread<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (report, report_received) = mpsc::channel();
    let worker = thread::spawn(move || {
        // The receiver is gone only if the test already failed on the limit.
        let _ = report.send(work());
    });
    match report_received.recv_timeout(THREAD_LIMIT) {
        Ok(output) => {
            worker.join().expect("the thread reported, then panicked");
            output
        }
        // The thread panicked before reporting: fail with its panic.
        Err(RecvTimeoutError::Disconnected) => {
            let panic = worker.join().expect_err("no report, so it panicked");
            std::panic::resume_unwind(panic)
        }
        Err(RecvTimeoutError::Timeout) => panic!("{what}: not finished after {THREAD_LIMIT:?}"),
    }
}
