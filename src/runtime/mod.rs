//! `Runtime`: owns the executor, the reactor and the timers, and runs the loop.
//!
//! One turn of the loop, in [`Runtime::block_on`], top to bottom:
//!
//! 1. **Run woken tasks**, the `block_on` future among them: pop keys off the run queue and
//!    poll each task once, at most [`EVENT_INTERVAL`] polls per turn, each under a fresh
//!    cooperative budget. A poll that spends its whole budget ends the step early: the task
//!    was always ready (it re-queued itself), and I/O and timers must be looked at before it
//!    runs again.
//! 2. **Wait for I/O**: `epoll_wait` with a zero timeout if tasks are still queued, else until
//!    the next timer deadline, else indefinitely. Ready sources wake their tasks.
//! 3. **Fire timers**: if a timer is pending, read the clock once and fire every timer due by
//!    then. A turn with no pending timer reads no clock at all (steps 2 and 3 skip it).
//! 4. **Collect remote wakes**: move keys woken from other threads onto the run queue.
//!
//! Nothing else queues a task: an idle runtime blocks in step 2 and uses no CPU.

use std::fmt;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::blocking::BlockingPool;
pub use crate::blocking::{DEFAULT_BLOCKING_KEEP_ALIVE, DEFAULT_MAX_BLOCKING_THREADS};
use crate::context::{self, Handle};
use crate::coop;
pub use crate::executor::slow_poll::{DEFAULT_SLOW_POLL_THRESHOLD, SlowPoll};
use crate::executor::slow_poll::{Reporter, SlowPollDetector, report_to_stderr};
use crate::executor::{Executor, JoinHandle, Unpark};
use crate::reactor::{DEFAULT_MAX_EVENTS, Reactor, Unparker};
use crate::timer::TimerDriver;
use crate::unwind::FirstPanic;

/// Task polls per loop turn before the loop looks at I/O and timers again.
///
/// A task that keeps waking itself would otherwise keep the run queue non-empty forever and
/// starve sockets and timers. A poll of a typical task costs 1–2 µs (a read and a write
/// syscall) and a zero-timeout `epoll_wait` about 1 µs, so 64 polls between waits bounds
/// I/O and timer latency to roughly 100 µs under full load at about 1% overhead.
pub const EVENT_INTERVAL: u32 = 64;

/// Builds a [`Runtime`] with non-default settings.
///
/// ```
/// let rt = evloop::runtime::Builder::new()
///     .event_interval(32)
///     .task_budget(64)
///     .build()?;
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Builder {
    event_interval: u32,
    task_budget: u32,
    max_io_events: usize,
    slow_poll_threshold: Option<Duration>,
    slow_poll_reporter: Option<Reporter>,
    max_blocking_threads: usize,
    blocking_keep_alive: Duration,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("event_interval", &self.event_interval)
            .field("task_budget", &self.task_budget)
            .field("max_io_events", &self.max_io_events)
            .field("slow_poll_threshold", &self.slow_poll_threshold)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("blocking_keep_alive", &self.blocking_keep_alive)
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// The default settings: [`EVENT_INTERVAL`], [`TASK_BUDGET`](crate::coop::TASK_BUDGET),
    /// 1024 I/O events per wait, and the slow-poll detector on at
    /// [`DEFAULT_SLOW_POLL_THRESHOLD`] in debug builds, off in release builds.
    ///
    /// This is tokio's `Builder::new_current_thread().enable_all()`: the runtime is always
    /// the current thread's, and its I/O and timers are always on.
    #[doc(alias = "new_current_thread", alias = "enable_all")]
    #[doc(alias = "enable_io", alias = "enable_time")]
    pub fn new() -> Self {
        Builder {
            event_interval: EVENT_INTERVAL,
            task_budget: coop::TASK_BUDGET,
            max_io_events: DEFAULT_MAX_EVENTS,
            slow_poll_threshold: cfg!(debug_assertions).then_some(DEFAULT_SLOW_POLL_THRESHOLD),
            slow_poll_reporter: None,
            max_blocking_threads: DEFAULT_MAX_BLOCKING_THREADS,
            blocking_keep_alive: DEFAULT_BLOCKING_KEEP_ALIVE,
        }
    }

    /// Most threads the blocking pool ([`spawn_blocking`](crate::task::spawn_blocking)) may
    /// run at once; further jobs queue.
    ///
    /// # Panics
    ///
    /// Panics if `threads` is zero (no blocking job could ever run).
    pub fn max_blocking_threads(&mut self, threads: usize) -> &mut Self {
        assert!(threads > 0, "max_blocking_threads must be at least 1");
        self.max_blocking_threads = threads;
        self
    }

    /// How long an idle blocking-pool thread waits for work before it exits.
    pub fn blocking_keep_alive(&mut self, keep_alive: Duration) -> &mut Self {
        self.blocking_keep_alive = keep_alive;
        self
    }

    /// Reports every poll of a task that takes longer than `threshold`: the task held the loop
    /// and stalled every other task. Reports go to stderr unless
    /// [`on_slow_poll`](Self::on_slow_poll) sets a callback. See [`SlowPoll`].
    pub fn slow_poll_threshold(&mut self, threshold: Duration) -> &mut Self {
        self.slow_poll_threshold = Some(threshold);
        self
    }

    /// Turns the slow-poll detector off (the default in release builds).
    pub fn disable_slow_poll_detector(&mut self) -> &mut Self {
        self.slow_poll_threshold = None;
        self
    }

    /// Sends slow-poll reports to `report` instead of stderr; it runs on the runtime's thread,
    /// right after the slow poll. Turns the detector on at [`DEFAULT_SLOW_POLL_THRESHOLD`]
    /// if no threshold is set.
    pub fn on_slow_poll(&mut self, report: impl Fn(&SlowPoll) + 'static) -> &mut Self {
        self.slow_poll_reporter = Some(Rc::new(report));
        self.slow_poll_threshold
            .get_or_insert(DEFAULT_SLOW_POLL_THRESHOLD);
        self
    }

    /// Task polls per loop turn between two looks at I/O and timers.
    ///
    /// # Panics
    ///
    /// Panics if `polls` is zero (the loop would never run a task).
    pub fn event_interval(&mut self, polls: u32) -> &mut Self {
        assert!(polls > 0, "event_interval must be at least 1");
        self.event_interval = polls;
        self
    }

    /// Operations (reads, writes, accepts, timers, joins) one task poll may complete before
    /// the task is made to yield.
    ///
    /// # Panics
    ///
    /// Panics if `operations` is zero (no task could ever make progress).
    pub fn task_budget(&mut self, operations: u32) -> &mut Self {
        assert!(operations > 0, "task_budget must be at least 1");
        self.task_budget = operations;
        self
    }

    /// Capacity of the buffer of I/O events read per wait (more are read by the next wait).
    pub fn max_io_events(&mut self, events: usize) -> &mut Self {
        self.max_io_events = events.max(1);
        self
    }

    /// Creates the runtime: an epoll instance and an eventfd for cross-thread wakes.
    pub fn build(&self) -> io::Result<Runtime> {
        let (reactor, unparker) = Reactor::new(self.max_io_events)?;
        let slow_poll = self.slow_poll_threshold.map(|threshold| {
            let report = self
                .slow_poll_reporter
                .clone()
                .unwrap_or_else(report_to_stderr);
            SlowPollDetector::new(threshold, report)
        });
        Ok(Runtime {
            handle: Handle {
                executor: Rc::new(Executor::new(Box::new(unparker), slow_poll)),
                reactor: Rc::new(reactor),
                timers: Rc::new(TimerDriver::new(Instant::now())),
                blocking: Rc::new(BlockingPool::new(
                    self.max_blocking_threads,
                    self.blocking_keep_alive,
                )),
            },
            event_interval: self.event_interval,
            task_budget: self.task_budget,
        })
    }
}

/// A single-threaded async runtime: an executor, a reactor on `mio`, and timers.
///
/// A runtime stays on the thread that created it (it is neither `Send` nor `Sync`), and so do
/// its tasks, which therefore need not be `Send`. Only wakers cross threads.
///
/// ```
/// let rt = evloop::Runtime::new()?;
/// let sum = rt.block_on(async {
///     let a = evloop::spawn(async { 1 });
///     let b = evloop::spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(sum, 3);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Shutdown
///
/// Tasks still running when `block_on` returns stay in the runtime and run again at the next
/// `block_on`. Dropping the runtime drops every live task's future on this thread (their
/// `JoinHandle`s then report a cancellation); I/O objects that outlive it fail their
/// operations with an error; blocking jobs not yet started are dropped unrun.
///
/// While it drops its tasks the runtime is the *current* runtime, even when it is dropped
/// inside a task of another runtime: a destructor that calls [`spawn`](crate::spawn) spawns
/// onto the runtime being dropped, and that task is dropped in the same shutdown, unpolled. It
/// never lands on the outer runtime, where it would outlive the runtime its destructor
/// belonged to. (tokio instead panics when a runtime is dropped inside an async context.)
///
/// A panic of user code during the drop (a task's destructor, a foreign waker, a blocking
/// job's captured value) does not stop it: every task is dropped, every source failed and the
/// pool stopped, and the first such panic is then resumed by `drop`. A panic in a task's
/// future destructor goes to its `JoinHandle` as usual instead.
pub struct Runtime {
    handle: Handle,
    event_interval: u32,
    task_budget: u32,
}

/// Counts that show what a runtime holds, for tests and monitoring.
///
/// ```
/// use std::time::Duration;
///
/// let rt = evloop::Runtime::new()?;
/// let waiter = rt.spawn(evloop::time::sleep(Duration::from_secs(3600)));
/// let metrics = rt.metrics();
/// assert_eq!(metrics.live_tasks, 1);
/// waiter.abort();
/// rt.block_on(async { assert!(waiter.await.unwrap_err().is_cancelled()) });
/// assert_eq!(rt.metrics().live_tasks, 0); // a leak check for tests
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Spawned tasks that have not finished.
    pub live_tasks: usize,
    /// I/O sources registered with the reactor.
    pub io_registrations: usize,
    /// Timers waiting in the wheel.
    pub pending_timers: usize,
    /// Threads alive in the blocking pool.
    pub blocking_threads: usize,
}

/// The executor interrupts the reactor's wait through the reactor's `mio::Waker`; the two
/// never name each other, the runtime joins them here.
impl Unpark for Unparker {
    fn unpark(&self) {
        Unparker::unpark(self);
    }
}

impl Runtime {
    /// A runtime with the default settings (see [`Builder`]).
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// Runs `future` to completion on this thread, running spawned tasks, I/O and timers
    /// meanwhile, and returns its output.
    ///
    /// # Panics
    ///
    /// A panic in `future` propagates to the caller (a panic in a spawned task does not: it
    /// goes to that task's `JoinHandle`). Calling `block_on` from inside a task panics. If the
    /// operating system fails the wait for I/O (`epoll_wait`), `block_on` panics with the error.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// let (tx, rx) = evloop::sync::oneshot::channel();
    /// // A task left running when `block_on` returns waits in the runtime...
    /// rt.block_on(async {
    ///     evloop::spawn(async move {
    ///         evloop::time::sleep(Duration::from_millis(10)).await;
    ///         tx.send("later").unwrap();
    ///     });
    /// });
    /// // ...and runs on at the next `block_on`.
    /// assert_eq!(rt.block_on(rx), Ok("later"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter(self.handle.clone());
        let _running = self.handle.reactor.enter();
        let executor = &self.handle.executor;
        let mut future = pin!(future);
        let mut main = executor.start_main(future.as_mut(), Location::caller());
        loop {
            // 1. Run woken tasks, the `block_on` future among them.
            let polled = executor.run_woken(&mut main, self.event_interval, self.task_budget);
            if let Poll::Ready(output) = polled {
                return output;
            }
            // 2. Wait for I/O: not at all if tasks are queued, else until the next timer. The
            //    clock is read only when a timer is pending: an idle wheel needs no "now".
            let timers = &self.handle.timers;
            let timeout = if executor.has_woken_tasks() {
                Some(Duration::ZERO)
            } else if timers.is_armed() {
                timers.next_timeout(Instant::now())
            } else {
                None
            };
            if let Err(error) = self.handle.reactor.turn(timeout) {
                panic!("evloop: waiting for I/O failed: {error}");
            }
            // 3. Fire due timers, if any is pending (nothing to fire, no clock to read).
            if timers.is_armed() {
                timers.fire_due(Instant::now());
            }
            // 4. Collect wakes from other threads.
            executor.drain_remote();
        }
    }

    /// Spawns a task onto this runtime from outside of it; it first runs at the next
    /// `block_on`. Inside the runtime, [`spawn`](crate::spawn) does the same.
    ///
    /// ```
    /// let rt = evloop::Runtime::new()?;
    /// let handle = rt.spawn(async { 6 * 7 });
    /// assert_eq!(rt.block_on(handle).unwrap(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let meta = crate::task::Builder::new().meta(Location::caller());
        self.handle.executor.spawn(future, meta)
    }

    /// Shuts the runtime down as dropping it does, then waits at most `duration` for the
    /// blocking pool's threads to exit; returns without waiting longer even if a blocking job
    /// is still running (its thread finishes the job on its own and its result is dropped).
    ///
    /// What happens to everything else is what [dropping](Runtime#shutdown) does, before the
    /// wait: every task's future is dropped unpolled (its `JoinHandle` reports a
    /// cancellation), I/O sources are failed, and blocking jobs not yet started are dropped
    /// unrun. Tasks are not given time to finish. Dropping the runtime does not wait for
    /// running blocking jobs at all (tokio's drop waits for them without limit).
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::new()?;
    /// let (started, job_started) = mpsc::channel();
    /// let (finished, job_finished) = mpsc::channel();
    /// rt.block_on(async {
    ///     drop(evloop::task::spawn_blocking(move || {
    ///         started.send(()).unwrap();
    ///         std::thread::sleep(Duration::from_millis(10));
    ///         finished.send(()).unwrap();
    ///     }));
    /// });
    /// job_started.recv().unwrap(); // running: the shutdown cannot drop it unrun
    /// rt.shutdown_timeout(Duration::from_secs(10));
    /// assert!(job_finished.try_recv().is_ok(), "the wait ended with the job");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_timeout(self, duration: Duration) {
        let pool = self.handle.blocking.clone();
        drop(self);
        pool.wait_for_threads(duration);
    }

    /// What the runtime holds right now.
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics {
            live_tasks: self.handle.executor.live_tasks(),
            io_registrations: self.handle.reactor.registrations(),
            pending_timers: self.handle.timers.pending(),
            blocking_threads: self.handle.blocking.threads(),
        }
    }
}

impl Drop for Runtime {
    /// Drops every task, fails every I/O source still registered, and stops the blocking pool;
    /// see [Shutdown](Runtime#shutdown). Each step runs to its end even if user code panics in
    /// it (a destructor, a foreign waker); the first such panic is then resumed here.
    fn drop(&mut self) {
        let mut panics = FirstPanic::default();
        {
            // This runtime is current while its tasks drop, even inside a task of another
            // runtime: a destructor that spawns lands here, and is dropped in the same drain.
            let _enter = context::enter_for_drop(self.handle.clone());
            self.handle.executor.shutdown(&mut panics);
            self.handle.reactor.shutdown(&mut panics);
            self.handle.blocking.shutdown(&mut panics);
        }
        panics.resume("dropping an evloop runtime");
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("metrics", &self.metrics())
            .field("event_interval", &self.event_interval)
            .field("task_budget", &self.task_budget)
            .finish()
    }
}
