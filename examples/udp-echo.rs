//! A UDP echo server on evloop: one task, one socket, every datagram sent back to its sender.
//!
//! Run it (these are the defaults):
//!
//! ```text
//! cargo run --release --example udp-echo -- --addr 127.0.0.1:7001 --buf 65536
//! ```
//!
//! Once bound it prints one line, `listening on 127.0.0.1:7001` (with port 0, the port the
//! system picked). Poke it by hand with `nc -u 127.0.0.1 7001`: every line you type comes back.
//! `cargo run --release -p evloop-peers --bin echo-bench` measures its round-trip rate (one
//! line in the report). It runs until it is killed (Ctrl-C).
//!
//! # Datagrams larger than `--buf`
//!
//! `--buf` is the largest datagram the server echoes (1 to 65 536 bytes; 65 536 holds any
//! UDP datagram). A receive into a buffer that is too small returns the datagram cut to the
//! buffer, with nothing to say it was cut (see `UdpSocket`'s docs), so the server receives
//! into one byte more than `--buf`: a datagram that fills that buffer was larger than `--buf`,
//! and it is dropped rather than echoed cut short. The first one is reported on stderr, the
//! rest only counted in the line printed every [`REPORT_EVERY`] drops.
//!
//! # Bad input and refusals
//!
//! A flag out of its range, unknown or without a value gets one `error:` line naming it and its
//! value, and exit status 2. An address that cannot be bound (in use, not local) gets one
//! `error:` line naming it, and exit status 1.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use evloop::net::UdpSocket;

#[path = "support/args.rs"]
mod args;

/// Where the server binds unless `--addr` says otherwise: the TCP echo server's port plus one.
const DEFAULT_ADDR: &str = "127.0.0.1:7001";

/// The largest datagram echoed unless `--buf` says otherwise, and the largest `--buf`: 65 536
/// bytes hold any UDP payload (65 507 over IPv4, 65 527 over IPv6 without jumbograms).
const MAX_DATAGRAM: usize = 65536;

/// After the first, dropped oversized datagrams are reported once per this many, so a sender
/// of nothing but large datagrams cannot flood stderr.
const REPORT_EVERY: u64 = 1000;

fn main() -> ExitCode {
    let usage = format!(
        "A UDP echo server on evloop: every datagram goes back to its sender.\n\n\
         Usage: cargo run --release --example udp-echo -- [--addr HOST:PORT] [--buf BYTES]\n\n\
         Options:\n  \
         --addr HOST:PORT  address to bind; port 0 picks a free port (default {DEFAULT_ADDR})\n  \
         --buf BYTES       largest datagram echoed, 1 to {MAX_DATAGRAM}; larger ones are\n                    \
         dropped (default {MAX_DATAGRAM})\n  \
         -h, --help        print this help\n"
    );
    let flags = args::Flags::from_env(usage, &["--addr", "--buf"]);
    let addr = flags.addr("--addr", DEFAULT_ADDR);
    let max = flags.size("--buf", MAX_DATAGRAM, 1, MAX_DATAGRAM, "bytes");
    args::finish(run(addr, max))
}

/// Binds and echoes until the process is killed; returns only on an error that ends it.
fn run(addr: SocketAddr, max: usize) -> io::Result<()> {
    // Without a runtime (no epoll instance, out of descriptors) there is nothing to serve with.
    let runtime = evloop::Runtime::new()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve(addr, max))
}

async fn serve(addr: SocketAddr, max: usize) -> io::Result<()> {
    // The address is taken or not ours to bind: there is nothing to serve, so the error ends
    // the program, naming the address.
    let socket = UdpSocket::bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
    // Fails only for a socket that is already broken; same reasoning as for `bind`.
    let local_addr = socket.local_addr()?;
    // Nobody can learn the port if stdout is gone; stopping beats serving unannounced.
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {local_addr}")?;
    out.flush()?;
    drop(out);

    // One byte more than the largest datagram echoed: filling it means "larger than --buf".
    let mut buf = vec![0; max + 1];
    let mut dropped: u64 = 0;
    loop {
        // An unconnected UDP socket reports no ICMP errors, so an error here concerns the
        // socket itself, not one sender, and would come back at once on a retry: it ends the
        // server (status 1, one line) rather than spin.
        let (n, from) = socket.recv_from(&mut buf).await?;
        if n > max {
            dropped += 1;
            if dropped == 1 || dropped.is_multiple_of(REPORT_EVERY) {
                eprintln!(
                    "dropped {dropped} datagram(s) larger than --buf {max} bytes (latest from \
                     {from})"
                );
            }
            continue;
        }
        // A failed send loses one reply, as UDP may anyway; the sender can retry.
        if let Err(e) = socket.send_to(&buf[..n], from).await {
            eprintln!("send_to {from}: {e}");
        }
    }
}
