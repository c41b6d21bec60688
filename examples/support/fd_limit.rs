//! Raising the process's descriptor limit (`RLIMIT_NOFILE`) so that thousands of sockets fit.
//!
//! Many systems start processes with a soft limit of 1024 descriptors under a much higher hard
//! limit. Every socket is a descriptor, so a process that serves or opens thousands of
//! connections has to raise its soft limit, which it may do up to the hard limit without any
//! privilege.

use std::io;

/// The soft limit used when the hard limit is "unlimited". Linux refuses (`EPERM`) any limit
/// above `fs.nr_open`, whose default is 2^20, so "unlimited" cannot simply be copied.
const UNLIMITED_FALLBACK: u64 = 1 << 20;

/// If the soft limit is below `wanted`, raises it to the hard limit. Returns the soft limit in
/// force afterwards, which is below `wanted` when even the hard limit is.
pub fn raise_nofile_limit(wanted: u64) -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through the pointer, which points to a live,
    // writable local of exactly that type.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur >= wanted {
        return Ok(limit.rlim_cur);
    }
    let target = if limit.rlim_max == libc::RLIM_INFINITY {
        wanted.min(UNLIMITED_FALLBACK)
    } else {
        limit.rlim_max
    };
    let raised = libc::rlimit {
        rlim_cur: target,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: setrlimit only reads the `rlimit` behind the pointer, a live local.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(target)
}
