//! Memory held per idle tokio task: 100,000 spawned tasks parked forever on a current_thread
//! runtime, measured by a counting allocator (bytes requested from the heap) and by the
//! process's resident set. evloop's `benches/task_memory.rs`, for tokio.
//!
//! Run with `cargo bench -p evloop-peers --bench tokio_task_memory`. It is not a criterion
//! bench: it prints one figure per method, no timing, in the same words as evloop's, so the
//! two outputs compare line by line. Issue 3's anchor: tokio ≈ 327 B per idle task beyond its
//! future.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs;
use std::future::pending;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// Idle tasks held at once, as in evloop's bench.
const TASKS: usize = 100_000;

/// The system allocator, counting the bytes and blocks currently allocated through it.
struct Counting;

/// Bytes currently allocated through [`Counting`].
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
/// Blocks currently allocated through [`Counting`].
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds as it does for `System`; the counters are only bookkeeping.
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

/// Resident set size of this process, from `/proc/self/statm` (resident pages × page size).
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

/// Idle tasks polled at least once so far.
static POLLED: AtomicUsize = AtomicUsize::new(0);

/// An idle task's future: counts its first poll, then stays parked forever on a future that
/// never wakes it.
///
/// evloop's bench parks on `pending()` alone and knows every task was polled because its
/// `block_on` future runs after all of them. tokio's `block_on` future is polled again after
/// every 61 tasks, so here each task says when it has been polled. The count makes the future
/// one byte larger than `pending()`, which is subtracted with the future's size.
async fn idle_task() {
    POLLED.fetch_add(1, Ordering::Relaxed);
    pending::<()>().await
}

/// Spawns `TASKS` idle tasks (detached, so no `JoinHandle` is counted), lets each be polled
/// once so it is parked, and prints the heap bytes and resident bytes they added, per task,
/// minus the future's own size.
///
/// This is what a tokio server pays per idle connection beyond the connection's own state: the
/// task cell (header, scheduler handle, future or output, trailer with the join waker and the
/// owned-tasks links). The run queue grows by doubling, so both figures include its slack at
/// this count, as evloop's include its slab's.
fn main() {
    // `cargo bench` passes `--bench` (and filters): this program has nothing to select.
    let future_size = size_of_val(&idle_task());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("creating a tokio current_thread runtime");
    // Warm the runtime up (thread locals, the first allocations) before the baseline.
    rt.block_on(tokio::task::yield_now());
    let heap_before = LIVE_BYTES.load(Ordering::Relaxed);
    let blocks_before = LIVE_BLOCKS.load(Ordering::Relaxed);
    let rss_before = rss_bytes();
    for _ in 0..TASKS {
        drop(rt.spawn(idle_task()));
    }
    rt.block_on(async {
        while POLLED.load(Ordering::Relaxed) < TASKS {
            tokio::task::yield_now().await;
        }
    });
    assert_eq!(rt.metrics().num_alive_tasks(), TASKS);
    let heap = (LIVE_BYTES.load(Ordering::Relaxed) - heap_before) as f64 / TASKS as f64;
    let blocks = (LIVE_BLOCKS.load(Ordering::Relaxed) - blocks_before) as f64 / TASKS as f64;
    let rss = (rss_bytes() - rss_before) as f64 / TASKS as f64;
    println!("tokio idle task memory ({TASKS} tasks, future of {future_size} B):");
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
