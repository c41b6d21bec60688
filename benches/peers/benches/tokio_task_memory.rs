//! Memory held per idle tokio task: 100,000 spawned tasks parked forever on a current_thread
//! runtime, measured by a counting allocator (bytes requested from the heap) and by the
//! process's resident set. evloop's `benches/task_memory.rs`, for tokio.
//!
//! Run with `cargo bench -p evloop-peers --bench tokio_task_memory`. It is not a criterion
//! bench: it prints one figure per method, no timing, in the same words as evloop's, so the
//! two outputs compare line by line. Issue 3's anchor: tokio ≈ 327 B per idle task beyond its
//! future.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};

// evloop's counting allocator and resident-set reader, so both benches count alike.
#[path = "../../support/heap.rs"]
mod heap;

/// Idle tasks held at once, as in evloop's bench.
const TASKS: usize = 100_000;

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
    let (heap_before, blocks_before) = heap::live();
    let rss_before = heap::rss_bytes();
    for _ in 0..TASKS {
        drop(rt.spawn(idle_task()));
    }
    rt.block_on(async {
        while POLLED.load(Ordering::Relaxed) < TASKS {
            tokio::task::yield_now().await;
        }
    });
    assert_eq!(rt.metrics().num_alive_tasks(), TASKS);
    let (heap_after, blocks_after) = heap::live();
    let heap = (heap_after - heap_before) as f64 / TASKS as f64;
    let blocks = (blocks_after - blocks_before) as f64 / TASKS as f64;
    let rss = (heap::rss_bytes() - rss_before) as f64 / TASKS as f64;
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
