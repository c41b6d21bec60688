//! What the five lesson examples share: the `--quick` switch, a watchdog, and the tally of
//! correctness checks.
//!
//! A lesson example measures something and prints it, but it also checks that what it measured
//! is right (every response matched its request, every task finished). A failed check makes the
//! example exit with status 1 after it has printed its figures, so CI catches a runtime that
//! got faster by getting wrong.

use std::fmt::Display;
use std::process;
use std::thread;
use std::time::Duration;

/// The environment variable that turns quick mode on, for CI jobs that run every example
/// without editing their command lines. Any value but empty or `0` counts as on.
pub const QUICK_ENV: &str = "EVLOOP_EXAMPLE_QUICK";

/// Reads the command line, which may hold only `--quick` (and `--help`), and the environment;
/// returns whether the run is the quick one, with counts and durations shrunk so that the
/// example finishes in about two seconds.
///
/// `--help` prints `usage` and exits with status 0; any other argument is a usage error: one
/// `error:` line on stderr naming it, and exit status 2, the status shells use for usage
/// errors (the same as the echo examples, see `support/args.rs`).
pub fn quick_mode(usage: &str) -> bool {
    let mut quick = std::env::var_os(QUICK_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => quick = true,
            "-h" | "--help" => {
                print!("{usage}");
                process::exit(0);
            }
            other => {
                eprintln!(
                    "error: unknown argument {other}; this example takes only --quick and --help"
                );
                process::exit(2);
            }
        }
    }
    quick
}

/// How long a quick run may take before the watchdog ends it: fifteen times the two seconds it
/// is meant to take, so only a hang reaches it, never a slow CI machine.
const QUICK_TIME_LIMIT: Duration = Duration::from_secs(30);

/// The same for a full run; the longest (`batch-fetch`) takes about 25 s.
const FULL_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Starts a thread that ends the process with status 1 if it is still running after the time
/// limit for its mode.
///
/// A lost wake-up in the runtime shows up as a task that never runs again: the example would
/// sit in `epoll_wait` forever, and a CI job would hang until its own limit, with no clue why.
/// The watchdog turns that into a failure that says what happened.
pub fn start_watchdog(quick: bool) {
    let limit = if quick {
        QUICK_TIME_LIMIT
    } else {
        FULL_TIME_LIMIT
    };
    let started = thread::Builder::new()
        .name("watchdog".to_string())
        .spawn(move || {
            thread::sleep(limit);
            eprintln!(
                "error: still running after {} s, which is a hang (a lost wake-up?), not a slow \
                 machine; giving up",
                limit.as_secs()
            );
            process::exit(1);
        });
    if let Err(e) = started {
        // The example still works without it; only a hang would go unreported.
        eprintln!("warning: cannot start the watchdog thread: {e}");
    }
}

/// The correctness checks of one run: each one passes or is remembered with what went wrong.
pub struct Checks {
    failed: Vec<String>,
}

impl Checks {
    /// No checks yet.
    pub fn new() -> Checks {
        Checks { failed: Vec::new() }
    }

    /// Records one check; `what` describes the failure and is only kept when `passed` is false.
    pub fn check(&mut self, passed: bool, what: impl Display) {
        if !passed {
            self.failed.push(what.to_string());
        }
    }

    /// Ends the run: with every check passed this returns, else it lists the failures on stderr
    /// and exits with status 1 (the figures printed before stay on stdout for the post-mortem).
    pub fn finish(self) {
        if self.failed.is_empty() {
            return;
        }
        for failure in &self.failed {
            eprintln!("check failed: {failure}");
        }
        eprintln!("{} correctness check(s) failed", self.failed.len());
        process::exit(1);
    }
}
