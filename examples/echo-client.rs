//! A load generator and checker for the echo servers, itself running on evloop.
//!
//! Start a server, then the client (these are the defaults):
//!
//! ```text
//! cargo run --release --example echo-server
//! cargo run --release --example echo-client -- --addr 127.0.0.1:7000 --conns 1 --size 64 --depth 1 --secs 5
//! ```
//!
//! The client opens `--conns` connections and keeps `--depth` messages of `--size` bytes in
//! flight on each for `--secs` seconds. Each message carries a pattern derived from its
//! connection and sequence number, and every echoed byte is checked against it, so a lost,
//! duplicated, reordered, corrupted or cross-connection byte shows up as a mismatch. Every
//! message's round-trip time goes into a histogram. At the end the writers stop, each
//! connection half-closes, the server echoes what was still in flight and closes, and the
//! client reads it all before it reports. Compare `echo-server` with `echo-server-threads`
//! by pointing the same client at each.
//!
//! # Output
//!
//! One `key: value` line per figure on stdout, in this order, so scripts can parse it:
//! `addr`, `conns`, `depth`, `size`, `secs` (the settings), `connected` (connections opened),
//! `connect_secs` (time spent opening them, before the measured window), on runs longer than
//! 2 s one `progress: t=3s messages=.. messages_per_sec=.. last_sec=..` line a second (the
//! rate so far and over the last second), then `elapsed_secs` (the measured window),
//! `messages` (echoes completed in it), `messages_per_sec`, `mib_per_sec` (echoed payload),
//! `p50_us`, `p99_us`, `p999_us`, `max_us` (round trips, all messages including the final
//! drain, to about 1%), `stalled` (open connections that completed no echo at all in the
//! window), `errors` (connections that ended in an error, including failed connects) and
//! `mismatches` (echoed messages with any wrong byte; after a lost or extra byte every later
//! message of that connection is wrong too). Diagnostics go to stderr.
//!
//! The exit status is 1 if any echo was wrong (`mismatches` above 0): a server, or the runtime
//! under it, lost or corrupted data. Errors and stalls are reported, not judged, because
//! pushing a server past its limits produces them legitimately; but a run in which no
//! connection could be opened at all fails, since it measured nothing.
//!
//! # Bad input and refusals
//!
//! Each flag has a range, listed by `--help`: `--size` 1 to 64 MiB ([`MAX_SIZE`]), `--depth` 1
//! to [`MAX_DEPTH`], `--conns` 1 to [`MAX_CONNS`] and no more than the descriptor limit allows,
//! `--secs` a finite number from [`MIN_SECS`] to [`MAX_SECS`]. A value out of its range, an
//! unknown flag or a missing value gets one `error:` line that names the flag, the value and
//! the limit, and exit status 2. Every connection's buffers are allocated before the first
//! connect; if the allocator refuses them (say under `ulimit -v`), one `error:` line names the
//! size asked for, and the exit status is 1, as for every other failed run. `main` returns an
//! `ExitCode` (from `args::finish`) rather than an `io::Result` so that an error is printed as
//! that one line, not in its `Debug` form.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt::{Debug, Display};
use std::io::{self, Write};
use std::iter;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{OwnedReadHalf, OwnedWriteHalf, TcpStream};
use evloop::time::{sleep_until, timeout};

#[path = "support/args.rs"]
mod args;
#[path = "support/buffer.rs"]
mod buffer;
#[path = "support/fd_limit.rs"]
mod fd_limit;
#[path = "support/histogram.rs"]
mod histogram;

use histogram::Histogram;

/// The largest `--size`: 64 MiB. Each connection holds up to two messages whole (the one its
/// writer fills and the one its reader checks against), and a message larger than the
/// socket buffers (a few MiB) measures nothing a smaller one does not.
const MAX_SIZE: usize = 64 << 20;

/// The largest `--depth`. Each connection keeps one send instant (16 bytes) per message in
/// flight, allocated up front; past a thousand messages in flight, further ones only wait in
/// the socket buffers, which measures queueing, not the server.
const MAX_DEPTH: usize = 1024;

/// The largest `--conns`: 2^20, Linux's default ceiling on a process's descriptors
/// (`fs.nr_open`); every connection is one. The descriptor limit in force may allow fewer,
/// which is checked at start. It also keeps connection numbers within the `u32` of the
/// message pattern.
const MAX_CONNS: usize = 1 << 20;

/// The shortest `--secs`: one millisecond, the timer's granularity; a shorter window would
/// measure the timer, not the server.
const MIN_SECS: f64 = 0.001;

/// The longest `--secs`: one day. A benchmark longer than that is a typo, and the bound keeps
/// the deadline (now plus the window) far from the clock's range.
const MAX_SECS: f64 = 24.0 * 60.0 * 60.0;

/// The most connects in flight at once. Opening thousands at once would overflow the
/// server's listen queue (its backlog) faster than it accepts, and the kernel would drop the
/// excess; a few hundred keep connecting fast without that.
const MAX_CONNECTS_IN_FLIGHT: usize = 256;

/// How long one connect may take before it counts as an error. Loopback connects take
/// microseconds; a server that does not accept within this is not going to.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long, after the writers stop, the client waits for the server to echo what is in
/// flight and close. Long enough for a loaded server, short enough that a stuck one cannot
/// hang a benchmark script; connections still open then count as errors.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs longer than this print a progress line every [`PROGRESS_INTERVAL`].
const PROGRESS_AFTER: Duration = Duration::from_secs(2);

/// The period of the progress lines.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// The most bytes a writer gathers into one `write_all` (always at least one message):
/// sending all the free slots at once saves system calls without large buffers per
/// connection.
const MAX_WRITE_BATCH: usize = 64 * 1024;

/// The most bytes a reader asks for at once. No more than `size * depth` bytes can be in
/// flight, so each reader's buffer is that, up to this.
const MAX_READ_BUFFER: usize = 64 * 1024;

/// Descriptors the client needs beside its sockets: stdio, the reactor's epoll instance and
/// wake-up descriptor, with room to spare.
const FD_HEADROOM: u64 = 64;

/// How many connection errors and mismatches are described on stderr; past that they are
/// only counted, so a broken run does not bury its summary in thousands of lines.
const MAX_REPORTED: u64 = 10;

/// The settings, from the command line.
struct Options {
    addr: SocketAddr,
    conns: usize,
    size: usize,
    depth: usize,
    secs: Duration,
}

impl Options {
    fn from_env() -> Options {
        let usage = format!(
            "A load generator and checker for the echo servers, on evloop.\n\n\
             Usage: cargo run --release --example echo-client -- [OPTIONS]\n\n\
             Options:\n  \
             --addr HOST:PORT  server address (default 127.0.0.1:7000)\n  \
             --conns N         connections to open, 1 to {MAX_CONNS} and within the\n                    \
             descriptor limit (default 1)\n  \
             --size BYTES      message size, 1 to {MAX_SIZE} (default 64)\n  \
             --depth D         messages in flight per connection, 1 to {MAX_DEPTH} (default 1)\n  \
             --secs T          seconds to send for, {MIN_SECS} to {MAX_SECS}, fractions allowed\n                    \
             (default 5)\n  \
             -h, --help        print this help\n"
        );
        let flags =
            args::Flags::from_env(usage, &["--addr", "--conns", "--size", "--depth", "--secs"]);
        Options {
            addr: flags.addr("--addr", "127.0.0.1:7000"),
            conns: flags.size("--conns", 1, 1, MAX_CONNS, "connections"),
            size: flags.size("--size", 64, 1, MAX_SIZE, "bytes"),
            depth: flags.size("--depth", 1, 1, MAX_DEPTH, "messages"),
            secs: flags.seconds("--secs", 5.0, MIN_SECS, MAX_SECS),
        }
    }
}

fn main() -> ExitCode {
    let options = Options::from_env();
    let wanted = options.conns as u64 + FD_HEADROOM;
    match fd_limit::raise_nofile_limit(wanted) {
        Ok(limit) if limit < wanted => {
            // The connections past the limit could only fail with EMFILE: asking for them is
            // asking for more than this process may have, a usage error like any other range.
            args::bad_input(format_args!(
                "--conns {} is too many: the descriptor limit, raised as far as allowed, is \
                 {limit}, room for at most {} connections",
                options.conns,
                limit.saturating_sub(FD_HEADROOM)
            ));
        }
        Ok(_) => {}
        Err(e) => {
            // Not fatal: the run shows what the current limit allows (connections past it fail
            // with EMFILE and are counted in `errors`).
            eprintln!("warning: cannot read or raise the descriptor limit: {e}");
        }
    }
    args::finish(run_client(options))
}

/// Prints the settings, runs the load and the checks, and prints the results; an error here
/// (including wrong echoes) ends the program with status 1 (see the module docs).
fn run_client(options: Options) -> io::Result<()> {
    line("addr", options.addr)?;
    line("conns", options.conns)?;
    line("depth", options.depth)?;
    line("size", options.size)?;
    line("secs", format_args!("{:.2}", options.secs.as_secs_f64()))?;

    // Every buffer first: a refusal then ends the run before any connection is opened.
    let run = Run::new(&options)?;
    // Without a runtime (no epoll instance, out of descriptors) there is nothing to run on.
    let runtime = evloop::Runtime::new()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start the runtime: {e}")))?;
    let mismatches = runtime.block_on(run_load(options, run))?;
    drop(runtime);
    if mismatches > 0 {
        // The run completed, but what came back is not what was sent: that is a failure no
        // matter how fast it was.
        return Err(io::Error::other(format!(
            "{mismatches} echoed messages did not match what was sent"
        )));
    }
    Ok(())
}

/// The state of the whole run, shared by every task through an `Rc`.
struct Run {
    size: usize,
    depth: usize,
    /// One entry per connection, indexed by connection number.
    conns: Vec<Conn>,
    /// Set once, at the deadline: writers send nothing more and half-close.
    stopping: Cell<bool>,
    /// Echoes completed (checked and counted, right or wrong), over all connections.
    echoed: Cell<u64>,
    /// Echoes that differed from what was sent.
    mismatches: Cell<u64>,
    /// Connections that ended in an error (each counted once).
    errors: Cell<u64>,
    /// Round-trip times in nanoseconds.
    latency: RefCell<Histogram>,
}

/// One connection's state, shared by its writer and its reader.
///
/// # Invariants
///
/// - `in_flight` holds one send instant per message written (or being written) and not yet
///   echoed, oldest first, and never more than `depth` of them: the writer pushes before it
///   writes, and only while there is room; the reader pops when an echo completes. Because
///   TCP keeps order, the front is always the instant of the message being echoed.
/// - A parked writer has its waker in `writer`; whoever makes room in `in_flight` (the reader)
///   or sets `Run::stopping` (the main task) takes and wakes it. Everything runs on one thread,
///   so nothing can happen between the writer's check and its parking.
struct Conn {
    /// The connection number, also the first half of every message's pattern seed.
    id: u32,
    in_flight: RefCell<VecDeque<Instant>>,
    writer: RefCell<Option<Waker>>,
    /// Set when the connect succeeded; the other connections took no part in the run.
    connected: Cell<bool>,
    /// Echoes completed on this connection; 0 at the deadline means it stalled.
    echoed: Cell<u64>,
    /// Set by the first error, so that a connection counts once in `Run::errors`.
    failed: Cell<bool>,
    /// Set when the writer and the reader have finished; one still unset when the drain
    /// times out means the connection never closed cleanly.
    writer_done: Cell<bool>,
    reader_done: Cell<bool>,
    /// The writer's batch: empty, with room for the largest batch it ever sends, so that it
    /// never grows. Allocated with the run, taken by the writer.
    batch: Cell<Vec<u8>>,
    /// The reader's buffer, and the message it checks the echo against. Allocated with the
    /// run, taken by the reader.
    read_buf: Cell<Box<[u8]>>,
    expected: Cell<Box<[u8]>>,
}

impl Run {
    /// The state of a run with every connection's buffers allocated, or an error naming the
    /// size the allocator refused.
    fn new(options: &Options) -> io::Result<Run> {
        let (size, depth) = (options.size, options.depth);
        let batch_bytes = size * depth.min((MAX_WRITE_BATCH / size).max(1));
        let read_bytes = size.saturating_mul(depth).min(MAX_READ_BUFFER);
        let conns = (0..options.conns)
            .map(|id| {
                let refused = |e: io::Error| {
                    io::Error::new(
                        e.kind(),
                        format!("connection {id} of {}: {e}", options.conns),
                    )
                };
                let mut batch = Vec::new();
                batch.try_reserve_exact(batch_bytes).map_err(|e| {
                    refused(io::Error::new(
                        io::ErrorKind::OutOfMemory,
                        format!("cannot allocate {batch_bytes} bytes for a batch of messages: {e}"),
                    ))
                })?;
                Ok(Conn {
                    id: id as u32,
                    in_flight: RefCell::new(VecDeque::with_capacity(depth)),
                    writer: RefCell::new(None),
                    connected: Cell::new(false),
                    echoed: Cell::new(0),
                    failed: Cell::new(false),
                    writer_done: Cell::new(false),
                    reader_done: Cell::new(false),
                    batch: Cell::new(batch),
                    read_buf: Cell::new(
                        buffer::zeroed(read_bytes, "a read buffer").map_err(refused)?,
                    ),
                    expected: Cell::new(buffer::zeroed(size, "a message").map_err(refused)?),
                })
            })
            .collect::<io::Result<_>>()?;
        Ok(Run {
            size: options.size,
            depth: options.depth,
            conns,
            stopping: Cell::new(false),
            echoed: Cell::new(0),
            mismatches: Cell::new(0),
            errors: Cell::new(0),
            latency: RefCell::new(Histogram::new()),
        })
    }

    /// Counts an error on `conn` (only its first: a reset usually fails both the reader and
    /// the writer) and describes the first few on stderr.
    fn fail(&self, conn: &Conn, what: &str, problem: &dyn Display) {
        if conn.failed.replace(true) {
            return;
        }
        self.errors.set(self.errors.get() + 1);
        if self.errors.get() <= MAX_REPORTED {
            eprintln!("connection {}: {what}: {problem}", conn.id);
        }
    }

    /// Stops the writers: sets `stopping` and wakes every parked writer to see it.
    fn stop(&self) {
        self.stopping.set(true);
        for conn in &self.conns {
            wake_writer(conn);
        }
    }
}

/// Wakes `conn`'s writer if it is parked.
fn wake_writer(conn: &Conn) {
    // Take the waker first so that no RefCell borrow is held while it runs.
    let waker = conn.writer.take();
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Connects, runs the load until the deadline, drains, and prints the results. Returns the
/// number of mismatches.
async fn run_load(options: Options, run: Run) -> io::Result<u64> {
    let run = Rc::new(run);

    let connecting = Instant::now();
    let streams = connect_all(&run, options.addr).await?;
    let connected = streams.iter().flatten().count();
    line("connected", connected)?;
    line(
        "connect_secs",
        format_args!("{:.2}", connecting.elapsed().as_secs_f64()),
    )?;
    if connected == 0 {
        // Nothing was measured; exiting with success would let a script read zeros as results.
        return Err(io::Error::other(format!(
            "no connection to {} could be opened",
            options.addr
        )));
    }

    // The clock starts once every connection is open, and every writer starts at once.
    let start = Instant::now();
    let deadline = start + options.secs;
    let mut tasks = Vec::with_capacity(2 * connected);
    for (id, stream) in streams.into_iter().enumerate() {
        if let Some(stream) = stream {
            let (read_half, write_half) = stream.into_split();
            tasks.push(evloop::spawn(writer(Rc::clone(&run), id, write_half)));
            tasks.push(evloop::spawn(reader(Rc::clone(&run), id, read_half)));
        }
    }

    if options.secs > PROGRESS_AFTER {
        let mut last = (start, 0);
        let mut tick = start + PROGRESS_INTERVAL;
        while tick < deadline {
            sleep_until(tick).await;
            let (now, echoed) = (Instant::now(), run.echoed.get());
            let so_far = echoed as f64 / (now - start).as_secs_f64();
            let last_sec = (echoed - last.1) as f64 / (now - last.0).as_secs_f64();
            line(
                "progress",
                format_args!(
                    "t={}s messages={echoed} messages_per_sec={so_far:.0} last_sec={last_sec:.0}",
                    (tick - start).as_secs()
                ),
            )?;
            last = (now, echoed);
            tick += PROGRESS_INTERVAL;
        }
    }
    sleep_until(deadline).await;
    // The measured window ends here; echoes of the messages still in flight are checked and
    // timed below, but not counted in the rate. Stalls are counted here too: a connection the
    // server left waiting all along may get its first echo during the drain, once others
    // close, and must not hide behind it.
    let elapsed = start.elapsed();
    let messages = run.echoed.get();
    let stalled = run
        .conns
        .iter()
        .filter(|conn| conn.connected.get() && conn.echoed.get() == 0)
        .count();
    run.stop();

    let drain = async {
        for task in tasks {
            task.await.map_err(task_failed)?;
        }
        Ok::<(), io::Error>(())
    };
    match timeout(DRAIN_TIMEOUT, drain).await {
        Ok(result) => result?,
        Err(_elapsed) => {
            // Whatever is still open when the timeout fires is dropped with the runtime;
            // count those connections, they lost their last echoes.
            for conn in &run.conns {
                if conn.connected.get() && !(conn.writer_done.get() && conn.reader_done.get()) {
                    run.fail(conn, "drain", &"still open when the drain timed out");
                }
            }
        }
    }

    let secs = elapsed.as_secs_f64();
    let latency = run.latency.borrow();
    let micros = |nanos: u64| (nanos + 500) / 1000;
    line("elapsed_secs", format_args!("{secs:.2}"))?;
    line("messages", messages)?;
    line(
        "messages_per_sec",
        format_args!("{:.0}", messages as f64 / secs),
    )?;
    let mib = (messages * options.size as u64) as f64 / (1024.0 * 1024.0);
    line("mib_per_sec", format_args!("{:.2}", mib / secs))?;
    line("p50_us", micros(latency.quantile(0.5)))?;
    line("p99_us", micros(latency.quantile(0.99)))?;
    line("p999_us", micros(latency.quantile(0.999)))?;
    line("max_us", micros(latency.max()))?;
    line("stalled", stalled)?;
    line("errors", run.errors.get())?;
    line("mismatches", run.mismatches.get())?;
    Ok(run.mismatches.get())
}

/// Opens every connection, at most [`MAX_CONNECTS_IN_FLIGHT`] at a time. Slot `i` holds
/// connection `i`'s stream, or `None` if it failed (and was counted in `errors`).
async fn connect_all(run: &Rc<Run>, addr: SocketAddr) -> io::Result<Vec<Option<TcpStream>>> {
    let slots: Rc<RefCell<Vec<Option<TcpStream>>>> = Rc::new(RefCell::new(
        iter::repeat_with(|| None).take(run.conns.len()).collect(),
    ));
    let next = Rc::new(Cell::new(0));
    // Each connector takes the next connection number until none are left, so at most as many
    // connects are in flight as there are connectors.
    let connectors: Vec<_> = (0..run.conns.len().min(MAX_CONNECTS_IN_FLIGHT))
        .map(|_| {
            let (run, slots, next) = (Rc::clone(run), Rc::clone(&slots), Rc::clone(&next));
            evloop::spawn(async move {
                while next.get() < run.conns.len() {
                    let id = next.get();
                    next.set(id + 1);
                    match connect(addr).await {
                        Ok(stream) => {
                            run.conns[id].connected.set(true);
                            slots.borrow_mut()[id] = Some(stream);
                        }
                        // One connection failed, not the run: count it and go on.
                        Err(e) => run.fail(&run.conns[id], "connect", &e),
                    }
                }
            })
        })
        .collect();
    for connector in connectors {
        connector.await.map_err(task_failed)?;
    }
    Ok(slots.take())
}

/// Opens one connection with Nagle's algorithm off: a small message must leave at once, not
/// wait for the previous one's ACK, or the client would measure ACK delays.
async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = match timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(connected) => connected?,
        Err(_elapsed) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {CONNECT_TIMEOUT:?}"),
            ));
        }
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends messages on connection `id`, keeping at most `depth` in flight, until the run stops;
/// then half-closes, so the server echoes what is left and closes.
async fn writer(run: Rc<Run>, id: usize, mut half: OwnedWriteHalf) {
    let conn = &run.conns[id];
    if let Err(e) = write_messages(&run, conn, &mut half).await {
        // The connection is broken; the reader sees it too and ends. Dropping the half shuts
        // down our side for good measure.
        run.fail(conn, "write", &e);
    }
    conn.writer_done.set(true);
}

async fn write_messages(run: &Run, conn: &Conn, half: &mut OwnedWriteHalf) -> io::Result<()> {
    let size = run.size;
    // Its capacity holds the largest batch below, so `resize` never reallocates.
    let mut batch = conn.batch.take();
    let mut seq = 0;
    while let Some(room) = room_to_send(run, conn).await {
        let count = room.min((MAX_WRITE_BATCH / size).max(1));
        batch.resize(count * size, 0);
        for message in batch.chunks_exact_mut(size) {
            fill_message(conn.id, seq, message);
            seq += 1;
        }
        // Timestamps go in before the write, so that however the write is split and whenever
        // the echo comes back, the reader finds its message's instant at the front.
        let now = Instant::now();
        conn.in_flight
            .borrow_mut()
            .extend(iter::repeat_n(now, count));
        half.write_all(&batch).await?;
    }
    half.shutdown().await
}

/// Waits until the writer may send: resolves to how many messages fit under `depth`, or to
/// `None` once the run is stopping.
fn room_to_send<'a>(run: &'a Run, conn: &'a Conn) -> impl Future<Output = Option<usize>> + 'a {
    std::future::poll_fn(move |cx| {
        if run.stopping.get() {
            return Poll::Ready(None);
        }
        let room = run.depth - conn.in_flight.borrow().len();
        if room > 0 {
            return Poll::Ready(Some(room));
        }
        // Park until the reader makes room or the run stops (see `Conn`'s invariants).
        let mut parked = conn.writer.borrow_mut();
        if !parked.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *parked = Some(cx.waker().clone());
        }
        Poll::Pending
    })
}

/// Reads connection `id`'s echoes until the server closes, checking every byte and timing
/// every message.
async fn reader(run: Rc<Run>, id: usize, mut half: OwnedReadHalf) {
    let conn = &run.conns[id];
    if let Err(e) = read_echoes(&run, conn, &mut half).await {
        // The connection is over; the writer, if still sending, fails on its next write, or
        // parks until the run stops since no echo will make room any more.
        run.fail(conn, "read", &e);
    }
    conn.reader_done.set(true);
}

async fn read_echoes(run: &Run, conn: &Conn, half: &mut OwnedReadHalf) -> io::Result<()> {
    let mut buf = conn.read_buf.take();
    let mut checker = Checker::new(conn.id, conn.expected.take());
    loop {
        let n = half.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        // One clock reading per read: the messages it completes all arrived together.
        let now = Instant::now();
        let mut completed = false;
        checker.feed(&buf[..n], |seq, mismatch| {
            completed = true;
            let sent = conn.in_flight.borrow_mut().pop_front();
            if let Some(sent) = sent {
                let nanos = u64::try_from((now - sent).as_nanos()).unwrap_or(u64::MAX);
                run.latency.borrow_mut().record(nanos);
            }
            // With no send instant, more came back than was sent: a message never sent cannot
            // match by design, so it is wrong whatever its bytes.
            if mismatch.is_some() || sent.is_none() {
                run.mismatches.set(run.mismatches.get() + 1);
                if run.mismatches.get() <= MAX_REPORTED {
                    match mismatch {
                        Some(m) => eprintln!(
                            "connection {}: message {seq}: byte {} is {:#04x}, sent {:#04x}",
                            conn.id, m.offset, m.got, m.expected
                        ),
                        None => eprintln!("connection {}: message {seq} was never sent", conn.id),
                    }
                }
            }
            conn.echoed.set(conn.echoed.get() + 1);
            run.echoed.set(run.echoed.get() + 1);
        });
        if completed {
            wake_writer(conn);
        }
    }
    // End of file: the server closed its side. That is the clean end only after we stopped
    // and everything we sent came back.
    let missing = conn.in_flight.borrow().len();
    if !run.stopping.get() {
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection before the run ended",
        ))
    } else if missing > 0 || checker.offset > 0 {
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the server closed the connection with {missing} messages not echoed"),
        ))
    } else {
        Ok(())
    }
}

/// Follows one connection's stream of echoes message by message, comparing each byte with
/// the pattern it was sent with.
struct Checker {
    conn: u32,
    /// The sequence number of the message being received.
    seq: u64,
    /// How many of its bytes have been received.
    offset: usize,
    /// Its pattern, filled in when its first byte arrives; as long as a message.
    expected: Box<[u8]>,
    /// Its first wrong byte, if one has been seen.
    mismatch: Option<Mismatch>,
}

/// The first wrong byte of a message.
struct Mismatch {
    offset: usize,
    expected: u8,
    got: u8,
}

impl Checker {
    /// A checker for connection `conn`, which fills `expected` (one message long) with each
    /// message's pattern in turn.
    fn new(conn: u32, expected: Box<[u8]>) -> Checker {
        Checker {
            conn,
            seq: 0,
            offset: 0,
            expected,
            mismatch: None,
        }
    }

    /// Checks `data`, the next bytes of the stream, calling `done(seq, first_mismatch)` for
    /// every message it completes. Reads split messages anywhere, so a message may start in
    /// one call and end in a later one.
    fn feed(&mut self, mut data: &[u8], mut done: impl FnMut(u64, Option<Mismatch>)) {
        let size = self.expected.len();
        while !data.is_empty() {
            if self.offset == 0 {
                fill_message(self.conn, self.seq, &mut self.expected);
            }
            let take = (size - self.offset).min(data.len());
            let expected = &self.expected[self.offset..self.offset + take];
            if self.mismatch.is_none() && expected != &data[..take] {
                let at = iter::zip(expected, data)
                    .position(|(sent, got)| sent != got)
                    .expect("the slices differ, and they have the same length");
                self.mismatch = Some(Mismatch {
                    offset: self.offset + at,
                    expected: expected[at],
                    got: data[at],
                });
            }
            self.offset += take;
            data = &data[take..];
            if self.offset == size {
                done(self.seq, self.mismatch.take());
                self.seq += 1;
                self.offset = 0;
            }
        }
    }
}

/// Fills `message` with the pattern of message `seq` on connection `conn`: the output of a
/// splitmix64 generator seeded from both. Every message of a run gets its own pseudo-random
/// bytes, so a byte that is lost, duplicated, reordered or delivered to the wrong connection
/// lands where a different byte is expected, and (but for a 1-in-256 coincidence per byte)
/// shows as a mismatch.
fn fill_message(conn: u32, seq: u64, message: &mut [u8]) {
    let mut conn_state = u64::from(conn);
    let mut state = splitmix64(&mut conn_state) ^ seq.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    for chunk in message.chunks_mut(8) {
        let word = splitmix64(&mut state).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

/// One step of splitmix64 (Steele, Lea and Flood, 2014): a fast generator whose every output
/// is well mixed, whatever the seed.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Prints one `key: value` line on stdout and flushes it, so a script reading the pipe sees
/// each line when it is printed.
fn line(key: &str, value: impl Display) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{key}: {value}")?;
    out.flush()
}

/// Turns a task that panicked into an error for `main`: a bug in this client, with nothing
/// sensible left to measure. (The panic message is already on stderr.)
fn task_failed(e: impl Debug) -> io::Error {
    io::Error::other(format!("a task of the client failed: {e:?}"))
}
