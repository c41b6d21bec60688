//! What a test process holds, and the lock that lets a test measure it: open descriptors,
//! resident memory, and a runtime's own counts, so that a test can check a case gave back
//! everything it took.
//!
//! Descriptors and memory belong to the whole process, while libtest runs a binary's tests on
//! several threads at once. A test that compares them before and after holds [`exclusive`]
//! for its whole run, so no other test's sockets are counted as its leaks.

#![allow(
    dead_code,
    reason = "each test crate that includes this module uses a subset of it"
)]

use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use evloop::Runtime;
use evloop::runtime::RuntimeMetrics;

/// How long [`Baseline::assert_restored`] lets the runtime wind down: tasks that saw their
/// peer go still have to run once to end, and an aborted task is dropped at its next turn.
/// Far more than the few milliseconds that takes; reached only when something leaked.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);

/// Pause between two looks at the counts while they settle.
const SETTLE_STEP: Duration = Duration::from_millis(5);

/// Held by every test that measures the process: one at a time.
pub fn exclusive() -> MutexGuard<'static, ()> {
    static PROCESS: Mutex<()> = Mutex::new(());
    // A test that failed while holding the lock poisoned it; the next test has nothing to
    // repair (the lock guards no data), so it goes ahead.
    PROCESS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// True when `.ci/run` runs the test binaries under valgrind (it sets `EVLOOP_UNDER_VALGRIND`):
/// everything runs 20 to 50 times slower, so the tests shrink their loads and widen their
/// hang guards.
pub fn under_valgrind() -> bool {
    std::env::var_os("EVLOOP_UNDER_VALGRIND").is_some()
}

/// `normal`, or `under_valgrind` when [`under_valgrind`] says so.
pub fn scaled<T>(normal: T, under_valgrind: T) -> T {
    if self::under_valgrind() {
        under_valgrind
    } else {
        normal
    }
}

/// Descriptors this process has open (the entries of `/proc/self/fd`; the one the listing
/// itself uses is counted every time, so comparisons are unaffected).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .count()
}

/// This process's resident memory in bytes (`VmRSS` in `/proc/self/status`).
pub fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .expect("a VmRSS line in kB in /proc/self/status");
    kib * 1024
}

/// `bytes` in MiB, for reports.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Makes sure this process may open `needed` descriptors, raising the soft `RLIMIT_NOFILE` up
/// to the hard limit if it must. Fails, saying why, if the hard limit is lower.
pub fn allow_open_fds(needed: u64) -> Result<(), String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through the pointer, which points to `limit`, a
    // live, exclusively borrowed local of that type.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!("getrlimit: {}", io::Error::last_os_error()));
    }
    if limit.rlim_cur >= needed {
        return Ok(());
    }
    if limit.rlim_max < needed {
        return Err(format!(
            "{needed} descriptors needed, the hard limit is {}",
            limit.rlim_max
        ));
    }
    let raised = libc::rlimit {
        rlim_cur: needed,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: `setrlimit` reads one `rlimit` through the pointer, which points to `raised`, a
    // live local of that type.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(format!("setrlimit: {}", io::Error::last_os_error()));
    }
    Ok(())
}

/// Makes closing `stream` reset the connection (RST) instead of closing it in order (FIN):
/// `SO_LINGER` on with a zero timeout. Whatever is still queued in either direction is thrown
/// away.
pub fn reset_on_close(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `setsockopt` reads `size_of::<linger>()` bytes from the pointer, which points to
    // `linger`, a live local of exactly that type; `stream` keeps the descriptor open for the
    // duration of the call.
    let result = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(result, 0, "SO_LINGER: {}", io::Error::last_os_error());
}

/// Fixes `stream`'s kernel send and receive buffers at `bytes` each. Setting them turns off
/// the kernel's autotuning, which on loopback can grow a buffer to several MiB: with it off, a
/// peer that stops reading holds this side back after a known, small amount.
pub fn fix_socket_buffers(stream: &TcpStream, bytes: libc::c_int) {
    for option in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
        // SAFETY: `setsockopt` reads `size_of::<c_int>()` bytes from the pointer, which points
        // to `bytes`, a live `c_int`; `stream` keeps the descriptor open during the call.
        let result = unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&raw const bytes).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(result, 0, "socket buffer: {}", io::Error::last_os_error());
    }
}

/// What a runtime and the process held before a case: compared with what they hold after it.
#[derive(Debug)]
pub struct Baseline {
    metrics: RuntimeMetrics,
    fds: usize,
}

impl Baseline {
    /// The runtime's counts and the process's open descriptors, now.
    pub fn take(rt: &Runtime) -> Baseline {
        Baseline {
            metrics: rt.metrics(),
            fds: open_fds(),
        }
    }

    /// Runs `rt` until its tasks, I/O registrations and timers, and the process's open
    /// descriptors, are back to this baseline; fails the test, showing both, if they are not
    /// within [`SETTLE_LIMIT`]. Call it with the test's sockets all closed.
    pub fn assert_restored(&self, rt: &Runtime, what: &str) {
        let settled = rt.block_on(async {
            let started = Instant::now();
            // Bounded in time and in turns (the clock might be the thing that is broken).
            let most_turns = SETTLE_LIMIT.as_millis() / SETTLE_STEP.as_millis();
            for _ in 0..most_turns {
                // Looked at before the sleep: the previous sleep's timer is gone by now.
                if rt.metrics() == self.metrics && open_fds() == self.fds {
                    return true;
                }
                if started.elapsed() > SETTLE_LIMIT {
                    break;
                }
                evloop::time::sleep(SETTLE_STEP).await;
            }
            false
        });
        assert!(
            settled,
            "{what}: left something behind after {SETTLE_LIMIT:?}: before {:?} and {} open \
             descriptors, after {:?} and {}",
            self.metrics,
            self.fds,
            rt.metrics(),
            open_fds()
        );
    }
}
