//! What concurrency costs: 100,000 tasks that each sleep for a second on evloop, next to the
//! same wait on OS threads.
//!
//! ```text
//! cargo run --release --example many-tasks
//! cargo run --release --example many-tasks -- --quick    # 10,000 tasks of 200 ms, for CI
//! ```
//!
//! Each side runs in a child process of this same binary (it starts itself again with a hidden
//! flag), so that each peak resident set size (`VmHWM` in `/proc/self/status`) belongs to one
//! side alone. A child reads its resident size before it starts any task or thread, the
//! baseline, and its peak afterwards; the difference divided by the count is what one task or
//! one thread cost in memory.
//!
//! The threads side starts as many threads as the machine allows, up to 10,000, each with a
//! 64 KiB stack (the default is 2 MiB of address space each). The first failed spawn (a
//! process or thread limit such as `RLIMIT_NPROC` or `kernel.threads-max`, or memory) stops
//! it, and the output says how many ran and why it stopped.
//!
//! What to look for: both sides take about one sleep of wall time (the threads side adds the
//! time to create them), but a task costs a few hundred bytes where a thread costs tens of
//! kilobytes of resident memory, plus kernel memory that `VmHWM` does not show. This is the
//! asyncio article's "more than 100,000 tasks, against 100 to 1,000 threads". The example
//! exits with status 1 if a task did not complete or the evloop side failed.

use std::io;
use std::process::{self, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

#[path = "support/lesson.rs"]
mod lesson;
#[path = "support/table.rs"]
mod table;

use lesson::Checks;
use table::Table;

/// Tasks, and how long each sleeps, in a full run.
const TASKS: usize = 100_000;
const SLEEP: Duration = Duration::from_secs(1);

/// The same in quick mode.
const QUICK_TASKS: usize = 10_000;
const QUICK_SLEEP: Duration = Duration::from_millis(200);

/// The most OS threads the threads side starts. Beyond this the run tells nothing new and
/// starts to test the machine's limits instead of the cost of a thread.
const MAX_THREADS: usize = 10_000;

/// Each thread's stack size. The threads only sleep, so a small stack is enough, and it gives
/// threads their best case: the default (2 MiB) would only reserve more address space, while
/// the resident cost is the pages actually touched either way.
const THREAD_STACK: usize = 64 * 1024;

/// The hidden first argument that makes the process a child: `--child-run KIND COUNT MILLIS`,
/// where KIND is `evloop` or `threads`. The child prints `key value` lines on stdout.
const CHILD_FLAG: &str = "--child-run";

const USAGE: &str = "100,000 sleeping tasks on evloop next to up to 10,000 sleeping OS threads: \
                     wall time and memory.\n\n\
                     Usage: cargo run --release --example many-tasks -- [--quick]\n\n\
                     Options:\n  \
                     --quick     10,000 tasks of 200 ms instead of 100,000 of 1 s \
                     (or set EVLOOP_EXAMPLE_QUICK=1)\n  \
                     -h, --help  print this help\n";

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(CHILD_FLAG) {
        // A child's hang must end it too: the parent waits for its output.
        lesson::start_watchdog(false);
        return child(&args[2..]);
    }
    let quick = lesson::quick_mode(USAGE);
    lesson::start_watchdog(quick);
    let (tasks, sleep) = if quick {
        (QUICK_TASKS, QUICK_SLEEP)
    } else {
        (TASKS, SLEEP)
    };
    let threads = tasks.min(MAX_THREADS);
    println!(
        "each task or thread sleeps {} ms; {tasks} evloop tasks, up to {threads} OS threads \
         with {} KiB stacks\n",
        sleep.as_millis(),
        THREAD_STACK / 1024
    );

    let mut checks = Checks::new();
    let mut table = Table::new(&[
        "",
        "wanted",
        "ran",
        "start all (s)",
        "wall (s)",
        "baseline RSS (MiB)",
        "peak RSS (MiB)",
        "bytes each",
    ]);
    let mut notes = Vec::new();
    let mut per_unit = [None, None];

    for (side, kind, count) in [(0, "evloop", tasks), (1, "threads", threads)] {
        let label = match kind {
            "evloop" => "evloop tasks".to_string(),
            _ => format!("OS threads ({} KiB stack)", THREAD_STACK / 1024),
        };
        match run_child(kind, count, sleep) {
            Ok(report) => {
                per_unit[side] = report.bytes_each();
                table.row(vec![
                    label.clone(),
                    count.to_string(),
                    report.completed.to_string(),
                    format!("{:.3}", report.spawn_secs),
                    format!("{:.3}", report.wall_secs),
                    mib(report.baseline_kib),
                    mib(report.peak_kib),
                    per_unit[side].map_or("n/a".to_string(), |b| format!("{b:.0}")),
                ]);
                if let Some(reason) = &report.stopped_by {
                    notes.push(format!(
                        "{label}: stopped after {} of {count}: {reason}",
                        report.spawned
                    ));
                }
                if report.completed < report.spawned {
                    notes.push(format!(
                        "{label}: only {} of {} finished",
                        report.completed, report.spawned
                    ));
                }
                // A thread limit is the machine's, but every task evloop accepted must finish.
                if kind == "evloop" {
                    checks.check(
                        report.spawned == count && report.completed == count,
                        format!(
                            "evloop: {} of {count} tasks spawned, {} completed",
                            report.spawned, report.completed
                        ),
                    );
                }
            }
            Err(e) => {
                let mut row = vec![label.clone(), count.to_string()];
                row.resize(8, "-".to_string());
                table.row(row);
                notes.push(format!("{label}: failed: {e} (its stderr above says why)"));
                // The threads side may die of the machine's limits, which is what it explores;
                // the evloop side has no excuse.
                if kind == "evloop" {
                    checks.check(false, format!("the evloop child failed: {e}"));
                }
            }
        }
    }
    print!("{table}");
    if let [Some(task), Some(thread)] = per_unit
        && task > 0.0
    {
        println!(
            "\none OS thread costs {:.0}× the memory of one task",
            thread / task
        );
    }
    for note in &notes {
        println!("note: {note}");
    }
    println!(
        "note: RSS shows user-space memory only; each thread also holds kernel memory that it \
         does not show (on x86-64 Linux a 16 KiB kernel stack and its task_struct)"
    );
    checks.finish();
    Ok(())
}

/// What a child reported.
struct ChildReport {
    spawned: usize,
    completed: usize,
    /// Time to start every task or thread.
    spawn_secs: f64,
    /// Time from the first start to the last completion.
    wall_secs: f64,
    /// Resident size before any task or thread, and the peak; `None` where `/proc` is missing.
    baseline_kib: Option<u64>,
    peak_kib: Option<u64>,
    /// Why the threads side stopped starting threads early.
    stopped_by: Option<String>,
}

impl ChildReport {
    /// The peak's growth over the baseline, per task or thread that ran.
    fn bytes_each(&self) -> Option<f64> {
        let grown = self.peak_kib?.saturating_sub(self.baseline_kib?);
        (self.spawned > 0).then(|| (grown * 1024) as f64 / self.spawned as f64)
    }
}

/// Runs this binary as a child of `kind` and parses what it prints.
fn run_child(kind: &str, count: usize, sleep: Duration) -> io::Result<ChildReport> {
    let exe = std::env::current_exe()?;
    let output = Command::new(exe)
        .args([
            CHILD_FLAG,
            kind,
            &count.to_string(),
            &sleep.as_millis().to_string(),
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "the child process ended with {}",
            output.status
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
            .map(str::to_string)
    };
    let number = |key: &str| -> io::Result<f64> {
        field(key)
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| io::Error::other(format!("the child printed no `{key}`: {text:?}")))
    };
    Ok(ChildReport {
        spawned: number("spawned")? as usize,
        completed: number("completed")? as usize,
        spawn_secs: number("spawn_secs")?,
        wall_secs: number("wall_secs")?,
        baseline_kib: number("baseline_rss_kib").ok().map(|kib| kib as u64),
        peak_kib: number("peak_rss_kib").ok().map(|kib| kib as u64),
        stopped_by: field("stopped_by"),
    })
}

/// The child: `KIND COUNT MILLIS` (see [`CHILD_FLAG`]). It prints its figures on stdout.
fn child(args: &[String]) -> io::Result<()> {
    let [kind, count, millis] = args else {
        eprintln!("error: {CHILD_FLAG} takes KIND COUNT MILLIS");
        process::exit(2);
    };
    let count = child_number("COUNT", count, TASKS as u64) as usize;
    let sleep = Duration::from_millis(child_number("MILLIS", millis, CHILD_MAX_MILLIS));
    match kind.as_str() {
        "evloop" => child_evloop(count, sleep),
        "threads" => {
            child_threads(count, sleep);
            Ok(())
        }
        _ => {
            eprintln!("error: {CHILD_FLAG} KIND {kind} is neither evloop nor threads");
            process::exit(2);
        }
    }
}

/// The longest sleep a child accepts, in milliseconds: a minute, far more than the full run's
/// one second, and short enough that a child cannot outlive its watchdog.
const CHILD_MAX_MILLIS: u64 = 60_000;

/// The child's argument `what` (`text`) as a whole number from 0 to `max`; anything else is a
/// usage error, one `error:` line and exit status 2 (the parent never passes one, but the flag
/// can be typed by hand).
fn child_number(what: &str, text: &str, max: u64) -> u64 {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        eprintln!("error: {CHILD_FLAG} {what} {text:?} is not a whole number");
        process::exit(2);
    }
    // Only digits: the parse fails only for a number beyond 64 bits, which is too large too.
    match text.parse::<u64>() {
        Ok(n) if n <= max => n,
        _ => {
            eprintln!("error: {CHILD_FLAG} {what} {text} is too large: at most {max}");
            process::exit(2);
        }
    }
}

/// `count` tasks that each sleep for `sleep` on one evloop runtime.
fn child_evloop(count: usize, sleep: Duration) -> io::Result<()> {
    // The detector is turned off: the one poll that spawns every task takes long in a debug
    // build, by design, and a report about it would only be noise here. (It is off in release
    // builds anyway.)
    let runtime = evloop::runtime::Builder::new()
        .disable_slow_poll_detector()
        .build()?;
    let baseline = proc_status_kib("VmRSS");
    let (spawn_secs, wall_secs, completed) = runtime.block_on(async {
        let started = Instant::now();
        let handles: Vec<_> = (0..count)
            .map(|i| {
                evloop::spawn(async move {
                    evloop::time::sleep(sleep).await;
                    i
                })
            })
            .collect();
        let spawn_secs = started.elapsed().as_secs_f64();
        let mut completed = 0;
        for (i, handle) in handles.into_iter().enumerate() {
            // A task that panicked or returned someone else's number did not complete.
            if let Ok(returned) = handle.await
                && returned == i
            {
                completed += 1;
            }
        }
        (spawn_secs, started.elapsed().as_secs_f64(), completed)
    });
    print_child_report(count, completed, spawn_secs, wall_secs, baseline, None);
    Ok(())
}

/// Up to `count` OS threads that each sleep for `sleep`; stops at the first failed spawn.
fn child_threads(count: usize, sleep: Duration) {
    let baseline = proc_status_kib("VmRSS");
    let started = Instant::now();
    let mut handles = Vec::with_capacity(count);
    let mut stopped_by = None;
    for i in 0..count {
        let spawned = thread::Builder::new()
            .stack_size(THREAD_STACK)
            .spawn(move || {
                thread::sleep(sleep);
                i
            });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                // The machine's limit, which is what this side measures: report it, and let
                // the threads already running finish.
                stopped_by = Some(e.to_string());
                break;
            }
        }
    }
    let spawn_secs = started.elapsed().as_secs_f64();
    let spawned = handles.len();
    let completed = handles
        .into_iter()
        .enumerate()
        .filter_map(|(i, handle)| handle.join().ok().filter(|&returned| returned == i))
        .count();
    let wall_secs = started.elapsed().as_secs_f64();
    print_child_report(
        spawned, completed, spawn_secs, wall_secs, baseline, stopped_by,
    );
}

/// Prints a child's figures, one `key value` line each, for [`run_child`] to parse.
fn print_child_report(
    spawned: usize,
    completed: usize,
    spawn_secs: f64,
    wall_secs: f64,
    baseline_kib: Option<u64>,
    stopped_by: Option<String>,
) {
    println!("spawned {spawned}");
    println!("completed {completed}");
    println!("spawn_secs {spawn_secs:.6}");
    println!("wall_secs {wall_secs:.6}");
    if let Some(kib) = baseline_kib {
        println!("baseline_rss_kib {kib}");
    }
    // Read last, after everything ran: the high-water mark covers the whole run.
    if let Some(kib) = proc_status_kib("VmHWM") {
        println!("peak_rss_kib {kib}");
    }
    if let Some(reason) = stopped_by {
        println!("stopped_by {reason}");
    }
}

/// A `kB` figure from `/proc/self/status` (`VmRSS`, `VmHWM`); `None` where there is no such
/// file (not Linux) or no such line.
fn proc_status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// KiB as MiB with one decimal, or `n/a`.
fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".to_string(), |kib| {
        format!("{:.1}", kib as f64 / 1024.0)
    })
}
