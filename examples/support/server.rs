//! What the echo servers share: their flags, the line they announce, and how they sort errors.
//! Keeping it in one place keeps the servers comparable: they differ only in how they run a
//! connection (a task on evloop, an OS thread, or, for the benchmark's peers in
//! `benches/peers`, which include this file too, a tokio task or a mio state machine).

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use crate::args::Flags;
use crate::fd_limit;

/// Where a server listens unless `--addr` says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7000";

/// The size of each connection's read buffer unless `--buf` says otherwise: one page, enough
/// for the small messages of a latency test without a large footprint per connection.
pub const DEFAULT_BUF: usize = 4096;

/// The largest `--buf`: 64 MiB. A read never returns more than the socket's receive buffer
/// holds (a few MiB at most on Linux), so a larger buffer only costs memory, and every
/// connection holds one: at this size a few dozen connections already take gigabytes.
pub const MAX_BUF: usize = 64 << 20;

/// The longest `--grace-ms`: one hour. Service managers kill a server that takes minutes to
/// stop (systemd after 90 s), so an hour is already more than any real use; the bound also
/// keeps the grace deadline (now plus the grace) far from the clock's range.
pub const MAX_GRACE_MS: u64 = 60 * 60 * 1000;

/// How long the accept loop pauses when the process or the system has run out of something a
/// new connection needs (descriptors, socket memory).
///
/// Accepting again at once would fail again at once: the connection stays queued, so the
/// listener stays readable and the loop would spin at 100% CPU. 50 ms gives established
/// connections time to close and free what they hold, while adding little delay for the queue.
pub const OUT_OF_RESOURCES_BACKOFF: Duration = Duration::from_millis(50);

/// How long open connections may go on after SIGINT or SIGTERM unless `--grace-ms` says
/// otherwise: long enough for a client to finish an exchange in progress, short enough that a
/// service manager (systemd waits 90 s before SIGKILL) never has to kill the server.
pub const DEFAULT_GRACE_MS: u64 = 5000;

/// A server's settings, from its command line.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The address to listen on; port 0 lets the system pick a free port.
    pub addr: SocketAddr,
    /// The size of the one buffer each connection reads into and echoes from.
    pub buf: usize,
    /// On SIGINT or SIGTERM, how long open connections may finish before the server exits.
    // The other servers compile this file too but keep the default action of both signals
    // (they end at once), so in those binaries the field is never read.
    #[allow(dead_code, reason = "only echo-server shuts down gracefully")]
    pub grace: Duration,
}

/// Parses the server flags (`--help` prints `about` and the usage) and raises the descriptor
/// limit as far as the hard limit allows, so the server can hold as many connections as the
/// system lets it.
///
/// A bad flag ends the process with one `error:` line and status 2 (see `args`). So does, with
/// status 1, a `--buf` the allocator refuses even once: the server checks that one buffer of
/// that size can be had before it starts, so that it fails at once, naming the size, instead
/// of failing every connection later.
///
/// `run` is the command that starts the server (`cargo run --release --example echo-server`),
/// for the usage line.
// echo-server calls `setup_with` instead; the other servers compile this file too.
#[allow(dead_code, reason = "echo-server uses setup_with")]
pub fn setup(run: &str, about: &str) -> Config {
    setup_with(run, about, &[]).0
}

/// A flag that only one server takes, on top of the common ones.
#[derive(Debug, Clone, Copy)]
pub struct ExtraFlag {
    /// The flag, `--shards`.
    pub name: &'static str,
    /// How the usage line shows it, `[--shards N]`.
    pub usage: &'static str,
    /// Its lines in the options list, each indented like the common ones and ending in `\n`.
    pub help: &'static str,
}

/// [`setup`] for a server with flags of its own (`extra`), which it reads from the returned
/// [`Flags`] (with [`Flags::number`] and the like, which check their ranges the same way).
// Only echo-server has a flag of its own; the other servers compile this file too.
#[allow(dead_code, reason = "only echo-server has extra flags")]
pub fn setup_with(run: &str, about: &str, extra: &[ExtraFlag]) -> (Config, Flags) {
    let extra_usage: String = extra
        .iter()
        .map(|flag| format!(" {}", flag.usage))
        .collect();
    let extra_help: String = extra.iter().map(|flag| flag.help).collect();
    let usage = format!(
        "{about}\n\n\
         Usage: {run} -- [--addr HOST:PORT] [--buf BYTES] [--grace-ms MS]{extra_usage}\n\n\
         Options:\n  \
         --addr HOST:PORT  address to listen on; port 0 picks a free port (default {DEFAULT_ADDR})\n  \
         --buf BYTES       size of each connection's read buffer, 1 to {MAX_BUF}\n                    \
         (default {DEFAULT_BUF})\n  \
         --grace-ms MS     on SIGINT or SIGTERM, stop accepting and let open connections\n                    \
         finish for up to MS milliseconds (0 to {MAX_GRACE_MS}), then exit (default\n                    \
         {DEFAULT_GRACE_MS}; echo-server only: the other servers end at once)\n\
         {extra_help}  \
         -h, --help        print this help\n"
    );
    let mut known = vec!["--addr", "--buf", "--grace-ms"];
    known.extend(extra.iter().map(|flag| flag.name));
    let flags = Flags::from_env(usage, &known);
    let config = Config {
        addr: flags.addr("--addr", DEFAULT_ADDR),
        buf: flags.size("--buf", DEFAULT_BUF, 1, MAX_BUF, "bytes"),
        grace: Duration::from_millis(flags.number(
            "--grace-ms",
            DEFAULT_GRACE_MS,
            0,
            MAX_GRACE_MS,
            "milliseconds",
        )),
    };
    // Freed at once: it only proves that one connection's buffer can be had at all.
    if let Err(e) = Vec::<u8>::new().try_reserve_exact(config.buf) {
        eprintln!(
            "error: cannot allocate a {}-byte buffer (--buf {}): {e}",
            config.buf, config.buf
        );
        std::process::exit(i32::from(crate::args::REFUSED));
    }
    if let Err(e) = fd_limit::raise_nofile_limit(u64::MAX) {
        // Not fatal: the server works under the old limit, and when it is reached the accept
        // loop meets EMFILE, which it survives.
        eprintln!("warning: cannot raise the descriptor limit: {e}");
    }
    (config, flags)
}

/// The error for a `bind` to `addr` that failed: the same kind, with the address in its
/// message (`cannot listen on 127.0.0.1:7000: Address already in use (os error 98)`).
pub fn cannot_listen(addr: SocketAddr, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
}

/// Prints `listening on ADDR` and flushes it at once: scripts and tests start the server, wait
/// for this line and read the real port from it (with port 0 the system picks one).
pub fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}

/// Whether an accept error means "out of resources", which calls for a pause
/// ([`OUT_OF_RESOURCES_BACKOFF`]) rather than an immediate retry: the process (`EMFILE`) or the
/// system (`ENFILE`) is out of descriptors, or the kernel is out of socket memory (`ENOBUFS`,
/// `ENOMEM`).
pub fn is_out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Reports an error that ended one connection; the server carries on either way.
///
/// A peer that resets or vanishes is routine for a server (a load generator stopped with
/// Ctrl-C resets all its connections at once; a reset that arrives before the first call on
/// the socket shows as `NotConnected`), so those errors are not printed: thousands of
/// identical lines would hide the one that matters. Anything else is printed with the peer,
/// when its address is known.
pub fn log_connection_error(peer: Option<SocketAddr>, e: &io::Error) {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::NotConnected
        | io::ErrorKind::UnexpectedEof => {}
        _ => match peer {
            Some(peer) => eprintln!("connection from {peer}: {e}"),
            None => eprintln!("connection (peer address unknown): {e}"),
        },
    }
}
