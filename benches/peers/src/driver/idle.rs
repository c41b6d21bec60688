//! The idle-memory probe: how much resident memory a server holds per open, idle connection.
//!
//! # How it is measured
//!
//! 1. The server starts (pinned as in the matrix) and is warmed up by one connection that
//!    echoes one full buffer and closes, so that one-time allocations (the runtime's first
//!    task, the first buffer size class) are not charged to the connections.
//! 2. After [`SETTLE`], `VmRSS` is read from `/proc/PID/status`: *before*.
//! 3. The driver opens the connections itself (plain `std::net::TcpStream`s, from
//!    [`CONNECTING_THREADS`] threads). Each sends [`SERVER_BUF`] bytes and reads the echo
//!    back: by then the server has accepted the connection, set it up, and written its whole
//!    buffer at least once. This puts every server on the same footing whether it allocates
//!    its buffer at accept (evloop's examples do, `vec![0; buf]`) or on the first read, and
//!    whether or not the allocator's fresh pages were touched before. The connections then
//!    stay open and idle.
//! 4. After [`SETTLE`], `VmRSS` again: *after*, and the thread count.
//! 5. Per connection: `(after − before) / held`; beyond the buffer: that minus [`SERVER_BUF`].
//!
//! RSS is user-space memory as the kernel counts it (pages resident, 4 KiB granularity, which
//! 10,000 connections average out). Socket buffers live in the kernel, not in the process, and
//! are the same for every server, so they are not in the figure.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use super::process::RunningServer;
use super::procfs;
use super::servers::{Layout, SERVER_BUF, Server};

/// How long to let a server settle before reading its memory: long enough for accept backlogs
/// to drain and threads to park, short against the probe.
const SETTLE: Duration = Duration::from_millis(500);

/// Threads opening the connections. Each connects and echoes one connection at a time, so at
/// most this many handshakes are in flight, far below any listen backlog.
const CONNECTING_THREADS: usize = 8;

/// How long one connect may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one echo may take before the connection counts as failed.
const ECHO_TIMEOUT: Duration = Duration::from_secs(10);

/// What the probe found for one server.
#[derive(Clone, Debug)]
pub struct IdleMemory {
    /// The server probed.
    pub server: Server,
    /// Connections asked for.
    pub wanted: usize,
    /// Connections open and echoed when the memory was read.
    pub held: usize,
    /// `VmRSS` before opening them, in bytes; `None` if the probe failed first.
    pub rss_before: Option<u64>,
    /// `VmRSS` with them held, in bytes; `None` if the probe failed first.
    pub rss_after: Option<u64>,
    /// The server's threads with the connections held.
    pub threads: Option<u64>,
    /// What went wrong, if anything; empty for a clean probe.
    pub note: String,
}

impl IdleMemory {
    /// Resident bytes added per held connection.
    pub fn per_conn(&self) -> Option<f64> {
        match (self.rss_before, self.rss_after) {
            (Some(before), Some(after)) if self.held > 0 => {
                Some((after as f64 - before as f64) / self.held as f64)
            }
            _ => None,
        }
    }

    /// Resident bytes per held connection beyond its [`SERVER_BUF`]-byte buffer.
    pub fn beyond_buffer(&self) -> Option<f64> {
        self.per_conn().map(|bytes| bytes - SERVER_BUF as f64)
    }
}

/// Probes `server` with `conns` idle connections. Failures are recorded in the result's note.
pub fn probe(server: Server, layout: &Layout, conns: usize, cpu: Option<usize>) -> IdleMemory {
    let mut result = IdleMemory {
        server,
        wanted: conns,
        held: 0,
        rss_before: None,
        rss_after: None,
        threads: None,
        note: String::new(),
    };
    let program = layout.server(server);
    let mut running = match RunningServer::start(server.name(), &program, SERVER_BUF, cpu) {
        Ok(running) => running,
        Err(e) => {
            result.note = e.to_string();
            return result;
        }
    };
    if let Err(e) = measure(&running, &mut result) {
        result.note = format!("reading the server's memory: {e}");
    }
    if let Err(e) = running.child.stop() {
        eprintln!("cannot stop {server}: {e}");
    }
    result
}

/// Steps 1–4 of the module docs; the connections close when this returns.
fn measure(running: &RunningServer, result: &mut IdleMemory) -> io::Result<()> {
    let pid = running.child.pid();
    let payload: Vec<u8> = (0..SERVER_BUF).map(|i| (i % 251) as u8).collect();
    open_and_echo(running.addr, &payload)
        .map_err(|e| io::Error::new(e.kind(), format!("the warm-up connection failed: {e}")))?;
    thread::sleep(SETTLE);
    result.rss_before = Some(procfs::rss_bytes(pid)?);

    let addr = running.addr;
    let per_thread = result.wanted.div_ceil(CONNECTING_THREADS);
    let (held, failures): (Vec<TcpStream>, Vec<io::Error>) = thread::scope(|scope| {
        let workers: Vec<_> = (0..CONNECTING_THREADS)
            .map(|worker| {
                let count = per_thread.min(result.wanted.saturating_sub(worker * per_thread));
                let payload = &payload;
                scope.spawn(move || {
                    (0..count)
                        .map(|_| open_and_echo(addr, payload))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut held = Vec::with_capacity(result.wanted);
        let mut failures = Vec::new();
        for worker in workers {
            let opened = worker.join().expect("a connecting thread cannot panic");
            for stream in opened {
                match stream {
                    Ok(stream) => held.push(stream),
                    Err(e) => failures.push(e),
                }
            }
        }
        (held, failures)
    });
    result.held = held.len();
    if let Some(first) = failures.first() {
        result.note = format!("{} connections failed, the first: {first}", failures.len());
    }
    thread::sleep(SETTLE);
    result.rss_after = Some(procfs::rss_bytes(pid)?);
    result.threads = Some(procfs::stat(pid)?.threads);
    drop(held);
    Ok(())
}

/// Opens one connection, sends `payload` and reads its echo, checking it; returns the
/// connection, open and idle.
fn open_and_echo(addr: SocketAddr, payload: &[u8]) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(ECHO_TIMEOUT))?;
    stream.write_all(payload)?;
    let mut echo = vec![0; payload.len()];
    stream.read_exact(&mut echo)?;
    if echo != payload {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the echo differs from what was sent",
        ));
    }
    Ok(stream)
}
