//! One blocking call stalls the whole event loop: three tasks that each "work" for a second,
//! written three ways.
//!
//! ```text
//! cargo run --release --example blocking
//! cargo run --release --example blocking -- --quick    # 200 ms of work each, for CI
//! ```
//!
//! 1. `std::thread::sleep` inside the task. The task never returns to the loop while it works,
//!    so the three run one after another: about 3 s in all, exactly as if there were no
//!    runtime. The slow-poll detector, turned on here at 100 ms (it is off in release builds
//!    unless set), reports each culprit by the name it was spawned with.
//! 2. `evloop::time::sleep`. Each task hands the loop back while it waits, so the three overlap:
//!    about 1 s.
//! 3. `spawn_blocking(|| std::thread::sleep(..))`. The blocking call moves to the pool's
//!    threads and the task awaits its result: about 1 s, and the loop stays free. This is the
//!    fix when the blocking call cannot be rewritten (a synchronous driver, a long computation);
//!    asyncio calls it `run_in_executor` / `to_thread`.
//!
//! What to look for: the wall times (about 3×, 1×, 1× the work), the "each task ran" columns
//! (in the first row each task starts when the previous one ends; in the others all start at
//! 0), and the slow-poll reports, three for the first row, none for the others. The example
//! exits with status 1 if the reports or the overlap are not as described.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use evloop::runtime::SlowPoll;
use evloop::task::{self, JoinError};

#[path = "support/lesson.rs"]
mod lesson;
#[path = "support/table.rs"]
mod table;

use lesson::Checks;
use table::Table;

/// How long each task works in a full run.
const WORK: Duration = Duration::from_secs(1);

/// How long each task works in quick mode: still twice the detector's threshold, so that the
/// detector has something to report.
const QUICK_WORK: Duration = Duration::from_millis(200);

/// How many tasks work side by side.
const TASKS: usize = 3;

/// The slow-poll threshold, asyncio's debug-mode default. Set explicitly because the detector
/// is off in release builds unless asked for.
const SLOW_POLL_THRESHOLD: Duration = Duration::from_millis(100);

const USAGE: &str = "Three tasks that each work for a second, with a blocking sleep, an async \
                     sleep, and spawn_blocking.\n\n\
                     Usage: cargo run --release --example blocking -- [--quick]\n\n\
                     Options:\n  \
                     --quick     200 ms of work per task instead of 1 s \
                     (or set EVLOOP_EXAMPLE_QUICK=1)\n  \
                     -h, --help  print this help\n";

/// The three ways to write the work.
#[derive(Clone, Copy, PartialEq)]
enum Method {
    /// `std::thread::sleep` in the task: blocks the loop.
    ThreadSleep,
    /// `evloop::time::sleep`: yields to the loop while it waits.
    TimeSleep,
    /// `std::thread::sleep` on the blocking pool, awaited from the task.
    SpawnBlocking,
}

impl Method {
    fn label(self) -> &'static str {
        match self {
            Method::ThreadSleep => "std::thread::sleep in the task",
            Method::TimeSleep => "evloop::time::sleep",
            Method::SpawnBlocking => "spawn_blocking(std::thread::sleep)",
        }
    }

    /// The name the tasks get (with their number appended), which slow-poll reports show.
    fn task_name(self) -> &'static str {
        match self {
            Method::ThreadSleep => "sync-sleep",
            Method::TimeSleep => "async-sleep",
            Method::SpawnBlocking => "offloaded-sleep",
        }
    }
}

/// When one task started and finished its work, measured from the start of its run.
struct Span {
    began: Duration,
    ended: Duration,
}

fn main() -> io::Result<()> {
    let quick = lesson::quick_mode(USAGE);
    lesson::start_watchdog(quick);
    let work = if quick { QUICK_WORK } else { WORK };

    // The detector calls back on the runtime's thread, right after the slow poll; the reports
    // are collected here and read between the runs.
    let reports: Rc<RefCell<Vec<SlowPoll>>> = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&reports);
    // Without a runtime (no epoll instance, out of descriptors) there is nothing to show.
    let runtime = evloop::runtime::Builder::new()
        .slow_poll_threshold(SLOW_POLL_THRESHOLD)
        .on_slow_poll(move |report| sink.borrow_mut().push(report.clone()))
        .build()?;

    println!(
        "{TASKS} tasks, each working {:.2} s; slow-poll threshold {} ms\n",
        work.as_secs_f64(),
        SLOW_POLL_THRESHOLD.as_millis()
    );
    let mut header = vec!["method", "wall (s)", "slow polls"];
    let task_columns: Vec<String> = (1..=TASKS).map(|i| format!("task {i} ran (s)")).collect();
    header.extend(task_columns.iter().map(String::as_str));
    let mut table = Table::new(&header);
    let mut checks = Checks::new();
    let mut culprits = Vec::new();

    for method in [
        Method::ThreadSleep,
        Method::TimeSleep,
        Method::SpawnBlocking,
    ] {
        let started = Instant::now();
        let spans = runtime.block_on(run(method, work)).map_err(task_failed)?;
        let wall = started.elapsed();
        let found = reports.take();

        let mut row = vec![
            method.label().to_string(),
            format!("{:.3}", wall.as_secs_f64()),
            found.len().to_string(),
        ];
        row.extend(spans.iter().map(|span| {
            format!(
                "{:.3}-{:.3}",
                span.began.as_secs_f64(),
                span.ended.as_secs_f64()
            )
        }));
        table.row(row);

        // Serial work cannot take less than the sum of its parts; overlapped work must take
        // clearly less. Half a task's work is the margin, so a loaded CI machine does not
        // turn a delay into a failure, while a loop that serialised the tasks still fails.
        let serial = work * TASKS as u32;
        let overlapped_at_most = serial - work / 2;
        if method == Method::ThreadSleep {
            checks.check(
                wall >= serial,
                format!("{}: {wall:?}, less than {serial:?}", method.label()),
            );
            let mut names: Vec<&str> = found.iter().filter_map(SlowPoll::name).collect();
            names.sort_unstable();
            let expected: Vec<String> = (1..=TASKS)
                .map(|i| format!("{}-{i}", method.task_name()))
                .collect();
            checks.check(
                names == expected,
                format!(
                    "{}: the detector named {names:?}, not {expected:?}",
                    method.label()
                ),
            );
            culprits = found;
        } else {
            checks.check(
                wall < overlapped_at_most,
                format!(
                    "{}: {wall:?}; the tasks did not overlap (serial is {serial:?})",
                    method.label()
                ),
            );
            checks.check(
                found.is_empty(),
                format!(
                    "{}: {} slow polls reported, none expected",
                    method.label(),
                    found.len()
                ),
            );
        }
    }
    print!("{table}");

    println!(
        "\nslow-poll reports during \"{}\":\n",
        Method::ThreadSleep.label()
    );
    let mut report_table = Table::new(&["task", "spawned at", "held the loop (s)"]);
    for report in &culprits {
        report_table.row(vec![
            report.name().unwrap_or("(unnamed)").to_string(),
            report.location().to_string(),
            format!("{:.3}", report.held().as_secs_f64()),
        ]);
    }
    print!("{report_table}");
    if let Some(first) = culprits.first() {
        // The detector's own words, as the default reporter would print them on stderr.
        println!("\nas the default reporter words it:\n  evloop: slow poll: {first}");
    }
    checks.finish();
    Ok(())
}

/// Spawns the tasks for `method`, named for the slow-poll reports, and waits for all of them.
async fn run(method: Method, work: Duration) -> Result<Vec<Span>, JoinError> {
    let start = Instant::now();
    let handles: Vec<_> = (1..=TASKS)
        .map(|i| {
            task::Builder::new()
                .name(&format!("{}-{i}", method.task_name()))
                .spawn(async move {
                    let began = start.elapsed();
                    match method {
                        Method::ThreadSleep => std::thread::sleep(work),
                        Method::TimeSleep => evloop::time::sleep(work).await,
                        Method::SpawnBlocking => {
                            // A pool thread that panics is the only way this fails; let the
                            // panic through to this task's handle, which `main` reports.
                            if let Err(e) =
                                task::spawn_blocking(move || std::thread::sleep(work)).await
                            {
                                panic!("the blocking sleep failed: {e:?}");
                            }
                        }
                    }
                    Span {
                        began,
                        ended: start.elapsed(),
                    }
                })
        })
        .collect();
    let mut spans = Vec::with_capacity(TASKS);
    for handle in handles {
        spans.push(handle.await?);
    }
    Ok(spans)
}

/// Turns a task that panicked into an error for `main`: a bug in this example or the runtime,
/// with nothing left worth measuring. (The panic message is already on stderr.)
fn task_failed(e: JoinError) -> io::Error {
    io::Error::other(format!("a task of the example failed: {e:?}"))
}
