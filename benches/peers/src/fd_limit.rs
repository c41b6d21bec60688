//! Raising the descriptor limit (`RLIMIT_NOFILE`) so that the benchmark's 10,000 connections
//! fit in one process.
//!
//! Processes often start with a soft limit of 1024 under a much higher hard limit. Every
//! socket is a descriptor, and an unprivileged process may raise its soft limit up to its hard
//! limit, which is what every server in the comparison does at start.

use std::io;

/// The soft limit used when the hard limit is "unlimited": Linux refuses (`EPERM`) any limit
/// above `fs.nr_open`, which is 2^20 by default, so "unlimited" cannot be copied as is.
const UNLIMITED_FALLBACK: u64 = 1 << 20;

/// Raises the soft limit on open descriptors to the hard limit (or to [`UNLIMITED_FALLBACK`]
/// when there is none). Returns the soft limit in force afterwards.
pub fn raise_to_hard_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through the pointer, which points to `limit`, a
    // live and writable local of exactly that type.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let target = if limit.rlim_max == libc::RLIM_INFINITY {
        UNLIMITED_FALLBACK
    } else {
        limit.rlim_max
    };
    if limit.rlim_cur >= target {
        return Ok(limit.rlim_cur);
    }
    let raised = libc::rlimit {
        rlim_cur: target,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: `setrlimit` only reads the `rlimit` behind the pointer, `raised`, a live local
    // of exactly that type.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(target)
}
