//! Memory held per idle task: 100,000 spawned tasks parked forever, measured by a counting
//! allocator (bytes requested from the heap) and by the process's resident set.
//!
//! Run with `cargo bench --bench task_memory`. It is not a criterion bench: it prints one
//! figure per method, no timing. Issue 3's target is ≤ 128 B per idle task beyond its future
//! (tokio current_thread: 327 B).

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs;
use std::future::{Future, pending};
use std::sync::atomic::{AtomicIsize, Ordering};

use evloop::Runtime;

/// Idle tasks held at once.
const TASKS: usize = 100_000;

/// The system allocator, counting the bytes and blocks currently allocated through it.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds as it does for `System`; the counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Resident set size of this process, from `/proc/self/statm` (pages × 4 KiB).
fn rss_bytes() -> usize {
    let statm = fs::read_to_string("/proc/self/statm").expect("reading /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("statm's second field is the resident page count");
    // SAFETY: `sysconf` has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * usize::try_from(page).expect("the page size is positive")
}

/// An idle task's future: parked forever on a future that never wakes it.
fn idle_future() -> impl Future<Output = ()> {
    pending::<()>()
}

/// Spawns `TASKS` idle tasks (detached, so no `JoinHandle` is counted), polls each once so
/// it is parked, and prints the heap bytes and resident bytes they added, per task, minus
/// the future's own size.
///
/// This is what a server pays per idle connection beyond the connection's own state:
/// the task cell, its slot in the slab, its schedule state and waker. The slab and run
/// queue grow by doubling, so both figures include their slack at this count.
fn main() {
    // `cargo bench` passes `--bench` (and filters): this program has nothing to select.
    let future_size = std::mem::size_of_val(&idle_future());
    let rt = Runtime::new().expect("creating an evloop runtime");
    // Warm the runtime up (thread locals, the first allocations) before the baseline.
    rt.block_on(evloop::task::yield_now());
    let heap_before = LIVE_BYTES.load(Ordering::Relaxed);
    let blocks_before = LIVE_BLOCKS.load(Ordering::Relaxed);
    let rss_before = rss_bytes();
    for _ in 0..TASKS {
        drop(rt.spawn(idle_future()));
    }
    // The block_on future is queued after every task, and yields once: by the time it
    // returns, every task has been polled and is parked.
    rt.block_on(evloop::task::yield_now());
    assert_eq!(rt.metrics().live_tasks, TASKS);
    let heap = (LIVE_BYTES.load(Ordering::Relaxed) - heap_before) as f64 / TASKS as f64;
    let blocks = (LIVE_BLOCKS.load(Ordering::Relaxed) - blocks_before) as f64 / TASKS as f64;
    let rss = (rss_bytes() - rss_before) as f64 / TASKS as f64;
    println!("idle task memory ({TASKS} tasks, future of {future_size} B):");
    println!(
        "  heap bytes requested per task: {heap:.1} B ({:.1} B beyond the future)",
        heap - future_size as f64
    );
    println!("  heap blocks per task:          {blocks:.2}");
    println!(
        "  resident bytes per task:       {rss:.1} B ({:.1} B beyond the future)",
        rss - future_size as f64
    );
}
