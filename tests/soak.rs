//! A bounded soak: a thousand connections doing random things to the echo server at once,
//! for a few seconds, must see every byte echoed, and leave the process's memory flat and its
//! counts where they started.
//!
//! The server is `echo-server`'s connection loop (`support/echo.rs`) on the test's runtime;
//! the clients are tasks on a second runtime, on a thread of its own. Each client draws its
//! operations from its own seeded generator: echo a random number of random bytes (checked
//! byte for byte), half-close and read the echo to its end, abort in mid-stream with the echo
//! unread, reconnect, or idle. A third of the connections are opened with `SO_LINGER` 0, so
//! their closes are resets.
//!
//! The run is cut into rounds of [`ROUND`]: the first warms up (buffers, slabs and the
//! allocator reach their working size), and the resident memory at its end is compared with
//! the resident memory at the end of the last one.
//!
//! - `EVLOOP_SOAK_SECS=N` runs N rounds (default 3) for a longer soak;
//! - `EVLOOP_SOAK_SEED=S` replays the draws of the run that printed seed S;
//! - under valgrind (`EVLOOP_UNDER_VALGRIND`, set by `.ci/run`) 50 connections run for 2
//!   rounds, and memory growth is printed but not checked (valgrind's own memory, translated
//!   code and shadow memory, lands in the same resident set).
//!
//! The figures are printed to stderr: `cargo test --test soak -- --nocapture`.

// Miri cannot open sockets or call epoll, so this whole file is left out under it.
#![cfg(not(miri))]

#[path = "support/echo.rs"]
mod echo;
#[path = "support/process.rs"]
mod process;
#[path = "support/rng.rs"]
mod rng;
mod support;

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::TcpStream;
use evloop::time::sleep;

use echo::{EchoServer, on_thread};
use process::{Baseline, mib, resident_bytes, scaled};
use rng::Rng;
use support::{join, rt, with_deadline};

/// One round of the soak: the resident memory is sampled at the end of each.
const ROUND: Duration = Duration::from_secs(1);

/// Rounds run unless `EVLOOP_SOAK_SECS` says otherwise: one to warm up, two to compare.
const DEFAULT_ROUNDS: u32 = 3;

/// The seed of the clients' draws unless `EVLOOP_SOAK_SEED` says otherwise.
const DEFAULT_SEED: u64 = 0x50A4;

/// Bound on the growth of the resident memory from the end of the warm-up round to the end
/// of the last. The soak holds about a thousand connections' buffers and tasks from its first
/// round on; a leak of a few hundred bytes per operation would pass it within seconds.
const RSS_GROWTH_LIMIT: u64 = 8 * 1024 * 1024;

/// The most bytes one echo, half-close or abort sends: a few of the server's buffers.
const MAX_MESSAGE: usize = 32 * 1024;

/// Operations one client does at most, whatever the clock says.
const MAX_OPS_PER_CLIENT: u64 = 1_000_000;

/// Percent of connections opened with `SO_LINGER` 0: their every close is a reset.
const RESET_ON_CLOSE_PERCENT: u64 = 33;

/// What the run does, from the environment.
#[derive(Clone, Copy, Debug)]
struct Plan {
    connections: u64,
    rounds: u32,
    seed: u64,
}

impl Plan {
    fn from_env() -> Plan {
        let number = |name: &str| {
            std::env::var(name).ok().map(|value| {
                value
                    .parse::<u64>()
                    .unwrap_or_else(|_| panic!("{name}={value:?} is not a number"))
            })
        };
        let rounds = number("EVLOOP_SOAK_SECS")
            .map(|secs| u32::try_from(secs).unwrap_or(u32::MAX))
            .unwrap_or(scaled(DEFAULT_ROUNDS, 2))
            // A warm-up round and at least one to compare with it.
            .max(2);
        Plan {
            connections: scaled(1000, 50),
            rounds,
            seed: number("EVLOOP_SOAK_SEED").unwrap_or(DEFAULT_SEED),
        }
    }

    /// Hang guard for the whole run: its rounds, plus a minute for connecting and winding
    /// down (several under valgrind).
    fn limit(&self) -> Duration {
        ROUND * self.rounds + scaled(Duration::from_secs(60), Duration::from_secs(300))
    }
}

/// Hang guard for one operation.
fn op_limit() -> Duration {
    scaled(Duration::from_secs(10), Duration::from_secs(120))
}

/// What the clients did and saw, counted as it happens.
#[derive(Debug, Default)]
struct Tally {
    connections: Cell<u64>,
    echoes: Cell<u64>,
    half_closes: Cell<u64>,
    aborts: Cell<u64>,
    reconnects: Cell<u64>,
    idles: Cell<u64>,
    /// Bytes that came back and were checked.
    checked: Cell<u64>,
    /// Operations whose echo differed from what was sent.
    mismatches: Cell<u64>,
    /// I/O errors on connections that had no reason to fail.
    errors: Cell<u64>,
    /// The first mismatch or error, with the client's seed, to replay it.
    first_failure: RefCell<Option<String>>,
}

fn bump(counter: &Cell<u64>, by: u64) {
    counter.set(counter.get() + by);
}

impl Tally {
    fn failure(&self, counter: &Cell<u64>, what: String) {
        bump(counter, 1);
        self.first_failure.borrow_mut().get_or_insert(what);
    }
}

/// What [`run_clients`] hands back.
#[derive(Debug)]
struct SoakReport {
    tally: Tally,
    /// Resident memory at the end of each round.
    rss: Vec<u64>,
    elapsed: Duration,
}

#[test]
fn connections_doing_random_things_keep_memory_and_counts_flat() {
    let plan = Plan::from_env();
    // Both ends of every connection live in this process, and a closed connection's server
    // end may linger a moment while its client reconnects.
    if let Err(why) = process::allow_open_fds(2 * plan.connections + 256) {
        eprintln!("soak: skipped: {why}");
        return;
    }
    let rt = rt();
    let baseline = Baseline::take(&rt);
    let (report, stats) = rt.block_on(with_deadline(plan.limit(), "soak", async {
        let server = EchoServer::start().await;
        let addr = server.addr();
        let report = on_thread(move || run_clients(addr, plan)).await;
        // The last clients may have connected and left before the server accepted them:
        // let it catch up, so that it accepted exactly what connected.
        let stats = server.stats();
        for _ in 0..1000 {
            if stats.snapshot().accepted >= report.tally.connections.get() {
                break;
            }
            sleep(Duration::from_millis(5)).await;
        }
        (report, server.stop())
    }));
    baseline.assert_restored(&rt, "soak");

    let counts = stats.snapshot();
    let tally = &report.tally;
    let warm = report.rss[0];
    let last = *report.rss.last().expect("at least two rounds");
    let growth = last.saturating_sub(warm);
    let samples: Vec<String> = report
        .rss
        .iter()
        .map(|&b| format!("{:.1}", mib(b)))
        .collect();
    eprintln!(
        "soak: {} connections for {} rounds of {ROUND:?} ({:.1?} in all), seed {:#x}: {} \
         connections opened, {} echoes, {} half-closes, {} aborts, {} reconnects, {} idles; \
         {:.1} MiB checked, {} mismatches, {} errors; server accepted {}, {} ended at EOF, {} by \
         error; resident memory per round [{}] MiB, growth after warm-up {:.2} MiB",
        plan.connections,
        plan.rounds,
        report.elapsed,
        plan.seed,
        tally.connections.get(),
        tally.echoes.get(),
        tally.half_closes.get(),
        tally.aborts.get(),
        tally.reconnects.get(),
        tally.idles.get(),
        mib(tally.checked.get()),
        tally.mismatches.get(),
        tally.errors.get(),
        counts.accepted,
        counts.ended_at_eof,
        counts.ended_by_error,
        samples.join(", "),
        mib(growth),
    );
    assert_eq!(
        (tally.mismatches.get(), tally.errors.get()),
        (0, 0),
        "first failure: {:?}",
        tally.first_failure.borrow()
    );
    assert!(
        tally.echoes.get() > 0,
        "premise: the clients echoed something"
    );
    assert_eq!(counts.accepted, tally.connections.get(), "{counts:?}");
    assert_eq!(
        counts.accepted,
        counts.ended(),
        "a connection task did not run to its end: {counts:?}"
    );
    assert_eq!(counts.accept_errors, 0, "{counts:?}");
    if !process::under_valgrind() {
        assert!(
            growth < RSS_GROWTH_LIMIT,
            "resident memory grew {:.1} MiB after the warm-up round",
            mib(growth)
        );
    }
}

/// Runs the clients on a runtime of their own for `plan.rounds` rounds, sampling the resident
/// memory at the end of each, then lets each client end its connection and checks that the
/// clients' runtime is left holding nothing.
fn run_clients(addr: SocketAddr, plan: Plan) -> SoakReport {
    let rt = rt();
    let empty = rt.metrics();
    let started = Instant::now();
    let report = rt.block_on(async {
        let stop = Rc::new(Cell::new(false));
        let tally = Rc::new(Tally::default());
        let clients: Vec<_> = (0..plan.connections)
            .map(|slot| {
                let rng = Rng::new(plan.seed.wrapping_add(slot));
                evloop::spawn(client(slot, addr, rng, stop.clone(), tally.clone()))
            })
            .collect();
        let mut rss = Vec::new();
        for _ in 0..plan.rounds {
            sleep(ROUND).await;
            rss.push(resident_bytes());
        }
        stop.set(true);
        for client in clients {
            client.await.expect("a soak client panicked");
        }
        let tally = Rc::into_inner(tally).expect("every client is done with the tally");
        SoakReport {
            tally,
            rss,
            elapsed: started.elapsed(),
        }
    });
    assert_eq!(rt.metrics(), empty, "the clients' runtime holds nothing");
    report
}

/// Client number `slot`: opens a connection and does random operations on it, reconnecting
/// when an operation ended it, until `stop`; then ends its connection with a half-close.
async fn client(slot: u64, addr: SocketAddr, mut rng: Rng, stop: Rc<Cell<bool>>, tally: Rc<Tally>) {
    let mut connection: Option<TcpStream> = None;
    let mut ops = 0;
    while !stop.get() && ops < MAX_OPS_PER_CLIENT {
        ops += 1;
        let stream = match connection.take() {
            Some(stream) => stream,
            None => open(addr, &mut rng, &tally),
        };
        let what = format!("client {slot}, operation {ops}");
        let kept = with_deadline(op_limit(), &what, async {
            match rng.in_range(0..100) {
                0..60 => echo_once(stream, &mut rng, &tally, &what).await,
                60..70 => {
                    half_close(stream, &mut rng, &tally, &what).await;
                    None
                }
                70..78 => {
                    abort(stream, &mut rng, &tally, &what).await;
                    None
                }
                78..85 => {
                    // Closed in order, or reset if it was opened so.
                    bump(&tally.reconnects, 1);
                    None
                }
                _ => {
                    bump(&tally.idles, 1);
                    sleep(Duration::from_millis(rng.in_range(1..20) as u64)).await;
                    Some(stream)
                }
            }
        })
        .await;
        connection = kept;
    }
    if let Some(stream) = connection {
        let what = format!("client {slot}, last half-close");
        with_deadline(
            op_limit(),
            &what,
            half_close(stream, &mut rng, &tally, &what),
        )
        .await;
    }
}

/// Connects (a blocking connect, which the server's listen backlog completes at once, without
/// the server's help); a third of the connections reset when they close.
fn open(addr: SocketAddr, rng: &mut Rng, tally: &Tally) -> TcpStream {
    let stream = std::net::TcpStream::connect(addr).expect("connect to the echo server");
    if rng.percent(RESET_ON_CLOSE_PERCENT) {
        process::reset_on_close(&stream);
    }
    bump(&tally.connections, 1);
    TcpStream::from_std(stream).expect("register the client")
}

/// Sends random bytes and reads them back concurrently; checks them. Keeps the connection
/// unless it failed.
async fn echo_once(
    mut stream: TcpStream,
    rng: &mut Rng,
    tally: &Tally,
    what: &str,
) -> Option<TcpStream> {
    let len = rng.in_range(1..MAX_MESSAGE + 1);
    let sent = rng.bytes(len);
    let mut echoed = vec![0; sent.len()];
    let (mut reader, mut writer) = stream.split();
    let (written, read) = join(writer.write_all(&sent), reader.read_exact(&mut echoed)).await;
    bump(&tally.echoes, 1);
    if let Err(error) = written.and(read) {
        tally.failure(&tally.errors, format!("{what}: echo: {error}"));
        return None;
    }
    check(&echoed, &sent, tally, what);
    Some(stream)
}

/// Sends random bytes (maybe none), half-closes, and reads the echo to its end; checks it.
async fn half_close(mut stream: TcpStream, rng: &mut Rng, tally: &Tally, what: &str) {
    let len = rng.in_range(0..MAX_MESSAGE + 1);
    let sent = rng.bytes(len);
    let mut echoed = Vec::new();
    let (mut reader, mut writer) = stream.split();
    let send = async {
        writer.write_all(&sent).await?;
        writer.shutdown().await
    };
    let (written, read) = join(send, reader.read_to_end(&mut echoed)).await;
    bump(&tally.half_closes, 1);
    match written.and(read) {
        Ok(_) => check(&echoed, &sent, tally, what),
        Err(error) => tally.failure(&tally.errors, format!("{what}: half-close: {error}")),
    }
}

/// Sends random bytes, reads part of the echo (maybe none), and closes with the rest in
/// flight: the server sees a reset, or end of stream if the rest had not arrived yet.
async fn abort(mut stream: TcpStream, rng: &mut Rng, tally: &Tally, what: &str) {
    let len = rng.in_range(1..MAX_MESSAGE + 1);
    let sent = rng.bytes(len);
    let mut part = vec![0; rng.in_range(0..sent.len())];
    bump(&tally.aborts, 1);
    let written = stream.write_all(&sent).await;
    // Nothing can cut the echo short before our own close, which comes after this read.
    let read = stream.read_exact(&mut part).await;
    match written.and(read) {
        Ok(_) => check(&part, &sent[..part.len()], tally, what),
        Err(error) => tally.failure(&tally.errors, format!("{what}: abort: {error}")),
    }
}

/// Counts `echoed` as checked, or as a mismatch if it is not `sent`.
fn check(echoed: &[u8], sent: &[u8], tally: &Tally, what: &str) {
    if echoed == sent {
        bump(&tally.checked, echoed.len() as u64);
    } else {
        let at = echoed
            .iter()
            .zip(sent)
            .position(|(e, s)| e != s)
            .unwrap_or(echoed.len().min(sent.len()));
        tally.failure(
            &tally.mismatches,
            format!(
                "{what}: {} bytes echoed for {} sent, first difference at {at}",
                echoed.len(),
                sent.len()
            ),
        );
    }
}
