//! What the driver reads about a server from `/proc`: CPU time, thread count and resident
//! memory.
//!
//! These are the kernel's own accounts of the process, so every server is measured the same
//! way, whatever it is written in, and nothing inside it has to cooperate.

use std::fs;
use std::io;
use std::time::Duration;

/// A reading of `/proc/PID/stat`.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    /// User plus system CPU time of every thread the process has had, dead or alive (fields
    /// 14 `utime` and 15 `stime`), in clock ticks.
    pub cpu_ticks: u64,
    /// Threads alive at the moment of reading (field 20, `num_threads`).
    pub threads: u64,
}

/// Reads `/proc/PID/stat`.
pub fn stat(pid: u32) -> io::Result<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Field 2 is the command name in parentheses, and may itself contain spaces and
    // parentheses; everything after the *last* `)` is space-separated, starting at field 3.
    let after_name = text
        .rfind(')')
        .map(|end| &text[end + 1..])
        .ok_or_else(|| malformed(pid, "no `)` after the command name"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |number: usize| -> io::Result<u64> {
        fields
            .get(number - 3)
            .and_then(|field| field.parse().ok())
            .ok_or_else(|| malformed(pid, &format!("field {number} is missing or not a number")))
    };
    Ok(Stat {
        cpu_ticks: field(14)? + field(15)?,
        threads: field(20)?,
    })
}

/// The length of a clock tick, the unit of `/proc/PID/stat`'s CPU times (`_SC_CLK_TCK`,
/// 100 per second on Linux).
pub fn clock_tick() -> io::Result<Duration> {
    // SAFETY: sysconf has no preconditions; it only reads a system setting.
    let ticks_per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    match u64::try_from(ticks_per_sec) {
        Ok(per_sec) if per_sec > 0 => Ok(Duration::from_secs(1) / per_sec as u32),
        _ => Err(io::Error::other("sysconf(_SC_CLK_TCK) gave no tick length")),
    }
}

/// The process's resident set size in bytes: `VmRSS` in `/proc/PID/status` (anonymous,
/// file-backed and shared-memory pages it has resident, as the kernel counts them).
pub fn rss_bytes(pid: u32) -> io::Result<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .ok_or_else(|| malformed(pid, "no VmRSS line in status"))?;
    let kib: u64 = line
        .trim()
        .strip_suffix("kB")
        .and_then(|number| number.trim().parse().ok())
        .ok_or_else(|| malformed(pid, "VmRSS is not `N kB`"))?;
    Ok(kib * 1024)
}

fn malformed(pid: u32, what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("/proc/{pid}: {what}"))
}
