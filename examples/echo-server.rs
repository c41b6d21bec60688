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
//! # One runtime per core
//!
//! `--shards N` runs N runtimes, each on its own thread pinned to its own CPU (round robin
//! over the CPUs the process may use), each with its own listener on the one port
//! (`SO_REUSEPORT`): the kernel spreads the connections over the shards, and a connection
//! stays on the shard that accepted it (DESIGN.md, "One runtime per core";
//! `support/shards.rs`). The main thread only waits for SIGINT or SIGTERM and passes the stop
//! on to every shard, which then shuts down as above; its lines start with `shard I: `. At
//! exit, one line per shard says how many connections it accepted (`shard 0 on CPU 0:
//! accepted 50 connections`). A shard that panics takes only its own connections down: the
//! others go on serving, and at exit the panic is the `error:` line and the status is 1. The
//! default, `--shards 1`, is the plain server above: one runtime, on the main thread, and no
//! `SO_REUSEPORT` (so a second server on the same port fails with "address in use").
//!
//! # Bad input and refusals
//!
//! `--buf` is 1 to 64 MiB, `--grace-ms` 0 to one hour and `--shards` 1 to 1024 (`--help` lists
//! the ranges; `support/shards.rs` says why 1024). A flag
//! out of its range, unknown or without a value gets one `error:` line naming it and its value,
//! and exit status 2. When the system refuses what the server needs (the address is in use,
//! memory for even one buffer) it prints one `error:` line naming the address or the size and
//! exits with status 1. That is why `main` returns an `ExitCode` (from `args::finish`) rather
//! than the `io::Result` of `run`: returned from `main`, an error would be printed in its
//! `Debug` form, `Error: Os { code: 98, kind: AddrInUse, .. }`, without the address.

use std::cell::Cell;
use std::io;
use std::pin::pin;
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
#[path = "support/cpus.rs"]
mod cpus;
#[path = "support/fd_limit.rs"]
mod fd_limit;
#[path = "support/server.rs"]
mod server;
#[path = "support/shards.rs"]
mod shards;

/// `--shards`, the one flag only this server takes.
const SHARDS_FLAG: server::ExtraFlag = server::ExtraFlag {
    name: "--shards",
    usage: "[--shards N]",
    help: "  --shards N        run N runtimes, each on a thread pinned to its own CPU, sharing\n                    \
           the port with SO_REUSEPORT; 1 to 1024 (default 1: one runtime, on the main\n                    \
           thread, and no SO_REUSEPORT)\n",
};

fn main() -> ExitCode {
    let (config, flags) = server::setup_with(
        "cargo run --release --example echo-server",
        "An echo server on evloop: one task per connection, one thread in all (or one per shard).",
        &[SHARDS_FLAG],
    );
    let shards = flags.size("--shards", 1, 1, shards::MAX_SHARDS, "shards");
    args::finish(if shards == 1 {
        run(config)
    } else {
        run_sharded(config, shards)
    })
}

/// Serves on this thread until SIGINT or SIGTERM; an error here ends the program (see the
/// module docs).
fn run(config: server::Config) -> io::Result<()> {
    // Without a runtime (no epoll instance, out of descriptors) there is nothing to serve with.
    let runtime = evloop::Runtime::new()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async {
        // The signal handlers first, before the port is announced: whoever learns the port
        // may send SIGTERM, and from here on it no longer kills the process. Fails only if the
        // process is out of descriptors (for the self-pipe) before it even started serving.
        let stop = stop_signals()?;
        // The address is taken or not ours to bind: there is nothing to serve, so the error
        // ends the program (and `main` prints it, with the address).
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|e| server::cannot_listen(config.addr, e))?;
        // Fails only for a socket that is already broken; same reasoning as for `bind`.
        let local_addr = listener.local_addr()?;
        // Nobody can learn the port if stdout is gone; stopping beats serving unannounced.
        server::announce(local_addr)?;
        serve(listener, config, stop, "").await.map(drop)
    })
    // `block_on` has returned, but connections still open after the grace period are tasks
    // that stay in the runtime; dropping it here, at the end of `main`, drops them, which
    // closes their sockets.
}

/// Serves on `count` shards until SIGINT or SIGTERM (see "One runtime per core" in the module
/// docs). The main thread only starts the shards, waits, passes the stop on and joins them.
fn run_sharded(config: server::Config, count: usize) -> io::Result<()> {
    // Bound here, before any shard starts: an address in use ends the program at once.
    let sockets =
        shards::bind(config.addr, count).map_err(|e| server::cannot_listen(config.addr, e))?;
    let local_addr = sockets[0].local_addr()?;
    // The main thread's runtime only receives the signals and waits on the shards.
    let runtime = evloop::Runtime::new()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start the runtime: {e}")))?;
    let mut shards = shards::Shards::start(sockets, move |shard| serve_shard(shard, config))?;
    let waited = runtime.block_on(async {
        // Before the port is announced, as in `run`.
        let stop = stop_signals()?;
        if shards.ready().await.is_ok() {
            server::announce(local_addr)?;
            println!("{count} shards on {}", describe_cpus(&shards.cpus()));
            shards.serve_until(stop).await;
        }
        // A shard that ended before it listened: its error comes out of `join` below.
        Ok::<(), io::Error>(())
    });
    // Every shard shuts down gracefully, all at once; joining waits for the slowest.
    shards.stop();
    let reports = shards.join();
    let mut failures = Vec::new();
    for report in &reports {
        let shard = report.index;
        match &report.outcome {
            shards::Outcome::Served(accepted) => match report.cpu {
                Some(cpu) => {
                    println!("shard {shard} on CPU {cpu}: accepted {accepted} connections")
                }
                None => println!("shard {shard} unpinned: accepted {accepted} connections"),
            },
            shards::Outcome::Failed(e) => failures.push(format!("shard {shard} failed: {e}")),
            shards::Outcome::Panicked(message) => {
                failures.push(format!("shard {shard} panicked: {message}"))
            }
        }
    }
    waited?;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{} of {count} shards failed: {}",
            failures.len(),
            failures.join("; ")
        )))
    }
}

/// `0, 1` for the CPUs the shards are pinned to, or `unpinned CPUs`.
fn describe_cpus(cpus: &[Option<usize>]) -> String {
    if cpus.iter().all(Option::is_none) {
        return "unpinned CPUs".to_string();
    }
    let listed: Vec<String> = cpus
        .iter()
        .map(|cpu| cpu.map_or("unpinned".to_string(), |cpu| cpu.to_string()))
        .collect();
    format!("CPUs {}", listed.join(", "))
}

/// One shard's server: the same accept loop as `run`'s, on the shard's listener, until the
/// main thread passes the stop on. Returns how many connections it accepted.
async fn serve_shard(shard: shards::Shard, config: server::Config) -> io::Result<u64> {
    let stop = async {
        // `Err` means the main thread is gone, which asks for a stop all the same.
        let _ = shard.stop.await;
    };
    let label = format!("shard {}: ", shard.index);
    serve(shard.listener, config, stop, &label).await
}

/// A future that completes at the first SIGINT or SIGTERM after this call. Installing the
/// handlers here, early, means that from here on neither signal kills the process.
fn stop_signals() -> io::Result<impl Future<Output = ()>> {
    let mut interrupts = signal(SignalKind::interrupt())?;
    let mut terminations = signal(SignalKind::terminate())?;
    Ok(async move {
        evloop::select! {
            // `None` only outside a runtime, which cannot happen here: the branch is disabled.
            Some(()) = interrupts.recv() => {},
            Some(()) = terminations.recv() => {},
        }
    })
}

/// Accepts connections on `listener`, one echo task each, until `stop` completes; then shuts
/// down. Returns how many connections it accepted. `label` starts every line it prints.
async fn serve(
    listener: TcpListener,
    config: server::Config,
    stop: impl Future<Output = ()>,
    label: &str,
) -> io::Result<u64> {
    let mut stop = pin!(stop);
    let connections = Rc::new(OpenConnections::default());
    let mut accepted_count = 0;
    loop {
        // The stop comes first (`biased;`): under a storm of connections the
        // listener is always ready, and a shutdown must not wait for the storm to end. Every
        // future here is cancel-safe: `stop` lives across turns of the loop (a signal that
        // arrives while the loop is elsewhere, say pausing after EMFILE, is seen at the next
        // turn), and a connection the kernel queued stays queued until the next `accept` (or
        // is refused when the listener closes).
        let accepted = evloop::select! {
            biased;
            () = stop.as_mut() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                accepted_count += 1;
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
    shut_down(listener, &connections, config.grace, label).await;
    Ok(accepted_count)
}

/// Stops accepting, then waits up to `grace` for the open connections to end by themselves.
///
/// A server asked to stop that stops has succeeded, whether the connections ended in time or
/// not. Connections still open when it returns are dropped with the runtime (see `run`).
async fn shut_down(
    listener: TcpListener,
    connections: &OpenConnections,
    grace: Duration,
    label: &str,
) {
    // Closing the listening socket makes the kernel refuse new connections (and reset the ones
    // still queued, never accepted) instead of queueing them for a server that is leaving.
    // With shards, the other shards' listeners take the new connections until they close too.
    drop(listener);
    println!(
        "{label}shutting down: waiting up to {} ms for {} connections",
        grace.as_millis(),
        connections.count()
    );
    match evloop::time::timeout(grace, connections.all_closed()).await {
        Ok(()) => println!("{label}shut down: every connection finished"),
        Err(_elapsed) => println!(
            "{label}shut down: grace period over, dropping {} connections still open",
            connections.count()
        ),
    }
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
