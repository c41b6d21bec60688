//! An echo server on tokio's current_thread runtime: one task per connection, each echoing
//! through one buffer. It is evloop's `echo-server` written for tokio, for comparison.
//!
//! Run it (these are the defaults, but for the port):
//!
//! ```text
//! cargo run --release -p evloop-peers --bin tokio-echo-server -- --addr 127.0.0.1:7001 --buf 4096
//! ```
//!
//! It prints `listening on 127.0.0.1:7001` (with port 0, the port the system picked). Poke it
//! with `nc 127.0.0.1 7001`, or `nc -N 127.0.0.1 7001 < FILE | cmp - FILE`, or load it with the
//! examples' `cargo run --release --example echo-client -- --addr 127.0.0.1:7001`.
//!
//! Configured like evloop's `echo-server` (see the crate docs): same listen backlog,
//! `TCP_NODELAY`, descriptor limit and 50 ms pause when out of descriptors. SIGINT and SIGTERM
//! end it at once.

#![warn(missing_docs, rust_2018_idioms)]

use std::io;
use std::net::SocketAddr;

use evloop_peers::{listener, server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    let config = server::setup(
        "cargo run --release -p evloop-peers --bin tokio-echo-server",
        "An echo server on tokio's current_thread runtime: one task per connection.",
    );
    // Without a runtime (no epoll instance, out of descriptors) there is nothing to serve with.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config))
}

/// Accepts connections forever, one echo task each.
async fn serve(config: server::Config) -> io::Result<()> {
    // The address is taken or not ours to bind: there is nothing to serve, so the error ends
    // the program (and `main` prints it).
    let listener = TcpListener::from_std(listener::bind(config.addr)?)?;
    // Fails only for a socket that is already broken; same reasoning as for `bind`.
    let local_addr = listener.local_addr()?;
    // Nobody can learn the port if stdout is gone; stopping beats serving unannounced.
    server::announce(local_addr)?;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                // Dropping the JoinHandle detaches the task: whatever happens to a connection
                // stays inside its task.
                drop(tokio::spawn(echo(stream, peer, config.buf)));
            }
            Err(e) if server::is_out_of_resources(&e) => {
                // tokio hands EMFILE back as is, and its listener stays readable with the
                // connection still queued, so accepting at once would fail at once, in a loop.
                // Pause; the sleep lets the other tasks run (and close connections) meanwhile.
                eprintln!(
                    "accept: {e}; pausing {} ms",
                    server::OUT_OF_RESOURCES_BACKOFF.as_millis()
                );
                tokio::time::sleep(server::OUT_OF_RESOURCES_BACKOFF).await;
            }
            Err(e) => {
                // Anything else concerns one would-be connection, not the listener (say
                // ECONNABORTED: the client gave up while queued), so the loop goes on.
                eprintln!("accept: {e}");
            }
        }
    }
}

/// Runs one connection to its end. Its errors end only this task, never the server.
async fn echo(stream: TcpStream, peer: SocketAddr, buf_size: usize) {
    if let Err(e) = echo_until_eof(stream, buf_size).await {
        // The connection is over either way (the stream was dropped, which closed it).
        server::log_connection_error(Some(peer), &e);
    }
}

/// Echoes everything the client sends until it half-closes, then closes our side too.
async fn echo_until_eof(mut stream: TcpStream, buf_size: usize) -> io::Result<()> {
    // An echo is a reply: with Nagle's algorithm on, a small echo written while the previous
    // one is unacknowledged would wait for a (possibly delayed) ACK. evloop's servers set it too.
    stream.set_nodelay(true)?;
    let mut buf = vec![0; buf_size];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        stream.write_all(&buf[..n]).await?;
    }
    // End of file, and everything read has been written back: shutting down our write side
    // tells the client the echo is complete; returning drops the stream, which closes it.
    stream.shutdown().await
}
