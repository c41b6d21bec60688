//! The echo server that `tests/hostile.rs` and `tests/soak.rs` attack: the connection loop of
//! `examples/echo-server.rs` (one task per connection, one 4 KiB buffer, read then write all
//! of it, shut down the write side at end of stream), run in the test's own runtime so its
//! counts can be checked; and [`on_thread`], which runs blocking client code beside it.

#![allow(
    dead_code,
    reason = "each test crate that includes this module uses a subset of it"
)]

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::thread;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::TcpStream;
use evloop::sync::threadsafe::oneshot;
use evloop::task::JoinHandle;

/// Each connection's buffer, as in `echo-server` (its default `--buf`): the server holds at
/// most this much of a connection's data at a time, whatever the client does.
pub const ECHO_BUF: usize = 4096;

/// What the server saw, counted as it happens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EchoCounts {
    /// Connections accepted, each given its own task.
    pub accepted: u64,
    /// Connection tasks that echoed to end of stream and shut down their side.
    pub ended_at_eof: u64,
    /// Connection tasks that ended with an I/O error (a reset, say).
    pub ended_by_error: u64,
    /// Errors `accept` returned.
    pub accept_errors: u64,
    /// Bytes echoed over all connections.
    pub echoed: u64,
}

impl EchoCounts {
    /// Connection tasks that ran to their end. A task that panicked, or that is still
    /// running, is not among them.
    pub fn ended(&self) -> u64 {
        self.ended_at_eof + self.ended_by_error
    }
}

/// The server's counts, shared by its tasks and kept by the test after the server stopped.
#[derive(Clone, Debug, Default)]
pub struct EchoStats(Rc<Cell<EchoCounts>>);

impl EchoStats {
    /// The counts as they are now.
    pub fn snapshot(&self) -> EchoCounts {
        self.0.get()
    }

    fn update(&self, change: impl FnOnce(&mut EchoCounts)) {
        let mut counts = self.0.get();
        change(&mut counts);
        self.0.set(counts);
    }
}

/// An echo server listening on a free loopback port, on the current runtime.
#[derive(Debug)]
pub struct EchoServer {
    addr: SocketAddr,
    acceptor: JoinHandle<()>,
    stats: EchoStats,
}

impl EchoServer {
    /// Binds `127.0.0.1:0` and spawns the accept loop. Call it inside the runtime.
    pub async fn start() -> EchoServer {
        let (listener, addr) = crate::support::listen().await;
        let stats = EchoStats::default();
        let acceptor = evloop::spawn({
            let stats = stats.clone();
            async move {
                loop {
                    match listener.accept().await {
                        Ok((stream, _peer)) => {
                            stats.update(|counts| counts.accepted += 1);
                            // Detached, as in echo-server: whatever happens to a connection
                            // stays inside its task.
                            drop(evloop::spawn(echo(stream, stats.clone())));
                        }
                        // echo-server logs these and goes on; here they are counted, and the
                        // tests check there were none.
                        Err(_) => stats.update(|counts| counts.accept_errors += 1),
                    }
                }
            }
        });
        EchoServer {
            addr,
            acceptor,
            stats,
        }
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's counts, shared: they keep counting after this call.
    pub fn stats(&self) -> EchoStats {
        self.stats.clone()
    }

    /// Stops accepting: the accept loop is aborted, which closes the listener at its next
    /// turn. Connections already accepted go on until their clients end them.
    pub fn stop(self) -> EchoStats {
        self.acceptor.abort();
        self.stats
    }
}

/// One connection's task: echo until end of stream, then count how it ended.
async fn echo(stream: TcpStream, stats: EchoStats) {
    let ended = echo_until_eof(stream, &stats).await;
    stats.update(|counts| match ended {
        Ok(()) => counts.ended_at_eof += 1,
        Err(_) => counts.ended_by_error += 1,
    });
}

/// `echo-server`'s loop: everything the client sends comes back, through one buffer, and the
/// next read waits until the whole of the last one is written. That wait is the backpressure:
/// a client that does not read fills our send buffer, our write waits, so we stop reading,
/// and the client's own writes stop once the kernel's buffers in between are full.
async fn echo_until_eof(mut stream: TcpStream, stats: &EchoStats) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0; ECHO_BUF];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        stream.write_all(&buf[..n]).await?;
        stats.update(|counts| counts.echoed += n as u64);
    }
    stream.shutdown().await
}

/// Runs `work` (blocking client code) on a thread of its own while the calling task waits
/// without blocking the loop, so the runtime keeps serving meanwhile; returns what `work`
/// returned. A panic in `work` is resumed here, with its own message.
pub async fn on_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = oneshot::channel();
    let worker = thread::spawn(move || {
        // The receiver is gone only if the test already failed elsewhere.
        let _ = done.send(work());
    });
    let outcome = finished.await;
    // The thread has sent its result, or dropped the sender while unwinding: either way it is
    // about to end, so joining it blocks the loop only for a moment.
    let joined = worker.join();
    match (outcome, joined) {
        (Ok(output), Ok(())) => output,
        (_, Err(panic)) => std::panic::resume_unwind(panic),
        (Err(_), Ok(())) => unreachable!("the thread ended without sending and without panicking"),
    }
}

/// Fails with the lengths and the first differing offset when `actual` is not `expected`,
/// instead of printing megabytes.
pub fn assert_same_bytes(actual: &[u8], expected: &[u8], what: &str) {
    if actual == expected {
        return;
    }
    let first_difference = actual
        .iter()
        .zip(expected)
        .position(|(a, e)| a != e)
        .unwrap_or(actual.len().min(expected.len()));
    panic!(
        "{what}: got {} bytes, expected {}; first difference at offset {first_difference}",
        actual.len(),
        expected.len()
    );
}
