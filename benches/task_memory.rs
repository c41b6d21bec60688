//! Memory held per idle task: 100,000 spawned tasks parked forever, measured by a counting
//! allocator (bytes requested from the heap) and by the process's resident set.
//!
//! Run with `cargo bench --bench task_memory`. It is not a criterion bench: it prints one
//! figure per method, no timing. Issue 3's target is ≤ 128 B per idle task beyond its future
//! (tokio current_thread: 327 B).

use std::future::{Future, pending};

use evloop::Runtime;

// The counting allocator and the resident-set reader, shared with the tokio twin.
#[path = "support/heap.rs"]
mod heap;

/// Idle tasks held at once.
const TASKS: usize = 100_000;

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
    let (heap_before, blocks_before) = heap::live();
    let rss_before = heap::rss_bytes();
    for _ in 0..TASKS {
        drop(rt.spawn(idle_future()));
    }
    // The block_on future is queued after every task, and yields once: by the time it
    // returns, every task has been polled and is parked.
    rt.block_on(evloop::task::yield_now());
    assert_eq!(rt.metrics().live_tasks, TASKS);
    let (heap_after, blocks_after) = heap::live();
    let heap = (heap_after - heap_before) as f64 / TASKS as f64;
    let blocks = (blocks_after - blocks_before) as f64 / TASKS as f64;
    let rss = (heap::rss_bytes() - rss_before) as f64 / TASKS as f64;
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
