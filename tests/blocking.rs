//! `spawn_blocking`: the pool runs blocking calls side by side, off the loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use evloop::Runtime;
use evloop::runtime::Builder;
use evloop::task::spawn_blocking;

/// Tracks how many jobs run at the same moment.
#[derive(Clone, Default)]
struct Overlap {
    now: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
}

impl Overlap {
    /// A blocking job: counts itself in, sleeps, counts itself out.
    fn job(&self, hold: Duration) -> impl FnOnce() + Send + 'static {
        let this = self.clone();
        move || {
            let running = this.now.fetch_add(1, Ordering::SeqCst) + 1;
            this.max.fetch_max(running, Ordering::SeqCst);
            std::thread::sleep(hold);
            this.now.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

#[test]
fn blocking_calls_run_side_by_side_on_the_pool() {
    let rt = Runtime::new().unwrap();
    let overlap = Overlap::default();
    rt.block_on(async {
        let calls: Vec<_> = (0..3)
            .map(|_| spawn_blocking(overlap.job(Duration::from_millis(200))))
            .collect();
        for call in calls {
            call.await.unwrap();
        }
    });
    assert_eq!(overlap.max(), 3);
}

#[test]
fn the_pool_never_runs_more_than_its_limit_and_queues_the_rest() {
    let rt = Builder::new().max_blocking_threads(2).build().unwrap();
    let overlap = Overlap::default();
    let outputs = rt.block_on(async {
        let calls: Vec<_> = (0..6usize)
            .map(|i| {
                let job = overlap.job(Duration::from_millis(30));
                spawn_blocking(move || {
                    job();
                    i * 10
                })
            })
            .collect();
        let mut outputs = Vec::new();
        for call in calls {
            outputs.push(call.await.unwrap());
        }
        outputs
    });
    assert_eq!(outputs, [0, 10, 20, 30, 40, 50]);
    assert_eq!(overlap.max(), 2);
    assert!(rt.metrics().blocking_threads <= 2);
}

#[test]
fn a_panic_in_a_blocking_call_arrives_as_a_join_error() {
    let rt = Runtime::new().unwrap();
    let error = rt.block_on(async {
        spawn_blocking(|| -> u32 { panic!("sync driver exploded") })
            .await
            .unwrap_err()
    });
    assert!(error.is_panic());
    assert!(
        error.to_string().contains("sync driver exploded"),
        "{error}"
    );
}

#[test]
fn the_loop_keeps_running_tasks_while_a_blocking_call_waits() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let call = spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(200));
            flag.store(true, Ordering::SeqCst);
        });
        let mut ticks_before_done = 0;
        while !done.load(Ordering::SeqCst) && ticks_before_done < 10_000 {
            evloop::time::sleep(Duration::from_millis(5)).await;
            ticks_before_done += 1;
        }
        call.await.unwrap();
        assert!(
            ticks_before_done >= 2,
            "the loop stalled: {ticks_before_done} ticks"
        );
    });
}

#[test]
fn idle_pool_threads_exit_after_the_keep_alive() {
    let rt = Builder::new()
        .blocking_keep_alive(Duration::from_millis(20))
        .build()
        .unwrap();
    rt.block_on(async {
        spawn_blocking(|| ()).await.unwrap();
        for _ in 0..500 {
            if rt.metrics().blocking_threads == 0 {
                break;
            }
            evloop::time::sleep(Duration::from_millis(10)).await;
        }
    });
    assert_eq!(rt.metrics().blocking_threads, 0);
}

#[test]
fn aborting_the_handle_stops_the_wait_but_not_the_call() {
    let rt = Runtime::new().unwrap();
    let (release, wait) = mpsc::channel::<()>();
    let (finished_tx, finished) = mpsc::channel::<()>();
    rt.block_on(async {
        let call = spawn_blocking(move || {
            let _ = wait.recv_timeout(Duration::from_secs(10));
            let _ = finished_tx.send(());
        });
        call.abort();
        assert!(call.await.unwrap_err().is_cancelled());
    });
    release.send(()).unwrap();
    assert!(
        finished.recv_timeout(Duration::from_secs(10)).is_ok(),
        "the call must still run"
    );
}

/// Counts drops across threads.
struct SendDropToken(Arc<AtomicUsize>);

impl Drop for SendDropToken {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn jobs_still_queued_when_the_runtime_drops_are_dropped_unrun() {
    let rt = Builder::new().max_blocking_threads(1).build().unwrap();
    let (release, wait) = mpsc::channel::<()>();
    let drops = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicBool::new(false));
    rt.block_on(async {
        let (started_tx, started) = mpsc::channel::<()>();
        drop(spawn_blocking(move || {
            let _ = started_tx.send(());
            let _ = wait.recv_timeout(Duration::from_secs(10));
        }));
        started.recv_timeout(Duration::from_secs(10)).unwrap();
        let token = SendDropToken(drops.clone());
        let flag = ran.clone();
        drop(spawn_blocking(move || {
            let _token = token;
            flag.store(true, Ordering::SeqCst);
        }));
    });
    drop(rt);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the queued job was dropped"
    );
    release.send(()).unwrap();
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn spawn_blocking_outside_a_runtime_panics_with_a_message() {
    let result = std::panic::catch_unwind(|| drop(spawn_blocking(|| ())));
    let payload = result.unwrap_err();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("inside an evloop runtime"), "{message}");
}

/// A waker that is not a task's: it panics when woken.
struct PanicsOnWake;

impl std::task::Wake for PanicsOnWake {
    fn wake(self: Arc<Self>) {
        panic!("foreign waker woken");
    }
}

#[test]
fn runtime_drop_stops_the_pool_even_after_a_foreign_waker_panics_in_the_reactor_step() {
    use std::future::{Future, poll_fn};
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    let rt = Builder::new().max_blocking_threads(1).build().unwrap();
    // A listener and its accept outlive the runtime, so the reactor's shutdown wakes the
    // foreign waker the accept was last polled with.
    let listener = rt
        .block_on(evloop::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let mut accept = pin!(listener.accept());
    let waker = Waker::from(Arc::new(PanicsOnWake));
    rt.block_on(poll_fn(|_| {
        let polled = accept.as_mut().poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending(), "nobody connects");
        Poll::Ready(())
    }));
    // The pool's one thread is busy, and one job waits in its queue.
    let (release, wait) = mpsc::channel::<()>();
    let drops = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicBool::new(false));
    rt.block_on(async {
        let (started_tx, started) = mpsc::channel::<()>();
        drop(spawn_blocking(move || {
            let _ = started_tx.send(());
            let _ = wait.recv_timeout(Duration::from_secs(10));
        }));
        started.recv_timeout(Duration::from_secs(10)).unwrap();
        let token = SendDropToken(drops.clone());
        let flag = ran.clone();
        drop(spawn_blocking(move || {
            let _token = token;
            flag.store(true, Ordering::SeqCst);
        }));
    });

    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(rt)));

    let payload = dropped.expect_err("the waker's panic is reported by the drop");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"foreign waker woken"));
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the pool's step ran after the reactor's: the queued job was dropped"
    );
    release.send(()).unwrap();
    assert!(!ran.load(Ordering::SeqCst));
}

/// A blocking job that reports when it starts, then waits (at most 10 s) for `release`,
/// then sets `done`.
fn held_job(
    started: mpsc::Sender<()>,
    release: mpsc::Receiver<()>,
    done: Arc<AtomicBool>,
) -> impl FnOnce() + Send + 'static {
    move || {
        started.send(()).unwrap();
        let _ = release.recv_timeout(Duration::from_secs(10));
        done.store(true, Ordering::SeqCst);
    }
}

#[test]
fn shutdown_timeout_waits_for_a_running_blocking_job() {
    let rt = Runtime::new().unwrap();
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let done = Arc::new(AtomicBool::new(false));
    let job = held_job(started_tx, release_rx, done.clone());
    let task = rt.spawn(async move { spawn_blocking(job).await });
    rt.block_on(evloop::task::yield_now());
    started.recv_timeout(Duration::from_secs(10)).unwrap();
    // Released from another thread a little later, while `shutdown_timeout` waits.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        release.send(()).unwrap();
    });
    rt.shutdown_timeout(Duration::from_secs(10));
    assert!(done.load(Ordering::SeqCst), "returned before the job ended");
    releaser.join().unwrap();
    // The task waiting for the job was dropped with the runtime.
    assert!(task.is_finished());
}

#[test]
fn shutdown_timeout_gives_up_on_a_blocking_job_after_the_duration() {
    let rt = Runtime::new().unwrap();
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let done = Arc::new(AtomicBool::new(false));
    let job = held_job(started_tx, release_rx, done.clone());
    rt.block_on(async { drop(spawn_blocking(job)) });
    started.recv_timeout(Duration::from_secs(10)).unwrap();
    let waited = std::time::Instant::now();
    rt.shutdown_timeout(Duration::from_millis(30));
    assert!(waited.elapsed() >= Duration::from_millis(30));
    assert!(!done.load(Ordering::SeqCst), "the job is still held");
    release.send(()).unwrap();
}
