//! Fairness and idleness: a busy task does not starve timers, sockets or other tasks; an idle
//! runtime sleeps in the kernel; a wake from another thread ends that sleep.

// Miri cannot open sockets or call epoll, so this whole file is left out under it.
#![cfg(not(miri))]

mod support;
#[path = "support/watchdog.rs"]
mod watchdog;

use std::cell::Cell;
use std::future::poll_fn;
use std::io::{self, ErrorKind, Write as _};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use evloop::coop::TASK_BUDGET;
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::TcpStream;
use evloop::task::yield_now;
use evloop::time::{sleep, timeout};

use support::rt;
use watchdog::{THREAD_LIMIT, on_own_thread};

/// How long a busy loop in these tests runs at most before it gives up.
///
/// It is also each starvation test's deadline: a starved runtime cannot fire the timer of a
/// `with_deadline` guard, so the busy task bounds itself and reports that it gave up.
const BUSY_LIMIT: Duration = Duration::from_secs(5);

/// Iterations a busy loop runs at most, whatever the clock says.
const BUSY_MAX_TURNS: u64 = 100_000_000;

/// How a busy loop ended.
#[derive(Debug, PartialEq, Eq)]
enum BusyEnd {
    /// Something else ran and set the stop flag: no starvation.
    Stopped,
    /// It hit [`BUSY_LIMIT`] or [`BUSY_MAX_TURNS`]: whatever should have stopped it was starved.
    GaveUp,
}

/// Bounds for a busy loop: [`BUSY_LIMIT`] and [`BUSY_MAX_TURNS`].
struct BusyBound {
    started: Instant,
    turns: u64,
}

impl BusyBound {
    fn new() -> Self {
        BusyBound {
            started: Instant::now(),
            turns: 0,
        }
    }

    /// Counts a turn; false once the loop must give up.
    fn another_turn(&mut self) -> bool {
        self.turns += 1;
        self.turns <= BUSY_MAX_TURNS && self.started.elapsed() < BUSY_LIMIT
    }
}

/// A task that wakes itself forever: it yields in a loop, counting turns in `spins`, until
/// `stop` is set.
async fn spin_until_stopped(stop: Rc<Cell<bool>>, spins: Rc<Cell<u64>>) -> BusyEnd {
    let mut bound = BusyBound::new();
    while !stop.get() {
        if !bound.another_turn() {
            return BusyEnd::GaveUp;
        }
        yield_now().await;
        spins.set(spins.get() + 1);
    }
    BusyEnd::Stopped
}

#[test]
fn self_waking_task_does_not_starve_a_timer() {
    let (spinner_end, slept, spins_during_sleep) = on_own_thread("spinner and timer", || {
        rt().block_on(async {
            let stop = Rc::new(Cell::new(false));
            let spins = Rc::new(Cell::new(0));
            let spinner = evloop::spawn(spin_until_stopped(stop.clone(), spins.clone()));
            let sleeper = evloop::spawn(async move {
                let started = Instant::now();
                sleep(Duration::from_millis(20)).await;
                let slept = started.elapsed();
                let spins_during_sleep = spins.get();
                stop.set(true);
                (slept, spins_during_sleep)
            });
            let (slept, spins_during_sleep) = sleeper.await.unwrap();
            (spinner.await.unwrap(), slept, spins_during_sleep)
        })
    });
    assert_eq!(
        spinner_end,
        BusyEnd::Stopped,
        "the timer fired while the spinner ran"
    );
    assert!(slept >= Duration::from_millis(20), "slept only {slept:?}");
    assert!(
        spins_during_sleep > 0,
        "premise: the spinner was running while the timer waited"
    );
}

#[test]
fn self_waking_task_does_not_starve_a_socket() {
    let (spinner_end, echoed, spins_during_round_trip) =
        on_own_thread("spinner and socket", || {
            rt().block_on(async {
                let stop = Rc::new(Cell::new(false));
                let spins = Rc::new(Cell::new(0));
                let spinner = evloop::spawn(spin_until_stopped(stop.clone(), spins.clone()));

                let (listener, addr) = support::listen().await;
                let server = evloop::spawn(async move {
                    let (mut stream, _) = listener.accept().await?;
                    let mut message = [0; 4];
                    stream.read_exact(&mut message).await?;
                    stream.write_all(&message).await
                });
                let round_trip = async {
                    let mut stream = TcpStream::connect(addr).await?;
                    stream.write_all(b"ping").await?;
                    let mut echoed = [0; 4];
                    stream.read_exact(&mut echoed).await?;
                    Ok::<[u8; 4], io::Error>(echoed)
                };
                let echoed = round_trip.await.unwrap();
                let spins_during_round_trip = spins.get();
                stop.set(true);
                server.await.unwrap().unwrap();
                (spinner.await.unwrap(), echoed, spins_during_round_trip)
            })
        });
    assert_eq!(
        spinner_end,
        BusyEnd::Stopped,
        "the echo round trip finished while the spinner ran"
    );
    assert_eq!(&echoed, b"ping");
    assert!(
        spins_during_round_trip > 0,
        "premise: the spinner was running during the round trip"
    );
}

/// Writes to `addr` as fast as the kernel takes it, counting bytes in `flooded`, until `stop`
/// is set, the connection fails (the reader closed it), or [`BUSY_LIMIT`] passes.
fn flood(addr: SocketAddr, stop: &AtomicBool, flooded: &AtomicUsize) {
    let mut stream = std::net::TcpStream::connect(addr).expect("flooder connects");
    // A blocked write returns after this long, so the flag is checked even when the reader
    // has stopped reading.
    stream
        .set_write_timeout(Some(Duration::from_millis(20)))
        .expect("set a write timeout");
    let chunk = vec![0x5A; 64 * 1024];
    let started = Instant::now();
    while !stop.load(Ordering::Acquire) && started.elapsed() < BUSY_LIMIT {
        match stream.write(&chunk) {
            Ok(n) => {
                flooded.fetch_add(n, Ordering::Release);
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            // The reader closed the connection: the test is over.
            Err(_) => break,
        }
    }
}

/// Bytes each read of [`read_flood`] asks for: tiny, so one budget of reads takes a sliver
/// of what the flooder keeps queued.
const FLOOD_READ_SIZE: usize = 16;

/// What [`read_flood`] saw.
#[derive(Debug)]
struct FloodReport {
    end: BusyEnd,
    reads: u64,
    /// The most reads completed in a row while the other task's `ticks` did not move.
    longest_run_alone: u32,
}

/// Reads `stream` in tiny reads, with no other await, until `stop` is set; watches `ticks`
/// (another task's progress) between reads. Closes the stream at the end, which resets the
/// connection (data is left unread) and so ends the flooder.
async fn read_flood(
    mut stream: TcpStream,
    stop: Rc<Cell<bool>>,
    ticks: Rc<Cell<u64>>,
) -> FloodReport {
    let mut buf = [0; FLOOD_READ_SIZE];
    let mut bound = BusyBound::new();
    let mut reads = 0;
    let mut run_alone = 0;
    let mut longest_run_alone = 0;
    let mut ticks_seen = ticks.get();
    let end = loop {
        if stop.get() {
            break BusyEnd::Stopped;
        }
        if !bound.another_turn() {
            break BusyEnd::GaveUp;
        }
        let n = stream.read(&mut buf).await.expect("read the flood");
        assert!(n > 0, "the flood does not end while the test runs");
        reads += 1;
        if ticks.get() == ticks_seen {
            run_alone += 1;
        } else {
            ticks_seen = ticks.get();
            run_alone = 1;
        }
        longest_run_alone = longest_run_alone.max(run_alone);
    };
    FloodReport {
        end,
        reads,
        longest_run_alone,
    }
}

/// Counts its polls in `ticks`, yielding between them, until `stop` is set. Every poll ticks,
/// the last one too, since the reader may still finish a read after it.
async fn tick_until_stopped(stop: Rc<Cell<bool>>, ticks: Rc<Cell<u64>>) {
    let mut bound = BusyBound::new();
    loop {
        ticks.set(ticks.get() + 1);
        if stop.get() || !bound.another_turn() {
            break;
        }
        yield_now().await;
    }
}

#[test]
fn always_ready_socket_reader_yields_to_a_timer_and_other_tasks() {
    // Queued before the reader starts: thousands of reads' worth, far more than one budget.
    const PREFILL: usize = 64 * 1024;

    let (report, ticks, slept) = on_own_thread("reader of a flooded socket", || {
        let flood_stop = Arc::new(AtomicBool::new(false));
        let flooded = Arc::new(AtomicUsize::new(0));
        let rt = rt();
        let (listener, addr) = rt.block_on(support::listen());
        let flooder = thread::spawn({
            let flood_stop = flood_stop.clone();
            let flooded = flooded.clone();
            move || flood(addr, &flood_stop, &flooded)
        });

        let outcome = rt.block_on(async {
            let (stream, _) = listener.accept().await.unwrap();
            drop(listener);
            for _ in 0..1000 {
                if flooded.load(Ordering::Acquire) >= PREFILL {
                    break;
                }
                sleep(Duration::from_millis(2)).await;
            }
            assert!(
                flooded.load(Ordering::Acquire) >= PREFILL,
                "premise: the flooder queued {PREFILL} bytes"
            );

            let stop = Rc::new(Cell::new(false));
            let ticks = Rc::new(Cell::new(0));
            let reader = evloop::spawn(read_flood(stream, stop.clone(), ticks.clone()));
            let ticker = evloop::spawn(tick_until_stopped(stop.clone(), ticks.clone()));
            let sleeper = evloop::spawn(async move {
                let started = Instant::now();
                sleep(Duration::from_millis(20)).await;
                stop.set(true);
                started.elapsed()
            });
            let slept = sleeper.await.unwrap();
            let report = reader.await.unwrap();
            ticker.await.unwrap();
            (report, ticks.get(), slept)
        });
        flood_stop.store(true, Ordering::Release);
        flooder.join().expect("flooder thread");
        outcome
    });

    assert_eq!(
        report.end,
        BusyEnd::Stopped,
        "the timer fired while the reader ran: {report:?}"
    );
    assert!(slept >= Duration::from_millis(20), "slept only {slept:?}");
    assert!(ticks > 0, "the other task made progress: {report:?}");
    assert!(
        report.longest_run_alone <= TASK_BUDGET,
        "the reader did at most one budget ({TASK_BUDGET}) of reads before the other task \
         ran: {report:?}"
    );
    assert_eq!(
        report.longest_run_alone, TASK_BUDGET,
        "premise: the socket stayed ready for a whole budget of reads: {report:?}"
    );
    assert!(
        report.reads > u64::from(TASK_BUDGET),
        "premise: the reader carried on after it yielded: {report:?}"
    );
}

/// CPU time (user and system) the calling thread has used so far.
fn thread_cpu_time() -> Duration {
    let mut usage = MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a writable `rusage`-sized buffer that lives across the call, and
    // `RUSAGE_THREAD` asks about the calling thread only; getrusage writes nothing else.
    let result = unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) };
    assert_eq!(result, 0, "getrusage: {}", io::Error::last_os_error());
    // SAFETY: `rusage` is made of integers only, so the zeroed bytes were already a valid
    // value; getrusage returned 0, so it has filled them in.
    let usage = unsafe { usage.assume_init() };
    let time = |t: libc::timeval| {
        let secs = u64::try_from(t.tv_sec).expect("non-negative seconds");
        let micros = u32::try_from(t.tv_usec).expect("microseconds below a second");
        Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// How long the idle tests keep the runtime waiting.
const IDLE_PERIOD: Duration = Duration::from_millis(300);

/// CPU an idle period may cost: a third of it. A loop that spun instead of blocking in
/// `epoll_wait` would use nearly all of it; one that blocks uses well under a millisecond.
const IDLE_CPU_LIMIT: Duration = Duration::from_millis(100);

#[test]
fn runtime_waiting_on_a_timer_uses_no_cpu() {
    let (cpu, elapsed) = on_own_thread("runtime blocked on a timer", || {
        let rt = rt();
        let started = Instant::now();
        let cpu_before = thread_cpu_time();
        rt.block_on(sleep(IDLE_PERIOD));
        (
            thread_cpu_time().saturating_sub(cpu_before),
            started.elapsed(),
        )
    });
    assert!(elapsed >= IDLE_PERIOD, "slept only {elapsed:?}");
    assert!(
        cpu < IDLE_CPU_LIMIT,
        "waiting {IDLE_PERIOD:?} for a timer used {cpu:?} of CPU"
    );
}

#[test]
fn runtime_waiting_on_a_silent_socket_uses_no_cpu() {
    let (cpu, elapsed, waited) = on_own_thread("runtime blocked on a silent socket", || {
        let rt = rt();
        rt.block_on(async {
            let (listener, addr) = support::listen().await;
            let _client = TcpStream::connect(addr).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();

            let started = Instant::now();
            let cpu_before = thread_cpu_time();
            let mut buf = [0; 64];
            let waited = timeout(IDLE_PERIOD, server.read(&mut buf)).await;
            (
                thread_cpu_time().saturating_sub(cpu_before),
                started.elapsed(),
                waited,
            )
        })
    });
    assert!(
        waited.is_err(),
        "premise: no traffic, so the read times out: {waited:?}"
    );
    assert!(elapsed >= IDLE_PERIOD, "waited only {elapsed:?}");
    assert!(
        cpu < IDLE_CPU_LIMIT,
        "waiting {IDLE_PERIOD:?} on a silent socket used {cpu:?} of CPU"
    );
}

/// What [`wake_from_another_thread`] saw.
struct RemoteWake {
    /// The value the waking thread stored before it woke the task.
    observed: u64,
    /// How many times the waiting future was polled.
    polls: u32,
}

/// The value the waking thread publishes.
const PUBLISHED: u64 = 0x5EED;

/// Blocks a runtime, on its own thread, on a future that sends its waker to a helper thread
/// and waits; the helper stores [`PUBLISHED`], then wakes it. Nothing else is pending, so the
/// runtime sleeps in `epoll_wait` with no timeout until the wake interrupts it.
///
/// With `in_spawned_task`, the waiting future is a spawned task the `block_on` future joins;
/// otherwise it is the `block_on` future itself.
fn wake_from_another_thread(in_spawned_task: bool) -> RemoteWake {
    on_own_thread(
        "runtime waiting for a wake from another thread",
        move || {
            let published = Arc::new(AtomicU64::new(0));
            let (send_waker, waker_received) = mpsc::channel::<Waker>();
            let waking_thread = thread::spawn({
                let published = published.clone();
                move || {
                    let waker = waker_received
                        .recv_timeout(THREAD_LIMIT)
                        .expect("the task sends its waker");
                    // Leave the runtime time to run out of work and block in epoll_wait. Not
                    // needed for correctness: a wake that comes earlier must work too.
                    thread::sleep(Duration::from_millis(50));
                    published.store(PUBLISHED, Ordering::Release);
                    waker.wake();
                }
            });
            let wait = async move {
                let mut send_waker = Some(send_waker);
                let mut polls = 0;
                poll_fn(|cx| {
                    polls += 1;
                    if let Some(send_waker) = send_waker.take() {
                        send_waker.send(cx.waker().clone()).unwrap();
                        return Poll::Pending;
                    }
                    match published.load(Ordering::Acquire) {
                        0 => Poll::Pending,
                        observed => Poll::Ready(RemoteWake { observed, polls }),
                    }
                })
                .await
            };
            let rt = rt();
            let outcome = if in_spawned_task {
                rt.block_on(async { evloop::spawn(wait).await.unwrap() })
            } else {
                rt.block_on(wait)
            };
            waking_thread.join().expect("waking thread");
            outcome
        },
    )
}

#[test]
fn wake_from_another_thread_resumes_a_parked_spawned_task() {
    let outcome = wake_from_another_thread(true);
    assert_eq!(
        outcome.observed, PUBLISHED,
        "the task sees what the thread stored before waking it"
    );
    assert_eq!(outcome.polls, 2, "polled once to wait, once after the wake");
}

#[test]
fn wake_from_another_thread_resumes_a_parked_block_on_future() {
    let outcome = wake_from_another_thread(false);
    assert_eq!(
        outcome.observed, PUBLISHED,
        "the future sees what the thread stored before waking it"
    );
    assert_eq!(outcome.polls, 2, "polled once to wait, once after the wake");
}

/// A task that stays ready (here, a channel that is never empty) spends its whole budget in
/// every poll. Such a poll ends the loop turn, so a socket that became readable meanwhile is
/// noticed, and its task polled, after at most a couple more polls of the busy task, not after
/// the rest of `EVENT_INTERVAL` (64) polls of it.
#[test]
fn a_spent_budget_ends_the_loop_turn_so_io_is_noticed_promptly() {
    const MAX_BUSY_POLLS_WHILE_WAITING: u64 = 4;
    rt().block_on(support::with_deadline(
        BUSY_LIMIT,
        "a spent budget ends the turn",
        async {
            let (listener, addr) = support::listen().await;
            let mut client = std::net::TcpStream::connect(addr).unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            let mut byte = [0u8; 1];
            // Leave the server's read side parked (WouldBlock cleared its readiness): only an
            // event, seen at the end of a loop turn, can wake it now.
            poll_fn(|cx| {
                let parked = std::pin::pin!(server.read(&mut byte)).poll(cx).is_pending();
                assert!(parked, "nothing was sent yet");
                Poll::Ready(())
            })
            .await;

            let stop = Rc::new(Cell::new(false));
            let busy_polls = Rc::new(Cell::new(0u64));
            let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel::<()>();
            let stopped = stop.clone();
            let mut receive_forever = Box::pin(async move {
                let mut received = 0u64;
                while !stopped.get() && received < BUSY_MAX_TURNS {
                    tx.send(()).unwrap();
                    rx.recv().await;
                    received += 1;
                }
            });
            let counter = busy_polls.clone();
            let busy = evloop::spawn(poll_fn(move |cx| {
                counter.set(counter.get() + 1);
                receive_forever.as_mut().poll(cx)
            }));
            // Let the busy task get going, then make the socket readable.
            yield_now().await;
            client.write_all(b"x").unwrap();
            let before = busy_polls.get();
            let n = server.read(&mut byte).await.unwrap();
            let busy_meanwhile = busy_polls.get() - before;
            stop.set(true);
            busy.await.unwrap();
            assert_eq!(n, 1);
            assert!(
                busy_meanwhile <= MAX_BUSY_POLLS_WHILE_WAITING,
                "the busy task was polled {busy_meanwhile} times while a readable socket waited"
            );
        },
    ));
}
