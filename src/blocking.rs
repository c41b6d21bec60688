//! The blocking pool: runs closures that would block the loop, on other threads.
//!
//! This is asyncio's `run_in_executor` / `to_thread`: a blocking call (a synchronous database
//! driver, `std::thread::sleep`, a long computation) moved off the runtime's thread, so the
//! loop keeps running every other task while it waits. It is the only code in evloop that
//! creates threads.
//!
//! # Invariants
//!
//! 1. At most `max_threads` pool threads exist. A job that finds no idle thread and no room
//!    for a new one waits in a FIFO queue for the next thread to finish its job.
//! 2. An idle thread waits `keep_alive` for a job, then exits.
//! 3. A job's result, or its panic, goes back through a thread-safe oneshot; the send wakes
//!    the waiting task through the waker's remote path (an eventfd write if the loop sleeps).
//! 4. When the runtime drops, jobs still queued are dropped unrun; running jobs finish on their
//!    threads (a thread cannot be interrupted) and their results are dropped.

use std::collections::VecDeque;
use std::io;
use std::panic::{AssertUnwindSafe, Location, catch_unwind, resume_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::executor::JoinHandle;
use crate::sync::threadsafe::oneshot;
use crate::unwind::FirstPanic;

/// Most pool threads a runtime creates by default.
///
/// Each thread reserves a stack; 64 lets a burst of blocking calls (a fan-out of synchronous
/// queries) run side by side without letting a runaway loop of `spawn_blocking` create
/// thousands of threads. Jobs beyond it queue.
pub const DEFAULT_MAX_BLOCKING_THREADS: usize = 64;

/// How long an idle pool thread waits for work before it exits.
///
/// Ten seconds keeps threads for the next burst of a steady workload and gives them back
/// soon after the work stops.
pub const DEFAULT_BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send + 'static>;

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
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    // Owned clones, not a borrow: dropping a job that could not start runs user destructors.
    let (pool, executor) = crate::context::with_runtime("evloop::task::spawn_blocking", |handle| {
        (handle.blocking.clone(), handle.executor.clone())
    });
    let (result_tx, result_rx) = oneshot::channel();
    let job: Job = Box::new(move || {
        let result = catch_unwind(AssertUnwindSafe(f));
        // The task stopped waiting (aborted, or the runtime is gone): nobody wants the result.
        let _ = result_tx.send(result);
    });
    let start_error = pool.submit(job).err();
    let meta = crate::task::Builder::new().meta(Location::caller());
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

/// The pool's state, shared by the runtime and its threads.
#[derive(Debug)]
pub(crate) struct BlockingPool {
    inner: Arc<PoolInner>,
}

#[derive(Debug)]
struct PoolInner {
    state: Mutex<PoolState>,
    /// Signalled when a job is queued for an idle thread, and at shutdown.
    work_ready: Condvar,
    max_threads: usize,
    keep_alive: Duration,
}

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    /// Idle threads already signalled for a queued job: the next job must not count on them.
    signalled: usize,
    shutdown: bool,
}

impl std::fmt::Debug for PoolState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolState")
            .field("queued", &self.queue.len())
            .field("threads", &self.threads)
            .field("idle", &self.idle)
            .finish()
    }
}

impl PoolInner {
    /// A poisoned lock means a pool thread panicked while holding it, which none does: jobs
    /// run with the lock released. The state is still consistent.
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl BlockingPool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> Self {
        BlockingPool {
            inner: Arc::new(PoolInner {
                state: Mutex::new(PoolState {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    signalled: 0,
                    shutdown: false,
                }),
                work_ready: Condvar::new(),
                max_threads,
                keep_alive,
            }),
        }
    }

    /// Queues `job`, waking an idle thread or starting a new one if there is room. Fails only
    /// if no pool thread exists and none could be started (the job is then dropped).
    fn submit(&self, job: Job) -> io::Result<()> {
        let mut state = self.inner.lock();
        state.queue.push_back(job);
        if state.idle > state.signalled {
            state.signalled += 1;
            self.inner.work_ready.notify_one();
            return Ok(());
        }
        if state.threads >= self.inner.max_threads {
            return Ok(()); // a busy thread takes it when it finishes
        }
        state.threads += 1;
        let inner = self.inner.clone();
        let started = std::thread::Builder::new()
            .name("evloop-blocking".into())
            .spawn(move || run_worker(&inner));
        match started {
            Ok(_) => Ok(()),
            Err(error) => {
                state.threads -= 1;
                if state.threads == 0 {
                    let dropped = state.queue.pop_back();
                    drop(state);
                    drop(dropped);
                    return Err(error);
                }
                Ok(()) // an existing thread will run it
            }
        }
    }

    /// Number of pool threads alive.
    pub(crate) fn threads(&self) -> usize {
        self.inner.lock().threads
    }

    /// Drops queued jobs and tells idle threads to exit. Every queued job is dropped even if
    /// the destructor of what one captured panics; the first panic is kept in `panics`.
    pub(crate) fn shutdown(&self, panics: &mut FirstPanic) {
        let queued = {
            let mut state = self.inner.lock();
            state.shutdown = true;
            std::mem::take(&mut state.queue)
        };
        self.inner.work_ready.notify_all();
        for job in queued {
            panics.catch(move || drop(job));
        }
    }
}

/// A pool thread: runs jobs until it has been idle for `keep_alive` or the pool shuts down.
fn run_worker(inner: &PoolInner) {
    let mut state = inner.lock();
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            job(); // it catches its own panics
            state = inner.lock();
            continue;
        }
        if state.shutdown {
            break;
        }
        state.idle += 1;
        let (woken, wait) = inner
            .work_ready
            .wait_timeout(state, inner.keep_alive)
            .unwrap_or_else(PoisonError::into_inner);
        state = woken;
        state.idle -= 1;
        state.signalled = state.signalled.saturating_sub(1);
        if wait.timed_out() && state.queue.is_empty() {
            break;
        }
    }
    state.threads -= 1;
}
