//! Which CPUs this process may run on, and pinning a thread to one of them
//! (`sched_getaffinity` / `sched_setaffinity`): how `echo-server --shards` gives each runtime
//! a core of its own.
//!
//! The masks are glibc's `cpu_set_t` layout, written out: [`MAX_CPUS`] bits, bit `i % 64` of
//! word `i / 64` standing for CPU `i`.

use std::io;
use std::mem;

/// How many CPUs a mask can name: 1024, glibc's `CPU_SETSIZE`. The kernel accepts any mask at
/// least as large as its own configured maximum, which is at most this on every common build.
pub const MAX_CPUS: usize = 1024;

/// A set of CPUs in the kernel's layout (see the module docs).
type CpuMask = [u64; MAX_CPUS / 64];

/// The CPUs the calling thread may run on, in increasing order: all of the machine's, unless
/// the process was started under `taskset` or in a cgroup with fewer.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    let mut mask: CpuMask = [0; MAX_CPUS / 64];
    // SAFETY: the kernel writes at most `size_of_val(&mask)` bytes through the pointer, which
    // points to `mask`, a live and writable local of exactly that size.
    let result =
        unsafe { libc::sched_getaffinity(0, mem::size_of_val(&mask), mask.as_mut_ptr().cast()) };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((0..MAX_CPUS)
        .filter(|&cpu| mask[cpu / 64] & (1 << (cpu % 64)) != 0)
        .collect())
}

/// Pins the calling thread to `cpu` alone: the scheduler runs it nowhere else from now on.
/// Fails with `InvalidInput` for a CPU past [`MAX_CPUS`], and with the kernel's `EINVAL` for
/// one the process may not use.
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= MAX_CPUS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("CPU {cpu} is past the {MAX_CPUS} a mask can name"),
        ));
    }
    let mut mask: CpuMask = [0; MAX_CPUS / 64];
    mask[cpu / 64] |= 1 << (cpu % 64);
    // SAFETY: the kernel reads `size_of_val(&mask)` bytes from the pointer, which points to
    // `mask`, a live local of exactly that size. Pid 0 is the calling thread.
    let result =
        unsafe { libc::sched_setaffinity(0, mem::size_of_val(&mask), mask.as_ptr().cast()) };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
