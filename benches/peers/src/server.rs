//! What the peer echo servers share with evloop's `echo-server`: their flags and defaults, the
//! line they announce, and how they sort errors.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use crate::args::Flags;
use crate::fd_limit;

/// Where a server listens unless `--addr` says otherwise (evloop's default too).
pub const DEFAULT_ADDR: &str = "127.0.0.1:7000";

/// The size of each connection's buffer unless `--buf` says otherwise: one page, as evloop's
/// `echo-server` uses.
pub const DEFAULT_BUF: usize = 4096;

/// How long accepting pauses when `accept` fails for lack of descriptors or socket memory.
///
/// The connection stays queued, so the listener stays readable and an immediate retry would
/// fail again at once, in a loop at 100% CPU. 50 ms, the pause evloop's examples take, lets
/// open connections close and free what they hold while delaying the queue little.
pub const OUT_OF_RESOURCES_BACKOFF: Duration = Duration::from_millis(50);

/// A server's settings, from its command line.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The address to listen on; port 0 lets the system pick a free port.
    pub addr: SocketAddr,
    /// The size of the one buffer each connection reads into and echoes from.
    pub buf: usize,
}

/// Parses the flags (`--help` prints `about` and the usage) and raises the descriptor limit to
/// the hard limit, so the server can hold as many connections as the system lets it.
///
/// `--grace-ms` is accepted and ignored, so that one command line starts any server of the
/// comparison: like `echo-server-threads`, these servers keep the default action of SIGINT and
/// SIGTERM and end at once.
pub fn setup(bin: &str, about: &str) -> Config {
    let usage = format!(
        "{about}\n\n\
         Usage: cargo run --release -p evloop-peers --bin {bin} -- [--addr HOST:PORT] [--buf BYTES]\n\n\
         Options:\n  \
         --addr HOST:PORT  address to listen on; port 0 picks a free port (default {DEFAULT_ADDR})\n  \
         --buf BYTES       size of each connection's buffer (default {DEFAULT_BUF})\n  \
         --grace-ms MS     accepted for a command line common with echo-server, and ignored:\n                    \
         SIGINT and SIGTERM end this server at once\n  \
         -h, --help        print this help\n"
    );
    let flags = Flags::from_env(usage, &["--addr", "--buf", "--grace-ms"]);
    let _ignored: u64 = flags.value("--grace-ms", 0);
    let config = Config {
        addr: flags.addr("--addr", DEFAULT_ADDR),
        buf: flags.count("--buf", DEFAULT_BUF),
    };
    if let Err(e) = fd_limit::raise_to_hard_limit() {
        // Not fatal: the server works under the old limit, and reaching it only makes accept
        // fail with EMFILE, which every server survives.
        eprintln!("warning: cannot raise the descriptor limit: {e}");
    }
    config
}

/// Prints `listening on ADDR` and flushes it at once: scripts start a server, wait for this
/// line and read the real port from it.
pub fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}

/// Whether an accept error means the process (`EMFILE`) or the system (`ENFILE`) is out of
/// descriptors, or the kernel out of socket memory (`ENOBUFS`, `ENOMEM`): the errors that call
/// for a pause of [`OUT_OF_RESOURCES_BACKOFF`] rather than an immediate retry.
pub fn is_out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Reports an error that ended one connection; the server carries on either way.
///
/// A peer that resets or vanishes is routine (a load generator stopped with Ctrl-C resets all
/// its connections at once), so those errors are not printed: thousands of identical lines
/// would hide the one that matters.
pub fn log_connection_error(peer: SocketAddr, e: &io::Error) {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::NotConnected
        | io::ErrorKind::UnexpectedEof => {}
        _ => eprintln!("connection from {peer}: {e}"),
    }
}
