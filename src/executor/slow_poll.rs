//! The slow-poll detector: names the task that held the loop too long in one poll.
//!
//! One poll that blocks (a `std::thread::sleep`, a synchronous database call, a long
//! computation) stalls every other task, timer and socket, silently. The detector times each
//! poll and reports the ones longer than a threshold, with the task's name and spawn site.
//!
//! It lives in the executor, which calls it around every poll (the `block_on` future's
//! included), and it is the executor's only contact with the clock.
//!
//! # Invariants
//!
//! 1. It reads the clock twice per poll, and only when enabled: off, it costs one branch.
//! 2. The report runs after the poll *and* after the executor has recorded the poll's outcome
//!    (the task re-queued, parked or completed), with no runtime borrow held: a callback may
//!    spawn or wake, and one that panics propagates out of `block_on` without leaving a task
//!    half-polled.

use std::fmt;
use std::panic::Location;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A task's identity as reported to users.
#[derive(Debug, Clone)]
pub(crate) struct TaskDescription {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    /// The spawn site (where `block_on` was called, for its future).
    pub(crate) location: &'static Location<'static>,
}

/// The threshold the detector uses in debug builds when none is set, as asyncio's debug mode
/// does: a poll that takes 100 ms is a bug in an event loop (it delays every other task by as
/// much), not a slow task.
pub const DEFAULT_SLOW_POLL_THRESHOLD: Duration = Duration::from_millis(100);

/// One poll that held the event loop longer than the threshold.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use std::time::Duration;
///
/// let reports = Rc::new(RefCell::new(Vec::new()));
/// let sink = reports.clone();
/// let rt = evloop::runtime::Builder::new()
///     .slow_poll_threshold(Duration::from_millis(20))
///     .on_slow_poll(move |report| sink.borrow_mut().push(report.clone()))
///     .build()?;
/// rt.block_on(async {
///     let blocking = evloop::task::Builder::new()
///         .name("sync-db-call")
///         .spawn(async { std::thread::sleep(Duration::from_millis(30)) });
///     blocking.await.unwrap();
/// });
/// let reports = reports.borrow();
/// assert_eq!(reports[0].name(), Some("sync-db-call"));
/// assert!(reports[0].held() >= Duration::from_millis(30));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SlowPoll {
    task: TaskDescription,
    held: Duration,
    threshold: Duration,
}

impl SlowPoll {
    /// The task's id (unique within the process).
    pub fn task_id(&self) -> u64 {
        self.task.id
    }

    /// The task's name, if it was spawned with [`task::Builder::name`](crate::task::Builder::name)
    /// (`"block_on"` for the future given to `block_on`).
    pub fn name(&self) -> Option<&str> {
        self.task.name.as_deref()
    }

    /// Where the task was spawned (where `block_on` was called, for its future).
    pub fn location(&self) -> &'static Location<'static> {
        self.task.location
    }

    /// How long the poll held the loop.
    pub fn held(&self) -> Duration {
        self.held
    }
}

impl fmt::Display for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task #{}", self.task.id)?;
        if let Some(name) = &self.task.name {
            write!(f, " {name:?}")?;
        }
        write!(
            f,
            " (spawned at {}) held the event loop for {:?} in one poll (threshold {:?}); \
             move blocking calls to evloop::task::spawn_blocking",
            self.task.location, self.held, self.threshold
        )
    }
}

/// Where reports go.
pub(crate) type Reporter = Rc<dyn Fn(&SlowPoll)>;

/// The default reporter: one line on stderr.
pub(crate) fn report_to_stderr() -> Reporter {
    Rc::new(|report: &SlowPoll| eprintln!("evloop: slow poll: {report}"))
}

/// Times polls and reports the slow ones.
#[derive(Clone)]
pub(crate) struct SlowPollDetector {
    threshold: Duration,
    report: Reporter,
}

impl SlowPollDetector {
    pub(crate) fn new(threshold: Duration, report: Reporter) -> Self {
        SlowPollDetector { threshold, report }
    }

    /// Runs `poll` and returns its output, with how long it took if that was over the
    /// threshold. Reporting is a separate step ([`report`](Self::report)) so the caller can
    /// finish its bookkeeping first: a report is user code and may panic.
    pub(crate) fn watch<R>(&self, poll: impl FnOnce() -> R) -> (R, Option<Duration>) {
        let started = Instant::now();
        let output = poll();
        let held = started.elapsed();
        (output, (held >= self.threshold).then_some(held))
    }

    /// Reports one slow poll of `task`.
    pub(crate) fn report(&self, task: TaskDescription, held: Duration) {
        (self.report)(&SlowPoll {
            task,
            held,
            threshold: self.threshold,
        });
    }
}

impl fmt::Debug for SlowPollDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlowPollDetector")
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}
