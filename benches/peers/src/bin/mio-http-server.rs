//! An HTTP/1.1 keep-alive server on mio by hand, with no futures and no HTTP library: the
//! bound `http-bench` measures hyper against. It answers every `GET` with the response
//! `hyper-server` gives to `GET /`, byte for byte (status line, `content-length`, `date`, body
//! `hello, world\n`), so the two differ only in how they get there.
//!
//! ```text
//! cargo run --release -p evloop-peers --bin mio-http-server -- --addr 127.0.0.1:8082
//! curl http://127.0.0.1:8082/
//! ```
//!
//! It is a bound, not a server to deploy: it reads request heads only (a request with a body,
//! or any method but `GET`, gets `400` and the connection is closed), and a head longer than
//! [`MAX_HEAD`] closes the connection. Pipelined requests are answered in order. SIGINT and
//! SIGTERM end it at once.
//!
//! # Invariants
//!
//! 1. **Readiness is remembered until `WouldBlock`** (edge triggering): a connection reads
//!    until `WouldBlock` or end of file whenever it is driven, and writes until its output is
//!    empty or the socket says `WouldBlock`, which it then waits out for a writable edge.
//! 2. **Backpressure.** A connection with unwritten output does not read: its client is not
//!    reading either, and the receive buffer's flow control slows it down.
//! 3. **Tokens.** A connection's token is its slab key, from registration to removal;
//!    [`LISTENER`] is a key no slab reaches.

#![warn(missing_docs, rust_2018_idioms)]

use std::io::{self, Read, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use evloop_peers::{args, listener};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

/// The listener's token: a slab key that would need more memory than exists.
const LISTENER: Token = Token(usize::MAX);

/// Readiness events per `epoll_wait`.
const EVENTS_CAPACITY: usize = 1024;

/// The longest request head kept: a client that sends more without finishing one is closed.
const MAX_HEAD: usize = 16 * 1024;

/// The room each connection reads into: a full head, and one more read's worth.
const INPUT_BUF: usize = MAX_HEAD + 4096;

/// The body of every answer: `hyper-server`'s `GET /` greeting.
const GREETING: &[u8] = b"hello, world\n";

/// What a non-`GET` request gets before its connection is closed.
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

fn main() -> io::Result<()> {
    let usage = "An HTTP/1.1 keep-alive server on mio by hand, http-bench's bound.\n\n\
                 Usage: mio-http-server [--addr HOST:PORT]\n"
        .to_string();
    let flags = args::Flags::from_env(usage, &["--addr"]);
    let addr = flags.addr("--addr", "127.0.0.1:8082");
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::from_std(listener::bind(addr)?);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    println!("listening on {}", listener.local_addr()?);
    let mut connections: Slab<Connection> = Slab::new();
    let mut events = Events::with_capacity(EVENTS_CAPACITY);
    let mut date = HttpDate::default();
    // Everything before the date, built once: the response is the same for every request.
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ndate: ",
        GREETING.len()
    );
    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                accept(&listener, &poll, &mut connections);
                continue;
            }
            let key = event.token().0;
            let Some(connection) = connections.get_mut(key) else {
                continue;
            };
            connection.readable |= event.is_readable() || event.is_read_closed();
            connection.writable |= event.is_writable() || event.is_write_closed();
            if !connection.drive(head.as_bytes(), date.now()) {
                let mut connection = connections.remove(key);
                // Closing the socket deregisters it too; an error here changes nothing.
                let _ = poll.registry().deregister(&mut connection.stream);
            }
        }
    }
}

/// Accepts until `WouldBlock`; out of descriptors, it pauses 50 ms as the other servers do.
fn accept(listener: &TcpListener, poll: &Poll, connections: &mut Slab<Connection>) {
    loop {
        match listener.accept() {
            Ok((mut stream, _)) => {
                let _ = stream.set_nodelay(true);
                let entry = connections.vacant_entry();
                let registered = poll.registry().register(
                    &mut stream,
                    Token(entry.key()),
                    Interest::READABLE | Interest::WRITABLE,
                );
                if registered.is_ok() {
                    entry.insert(Connection::new(stream));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                std::thread::sleep(Duration::from_millis(50));
                return;
            }
            Err(_) => {}
        }
    }
}

/// One connection: what it has read and not yet answered, and what it must still write.
struct Connection {
    stream: TcpStream,
    /// `input[..filled]` are bytes read and not yet parsed: the start of the next request
    /// head. Zeroed once, at accept, so that no read has to initialize it again.
    input: Box<[u8]>,
    filled: usize,
    /// Answers not yet written, from `written` on.
    output: Vec<u8>,
    written: usize,
    readable: bool,
    writable: bool,
    /// Set once the connection must close after its output is written.
    closing: bool,
}

impl Connection {
    fn new(stream: TcpStream) -> Connection {
        Connection {
            stream,
            input: vec![0; INPUT_BUF].into_boxed_slice(),
            filled: 0,
            output: Vec::with_capacity(256),
            written: 0,
            readable: false,
            writable: false,
            closing: false,
        }
    }

    /// Writes what is pending, then reads and answers until `WouldBlock`; false once the
    /// connection is over.
    fn drive(&mut self, head: &[u8], date: &[u8]) -> bool {
        loop {
            if !self.flush() {
                return false;
            }
            if self.written < self.output.len() {
                return true; // waits for a writable edge (invariant 2)
            }
            if self.closing {
                return false;
            }
            if !self.readable {
                return true;
            }
            match self.read() {
                Some(true) => self.answer(head, date),
                Some(false) => return true,
                None => return false,
            }
        }
    }

    /// Reads one chunk: `Some(true)` if it is worth reading again (bytes came, or the call
    /// was interrupted), `Some(false)` on `WouldBlock`, `None` at end of file or on an error.
    fn read(&mut self) -> Option<bool> {
        let result = self.stream.read(&mut self.input[self.filled..]);
        let (n, again) = match result {
            Ok(0) => (0, None),
            Ok(n) => (n, Some(true)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.readable = false;
                (0, Some(false))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => (0, Some(true)),
            Err(_) => (0, None),
        };
        self.filled += n;
        again
    }

    /// Answers every complete request head in `input`.
    fn answer(&mut self, response_head: &[u8], date: &[u8]) {
        let mut parsed = 0;
        while let Some(end) = find_head_end(&self.input[parsed..self.filled]) {
            let head = &self.input[parsed..parsed + end];
            parsed += end;
            if head.starts_with(b"GET ") && !has_body(head) {
                self.output.extend_from_slice(response_head);
                self.output.extend_from_slice(date);
                self.output.extend_from_slice(b"\r\n\r\n");
                self.output.extend_from_slice(GREETING);
            } else {
                self.output.extend_from_slice(BAD_REQUEST);
                self.closing = true;
                break;
            }
        }
        self.input.copy_within(parsed..self.filled, 0);
        self.filled -= parsed;
        if self.filled > MAX_HEAD {
            self.closing = true;
        }
    }

    /// Writes pending output until done or `WouldBlock`; false on an error.
    fn flush(&mut self) -> bool {
        while self.written < self.output.len() {
            if !self.writable {
                return true;
            }
            match self.stream.write(&self.output[self.written..]) {
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        self.output.clear();
        self.written = 0;
        true
    }
}

/// The length of the request head at the start of `bytes`, `\r\n\r\n` included, if complete.
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Whether a head announces a body, which this server does not read.
fn has_body(head: &[u8]) -> bool {
    head.split(|&byte| byte == b'\n').any(|line| {
        let starts = |prefix: &[u8]| {
            line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
        };
        let length = b"content-length:";
        (starts(length) && line[length.len()..].trim_ascii() != b"0")
            || starts(b"transfer-encoding:")
    })
}

/// The `date` header's value, `Fri, 04 Dec 2026 17:10:36 GMT`, formatted once per second as
/// hyper does.
#[derive(Default)]
struct HttpDate {
    second: u64,
    text: Vec<u8>,
}

impl HttpDate {
    fn now(&mut self) -> &[u8] {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if secs != self.second || self.text.is_empty() {
            self.second = secs;
            self.text = format_http_date(secs).into_bytes();
        }
        &self.text
    }
}

/// IMF-fixdate (RFC 9110) of `secs` since the Unix epoch.
fn format_http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let of_day = secs % 86_400;
    // Days to a civil date (Howard Hinnant's algorithm), for dates after 1970.
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}
