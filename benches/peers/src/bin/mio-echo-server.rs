//! An echo server on mio by hand, with no futures at all: one `epoll` loop, a slab of
//! connection state machines, edge-triggered readiness. It is the bound that a runtime built
//! on mio cannot beat, so the distance between it and evloop is what evloop's abstractions
//! cost.
//!
//! Run it (these are the defaults, but for the port):
//!
//! ```text
//! cargo run --release -p evloop-peers --bin mio-echo-server -- --addr 127.0.0.1:7002 --buf 4096
//! ```
//!
//! It prints `listening on 127.0.0.1:7002` (with port 0, the port the system picked). Poke it
//! with `nc 127.0.0.1 7002`, or `nc -N 127.0.0.1 7002 < FILE | cmp - FILE`, or load it with the
//! examples' `cargo run --release --example echo-client -- --addr 127.0.0.1:7002`.
//!
//! Configured like evloop's `echo-server` (see the crate docs): same listen backlog,
//! `TCP_NODELAY`, descriptor limit and 50 ms pause when out of descriptors. SIGINT and SIGTERM
//! end it at once.
//!
//! # One turn of the loop
//!
//! 1. `epoll_wait`, with a zero timeout while some connection is known to have more to read
//!    (the backlog), until the accept pause ends while accepting is paused, else forever;
//! 2. each event records readiness on its connection and drives it (below);
//! 3. the connections left in last turn's backlog are driven;
//! 4. the listener, if readable and not paused, accepts until `WouldBlock`.
//!
//! Driving a connection: write back what is pending until it is empty or the socket says
//! `WouldBlock`, then read (at most [`READS_PER_TURN`] times) and write back each chunk, until
//! a read says `WouldBlock` or end of file.
//!
//! # Invariants
//!
//! 1. **Readiness is remembered until `WouldBlock`.** `readable` and `writable` are set by
//!    events and cleared only when the socket returns `WouldBlock`. Under edge triggering an
//!    edge is reported once: data and a FIN arriving together raise a single edge, so a
//!    connection that stopped reading for any other reason (its budget, a full send buffer)
//!    still knows it has more to read.
//! 2. **Backpressure.** A connection reads only while nothing is pending: once a write is
//!    partial, it keeps the unwritten range and stops reading until the socket is writable
//!    again. Its receive buffer then fills, and TCP's flow control slows the client down.
//! 3. **Fairness.** A connection reads at most [`READS_PER_TURN`] times per turn. If it is
//!    still readable then, it goes on the backlog (once: `in_backlog`), is driven again next
//!    turn after every other ready connection, and the loop does not block meanwhile.
//! 4. **Tokens.** A connection's token is its slab key, valid from its registration to its
//!    removal, which deregisters it first; [`LISTENER`] is a key no slab can reach.
//! 5. **End of file.** A read of 0 ends reading for good; the connection writes back what is
//!    pending, shuts down its write side, and is removed.

#![warn(missing_docs, rust_2018_idioms)]

use std::io::{self, Read, Write};
use std::mem;
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use evloop_peers::{listener, server};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};
use slab::Slab;

/// The listener's token: `usize::MAX`, a slab key that would need more memory than exists.
const LISTENER: Token = Token(usize::MAX);

/// Readiness events taken from the kernel per `epoll_wait`. 1024 keeps one call's batch
/// large under load (10,000 connections need ten calls, not a hundred) while the buffer stays
/// 12 KiB; events that do not fit wait for the next call, edge or not.
const EVENTS_CAPACITY: usize = 1024;

/// Reads a connection may make per turn before others get theirs: 16 reads of a 4 KiB buffer
/// echo 64 KiB, enough to amortise the turn, little enough that a client that never stops
/// sending delays the others by a few tens of microseconds at most.
const READS_PER_TURN: u32 = 16;

fn main() -> io::Result<()> {
    let config = server::setup(
        "cargo run --release -p evloop-peers --bin mio-echo-server",
        "An echo server on mio by hand: one event loop, no futures.",
    );
    // Without an epoll instance there is nothing to serve with.
    let mut poll = Poll::new()?;
    // The address is taken or not ours to bind: nothing to serve, so the error ends the
    // program (and `main` prints it).
    let mut listener = TcpListener::from_std(listener::bind(config.addr)?);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    // Fails only for a socket that is already broken; same reasoning as for `bind`.
    let local_addr = listener.local_addr()?;
    // Nobody can learn the port if stdout is gone; stopping beats serving unannounced.
    server::announce(local_addr)?;
    Server::new(listener, config.buf).run(&mut poll)
}

/// The event loop's state: the listener and every open connection.
struct Server {
    listener: TcpListener,
    /// The listener may have connections queued: set by its event, cleared only when `accept`
    /// says `WouldBlock` (Invariant 1).
    listener_readable: bool,
    /// While set, accepting is paused until then: the last `accept` ran out of descriptors.
    accept_paused_until: Option<Instant>,
    connections: Slab<Connection>,
    /// Keys of the connections whose read budget ran out while still readable; driven next
    /// turn (Invariant 3).
    backlog: Vec<usize>,
    /// Last turn's backlog while it is driven; kept between turns only for its allocation.
    retry: Vec<usize>,
    /// The size of each connection's buffer (`--buf`).
    buf_size: usize,
}

/// What a connection needs after it was driven.
enum Step {
    /// Nothing until its next event: the socket said `WouldBlock` where it had to go on.
    Wait,
    /// Its read budget ran out while it is still readable: drive it again next turn.
    Yield,
    /// It is over: remove it. `Ok` after an orderly end, the error that ended it otherwise.
    Close(io::Result<()>),
}

impl Server {
    fn new(listener: TcpListener, buf_size: usize) -> Server {
        Server {
            listener,
            listener_readable: false,
            accept_paused_until: None,
            connections: Slab::new(),
            backlog: Vec::new(),
            retry: Vec::new(),
            buf_size,
        }
    }

    /// Serves forever; returns only if `epoll_wait` fails.
    fn run(&mut self, poll: &mut Poll) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        loop {
            match poll.poll(&mut events, self.poll_timeout()) {
                Ok(()) => {}
                // A signal cut the wait short: no events were taken, so nothing is lost.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The epoll instance itself failed: this loop cannot go on.
                Err(e) => return Err(e),
            }
            let registry = poll.registry();
            // From here on, connections that yield go on a fresh backlog, for the next turn.
            mem::swap(&mut self.backlog, &mut self.retry);
            for event in &events {
                match event.token() {
                    LISTENER => self.listener_readable = true,
                    Token(key) => self.on_event(registry, key, event),
                }
            }
            let mut retry = mem::take(&mut self.retry);
            for key in retry.drain(..) {
                // `in_backlog` is false only for a connection that took the slot of the one
                // queued there; nothing removes a queued connection, but checking is free.
                if let Some(connection) = self.connections.get_mut(key)
                    && connection.in_backlog
                {
                    connection.in_backlog = false;
                    self.drive(registry, key);
                }
            }
            self.retry = retry;
            if self
                .accept_paused_until
                .is_some_and(|until| Instant::now() >= until)
            {
                self.accept_paused_until = None;
            }
            if self.listener_readable && self.accept_paused_until.is_none() {
                self.accept_all(registry);
            }
        }
    }

    /// How long the next `epoll_wait` may block: not at all while the backlog holds work, until
    /// the accept pause ends while there is one, else until an event arrives.
    fn poll_timeout(&self) -> Option<Duration> {
        if !self.backlog.is_empty() {
            return Some(Duration::ZERO);
        }
        self.accept_paused_until
            .map(|until| until.saturating_duration_since(Instant::now()))
    }

    /// Records what the event says is ready, then drives the connection, unless it is on the
    /// backlog being driven this turn (one budget per turn, Invariant 3).
    fn on_event(&mut self, registry: &Registry, key: usize, event: &mio::event::Event) {
        // A connection removed earlier in this batch leaves no event behind (each descriptor
        // appears once per batch), but a missing key costs nothing to skip.
        let Some(connection) = self.connections.get_mut(key) else {
            return;
        };
        // A hang-up or an error is "readable" too: the read then returns 0 or the error.
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            connection.readable = true;
        }
        if event.is_writable() || event.is_write_closed() || event.is_error() {
            connection.writable = true;
        }
        if !connection.in_backlog {
            self.drive(registry, key);
        }
    }

    /// Drives connection `key` and does what it asks for.
    fn drive(&mut self, registry: &Registry, key: usize) {
        let connection = &mut self.connections[key];
        match connection.drive() {
            Step::Wait => {}
            Step::Yield => {
                connection.in_backlog = true;
                self.backlog.push(key);
            }
            Step::Close(result) => {
                let mut connection = self.connections.remove(key);
                // Fails only for a descriptor epoll does not know, and dropping the stream
                // next closes it, which removes it from epoll in any case.
                let _ = registry.deregister(&mut connection.stream);
                if let Err(e) = result {
                    server::log_connection_error(Some(connection.peer), &e);
                }
            }
        }
    }

    /// Accepts until the queue is empty (`WouldBlock`), or pauses accepting when the process
    /// is out of descriptors.
    fn accept_all(&mut self, registry: &Registry) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, peer)) => {
                    // The same reply latency as evloop's servers (see the crate docs). A
                    // socket that refuses it is already broken: drop it, which closes it.
                    if let Err(e) = stream.set_nodelay(true) {
                        server::log_connection_error(Some(peer), &e);
                        continue;
                    }
                    let entry = self.connections.vacant_entry();
                    // Both directions at once: an edge-triggered writable event comes only
                    // after a full send buffer drains, so this costs one event per connection
                    // and saves a `epoll_ctl` each time backpressure starts and ends.
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    match registry.register(&mut stream, Token(entry.key()), interest) {
                        Ok(()) => {
                            entry.insert(Connection::new(stream, peer, self.buf_size));
                        }
                        // Out of kernel memory for the epoll entry: this connection cannot be
                        // served; dropping it closes it, and the next one may fare better.
                        Err(e) => eprintln!("registering {peer}: {e}"),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.listener_readable = false;
                    return;
                }
                Err(e) if server::is_out_of_resources(&e) => {
                    // The connection stays queued and no new edge will come for it: retry on
                    // a timer (the poll timeout), meanwhile serving the open connections,
                    // which may close and free descriptors.
                    eprintln!(
                        "accept: {e}; pausing {} ms",
                        server::OUT_OF_RESOURCES_BACKOFF.as_millis()
                    );
                    self.accept_paused_until =
                        Some(Instant::now() + server::OUT_OF_RESOURCES_BACKOFF);
                    return;
                }
                // A signal interrupted the call, or the client gave up while queued: nothing
                // is wrong with the listener, so accept the next one.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => {}
                // Anything else concerns one would-be connection, not the listener.
                Err(e) => eprintln!("accept: {e}"),
            }
        }
    }
}

/// One client's connection: a socket, the buffer it echoes through, and what the socket is
/// known to be ready for.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    buf: Box<[u8]>,
    /// `buf[written..filled]` has been read and not yet written back. While it is not empty
    /// the connection does not read (Invariant 2).
    written: usize,
    filled: usize,
    /// Set by an event, cleared by `WouldBlock` (Invariant 1).
    readable: bool,
    writable: bool,
    /// A read returned 0: the client will send nothing more (Invariant 5).
    read_closed: bool,
    /// The key is on the server's backlog (Invariant 3).
    in_backlog: bool,
}

impl Connection {
    fn new(stream: TcpStream, peer: SocketAddr, buf_size: usize) -> Connection {
        Connection {
            stream,
            peer,
            buf: vec![0; buf_size].into_boxed_slice(),
            written: 0,
            filled: 0,
            readable: false,
            // A new socket's send buffer is empty; if that is wrong, `WouldBlock` says so.
            writable: true,
            read_closed: false,
            in_backlog: false,
        }
    }

    /// Echoes as far as the socket allows: pending bytes first, then read and write back, at
    /// most [`READS_PER_TURN`] reads.
    fn drive(&mut self) -> Step {
        let mut reads_left = READS_PER_TURN;
        loop {
            if self.written < self.filled {
                if !self.writable {
                    return Step::Wait;
                }
                match self.stream.write(&self.buf[self.written..self.filled]) {
                    Ok(0) => return Step::Close(Err(io::ErrorKind::WriteZero.into())),
                    // A partial write loops to write the rest, which says `WouldBlock` if the
                    // send buffer is full: only that clears `writable`.
                    Ok(n) => self.written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.writable = false;
                        return Step::Wait;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Step::Close(Err(e)),
                }
                continue;
            }
            if self.read_closed {
                // Everything read has been written back: tell the client the echo is
                // complete. Removing the connection then closes the socket.
                return Step::Close(self.stream.shutdown(Shutdown::Write));
            }
            if !self.readable {
                return Step::Wait;
            }
            if reads_left == 0 {
                return Step::Yield;
            }
            reads_left -= 1;
            match self.stream.read(&mut self.buf) {
                Ok(0) => self.read_closed = true,
                Ok(n) => (self.written, self.filled) = (0, n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    return Step::Wait;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Step::Close(Err(e)),
            }
        }
    }
}
