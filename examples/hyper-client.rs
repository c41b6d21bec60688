//! An HTTP/1.1 client: hyper 1.x on evloop, through `evloop::compat::hyper`.
//!
//! Start `hyper-server`, then run (these are the defaults):
//!
//! ```text
//! cargo run --release --features hyper --example hyper-client -- --addr 127.0.0.1:8080 --requests 3
//! ```
//!
//! It opens one connection and sends `--requests` requests on it, one after the other (kept
//! alive): `GET /`, then `POST /` with a body the server should echo, alternately. For each it
//! prints the status and the body; a `POST` whose echo differs from what was sent is an error.
//! It exits with status 0 when every request got its answer, 1 otherwise (the server is not
//! there, the connection broke, an echo was wrong), and 2 for a bad flag.

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;

use evloop::net::TcpStream;
use hyper::{Method, Request};

#[path = "support/args.rs"]
#[allow(
    dead_code,
    reason = "the shared flag parser has kinds of flags this example lacks"
)]
mod args;
#[path = "support/http_body.rs"]
mod http_body;

use http_body::Full;

/// The server to ask unless `--addr` says otherwise: `hyper-server`'s default.
const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The largest response body read: the client holds each one in memory.
const MAX_BODY_BYTES: usize = 16 << 20;

fn main() -> ExitCode {
    let usage = format!(
        "An HTTP/1.1 client: hyper on evloop, several requests on one kept-alive connection.\n\n\
         Usage: cargo run --release --features hyper --example hyper-client -- \
         [--addr HOST:PORT] [--requests N]\n\n\
         Options:\n  \
         --addr HOST:PORT  the server (default {DEFAULT_ADDR})\n  \
         --requests N      how many requests, 1 to 1000000 (default 3)\n  \
         -h, --help        print this help\n"
    );
    let flags = args::Flags::from_env(usage, &["--addr", "--requests"]);
    let addr = flags.addr("--addr", DEFAULT_ADDR);
    let requests = flags.number("--requests", 3, 1, 1_000_000, "requests");
    args::finish(run(addr, requests))
}

fn run(addr: SocketAddr, requests: u64) -> io::Result<()> {
    let runtime = evloop::Runtime::new()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start the runtime: {e}")))?;
    runtime.block_on(ask(addr, requests))
}

/// Sends the requests on one connection and prints each answer.
async fn ask(addr: SocketAddr, requests: u64) -> io::Result<()> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot connect to {addr}: {e}")))?;
    // Each request waits for the previous answer: Nagle would hold small requests back.
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(stream)
        .await
        .map_err(io::Error::other)?;
    // The connection is a future of its own, which reads and writes the socket while the
    // requests below wait for their answers.
    let connection = evloop::spawn(connection);
    for n in 0..requests {
        let (method, sent) = if n % 2 == 0 {
            (Method::GET, String::new())
        } else {
            (Method::POST, format!("request {n}: echo me\n"))
        };
        let request = Request::builder()
            .method(method.clone())
            .uri("/")
            .header(hyper::header::HOST, addr.to_string())
            .body(Full::new(sent.clone()))
            .map_err(io::Error::other)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(io::Error::other)?;
        let status = response.status();
        let body = http_body::collect(response.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(io::Error::other)?
            .ok_or_else(|| io::Error::other("the response body is over 16 MiB"))?;
        print!("{method} / -> {status}: {}", String::from_utf8_lossy(&body));
        if method == Method::POST && body != sent.as_bytes() {
            return Err(io::Error::other(format!(
                "the echo of request {n} differs from what was sent"
            )));
        }
    }
    // Dropping the sender tells the connection that no request follows: it closes and ends.
    drop(sender);
    match connection.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(io::Error::other(e)),
        Err(e) => Err(io::Error::other(format!("the connection task failed: {e}"))),
    }
}
