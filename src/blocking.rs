//! The blocking pool: the threads that run closures which would block the loop.
//!
//! This is the engine behind asyncio's `run_in_executor` / `to_thread`: a blocking call (a
//! synchronous database driver, `std::thread::sleep`, a long computation) moved off the
//! runtime's thread. It is plain std (threads, a mutex, a condvar) and knows nothing of tasks:
//! the task-facing side, [`spawn_blocking`](crate::task::spawn_blocking), lives in
//! `task/blocking.rs` and hands the pool a closure that sends its result back. It is the only
//! code in evloop that creates threads.
//!
//! # Invariants
//!
//! 1. At most `max_threads` pool threads exist. A job that finds no idle thread and no room
//!    for a new one waits in a FIFO queue for the next thread to finish its job.
//! 2. An idle thread waits `keep_alive` for a job, then exits.
//! 3. A job catches its own panic: `spawn_blocking` wraps the user's closure so that its result
//!    or its panic goes back through a thread-safe oneshot, whose send wakes the waiting task
//!    through the waker's remote path (an eventfd write if the loop sleeps).
//! 4. When the runtime drops, jobs still queued are dropped unrun; running jobs finish on their
//!    threads (a thread cannot be interrupted) and their results are dropped. The drop does
//!    not wait for them; `Runtime::shutdown_timeout` waits, at most its duration, for the
//!    last thread to exit.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

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

/// A closure for a pool thread. It must not panic (the pool does not catch): `spawn_blocking`
/// wraps the user's closure in `catch_unwind`.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

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
    /// Signalled when the last pool thread exits: what `wait_for_threads` waits on.
    all_exited: Condvar,
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
                all_exited: Condvar::new(),
                max_threads,
                keep_alive,
            }),
        }
    }

    /// Queues `job`, waking an idle thread or starting a new one if there is room. Fails only
    /// if no pool thread exists and none could be started (the job is then dropped).
    pub(crate) fn submit(&self, job: Job) -> io::Result<()> {
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

    /// Waits until no pool thread is alive, or `timeout` has passed; true if none is. Meant
    /// for after `shutdown`, when no new thread starts and each exits after its current job.
    pub(crate) fn wait_for_threads(&self, timeout: Duration) -> bool {
        let state = self.inner.lock();
        let (state, _) = self
            .inner
            .all_exited
            .wait_timeout_while(state, timeout, |state| state.threads > 0)
            .unwrap_or_else(PoisonError::into_inner);
        state.threads == 0
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
    if state.threads == 0 {
        inner.all_exited.notify_all();
    }
}
