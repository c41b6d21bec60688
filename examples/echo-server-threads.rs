//! The baseline for `echo-server`: the same echo server on `std::net`, one OS thread per
//! connection, blocking reads and writes, no evloop.
//!
//! Run it (these are the defaults):
//!
//! ```text
//! cargo run --release --example echo-server-threads -- --addr 127.0.0.1:7000 --buf 4096
//! ```
//!
//! It prints `listening on 127.0.0.1:7000` (with port 0, the port the system picked), and
//! behaves exactly like `echo-server`: try `nc 127.0.0.1 7000`, or
//! `nc -N 127.0.0.1 7000 < FILE | cmp - FILE`, or
//! `cargo run --release --example echo-client -- --conns 100 --depth 16`. Comparing the two
//! servers under the same client load shows what the event loop buys (and what it costs).
//!
//! Its flags, their ranges, its `error:` lines and exit statuses are `echo-server`'s: 2 for a
//! bad command line, 1 when the system refuses the address or the memory for a buffer. `main`
//! returns an `ExitCode` for the same reason: an error returned from `main` would be printed
//! in its `Debug` form, without the address.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;

#[path = "support/args.rs"]
mod args;
#[path = "support/buffer.rs"]
mod buffer;
#[path = "support/fd_limit.rs"]
mod fd_limit;
#[path = "support/server.rs"]
mod server;

/// The stack size of each connection's thread.
///
/// A connection thread runs a few shallow frames and keeps its buffer on the heap, so 64 KiB
/// is ample. The default (2 MiB for Rust threads) would reserve 2 GiB of address space per
/// thousand connections; a small stack is what lets thousands of threads fit, which is the
/// load this baseline has to carry to be compared with the event loop.
const THREAD_STACK_SIZE: usize = 64 * 1024;

fn main() -> ExitCode {
    let config = server::setup(
        "cargo run --release --example echo-server-threads",
        "An echo server on std::net: one OS thread per connection.",
    );
    args::finish(serve(config))
}

/// Accepts connections forever, one thread each; an error here ends the program.
fn serve(config: server::Config) -> io::Result<()> {
    // The address is taken or not ours to bind: there is nothing to serve, so the error ends
    // the program (and `main` prints it, with the address).
    let listener =
        TcpListener::bind(config.addr).map_err(|e| server::cannot_listen(config.addr, e))?;
    // Same reasoning: a listening socket that cannot take a longer queue is broken.
    raise_backlog(&listener)?;
    // Fails only for a socket that is already broken; same reasoning as for `bind`.
    let local_addr = listener.local_addr()?;
    // Nobody can learn the port if stdout is gone; stopping beats serving unannounced.
    server::announce(local_addr)?;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => spawn_echo(stream, peer, config.buf),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                // A signal arrived before a connection did; nothing was accepted, so accept
                // again.
            }
            Err(e) if server::is_out_of_resources(&e) => {
                // The connection stays queued, so accepting at once would fail at once, in a
                // loop. Pause, and let connection threads finish and free what they hold.
                eprintln!(
                    "accept: {e}; pausing {} ms",
                    server::OUT_OF_RESOURCES_BACKOFF.as_millis()
                );
                thread::sleep(server::OUT_OF_RESOURCES_BACKOFF);
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

/// Starts the thread that runs one connection to its end.
fn spawn_echo(stream: TcpStream, peer: SocketAddr, buf_size: usize) {
    let spawned = thread::Builder::new()
        .stack_size(THREAD_STACK_SIZE)
        .spawn(move || {
            if let Err(e) = echo_until_eof(stream, buf_size) {
                // The connection is over either way (the stream was dropped, which closed
                // it); only whether the error deserves a line on stderr is left to decide.
                server::log_connection_error(Some(peer), &e);
            }
        });
    match spawned {
        // Dropping the JoinHandle detaches the thread: nobody waits for a connection.
        Ok(_detached) => {}
        Err(e) => {
            // The system refused a thread (EAGAIN: out of threads or memory). The closure,
            // and the stream in it, has been dropped, which closed this one connection. Pause
            // as for EMFILE, so the next connection does not hit the same wall at once.
            eprintln!("cannot start a thread for {peer}: {e}; closing it");
            thread::sleep(server::OUT_OF_RESOURCES_BACKOFF);
        }
    }
}

/// Echoes everything the client sends until it half-closes, then closes our side too.
fn echo_until_eof(mut stream: TcpStream, buf_size: usize) -> io::Result<()> {
    // An echo is a reply. With Nagle's algorithm on, a small echo written while the previous
    // one is unacknowledged waits for that ACK, and the client may delay its ACK (up to 40 ms
    // on Linux): a pipelining client would measure those waits instead of the server.
    stream.set_nodelay(true)?;
    // Refused only under memory pressure (one buffer was had at startup): the error, which
    // names the size, ends this connection, never the server.
    let mut buf = buffer::zeroed(buf_size, "the connection's buffer")?;
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            // A signal interrupted the call before any byte arrived: nothing happened, so
            // read again. (`write_all` below retries on its own.)
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        stream.write_all(&buf[..n])?;
    }
    // End of file: the client half-closed, and everything it sent has been written back.
    // Shutting down our write side is what tells it the echo is complete; returning drops the
    // stream, which closes it.
    stream.shutdown(Shutdown::Write)
}

/// Raises the listen backlog to `SOMAXCONN`, as evloop's `TcpListener` does (std's `bind` asks
/// for 128), so that a burst of 10,000 connects is queued alike by every server the echo
/// benchmark compares.
fn raise_backlog(listener: &TcpListener) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is borrowed from `listener`, a live listening socket, for the
    // duration of the call; `listen` reads only its two integer arguments. Calling it again on
    // a listening socket only changes the backlog.
    let result = unsafe { libc::listen(listener.as_raw_fd(), libc::SOMAXCONN) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
