//! An echo server on evloop: one task per connection, each echoing through one buffer.
//!
//! Run it (these are the defaults):
//!
//! ```text
//! cargo run --release --example echo-server -- --addr 127.0.0.1:7000 --buf 4096
//! ```
//!
//! Once it accepts connections it prints one line, `listening on 127.0.0.1:7000` (with port 0,
//! the port the system picked). Poke it by hand with `nc 127.0.0.1 7000`: every line you type
//! comes back. Push a file through it and compare with
//! `nc -N 127.0.0.1 7000 < FILE | cmp - FILE` (OpenBSD netcat's `-N` half-closes after the
//! file; the server echoes everything, then closes its side, which ends `nc`). Load it with
//! `cargo run --release --example echo-client -- --conns 100 --depth 16`.
//!
//! On SIGINT (Ctrl-C) or SIGTERM (`kill PID`) it shuts down gracefully: it stops accepting
//! (new connections are refused), prints `shutting down: waiting up to 5000 ms for 3
//! connections`, lets the open connections finish for up to `--grace-ms` (default 5000), drops
//! the ones still open after that (and says how many), and exits with status 0.
//!
//! `echo-server-threads` is the same server on one OS thread per connection, for comparison.
//!
//! # Bad input and refusals
//!
//! `--buf` is 1 to 64 MiB and `--grace-ms` 0 to one hour (`--help` lists the ranges). A flag
//! out of its range, unknown or without a value gets one `error:` line naming it and its value,
//! and exit status 2. When the system refuses what the server needs (the address is in use,
//! memory for even one buffer) it prints one `error:` line naming the address or the size and
//! exits with status 1. That is why `main` returns an `ExitCode` (from `args::finish`) rather
//! than the `io::Result` of `run`: returned from `main`, an error would be printed in its
//! `Debug` form, `Error: Os { code: 98, kind: AddrInUse, .. }`, without the address.

use std::cell::Cell;
use std::io;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use evloop::signal::unix::{SignalKind, signal};
use evloop::sync::Notify;

#[path = "support/args.rs"]
mod args;
#[path = "support/buffer.rs"]
mod buffer;
#[path = "support/fd_limit.rs"]
mod fd_limit;
#[path = "support/server.rs"]
mod server;

fn main() -> ExitCode {
    let config = server::setup(
        "cargo run --release --example echo-server",
        "An echo server on evloop: one task per connection, one thread in all.",
    );
    args::finish(run(config))
}

/// Serves until SIGINT or SIGTERM; an error here ends the program (see the module docs).
fn run(config: server::Config) -> io::Result<()> {
    // Without a runtime (no epoll instance, out of descriptors) there is nothing to serve with.
    let runtime = evloop::Runtime::new()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve(config))
    // `block_on` has returned, but connections still open after the grace period are tasks
    // that stay in the runtime; dropping it here, at the end of `main`, drops them, which
    // closes their sockets.
}

/// Accepts connections, one echo task each, until SIGINT or SIGTERM; then shuts down.
async fn serve(config: server::Config) -> io::Result<()> {
    // The signal handlers first, before the port is announced: whoever learns the port may
    // send SIGTERM, and from here on it no longer kills the process. Fails only if the process
    // is out of descriptors (for the self-pipe) before it even started serving.
    let mut interrupts = signal(SignalKind::interrupt())?;
    let mut terminations = signal(SignalKind::terminate())?;
    // The address is taken or not ours to bind: there is nothing to serve, so the error ends
    // the program (and `main` prints it, with the address).
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|e| server::cannot_listen(config.addr, e))?;
    // Fails only for a socket that is already broken; same reasoning as for `bind`.
    let local_addr = listener.local_addr()?;
    // Nobody can learn the port if stdout is gone; stopping beats serving unannounced.
    server::announce(local_addr)?;
    let connections = Rc::new(OpenConnections::default());
    loop {
        // The signals come first (`biased;`): under a storm of connections the
        // listener is always ready, and a shutdown must not wait for the storm to end. Every
        // future here is cancel-safe: a signal that arrives while the loop is elsewhere (say,
        // pausing after EMFILE) is seen at the next `recv`, and a connection the kernel queued
        // stays queued until the next `accept` (or is refused when the listener closes).
        let accepted = evloop::select! {
            biased;
            // `None` only outside a runtime, which cannot happen here: the branch is disabled.
            Some(()) = interrupts.recv() => break,
            Some(()) = terminations.recv() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                // Dropping the JoinHandle detaches the task: the accept loop never waits for a
                // connection, and whatever happens to a connection stays inside its task. The
                // guard counts the connection as open until the task ends or is dropped.
                let connection = serve_connection(stream, config.buf, connections.open());
                drop(evloop::spawn(connection));
            }
            Err(e) if server::is_out_of_resources(&e) => {
                // The connection stays queued and the listener stays readable, so accepting at
                // once would fail at once, in a loop. Pause, and let other connections run and
                // close meanwhile: the sleep yields to them.
                eprintln!(
                    "accept: {e}; pausing {} ms",
                    server::OUT_OF_RESOURCES_BACKOFF.as_millis()
                );
                evloop::time::sleep(server::OUT_OF_RESOURCES_BACKOFF).await;
            }
            Err(e) => {
                // Anything else concerns one would-be connection, not the listener (say
                // ECONNABORTED: the client gave up while it waited in the queue), so the loop
                // goes on.
                eprintln!("accept: {e}");
            }
        }
    }
    shut_down(listener, &connections, config.grace).await
}

/// Stops accepting, then waits up to `grace` for the open connections to end by themselves.
///
/// Returns `Ok` either way: a server asked to stop that stops has succeeded. Connections still
/// open when it returns are dropped with the runtime (see `main`).
async fn shut_down(
    listener: TcpListener,
    connections: &OpenConnections,
    grace: Duration,
) -> io::Result<()> {
    // Closing the listening socket makes the kernel refuse new connections (and reset the ones
    // still queued, never accepted) instead of queueing them for a server that is leaving.
    drop(listener);
    println!(
        "shutting down: waiting up to {} ms for {} connections",
        grace.as_millis(),
        connections.count()
    );
    match evloop::time::timeout(grace, connections.all_closed()).await {
        Ok(()) => println!("shut down: every connection finished"),
        Err(_elapsed) => println!(
            "shut down: grace period over, dropping {} connections still open",
            connections.count()
        ),
    }
    Ok(())
}

/// The number of connections whose echo task has not ended, and a way to wait until it is 0.
#[derive(Default)]
struct OpenConnections {
    count: Cell<usize>,
    /// Notified (one stored permit) whenever `count` drops to zero.
    closed: Notify,
}

/// Counts one connection as open from its creation to its drop, which happens when the echo
/// task ends, or when the runtime drops the task unfinished.
struct ConnectionGuard(Rc<OpenConnections>);

impl OpenConnections {
    fn open(self: &Rc<Self>) -> ConnectionGuard {
        self.count.set(self.count.get() + 1);
        ConnectionGuard(self.clone())
    }

    fn count(&self) -> usize {
        self.count.get()
    }

    /// Completes once no connection is open.
    async fn all_closed(&self) {
        // A permit left over from an earlier drop to zero only costs one more look.
        while self.count.get() > 0 {
            self.closed.notified().await;
        }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let count = self.0.count.get() - 1;
        self.0.count.set(count);
        if count == 0 {
            self.0.closed.notify_one();
        }
    }
}

/// Runs one connection to its end: echoes everything the client sends until it half-closes,
/// then closes our side too. Its errors end only this task, never the server.
///
/// One flat `async fn` that keeps only what a connection needs while it waits (the stream, the
/// buffer, the guard): this future is most of the memory an idle connection costs, and nested
/// `async fn`s or a kept peer address would each add tens of bytes to every connection.
// Written out by hand on purpose: see the comment on the `async move` block.
#[allow(clippy::manual_async_fn)]
fn serve_connection(
    mut stream: TcpStream,
    buf_size: usize,
    guard: ConnectionGuard,
) -> impl Future<Output = ()> {
    // An `async move` block rather than an `async fn`: the block uses the captured stream and
    // guard in place, where an `async fn` would move its arguments into locals and keep room
    // for both copies in its future.
    async move {
        // An echo is a reply. With Nagle's algorithm on, a small echo written while the
        // previous one is unacknowledged waits for that ACK, and the client may delay its ACK
        // (up to 40 ms on Linux): a pipelining client would measure those waits instead of the
        // server.
        let mut outcome = stream.set_nodelay(true);
        // Refused only under memory pressure (one buffer was had at startup): that ends this
        // connection, with a line that names the size, never the server.
        let mut buf = match buffer::zeroed(buf_size, "the connection's buffer") {
            Ok(buf) => buf,
            Err(e) => {
                outcome = Err(e);
                Box::default()
            }
        };
        while outcome.is_ok() {
            outcome = match stream.read(&mut buf).await {
                // End of file: the client half-closed, and everything it sent has been
                // written back. Shutting down our write side is what tells it the echo is
                // complete; the stream is dropped (closed) when this task ends.
                Ok(0) => break,
                Ok(n) => stream.write_all(&buf[..n]).await,
                Err(e) => Err(e),
            };
        }
        if outcome.is_ok() {
            outcome = stream.shutdown().await;
        }
        if let Err(e) = outcome {
            // The connection is over either way; all that is left to decide is whether the
            // error is worth a line on stderr. The peer's address is looked up only now, not
            // kept.
            server::log_connection_error(stream.peer_addr().ok(), &e);
        }
        drop(guard);
    }
}
