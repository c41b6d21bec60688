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
//! `echo-server-threads` is the same server on one OS thread per connection, for comparison.

use std::io;
use std::net::SocketAddr;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};

#[path = "support/args.rs"]
mod args;
#[path = "support/fd_limit.rs"]
mod fd_limit;
#[path = "support/server.rs"]
mod server;

fn main() -> io::Result<()> {
    let config = server::setup(
        "echo-server",
        "An echo server on evloop: one task per connection, one thread in all.",
    );
    // Without a runtime (no epoll instance, out of descriptors) there is nothing to serve with.
    let runtime = evloop::Runtime::new()?;
    runtime.block_on(serve(config))
}

/// Accepts connections forever, one echo task each.
async fn serve(config: server::Config) -> io::Result<()> {
    // The address is taken or not ours to bind: there is nothing to serve, so the error ends
    // the program (and `main` prints it).
    let listener = TcpListener::bind(config.addr).await?;
    // Fails only for a socket that is already broken; same reasoning as for `bind`.
    let local_addr = listener.local_addr()?;
    // Nobody can learn the port if stdout is gone; stopping beats serving unannounced.
    server::announce(local_addr)?;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                // Dropping the JoinHandle detaches the task: the accept loop never waits for a
                // connection, and whatever happens to a connection stays inside its task.
                drop(evloop::spawn(echo(stream, peer, config.buf)));
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
}

/// Runs one connection to its end. Its errors end only this task, never the server.
async fn echo(stream: TcpStream, peer: SocketAddr, buf_size: usize) {
    if let Err(e) = echo_until_eof(stream, buf_size).await {
        // The connection is over either way (the stream was dropped, which closed it); all
        // that is left to decide is whether the error is worth a line on stderr.
        server::log_connection_error(peer, &e);
    }
}

/// Echoes everything the client sends until it half-closes, then closes our side too.
async fn echo_until_eof(mut stream: TcpStream, buf_size: usize) -> io::Result<()> {
    // An echo is a reply. With Nagle's algorithm on, a small echo written while the previous
    // one is unacknowledged waits for that ACK, and the client may delay its ACK (up to 40 ms
    // on Linux): a pipelining client would measure those waits instead of the server.
    stream.set_nodelay(true)?;
    let mut buf = vec![0; buf_size];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        stream.write_all(&buf[..n]).await?;
    }
    // End of file: the client half-closed, and everything it sent has been written back.
    // Shutting down our write side is what tells it the echo is complete; returning drops the
    // stream, which closes it.
    stream.shutdown().await
}
