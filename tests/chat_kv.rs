//! `chat-kv`, the tokio program ported to evloop by its imports, end to end: two clients share
//! the key-value map, a `SAY` reaches the other client and not the sender, `QUIT` says `bye`,
//! and SIGTERM makes every open connection say `bye` and close before the server exits with
//! status 0.
//!
//! The server is the example binary, run as a child process. Every wait is bounded: its stdout
//! is read on a thread of its own and waited for with a timeout, the clients' sockets have read
//! and write timeouts, the exit is polled against a limit, and the whole test runs under the
//! watchdog. A failing test kills the child.
//!
//! The example needs the `macros` feature (`#[evloop::main]`), so these tests exist only when
//! it is on: `cargo test --all-features`, which `.ci/run` runs, or `cargo test --features
//! macros`.
#![cfg(all(feature = "macros", not(miri)))] // child processes are beyond Miri

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

#[path = "support/examples.rs"]
mod examples;
#[path = "support/watchdog.rs"]
mod watchdog;

use examples::example_binary;

/// Bound on each wait that is expected to succeed at once: a reply, a line, the exit. Reached
/// only when the test fails; the watchdog bounds the whole test.
const WAIT: Duration = Duration::from_secs(5);

/// A running `chat-kv` child, killed on drop if a test fails half-way.
struct ChatServer {
    child: Child,
    /// The lines of its stdout, read by a thread of their own so that waiting for one can be
    /// bounded.
    stdout: Receiver<String>,
    /// Everything it printed on stderr, once it has exited.
    stderr: Option<JoinHandle<String>>,
    addr: SocketAddr,
}

impl ChatServer {
    /// Starts the server on a free port and waits for its `listening on` line; `None` if the
    /// example is not built.
    fn start() -> Option<ChatServer> {
        let Some(binary) = example_binary("chat-kv") else {
            println!(
                "skipped: examples/chat-kv is not built (cargo test --all-features builds it)"
            );
            return None;
        };
        let mut child = Command::new(binary)
            .args(["--addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start chat-kv");
        let (line_sender, stdout) = mpsc::channel();
        let out = BufReader::new(child.stdout.take().unwrap());
        thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                // The receiver is gone only once the test is over.
                let _ = line_sender.send(line);
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        let mut server = ChatServer {
            child,
            stdout,
            stderr: Some(stderr),
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        };
        let announced = server.next_stdout_line();
        server.addr = announced
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {announced:?}"));
        Some(server)
    }

    /// The next line the server prints; fails the test if none comes within [`WAIT`].
    fn next_stdout_line(&self) -> String {
        self.stdout
            .recv_timeout(WAIT)
            .expect("chat-kv printed no line (or exited)")
    }

    fn connect(&self) -> Client {
        let stream = TcpStream::connect(self.addr).expect("connect to chat-kv");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.set_write_timeout(Some(WAIT)).unwrap();
        Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
        }
    }

    fn send_sigterm(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: `kill` takes plain integers; `pid` is our own child, not yet reaped (we hold
        // its `Child` and have not waited on it), so the number cannot name another process.
        let result = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(result, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits up to [`WAIT`] for the server to exit; returns its status and what it reported
    /// on stderr.
    fn wait_for_exit(&mut self) -> (ExitStatus, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < WAIT,
                "chat-kv did not exit within {WAIT:?}"
            );
            thread::sleep(Duration::from_millis(10));
        };
        // The child is gone, so its stderr is at end of file and the thread ends. The reports
        // of the debug build's slow-poll detector are left out: they say the machine was
        // loaded, not that the server failed.
        let stderr = self.stderr.take().unwrap().join().unwrap();
        let errors = stderr
            .lines()
            .filter(|line| !line.starts_with("evloop: slow poll: "))
            .map(|line| format!("{line}\n"))
            .collect();
        (status, errors)
    }
}

impl Drop for ChatServer {
    fn drop(&mut self) {
        // Only matters if the test failed before the server exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One client connection, line by line.
struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    /// The next line from the server, without its `\n`; `None` at end of file. Fails the test
    /// on a read timeout.
    fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(line.strip_suffix('\n').unwrap_or(&line).to_string()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("no line from chat-kv within {WAIT:?}")
            }
            Err(e) => panic!("reading from chat-kv: {e}"),
        }
    }

    /// Sends `line` and returns the one-line reply.
    fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.line()
            .unwrap_or_else(|| panic!("{line:?}: connection closed instead of a reply"))
    }

    /// Asserts that the server says `bye` and then closes the connection.
    fn expect_bye_and_eof(&mut self, who: &str) {
        assert_eq!(self.line().as_deref(), Some("bye"), "{who}");
        assert_eq!(self.line(), None, "{who}: more after bye");
    }
}

#[test]
fn two_clients_share_the_map_and_chat_and_both_get_bye_on_sigterm() {
    watchdog::on_own_thread("chat-kv end to end", || {
        let Some(mut server) = ChatServer::start() else {
            return;
        };
        let mut alice = server.connect();
        let mut bob = server.connect();

        // One map for every connection.
        assert_eq!(alice.ask("SET greeting hello, world"), "OK");
        assert_eq!(bob.ask("GET greeting"), "hello, world");
        assert_eq!(bob.ask("DEL greeting"), "OK");
        assert_eq!(alice.ask("GET greeting"), "(nil)");
        assert_eq!(alice.ask("DEL greeting"), "(nil)");

        // A SAY reaches the other client, named by the sender's address.
        assert_eq!(alice.ask("SAY hi bob"), "OK");
        let alice_addr = alice.stream.local_addr().unwrap();
        assert_eq!(bob.line(), Some(format!("from {alice_addr}: hi bob")));
        // Not the sender: its next line is the reply to its next command. (Its own message
        // was queued for it before that command was sent; were it forwarded, it would come
        // first, or at the latest before the `bye` below.)
        assert_eq!(alice.ask("GET greeting"), "(nil)");

        // QUIT ends one connection, the others go on.
        let mut carol = server.connect();
        carol.send("QUIT");
        carol.expect_bye_and_eof("carol after QUIT");
        assert_eq!(bob.ask("GET greeting"), "(nil)");

        server.send_sigterm();
        alice.expect_bye_and_eof("alice after SIGTERM");
        bob.expect_bye_and_eof("bob after SIGTERM");
        let (status, stderr) = server.wait_for_exit();
        assert!(status.success(), "chat-kv exited with {status}: {stderr}");
        assert_eq!(stderr, "", "chat-kv reported errors");
    });
}

#[test]
fn a_client_that_hangs_up_is_no_error_and_the_others_carry_on() {
    watchdog::on_own_thread("chat-kv hang-up", || {
        let Some(mut server) = ChatServer::start() else {
            return;
        };
        let mut dave = server.connect();
        assert_eq!(dave.ask("SET k v"), "OK");
        // Hangs up without QUIT: the server ends that connection quietly.
        drop(dave);
        let mut erin = server.connect();
        assert_eq!(erin.ask("GET k"), "v");
        assert!(erin.ask("FLY away").starts_with("error: unknown command"));

        server.send_sigterm();
        erin.expect_bye_and_eof("erin after SIGTERM");
        let (status, stderr) = server.wait_for_exit();
        assert!(status.success(), "chat-kv exited with {status}: {stderr}");
        assert_eq!(stderr, "", "chat-kv reported errors");
    });
}

#[test]
fn a_bad_address_is_one_error_line_and_status_2() {
    let Some(binary) = example_binary("chat-kv") else {
        println!("skipped: examples/chat-kv is not built (cargo test --all-features builds it)");
        return;
    };
    let mut child = Command::new(binary)
        .args(["--addr", "nowhere"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start chat-kv");
    let start = Instant::now();
    // Ends before it starts serving; polled so that a server that starts anyway fails the
    // test instead of hanging it.
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > WAIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chat-kv --addr nowhere still running after {WAIT:?}; killed it");
        }
        thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr:?}");
    assert!(
        stderr.starts_with("error: --addr nowhere is not an address"),
        "{stderr:?}"
    );
    assert!(output.stdout.is_empty(), "printed on stdout");
}
