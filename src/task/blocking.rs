//! `spawn_blocking`: a blocking call as a task, run on the runtime's blocking pool.
//!
//! The pool (`crate::blocking`) only runs closures on threads. This side makes the call a
//! task: it wraps the closure so its result, or its panic, goes back through a thread-safe
//! oneshot, and spawns a task that awaits the oneshot and gives its `JoinHandle` to the caller.

use std::panic::{AssertUnwindSafe, Location, catch_unwind, resume_unwind};

use crate::blocking::Job;
use crate::context;
use crate::executor::JoinHandle;
use crate::sync::threadsafe::oneshot;

/// Runs `f` on the runtime's blocking pool and returns a handle to its result.
///
/// Use it for calls that block: they would otherwise stall every task on the loop. A panic in
/// `f` arrives as a [`JoinError`](crate::task::JoinError) whose `is_panic` is true.
/// `abort` on the handle stops waiting for the result, but cannot stop `f` once it runs.
///
/// ```
/// use std::time::{Duration, Instant};
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let started = Instant::now();
///     let calls: Vec<_> = (0..3)
///         .map(|_| evloop::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(50))))
///         .collect();
///     for call in calls {
///         call.await.unwrap();
///     }
///     // Side by side on the pool, not one after another on the loop.
///     assert!(started.elapsed() < Duration::from_millis(150));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
///
/// Panics if called outside of an evloop runtime. If the pool cannot start any thread, the
/// handle reports a panic that says why.
///
/// For blocking work inside a task, tokio's `block_in_place` has no evloop counterpart (the
/// loop has one thread, which the work would stall): move the work here instead.
#[doc(alias = "block_in_place")]
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    // Owned clones, not a borrow: dropping a job that could not start runs user destructors.
    let (pool, executor) = context::with_runtime("evloop::task::spawn_blocking", |handle| {
        (handle.blocking.clone(), handle.executor.clone())
    });
    let (result_tx, result_rx) = oneshot::channel();
    let job: Job = Box::new(move || {
        let result = catch_unwind(AssertUnwindSafe(f));
        // The task stopped waiting (aborted, or the runtime is gone): nobody wants the result.
        let _ = result_tx.send(result);
    });
    let start_error = pool.submit(job).err();
    let meta = super::Builder::new().meta(Location::caller());
    executor.spawn(
        async move {
            match result_rx.await {
                Ok(Ok(value)) => value,
                Ok(Err(panic)) => resume_unwind(panic),
                Err(_) => match start_error {
                    Some(error) => {
                        panic!("evloop::spawn_blocking: no pool thread could start: {error}")
                    }
                    None => panic!(
                        "evloop::spawn_blocking: the pool dropped the job (runtime shutting down)"
                    ),
                },
            }
        },
        meta,
    )
}
