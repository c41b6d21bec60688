//! Signals: a delivery wakes every listener of its kind (in every runtime) and no other;
//! deliveries coalesce; `ctrl_c`; and `echo-server`'s graceful shutdown, end to end.
//!
//! The tests send signals to their own process. Each test uses signal numbers no other test
//! here raises, except where noted, and installs the handler (by creating a `Signal`) before it
//! raises anything: without a handler, SIGTERM or SIGINT would end the whole test binary.
#![cfg(not(miri))] // signals, sockets and child processes are beyond Miri

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use evloop::signal::unix::{SignalKind, signal};
use evloop::time::timeout;

#[path = "support/examples.rs"]
mod examples;
use examples::example_binary;

/// Bound on every wait that is expected to succeed; only reached when a test fails.
const WAIT: Duration = Duration::from_secs(10);

/// How long a listener must stay quiet to count as "not woken".
const QUIET: Duration = Duration::from_millis(100);

/// Sends `kind` to this process (any of its threads may run the handler).
fn raise_in_process(kind: SignalKind) {
    // SAFETY: `kill` and `getpid` take and return plain integers; the signal's handler was
    // installed by the caller, so the delivery runs it instead of ending the process.
    let result = unsafe { libc::kill(libc::getpid(), kind.as_raw_value()) };
    assert_eq!(result, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Sends `kind` to the calling thread only.
fn raise_in_thread(kind: SignalKind) {
    // SAFETY: `raise` takes a plain integer; the handler was installed by the caller.
    let result = unsafe { libc::raise(kind.as_raw_value()) };
    assert_eq!(result, 0, "raise: {}", std::io::Error::last_os_error());
}

#[test]
fn sigterm_wakes_a_listener() {
    // Also raised by the two-listener test and the echo-server tests' servers (other
    // processes); an extra delivery here can only complete `recv` early, never block it.
    let rt = evloop::Runtime::new().unwrap();
    rt.block_on(async {
        let mut terminations = signal(SignalKind::terminate()).unwrap();
        raise_in_process(SignalKind::terminate());
        let received = timeout(WAIT, terminations.recv()).await;
        assert_eq!(received, Ok(Some(())));
    });
}

#[test]
fn sighup_wakes_a_listener_and_no_other() {
    let rt = evloop::Runtime::new().unwrap();
    rt.block_on(async {
        let mut hangups = signal(SignalKind::hangup()).unwrap();
        let mut user1 = signal(SignalKind::user_defined1()).unwrap();
        raise_in_thread(SignalKind::hangup());
        assert_eq!(timeout(WAIT, hangups.recv()).await, Ok(Some(())));
        assert!(
            timeout(QUIET, user1.recv()).await.is_err(),
            "a SIGUSR1 listener was woken by SIGHUP"
        );
    });
}

#[test]
fn two_listeners_both_see_one_delivery() {
    let rt = evloop::Runtime::new().unwrap();
    rt.block_on(async {
        let mut first = signal(SignalKind::terminate()).unwrap();
        let mut second = signal(SignalKind::terminate()).unwrap();
        raise_in_process(SignalKind::terminate());
        let (a, b) = evloop::join!(timeout(WAIT, first.recv()), timeout(WAIT, second.recv()));
        assert_eq!((a, b), (Ok(Some(())), Ok(Some(()))));
    });
}

#[test]
fn listener_dropped_while_holding_the_pipe_does_not_strand_the_others() {
    // The first listener polls (and so drains the pipe) first, then goes away; the second must
    // still be woken by the next delivery.
    let rt = evloop::Runtime::new().unwrap();
    rt.block_on(async {
        let mut kept = signal(SignalKind::window_change()).unwrap();
        {
            let mut dropped = signal(SignalKind::window_change()).unwrap();
            assert!(timeout(QUIET, dropped.recv()).await.is_err());
        }
        raise_in_thread(SignalKind::window_change());
        assert_eq!(timeout(WAIT, kept.recv()).await, Ok(Some(())));
    });
}

#[test]
fn deliveries_while_nobody_waits_may_coalesce_but_are_never_multiplied() {
    // Three deliveries before the first `recv`: they coalesce into one completion when one
    // drain sees them all (always, when this test runs alone), or into up to three when other
    // runtimes in this process drain the pipe in between (the other tests' runtimes do). Never
    // zero and never more than three; and the stream goes on afterwards.
    let rt = evloop::Runtime::new().unwrap();
    rt.block_on(async {
        let mut user2 = signal(SignalKind::user_defined2()).unwrap();
        for _ in 0..3 {
            raise_in_thread(SignalKind::user_defined2());
        }
        assert_eq!(timeout(WAIT, user2.recv()).await, Ok(Some(())));
        let mut completions = 1;
        while timeout(QUIET, user2.recv()).await.is_ok() {
            completions += 1;
        }
        assert!(
            completions <= 3,
            "3 deliveries completed {completions} recvs"
        );
        raise_in_thread(SignalKind::user_defined2());
        assert_eq!(timeout(WAIT, user2.recv()).await, Ok(Some(())));
    });
}

#[test]
fn one_delivery_completes_one_recv() {
    // No other test raises SIGALRM, so nothing but this delivery can complete a `recv`.
    let rt = evloop::Runtime::new().unwrap();
    rt.block_on(async {
        let mut alarms = signal(SignalKind::alarm()).unwrap();
        raise_in_thread(SignalKind::alarm());
        assert_eq!(timeout(WAIT, alarms.recv()).await, Ok(Some(())));
        assert!(
            timeout(QUIET, alarms.recv()).await.is_err(),
            "one delivery completed two recvs"
        );
    });
}

#[test]
fn a_delivery_reaches_listeners_in_every_runtime() {
    // Another runtime on another thread listens too; whichever runtime reads the pipe first,
    // both listeners must be woken.
    let kind = SignalKind::quit();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let other = std::thread::spawn(move || {
        let rt = evloop::Runtime::new().unwrap();
        rt.block_on(async {
            let mut quits = signal(kind).unwrap();
            ready_tx.send(()).unwrap();
            timeout(WAIT, quits.recv()).await
        })
    });
    let rt = evloop::Runtime::new().unwrap();
    let here = rt.block_on(async {
        let mut quits = signal(kind).unwrap();
        ready_rx
            .recv_timeout(WAIT)
            .expect("the other runtime never started listening");
        raise_in_process(kind);
        timeout(WAIT, quits.recv()).await
    });
    assert_eq!(here, Ok(Some(())));
    assert_eq!(other.join().unwrap(), Ok(Some(())));
}

#[test]
fn ctrl_c_completes_on_sigint() {
    let rt = evloop::Runtime::new().unwrap();
    rt.block_on(async {
        // `join!` polls `ctrl_c` first, which installs the handler; only then is SIGINT raised.
        let (interrupted, ()) = evloop::join!(timeout(WAIT, evloop::signal::ctrl_c()), async {
            raise_in_thread(SignalKind::interrupt())
        });
        assert!(matches!(interrupted, Ok(Ok(()))), "{interrupted:?}");
    });
}

#[test]
fn forbidden_and_out_of_range_signals_are_refused() {
    for signo in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, -1, 65] {
        let error = signal(SignalKind::from_raw(signo)).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{signo}");
    }
}

#[test]
fn recv_outside_a_runtime_ends_the_stream() {
    let mut alarms = signal(SignalKind::alarm()).unwrap();
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert_eq!(alarms.poll_recv(&mut cx), std::task::Poll::Ready(None));
}

// ---- echo-server, end to end ----

/// A running `echo-server` child, killed on drop if a test fails half-way.
struct Server {
    child: Child,
    stdout: BufReader<ChildStdout>,
    addr: String,
}

impl Server {
    /// Starts the server on a free port and waits for its `listening on` line.
    fn start(grace_ms: u64) -> Option<Server> {
        let Some(binary) = example_binary("echo-server") else {
            println!("skipped: examples/echo-server is not built (cargo test builds it)");
            return None;
        };
        let mut child = Command::new(binary)
            .args(["--addr", "127.0.0.1:0", "--grace-ms", &grace_ms.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start echo-server");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        // Bounded: the server prints this line at once, or exits (EOF) if it cannot start.
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Some(Server {
            child,
            stdout,
            addr,
        })
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.set_write_timeout(Some(WAIT)).unwrap();
        stream
    }

    fn send_sigterm(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: `kill` takes plain integers; `pid` is our own child, not yet reaped (we hold
        // its `Child` and have not waited on it), so the number cannot name another process.
        let result = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(result, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// The next line the server prints (blocking: call it only when a line is due).
    fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim().to_string()
    }

    /// Waits for the server to exit, for at most `limit`; returns how long it took.
    fn wait_for_exit(&mut self, limit: Duration) -> (std::process::ExitStatus, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, start.elapsed());
            }
            assert!(
                start.elapsed() < limit,
                "echo-server did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only matters if the test failed before the server exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `message` and reads back exactly as many bytes.
fn echo(stream: &mut TcpStream, message: &[u8]) -> Vec<u8> {
    stream.write_all(message).unwrap();
    let mut reply = vec![0; message.len()];
    stream.read_exact(&mut reply).unwrap();
    reply
}

#[test]
fn echo_server_finishes_open_connections_after_sigterm_and_exits_0() {
    let grace = Duration::from_secs(5);
    let Some(mut server) = Server::start(grace.as_millis() as u64) else {
        return;
    };
    let mut conn = server.connect();
    // An echo proves the connection was accepted and has its task.
    assert_eq!(echo(&mut conn, b"before"), b"before");

    server.send_sigterm();
    assert_eq!(
        server.next_line(),
        "shutting down: waiting up to 5000 ms for 1 connections"
    );
    // The listener is closed: new connections are refused.
    assert!(TcpStream::connect(&server.addr).is_err());
    // The open connection is still served, to its end.
    assert_eq!(echo(&mut conn, b"after the signal"), b"after the signal");
    conn.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "unexpected bytes after the echo: {rest:?}");

    let (status, took) = server.wait_for_exit(grace);
    assert!(status.success(), "echo-server exited with {status}");
    assert!(took < grace, "exit waited for the grace period: {took:?}");
    assert_eq!(server.next_line(), "shut down: every connection finished");
}

#[test]
fn echo_server_drops_connections_still_open_after_the_grace_period() {
    let grace = Duration::from_millis(300);
    let Some(mut server) = Server::start(grace.as_millis() as u64) else {
        return;
    };
    let mut idle = server.connect();
    assert_eq!(echo(&mut idle, b"hi"), b"hi");

    server.send_sigterm();
    assert_eq!(
        server.next_line(),
        "shutting down: waiting up to 300 ms for 1 connections"
    );
    let (status, took) = server.wait_for_exit(WAIT);
    assert!(status.success(), "echo-server exited with {status}");
    assert!(
        took >= grace / 2,
        "exited before the grace period: {took:?}"
    );
    assert_eq!(
        server.next_line(),
        "shut down: grace period over, dropping 1 connections still open"
    );
    // The dropped connection was closed by the exiting server.
    let mut rest = Vec::new();
    idle.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}
