//! A batch of HTTP GETs three ways: one after another with blocking sockets, one blocking
//! request per `spawn_blocking` thread, and one evloop task per request.
//!
//! ```text
//! cargo run --release --example batch-fetch
//! cargo run --release --example batch-fetch -- --quick    # 10 iterations, 5 ms server delay
//! ```
//!
//! An HTTP/1.1 server runs in this process, on its own thread with its own runtime, and
//! answers every `GET /todos/N` after a fixed delay (20 ms; 5 ms in quick mode) with a small
//! JSON body, then closes the connection. Batches of 4 and of 16 GETs are timed 50 times per
//! method (10 in quick mode), after one untimed batch that warms up the pool's threads:
//!
//! - `sequential`: `std::net::TcpStream`, each request after the previous response, as a
//!   plain `requests` loop would;
//! - `spawn_blocking`: the same blocking request, one per pool thread, awaited together (asyncio's
//!   `run_in_executor`);
//! - `evloop_tasks`: one task per request with evloop's `TcpStream`, awaited together (aiohttp).
//!
//! Each batch size gets a table like pandas' `DataFrame.describe()`: count, mean, std, min,
//! quartiles and max of the seconds per batch. The full run takes about 25 s, most of it the
//! sequential method, which is the point.
//!
//! What to look for: sequential grows with the batch (about batch × delay); both concurrent
//! methods stay near one delay. In the Python original the thread pool lagged well behind
//! aiohttp because of the GIL; Rust threads have no GIL, so here the pool keeps up, at the cost
//! of a thread (and its stack) per request in flight, while the tasks share one thread. Every
//! response's status, length and body are checked; the example exits with status 1 if any
//! was wrong.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use evloop::sync::Notify;
use evloop::task::{self, JoinError};
use evloop::time::{sleep, timeout};

#[path = "support/lesson.rs"]
mod lesson;
#[path = "support/stats.rs"]
mod stats;
#[path = "support/table.rs"]
mod table;

use lesson::Checks;
use table::Table;

/// The batch sizes, as in the Python benchmark.
const BATCH_SIZES: [usize; 2] = [4, 16];

/// Timed batches per method and batch size, in a full run and in quick mode.
const ITERATIONS: usize = 50;
const QUICK_ITERATIONS: usize = 10;

/// How long the server takes to answer a GET, in a full run and in quick mode: the stand-in
/// for a remote service's latency, which dwarfs loopback's tens of microseconds.
const SERVER_DELAY: Duration = Duration::from_millis(20);
const QUICK_SERVER_DELAY: Duration = Duration::from_millis(5);

/// How long one request may take, client side, before it counts as failed: a hundred times
/// the server's delay, so only a hung request reaches it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The most bytes of request head the server reads; a GET from this client is under 100.
const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// How many failed requests are described on stderr; the rest are only counted.
const MAX_REPORTED: usize = 10;

const USAGE: &str = "Batches of HTTP GETs: sequential blocking, spawn_blocking, and evloop \
                     tasks, with describe()-style statistics.\n\n\
                     Usage: cargo run --release --example batch-fetch -- [--quick]\n\n\
                     Options:\n  \
                     --quick     10 iterations and a 5 ms server delay instead of 50 and \
                     20 ms (or set EVLOOP_EXAMPLE_QUICK=1)\n  \
                     -h, --help  print this help\n";

/// The three ways to fetch a batch, in the order of the table's columns.
const METHODS: [&str; 3] = ["sequential", "spawn_blocking", "evloop_tasks"];

fn main() -> io::Result<()> {
    let quick = lesson::quick_mode(USAGE);
    lesson::start_watchdog(quick);
    let (iterations, delay) = if quick {
        (QUICK_ITERATIONS, QUICK_SERVER_DELAY)
    } else {
        (ITERATIONS, SERVER_DELAY)
    };

    let server = Server::start(delay)?;
    let addr = server.addr;
    // The client's runtime, for the two concurrent methods; the sequential one runs outside it,
    // as plain blocking code. Without a runtime there is nothing to compare.
    let runtime = evloop::Runtime::new()?;
    let mut failures: Vec<String> = Vec::new();

    for batch in BATCH_SIZES {
        let mut samples: [Vec<f64>; 3] = Default::default();
        for (method, times) in samples.iter_mut().enumerate() {
            // One untimed batch first: it starts the pool's threads and warms up the server,
            // as the Python benchmark heats its caches.
            for iteration in 0..=iterations {
                let started = Instant::now();
                let results = match method {
                    0 => fetch_sequential(addr, batch),
                    1 => runtime.block_on(fetch_with_pool(addr, batch)),
                    _ => runtime.block_on(fetch_with_tasks(addr, batch)),
                };
                let elapsed = started.elapsed().as_secs_f64();
                for (id, result) in (1..).zip(results) {
                    if let Err(problem) = result {
                        failures.push(format!("{} GET /todos/{id}: {problem}", METHODS[method]));
                    }
                }
                if iteration > 0 {
                    times.push(elapsed);
                }
            }
        }

        println!(
            "batch_size={batch} ({iterations} iterations; seconds per batch; the server answers \
             each GET after {} ms)",
            delay.as_millis()
        );
        let summaries = samples.each_ref().map(|times| stats::describe(times));
        let mut header = vec![""];
        header.extend(METHODS);
        let mut table = Table::new(&header);
        for row in 0..summaries[0].rows().len() {
            let mut cells = vec![summaries[0].rows()[row].0.to_string()];
            cells.extend(
                summaries
                    .iter()
                    .map(|summary| format!("{:.6}", summary.rows()[row].1)),
            );
            table.row(cells);
        }
        print!("{table}");
        let mean = |method: usize| summaries[method].mean;
        println!(
            "mean speed-up over sequential: spawn_blocking {:.1}×, evloop_tasks {:.1}×\n",
            mean(0) / mean(1),
            mean(0) / mean(2)
        );
    }

    server.stop()?;
    for failure in failures.iter().take(MAX_REPORTED) {
        eprintln!("{failure}");
    }
    let mut checks = Checks::new();
    checks.check(
        failures.is_empty(),
        format!("{} requests failed or got a wrong response", failures.len()),
    );
    checks.finish();
    Ok(())
}

/// The request for todo `id`. `Connection: close` asks the server to close after its
/// response, so the response ends where the stream does.
fn request(id: usize) -> String {
    format!("GET /todos/{id} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
}

/// The body the server sends for todo `id`, and the client expects.
fn todo_body(id: usize) -> String {
    format!("{{\"userId\":1,\"id\":{id},\"title\":\"todo number {id}\",\"completed\":false}}")
}

/// Checks one complete response (the connection closed after it) for todo `id`: status 200, a
/// `Content-Length` equal to the body's length, and the expected body.
fn check_response(id: usize, response: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(response).map_err(|_| "the response is not UTF-8")?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("the response has no end of head")?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if status != "HTTP/1.1 200 OK" {
        return Err(format!("status line {status:?}"));
    }
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .ok_or("no valid Content-Length")?;
    if length != body.len() {
        return Err(format!(
            "Content-Length {length}, body of {} bytes",
            body.len()
        ));
    }
    if body != todo_body(id) {
        return Err(format!("unexpected body {body:?}"));
    }
    Ok(())
}

/// One GET with a blocking socket: connect, send, read until the server closes, check.
fn get_blocking(addr: SocketAddr, id: usize) -> Result<(), String> {
    let exchange = || -> io::Result<Vec<u8>> {
        let mut stream = std::net::TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT)?;
        stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
        stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
        stream.write_all(request(id).as_bytes())?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        Ok(response)
    };
    let response = exchange().map_err(|e| e.to_string())?;
    check_response(id, &response)
}

/// One GET on evloop: the same exchange as [`get_blocking`], awaiting instead of blocking.
async fn get_async(addr: SocketAddr, id: usize) -> Result<(), String> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request(id).as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, io::Error>(response)
    };
    let response = match timeout(REQUEST_TIMEOUT, exchange).await {
        Ok(exchanged) => exchanged.map_err(|e| e.to_string())?,
        Err(_elapsed) => return Err(format!("no response within {REQUEST_TIMEOUT:?}")),
    };
    check_response(id, &response)
}

/// The batch one request after another: each waits for the previous response.
fn fetch_sequential(addr: SocketAddr, batch: usize) -> Vec<Result<(), String>> {
    (1..=batch).map(|id| get_blocking(addr, id)).collect()
}

/// The batch with one blocking request per pool thread, all awaited together.
async fn fetch_with_pool(addr: SocketAddr, batch: usize) -> Vec<Result<(), String>> {
    let handles: Vec<_> = (1..=batch)
        .map(|id| task::spawn_blocking(move || get_blocking(addr, id)))
        .collect();
    evloop::future::join_all(handles)
        .await
        .into_iter()
        .map(|joined| joined.unwrap_or_else(|e| Err(joined_error(e))))
        .collect()
}

/// The batch with one evloop task per request, all awaited together.
async fn fetch_with_tasks(addr: SocketAddr, batch: usize) -> Vec<Result<(), String>> {
    let handles: Vec<_> = (1..=batch)
        .map(|id| evloop::spawn(get_async(addr, id)))
        .collect();
    evloop::future::join_all(handles)
        .await
        .into_iter()
        .map(|joined| joined.unwrap_or_else(|e| Err(joined_error(e))))
        .collect()
}

/// A request whose task panicked (a bug) counts as failed, with the reason.
fn joined_error(e: JoinError) -> String {
    format!("the request's task failed: {e:?}")
}

/// The in-process HTTP server: its own thread, its own runtime.
struct Server {
    addr: SocketAddr,
    thread: thread::JoinHandle<io::Result<()>>,
}

impl Server {
    /// Binds a port on loopback (here, so that the address is known before the thread runs)
    /// and starts serving on a new thread.
    fn start(delay: Duration) -> io::Result<Server> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let thread = thread::Builder::new()
            .name("http-server".to_string())
            .spawn(move || {
                let runtime = evloop::Runtime::new()?;
                runtime.block_on(serve(listener, delay))
            })?;
        Ok(Server { addr, thread })
    }

    /// Asks the server to stop (`GET /shutdown`) and waits for its thread to end.
    fn stop(self) -> io::Result<()> {
        let mut stream = std::net::TcpStream::connect(self.addr)?;
        stream.write_all(b"GET /shutdown HTTP/1.1\r\nConnection: close\r\n\r\n")?;
        stream.read_to_end(&mut Vec::new())?;
        match self.thread.join() {
            Ok(served) => served,
            // The server panicked; its message is on stderr already.
            Err(_) => Err(io::Error::other("the server thread panicked")),
        }
    }
}

/// Accepts connections, one task each, until a `GET /shutdown` arrives.
async fn serve(listener: std::net::TcpListener, delay: Duration) -> io::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let shutdown = Rc::new(Notify::new());
    loop {
        evloop::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    // Dropping the handle detaches the task: a connection never holds up
                    // the accept loop.
                    drop(evloop::spawn(respond(stream, delay, Rc::clone(&shutdown))));
                }
                // One would-be connection failed (the client gave up, or descriptors ran
                // out for a moment): the listener is fine, and the client counts the
                // failed request.
                Err(e) => eprintln!("server: accept: {e}"),
            },
            () = shutdown.notified() => return Ok(()),
        }
    }
}

/// Serves one connection: reads the request head, waits `delay`, answers, and closes.
async fn respond(mut stream: TcpStream, delay: Duration, shutdown: Rc<Notify>) {
    let served = async {
        let head = read_head(&mut stream).await?;
        let path = head
            .strip_prefix("GET ")
            .and_then(|rest| rest.split_once(' '))
            .map(|(path, _)| path);
        let (status, body) = match path {
            Some("/shutdown") => {
                // `notify_one` keeps the permit if the accept loop is not waiting at this
                // very moment, so the stop is never lost.
                shutdown.notify_one();
                ("200 OK", String::new())
            }
            Some(path) => match path.strip_prefix("/todos/").map(str::parse::<usize>) {
                Some(Ok(id)) => {
                    sleep(delay).await;
                    ("200 OK", todo_body(id))
                }
                _ => ("404 Not Found", String::new()),
            },
            None => ("400 Bad Request", String::new()),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    };
    if let Err(e) = served.await {
        // The connection is over either way; the client sees the failure and counts it.
        eprintln!("server: connection: {e}");
    }
}

/// Reads until the blank line that ends a request head (this server ignores bodies).
async fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        if head.len() > MAX_REQUEST_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too long",
            ));
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
}
