//! Hostile clients against the echo server: clients that never read,
//! a client that streams flat out, resets in mid-stream, half-closes in both directions,
//! zero-length reads and writes, storms of connections that close at once, binary garbage.
//!
//! The server is `echo-server`'s connection loop run in the test's own runtime
//! (`support/echo.rs`). Most clients are plain blocking sockets on threads of their own
//! (`on_thread`), so the server's runtime sees them as any outside client, and a client that
//! hangs gives up on its own socket timeout; the cases about the runtime's own `TcpStream`
//! (empty reads and writes) and about its fairness (the fresh client beside a flat-out
//! stream) use a task of the server's runtime instead. Every case then checks the two things a hostile
//! client must never cost: the healthy clients' bytes (echoed exactly) and the server's
//! resources (its tasks, I/O registrations and timers, and the process's descriptors, back to
//! what they were before the case; every connection task ran to its end, so none panicked).
//!
//! Figures (held-back bytes, memory growth, latencies) are printed to stderr: see them with
//! `cargo test --test hostile -- --nocapture`. The assertions on time are hang guards many
//! times what the work needs, never measurements.
//!
//! Under valgrind (`EVLOOP_UNDER_VALGRIND` set by `.ci/run`) the loads shrink, the guards
//! widen, and memory growth is printed but not checked: valgrind's own memory (translated
//! code, shadow memory) lands in the same resident set.

// Miri cannot open sockets or call epoll, so this whole file is left out under it.
#![cfg(not(miri))]

#[path = "support/echo.rs"]
mod echo;
#[path = "support/process.rs"]
mod process;
#[path = "support/rng.rs"]
mod rng;
mod support;

use std::future::{Future, poll_fn};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use evloop::coop::TASK_BUDGET;
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::runtime::Builder;

use echo::{ECHO_BUF, EchoCounts, EchoServer, assert_same_bytes, on_thread};
use process::{Baseline, mib, resident_bytes, scaled};
use rng::Rng;
use support::{join, pattern, with_deadline};

/// Hang guard for a whole case, far above the second or two each one needs.
fn case_limit() -> Duration {
    scaled(Duration::from_secs(60), Duration::from_secs(300))
}

/// Read and write timeout of every client socket: a client waiting this long for the server
/// gives up, and its test fails instead of hanging.
fn io_timeout() -> Duration {
    scaled(Duration::from_secs(10), Duration::from_secs(60))
}

// ---- the frame of every case ----

/// Runs `case` in a fresh runtime, then checks that the runtime and the process hold what
/// they held before it: no task, I/O registration, timer or descriptor left behind.
fn in_fresh_runtime<T>(what: &str, case: impl AsyncFnOnce() -> T) -> T {
    in_runtime(&Builder::new(), what, case)
}

/// [`in_fresh_runtime`] on a runtime with the settings of `builder`.
fn in_runtime<T>(builder: &Builder, what: &str, case: impl AsyncFnOnce() -> T) -> T {
    // Before the runtime is built: its epoll instance and eventfd count as descriptors.
    let _exclusive = process::exclusive();
    let rt = builder.build().expect("build an evloop runtime");
    let baseline = Baseline::take(&rt);
    let output = rt.block_on(with_deadline(case_limit(), what, case()));
    baseline.assert_restored(&rt, what);
    output
}

/// Runs `case` against a fresh echo server, then checks what [`in_fresh_runtime`] checks,
/// and [`assert_every_connection_ended`]. Returns the case's output and the server's counts.
fn hostile_case<T>(what: &str, case: impl AsyncFnOnce(SocketAddr) -> T) -> (T, EchoCounts) {
    let (output, stats) = in_fresh_runtime(what, async || {
        let server = EchoServer::start().await;
        let output = case(server.addr()).await;
        (output, server.stop())
    });
    let counts = stats.snapshot();
    assert_every_connection_ended(what, &counts);
    (output, counts)
}

/// Every connection the server accepted ran its task to the end (a task that panicked never
/// records its end), and `accept` never failed.
fn assert_every_connection_ended(what: &str, counts: &EchoCounts) {
    assert_eq!(
        counts.accepted,
        counts.ended(),
        "{what}: a connection task did not run to its end: {counts:?}"
    );
    assert_eq!(counts.accept_errors, 0, "{what}: accept failed: {counts:?}");
}

// ---- blocking clients ----

/// A blocking client of `addr` whose reads and writes give up after [`io_timeout`].
fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to the echo server");
    stream
        .set_read_timeout(Some(io_timeout()))
        .expect("set a read timeout");
    stream
        .set_write_timeout(Some(io_timeout()))
        .expect("set a write timeout");
    stream
}

/// Writes `message`, reads back as many bytes, and checks they are the same. `message` must
/// fit the kernel's buffers (tens of KiB), since nothing reads while it is written.
fn round_trip(stream: &mut TcpStream, message: &[u8], what: &str) {
    stream.write_all(message).expect("write a message");
    let mut reply = vec![0; message.len()];
    stream.read_exact(&mut reply).expect("read the echo");
    assert_same_bytes(&reply, message, what);
}

/// Reads until end of stream; fails if more than `max_bytes` arrive.
fn read_to_eof(stream: &mut TcpStream, max_bytes: usize) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = stream.read(&mut buf).expect("read until end of stream");
        if n == 0 {
            return received;
        }
        received.extend_from_slice(&buf[..n]);
        assert!(
            received.len() <= max_bytes,
            "read {} bytes, more than the {max_bytes} sent",
            received.len()
        );
    }
}

/// Sends `data` in chunks of random sizes from a second thread and half-closes, while this
/// thread reads the echo to end of stream; checks the echo is `data`, byte for byte. The
/// writer never waits for the reader, so `data` may be far larger than the kernel's buffers.
fn stream_through(stream: &mut TcpStream, data: &[u8], rng: &mut Rng, what: &str) {
    let mut writer = stream.try_clone().expect("clone the client socket");
    let mut chunk_rng = Rng::new(rng.next_u64());
    thread::scope(|scope| {
        scope.spawn(move || {
            let mut rest = data;
            while !rest.is_empty() {
                let len = chunk_rng.in_range(1..16 * 1024).min(rest.len());
                writer.write_all(&rest[..len]).expect("write a chunk");
                rest = &rest[len..];
            }
            writer.shutdown(Shutdown::Write).expect("half-close");
        });
        let echoed = read_to_eof(stream, data.len());
        assert_same_bytes(&echoed, data, what);
    });
}

/// Median and largest of `durations` (which must not be empty), for reports.
fn median_and_max(durations: &mut [Duration]) -> (Duration, Duration) {
    durations.sort();
    (
        durations[durations.len() / 2],
        durations[durations.len() - 1],
    )
}

// ---- healthy clients ----

#[test]
fn healthy_clients_get_a_byte_exact_echo() {
    const CLIENTS: u64 = 8;
    const ROUND_TRIPS: usize = 20;

    let (_, counts) = hostile_case("healthy clients", async |addr| {
        on_thread(move || {
            thread::scope(|scope| {
                for client in 0..CLIENTS {
                    scope.spawn(move || {
                        let what = format!("healthy client {client}");
                        let mut rng = Rng::new(client);
                        let mut stream = connect(addr);
                        // Request and response, in sizes from a byte to a few buffers' worth.
                        for round in 0..ROUND_TRIPS {
                            let len = rng.in_range(1..4 * ECHO_BUF);
                            let message = pattern(client * 1000 + round as u64, len);
                            round_trip(&mut stream, &message, &what);
                        }
                        // Then a bulk transfer, far beyond the kernel's buffers.
                        let bulk = pattern(client, rng.in_range(64 * 1024..1024 * 1024));
                        stream_through(&mut stream, &bulk, &mut rng, &what);
                    });
                }
            });
        })
        .await
    });
    assert_eq!(counts.accepted, CLIENTS);
    assert_eq!(
        counts.ended_at_eof, CLIENTS,
        "each connection ended at its client's half-close: {counts:?}"
    );
}

// ---- backpressure ----

/// Kernel buffer size set on each slow reader's socket (send and receive): with autotuning
/// off on the client side, what a slow reader can push before it is held back is bounded by
/// the server side's buffers (a few MiB on loopback), whatever it sends.
const SLOW_CLIENT_BUFFER: libc::c_int = 64 * 1024;

/// How long a slow reader's writes must make no progress to count as held back.
const STALLED_FOR: Duration = Duration::from_millis(500);

/// The write timeout a slow reader uses to notice that it is held back.
const STALL_CHECK: Duration = Duration::from_millis(50);

/// Bound on the growth of the process's resident memory while slow readers are held back. A
/// server that kept reading would buffer what they send (64 MiB each); the echo loop holds
/// one 4 KiB buffer per connection.
const RSS_GROWTH_LIMIT: u64 = 16 * 1024 * 1024;

/// A client that sends up to `total` bytes and never reads. Reports how much it got out
/// before its writes stopped progressing for [`STALLED_FOR`] (or `total` if they never did),
/// then keeps the connection open, still not reading, until `release` says go (or its
/// sender is dropped); then closes with the echo unread, which resets the connection.
fn slow_reader(
    addr: SocketAddr,
    total: usize,
    stuck: mpsc::Sender<usize>,
    release: mpsc::Receiver<()>,
) {
    let mut stream = connect(addr);
    process::fix_socket_buffers(&stream, SLOW_CLIENT_BUFFER);
    stream
        .set_write_timeout(Some(STALL_CHECK))
        .expect("set the stall check");
    let chunk = pattern(7, 64 * 1024);
    let mut written = 0;
    let mut last_progress = Instant::now();
    while written < total && last_progress.elapsed() < STALLED_FOR {
        let len = chunk.len().min(total - written);
        match stream.write(&chunk[..len]) {
            Ok(n) => {
                written += n;
                last_progress = Instant::now();
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) => panic!("slow reader: write failed after {written} bytes: {error}"),
        }
    }
    stuck.send(written).expect("the test waits for this report");
    // Disconnected (the test is over, or failed) releases it as well as a message does.
    let _ = release.recv_timeout(io_timeout());
}

#[test]
fn slow_readers_are_held_back_without_server_buffering_or_delaying_others() {
    const SLOW_READERS: usize = 4;
    const HEALTHY_ROUND_TRIPS: usize = 20;
    let sends = scaled(64 * 1024 * 1024, 16 * 1024 * 1024);

    let (_, counts) = hostile_case("slow readers", async |addr| {
        on_thread(move || {
            let rss_before = resident_bytes();
            let (stuck, reports) = mpsc::channel();
            let mut releases = Vec::new();
            thread::scope(|scope| {
                for _ in 0..SLOW_READERS {
                    let stuck = stuck.clone();
                    let (release, released) = mpsc::channel();
                    releases.push(release);
                    scope.spawn(move || slow_reader(addr, sends, stuck, released));
                }
                let held_back: Vec<usize> = (0..SLOW_READERS)
                    .map(|_| {
                        reports
                            .recv_timeout(io_timeout() * 3)
                            .expect("a slow reader neither stalled nor finished")
                    })
                    .collect();
                let rss_held = resident_bytes();

                // While they are held back, a healthy client is served as usual.
                let started = Instant::now();
                let mut healthy = connect(addr);
                let mut latencies = Vec::new();
                for round in 0..HEALTHY_ROUND_TRIPS {
                    let message = pattern(round as u64, 1024);
                    let sent = Instant::now();
                    round_trip(&mut healthy, &message, "healthy client beside slow readers");
                    latencies.push(sent.elapsed());
                }
                healthy.shutdown(Shutdown::Write).expect("half-close");
                assert_eq!(read_to_eof(&mut healthy, 0), b"");
                let served_in = started.elapsed();
                let rss_after = resident_bytes();
                // Let the slow readers go: they close with the echo unread.
                drop(releases);

                let (median, max) = median_and_max(&mut latencies);
                let growth = rss_held.max(rss_after).saturating_sub(rss_before);
                let held_back_mib: Vec<String> = held_back
                    .iter()
                    .map(|&b| format!("{:.1}", mib(b as u64)))
                    .collect();
                eprintln!(
                    "hostile: slow readers: {SLOW_READERS} clients that never read were held \
                     back after sending [{}] MiB (of {:.0} MiB each); resident memory grew \
                     {:.2} MiB; a healthy client meanwhile: {HEALTHY_ROUND_TRIPS} round trips \
                     in {served_in:?}, median {median:?}, max {max:?}",
                    held_back_mib.join(", "),
                    mib(sends as u64),
                    mib(growth),
                );
                for (reader, &bytes) in held_back.iter().enumerate() {
                    assert!(
                        bytes < sends,
                        "slow reader {reader} sent all {bytes} bytes without being held back: \
                         the server kept reading what it could not send"
                    );
                }
                if !process::under_valgrind() {
                    assert!(
                        growth < RSS_GROWTH_LIMIT,
                        "resident memory grew {:.1} MiB while slow readers were held back",
                        mib(growth)
                    );
                }
                assert!(
                    served_in < io_timeout(),
                    "the healthy client waited {served_in:?} beside the slow readers"
                );
            });
        })
        .await
    });
    assert_eq!(counts.accepted, SLOW_READERS as u64 + 1);
}

// ---- fairness under load ----

/// Each write of the flat-out stream: the same 64 KiB chunk again and again, so its echo is
/// checked with two slice comparisons per read at most, never a byte loop that would make the
/// client, not the server, the bottleneck.
const HEAVY_CHUNK: usize = 64 * 1024;

/// Checks that `received`, which starts `offset` bytes into the heavy stream, is the stream
/// (`chunk` repeated).
fn check_heavy_echo(chunk: &[u8], offset: u64, received: &[u8]) {
    let mut at = (offset % chunk.len() as u64) as usize;
    let mut rest = received;
    while !rest.is_empty() {
        let len = rest.len().min(chunk.len() - at);
        assert!(
            rest[..len] == chunk[at..at + len],
            "the heavy stream's echo differs within {len} bytes after offset {offset}"
        );
        rest = &rest[len..];
        at = 0;
    }
}

/// The flat-out stream: one connection, written from one thread as fast as the server takes
/// it and read from another as fast as the server echoes it, until `stop` is set (or
/// `limit` passes); then half-closed and read to its end. `echoed` follows how much came
/// back. Returns the bytes sent and received.
///
/// The server reads and writes 4 KiB at a time, and these threads 64 KiB, so the server is
/// the bottleneck: its task finds the socket readable and writable nearly every time, and
/// yields because its budget runs out. The stream pauses only when its client threads wait
/// for a CPU longer than the few MiB queued in the kernel last (a few milliseconds).
fn flat_out_stream(
    addr: SocketAddr,
    stop: &AtomicBool,
    echoed: &AtomicU64,
    limit: Duration,
) -> (u64, u64) {
    let chunk = pattern(11, HEAVY_CHUNK);
    let mut writer = connect(addr);
    let mut reader = writer.try_clone().expect("clone the stream's socket");
    thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let started = Instant::now();
            let mut sent = 0u64;
            while !stop.load(Ordering::Acquire) && started.elapsed() < limit {
                writer.write_all(&chunk).expect("stream flat out");
                sent += chunk.len() as u64;
            }
            writer.shutdown(Shutdown::Write).expect("half-close");
            sent
        });
        let mut buf = vec![0; HEAVY_CHUNK];
        let mut received = 0u64;
        loop {
            let n = reader.read(&mut buf).expect("read the stream's echo");
            if n == 0 {
                break;
            }
            check_heavy_echo(&chunk, received, &buf[..n]);
            received += n as u64;
            echoed.store(received, Ordering::Release);
        }
        (writer.join().expect("the stream's writer"), received)
    })
}

/// The most the flat-out stream may echo while a fresh client, a task of the same runtime,
/// waits for one echo, if the budget makes the stream's task yield.
///
/// A poll that spends its whole budget ends the loop turn, so the stream's task gets one poll
/// per turn however many polls a turn allows. The request is seen at the end of the turn in
/// which it is sent, the server's task echoes it in the next turn, the echo is seen at the end
/// of that turn and read in the one after; the stream's task is queued before each of them:
/// 2 polls. Each poll is `TASK_BUDGET` operations, half of them writes of at most `ECHO_BUF`
/// bytes: 512 KiB. Twice that is the bound, with slack. A stream task that never yields
/// echoes as long as its socket stays ready: MiB at a time, at times GiB; one that yields but
/// does not end the turn runs up to `2 * EVENT_INTERVAL - 1` polls (32 MiB).
fn stream_bytes_per_round_trip() -> u64 {
    2 * 2 * (u64::from(TASK_BUDGET) / 2) * ECHO_BUF as u64
}

/// What the fresh client of [`fresh_client_beside_a_flat_out_stream`] saw.
#[derive(Debug)]
struct FreshClientReport {
    round_trips: u64,
    /// From connecting to the last echo.
    served_in: Duration,
    /// Each round trip's time, sorted.
    latencies: Vec<Duration>,
    /// What the stream echoed while each round trip waited, sorted.
    stream_bytes: Vec<u64>,
    /// The stream's bytes, sent and received back.
    streamed: (u64, u64),
}

impl FreshClientReport {
    fn print(&self, runtime: &str) {
        let middle = |sorted: &[u64]| sorted[sorted.len() / 2];
        let last = |sorted: &[u64]| sorted[sorted.len() - 1];
        eprintln!(
            "hostile: flat-out stream ({runtime}): a fresh client connected and did {} round \
             trips in {:?} (each: median {:?}, max {:?}); while it waited for an echo, the \
             stream echoed {:.2} MiB (median) to {:.2} MiB (max); {:.1} MiB streamed in all",
            self.round_trips,
            self.served_in,
            self.latencies[self.latencies.len() / 2],
            self.latencies[self.latencies.len() - 1],
            mib(middle(&self.stream_bytes)),
            mib(last(&self.stream_bytes)),
            mib(self.streamed.1),
        );
    }

    fn most_stream_bytes(&self) -> u64 {
        self.stream_bytes[self.stream_bytes.len() - 1]
    }
}

/// Runs the flat-out stream against an echo server on a runtime built by `builder`, and
/// beside it a fresh client: a task of the server's own runtime, so that it runs only when
/// the stream's task yields, and what it measures is the runtime's fairness, not how soon the
/// OS schedules a client thread. The fresh client connects and does `round_trips` round
/// trips, each started while the stream flows. Checks that the echoes are exact, that the
/// fresh client was not starved, and that the server's counts are back to baseline.
fn fresh_client_beside_a_flat_out_stream(
    builder: &Builder,
    what: &str,
    round_trips: u64,
    fresh_limit: Duration,
) -> FreshClientReport {
    // Echoed before the fresh client starts: by then the stream runs at full speed.
    let warm_up = scaled(8 * 1024 * 1024, 512 * 1024);
    // Echoed by the server between two round trips: the stream is flowing.
    let flowing = 1024 * 1024;

    let (report, stats) = in_runtime(builder, what, async || {
        let server = EchoServer::start().await;
        let (addr, stats) = (server.addr(), server.stats());
        let stop = Arc::new(AtomicBool::new(false));
        let echoed = Arc::new(AtomicU64::new(0));
        // The stream stops by itself after the fresh client's limit: a runtime starved by the
        // stream's task would never let the fresh client say stop, nor fire a timer.
        let stream = on_thread({
            let (stop, echoed) = (stop.clone(), echoed.clone());
            move || flat_out_stream(addr, &stop, &echoed, fresh_limit)
        });
        let fresh = async {
            // Stops the stream however this future ends (a failed assertion too).
            let _stop_on_exit = StopOnDrop(stop.clone());
            let waiting = Instant::now();
            while echoed.load(Ordering::Acquire) < warm_up {
                assert!(
                    waiting.elapsed() < io_timeout(),
                    "premise: the stream did not get going"
                );
                evloop::time::sleep(Duration::from_millis(1)).await;
            }
            let started = Instant::now();
            let mut fresh = evloop::net::TcpStream::connect(addr)
                .await
                .expect("the fresh client connects");
            let mut latencies = Vec::new();
            let mut stream_bytes = Vec::new();
            for round in 0..round_trips {
                // Bounded: a stalled stream lets the round trip start anyway.
                let since = stats.snapshot().echoed;
                for _ in 0..1000 {
                    if stats.snapshot().echoed >= since + flowing {
                        break;
                    }
                    evloop::task::yield_now().await;
                }
                let message = pattern(round, 64);
                let mut reply = [0; 64];
                let echoed_before = stats.snapshot().echoed;
                let sent = Instant::now();
                fresh
                    .write_all(&message)
                    .await
                    .expect("fresh client writes");
                fresh
                    .read_exact(&mut reply)
                    .await
                    .expect("fresh client reads");
                latencies.push(sent.elapsed());
                stream_bytes.push(stats.snapshot().echoed - echoed_before - message.len() as u64);
                assert_same_bytes(&reply, &message, "fresh client");
            }
            (started.elapsed(), latencies, stream_bytes)
        };
        let (streamed, (served_in, mut latencies, mut stream_bytes)) = join(stream, fresh).await;
        latencies.sort();
        stream_bytes.sort();
        let report = FreshClientReport {
            round_trips,
            served_in,
            latencies,
            stream_bytes,
            streamed,
        };
        (report, server.stop())
    });
    let counts = stats.snapshot();
    assert_every_connection_ended(what, &counts);
    assert_eq!(counts.ended_at_eof, 2, "{what}: {counts:?}");
    assert_eq!(
        report.streamed.1, report.streamed.0,
        "{what}: the stream's echo is complete"
    );
    assert!(
        report.served_in < fresh_limit,
        "{what}: the fresh client took {:?} beside the stream: starved",
        report.served_in
    );
    assert!(
        report.most_stream_bytes() > 0,
        "{what}: premise: the stream flowed while the fresh client was served"
    );
    report
}

#[test]
fn a_fresh_client_is_served_while_another_streams_flat_out() {
    let fresh_limit = scaled(Duration::from_secs(20), Duration::from_secs(120));
    let report = fresh_client_beside_a_flat_out_stream(
        &Builder::new(),
        "a flat-out stream",
        scaled(100, 10),
        fresh_limit,
    );
    report.print("default runtime");
    let bound = stream_bytes_per_round_trip();
    assert!(
        report.most_stream_bytes() <= bound,
        "the stream echoed {:.1} MiB while the fresh client waited for one echo, over the \
         {:.0} MiB of two budgets: a spent budget did not end the loop turn",
        mib(report.most_stream_bytes()),
        mib(bound)
    );
}

#[test]
fn an_always_ready_stream_yields_after_each_budget() {
    // One poll per loop turn: the budget alone must make the stream's task yield, whatever
    // ends the turn.
    const ONE_POLL_PER_TURN: u32 = 1;
    let mut builder = Builder::new();
    builder.event_interval(ONE_POLL_PER_TURN);
    let fresh_limit = scaled(Duration::from_secs(20), Duration::from_secs(120));
    let report = fresh_client_beside_a_flat_out_stream(
        &builder,
        "a flat-out stream, one poll per turn",
        scaled(300, 30),
        fresh_limit,
    );
    report.print("one poll per turn");
    let bound = stream_bytes_per_round_trip();
    assert!(
        report.most_stream_bytes() <= bound,
        "the stream echoed {:.1} MiB while the fresh client waited for one echo, over the \
         {:.0} MiB of two budgets: its task did not yield",
        mib(report.most_stream_bytes()),
        mib(bound)
    );
}

/// Sets its flag when dropped, on unwinding too.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

// ---- faults ----

/// Writes `chunk` again and again to `stream`, made non-blocking, without reading, until a
/// write would block: our send queue is full, and so is every buffer up to the server, which
/// is blocked writing its echo. Returns how much went out; stops at `max_bytes` if the queue
/// never fills.
fn fill_send_queue(stream: &mut TcpStream, chunk: &[u8], max_bytes: usize) -> usize {
    stream
        .set_nonblocking(true)
        .expect("make the client non-blocking");
    let mut sent = 0;
    while sent < max_bytes {
        match stream.write(chunk) {
            Ok(n) => sent += n,
            Err(error) if error.kind() == ErrorKind::WouldBlock => break,
            Err(error) => panic!("write before the reset: {error}"),
        }
    }
    sent
}

/// Sends `data` and reads its echo through `stream`, made non-blocking, alternating between
/// the two, until `echo_wanted` bytes of echo came back (checked against `data`). The rest is
/// left in flight, in both directions, for a reset to cut through.
fn exchange_part(stream: &mut TcpStream, data: &[u8], echo_wanted: usize) {
    stream
        .set_nonblocking(true)
        .expect("make the client non-blocking");
    let mut sent = 0;
    let mut echoed = Vec::with_capacity(echo_wanted);
    let mut buf = vec![0; 64 * 1024];
    let started = Instant::now();
    while echoed.len() < echo_wanted {
        let mut moved = false;
        if sent < data.len() {
            match stream.write(&data[sent..]) {
                Ok(n) => {
                    sent += n;
                    moved = true;
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                Err(error) => panic!("write before the reset: {error}"),
            }
        }
        let room = (echo_wanted - echoed.len()).min(buf.len());
        match stream.read(&mut buf[..room]) {
            Ok(0) => panic!("end of stream before the reset"),
            Ok(n) => {
                echoed.extend_from_slice(&buf[..n]);
                moved = true;
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            Err(error) => panic!("read before the reset: {error}"),
        }
        assert!(
            started.elapsed() < io_timeout(),
            "stuck after sending {sent} bytes and reading {} back",
            echoed.len()
        );
        if !moved {
            thread::sleep(Duration::from_millis(1));
        }
    }
    assert_same_bytes(&echoed, &data[..echoed.len()], "echo before the reset");
}

#[test]
fn resets_in_mid_stream_release_the_connection() {
    const RESETS_PER_KIND: u64 = 10;

    let (queued, counts) = hostile_case("resets in mid-stream", async |addr| {
        on_thread(move || {
            let chunk = pattern(9, 64 * 1024);
            let mut queued = Vec::new();
            for client in 0..RESETS_PER_KIND {
                // Reset before sending anything.
                let stream = connect(addr);
                process::reset_on_close(&stream);
                drop(stream);

                // Reset with our send queue full and nothing read: every buffer between the
                // two ends holds data, and the server is blocked writing its echo.
                let mut stream = connect(addr);
                process::reset_on_close(&stream);
                queued.push(fill_send_queue(&mut stream, &chunk, 256 * 1024 * 1024));
                drop(stream);

                // Reset while both directions flow: half the echo read, the rest of the data
                // still on its way.
                let mut stream = connect(addr);
                process::reset_on_close(&stream);
                let data = pattern(client + 100, 1024 * 1024);
                exchange_part(&mut stream, &data, data.len() / 2);
                drop(stream);
            }
            // The server is still serving.
            let mut after = connect(addr);
            round_trip(&mut after, b"still there?", "client after the resets");
            queued
        })
        .await
    });
    let queued: Vec<String> = queued
        .iter()
        .map(|&b| format!("{:.1}", mib(b as u64)))
        .collect();
    eprintln!(
        "hostile: resets in mid-stream: queued [{}] MiB before the resets with full queues; \
         {counts:?}",
        queued.join(", ")
    );
    assert_eq!(counts.accepted, 3 * RESETS_PER_KIND + 1);
}

#[test]
fn half_close_from_the_client_gets_the_whole_echo_then_eof() {
    // Including nothing at all, and more than the kernel's buffers hold.
    const SIZES: [usize; 4] = [0, 1, 48 * 1024, 3 * 1024 * 1024 + 17];

    let (_, counts) = hostile_case("half-close from the client", async |addr| {
        on_thread(move || {
            thread::scope(|scope| {
                for (client, size) in SIZES.into_iter().enumerate() {
                    scope.spawn(move || {
                        let what = format!("half-closing client of {size} bytes");
                        let mut rng = Rng::new(client as u64);
                        let mut stream = connect(addr);
                        stream_through(&mut stream, &pattern(client as u64, size), &mut rng, &what);
                        // End of stream stays end of stream.
                        let mut more = [0; 16];
                        assert_eq!(stream.read(&mut more).expect("read after EOF"), 0, "{what}");
                    });
                }
            });
        })
        .await
    });
    assert_eq!(
        counts.ended_at_eof,
        SIZES.len() as u64,
        "each connection ended at its client's half-close: {counts:?}"
    );
}

#[test]
fn half_close_from_the_server_still_reads_the_client_to_eof() {
    const GREETING: &[u8] = b"hello; I will not write again";
    const UPLOAD: usize = 1024 * 1024 + 3;

    let (uploaded, client_saw) = in_fresh_runtime("half-close from the server", async || {
        let (listener, addr) = support::listen().await;
        // The server half: greet, shut down writing, then read the client to its end.
        let server = async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            drop(listener);
            stream.write_all(GREETING).await.expect("greet");
            stream.shutdown().await.expect("shut down writing");
            let late = stream.write(b"late").await;
            assert_eq!(
                late.map_err(|error| error.kind()).unwrap_err(),
                ErrorKind::BrokenPipe,
                "a write after shutdown fails instead of reaching the client"
            );
            let mut uploaded = Vec::new();
            stream
                .read_to_end(&mut uploaded)
                .await
                .expect("read the client to end of stream");
            uploaded
        };
        // The client: sees the greeting and end of stream, then sends through its own half,
        // which is still open.
        let client = on_thread(move || {
            let mut stream = connect(addr);
            let greeting = read_to_eof(&mut stream, GREETING.len());
            stream
                .write_all(&pattern(3, UPLOAD))
                .expect("write after the server's half-close");
            stream.shutdown(Shutdown::Write).expect("half-close");
            let mut more = [0; 16];
            assert_eq!(stream.read(&mut more).expect("read after EOF"), 0);
            greeting
        });
        join(server, client).await
    });
    assert_eq!(
        client_saw, GREETING,
        "the client read the greeting, then EOF"
    );
    assert_same_bytes(
        &uploaded,
        &pattern(3, UPLOAD),
        "upload after the server's half-close",
    );
}

/// Polls `future` once with the calling task's waker and returns what that poll gave: tells
/// "ready at once" from "had to wait".
async fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let mut future = pin!(future);
    poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
}

/// True if `polled` is an immediate `Ok(0)`.
fn is_ready_zero(polled: &Poll<io::Result<usize>>) -> bool {
    matches!(polled, Poll::Ready(Ok(0)))
}

#[test]
fn zero_length_writes_and_reads_neither_close_nor_corrupt_the_stream() {
    let (_, counts) = hostile_case("zero-length writes and reads", async |addr| {
        // A blocking client's empty write sends nothing; the connection goes on.
        on_thread(move || {
            let mut stream = connect(addr);
            assert_eq!(stream.write(&[]).expect("empty write"), 0);
            round_trip(&mut stream, b"after an empty write", "blocking client");
        })
        .await;

        // The runtime's own stream: empty writes between two messages are no close, and both
        // messages come back in one piece.
        let mut client = evloop::net::TcpStream::connect(addr)
            .await
            .expect("connect");
        let (first, second) = (pattern(1, 3000), pattern(2, 5000));
        client.write_all(&first).await.expect("write");
        assert_eq!(client.write(&[]).await.expect("empty write"), 0);
        client.write_all(&[]).await.expect("empty write_all");
        client.write_all(&second).await.expect("write");
        // An empty read while the echo is on its way takes none of it.
        assert_eq!(client.read(&mut []).await.expect("empty read"), 0);
        let mut echoed = vec![0; first.len() + second.len()];
        client.read_exact(&mut echoed).await.expect("read the echo");
        assert_same_bytes(
            &echoed,
            &[first, second].concat(),
            "echo around empty writes",
        );
        client.shutdown().await.expect("half-close");
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.expect("read to EOF");
        assert!(rest.is_empty());
        assert_eq!(client.read(&mut []).await.expect("empty read at EOF"), 0);
    });
    assert_eq!(counts.ended_at_eof, 2, "{counts:?}");
}

#[test]
fn empty_read_on_a_silent_socket_returns_at_once() {
    // It used to wait for readability: on a socket nobody writes to, forever.
    let (_, counts) = hostile_case("empty read on a silent socket", async |addr| {
        let mut client = evloop::net::TcpStream::connect(addr)
            .await
            .expect("connect");
        let polled = poll_once(client.read(&mut [])).await;
        assert!(
            is_ready_zero(&polled),
            "an empty read with nothing to read returns Ok(0) at once: {polled:?}"
        );
    });
    assert_eq!(counts.accepted, 1);
}

#[test]
fn empty_write_to_a_full_socket_returns_at_once() {
    // It used to wait for room: with a peer that never reads, forever.
    in_fresh_runtime("empty write to a full socket", async || {
        // A peer that accepts and never reads: the client's writes soon have to wait.
        let (listener, addr) = support::listen().await;
        let std_client = TcpStream::connect(addr).expect("connect");
        process::fix_socket_buffers(&std_client, SLOW_CLIENT_BUFFER);
        let mut client = evloop::net::TcpStream::from_std(std_client).expect("register");
        let (peer, _) = listener.accept().await.expect("accept");
        drop(listener);
        let chunk = pattern(5, 64 * 1024);
        // Waits for the first writability event, so that `Pending` below means "full".
        client.write_all(&chunk).await.expect("first write");
        let mut filled = chunk.len();
        let mut full = false;
        // Bounded: the peer's receive buffer and our send buffer hold a few MiB at most.
        for _ in 0..10_000 {
            // Each write below is polled with a fresh budget, so its `Pending` can only mean
            // "no room", never "budget spent".
            evloop::task::yield_now().await;
            match poll_once(client.write(&chunk)).await {
                Poll::Ready(written) => filled += written.expect("fill the socket"),
                Poll::Pending => {
                    full = true;
                    break;
                }
            }
        }
        assert!(full, "premise: the socket is full after {filled} bytes");
        evloop::task::yield_now().await;
        let polled = poll_once(client.write(&[])).await;
        assert!(
            is_ready_zero(&polled),
            "an empty write to a full socket returns Ok(0) at once: {polled:?}"
        );
        drop(peer);
    });
}

#[test]
fn connect_and_close_storm_leaves_nothing_behind() {
    let storm = scaled(2000, 200);

    let (_, counts) = hostile_case("connect-and-close storm", async |addr| {
        on_thread(move || {
            for client in 0..storm {
                let mut stream = TcpStream::connect(addr).expect("connect in the storm");
                match client % 4 {
                    0 => {}
                    1 => process::reset_on_close(&stream),
                    2 => stream.write_all(b"and gone").expect("write in the storm"),
                    _ => {
                        stream.write_all(b"and reset").expect("write in the storm");
                        process::reset_on_close(&stream);
                    }
                }
            }
            // The server is still serving, and every stormer was accepted before this one.
            let mut after = connect(addr);
            round_trip(&mut after, b"calm again", "client after the storm");
        })
        .await
    });
    eprintln!("hostile: connect-and-close storm of {storm}: {counts:?}");
    assert_eq!(counts.accepted, storm + 1);
}

/// Random bytes in runs of kinds a text protocol chokes on: NUL runs, 0xFF runs, every byte
/// value in order, stray CR LF, and plain random bytes.
fn garbage(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        let run = rng.in_range(1..8 * 1024);
        match rng.in_range(0..5) {
            0 => bytes.resize(bytes.len() + run, 0x00),
            1 => bytes.resize(bytes.len() + run, 0xFF),
            2 => bytes.extend((0..=255u8).cycle().take(run)),
            3 => bytes.extend(b"\r\n\r\n\0\r".iter().cycle().take(run)),
            _ => bytes.extend(rng.bytes(run)),
        }
    }
    bytes.truncate(len);
    bytes
}

#[test]
fn binary_garbage_is_echoed_byte_exact() {
    const CLIENTS: u64 = 4;

    let (_, counts) = hostile_case("binary garbage", async |addr| {
        on_thread(move || {
            thread::scope(|scope| {
                for client in 0..CLIENTS {
                    scope.spawn(move || {
                        let mut rng = Rng::new(0x6A5 + client);
                        let data = garbage(&mut rng, 256 * 1024 + client as usize);
                        let mut stream = connect(addr);
                        stream_through(&mut stream, &data, &mut rng, "binary garbage");
                    });
                }
            });
        })
        .await
    });
    assert_eq!(counts.ended_at_eof, CLIENTS, "{counts:?}");
}
