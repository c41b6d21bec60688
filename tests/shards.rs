//! One runtime per core: `examples/support/shards.rs` (the code `echo-server --shards` runs)
//! with a test server on each shard, and `echo-server --shards` end to end. Every shard
//! accepts and serves; a shard that panics takes down its own connections and nothing else;
//! `--shards` refuses counts outside its range.
#![cfg(not(miri))] // threads, sockets and child processes are beyond Miri

mod support;

#[path = "../examples/support/cpus.rs"]
mod cpus;
// The test drives the shards itself and uses only part of what echo-server does.
#[path = "support/examples.rs"]
mod examples;
#[allow(dead_code, reason = "echo-server uses the rest")]
#[path = "../examples/support/shards.rs"]
mod shards;

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::sync::threadsafe::oneshot;

use examples::example_binary;
use shards::{Outcome, Report, Shard, Shards};
use support::{rt, with_deadline};

/// Bound on every wait that is expected to succeed; only reached when a test fails.
const WAIT: Duration = Duration::from_secs(10);

/// Connections per phase of a test. The kernel picks a shard by a hash of each connection's
/// ports, so with 3 shards the chance that one of them gets none of 60 connections is about
/// 3 × (2/3)^60, 10^-10: never, in practice.
const CONNECTIONS: usize = 60;

/// The test's per-shard server: greets each connection with its shard's number (one byte),
/// then echoes; until asked to stop. Shard `doomed` panics when `kill` fires, as a bug in a
/// shard's accept loop would. Returns how many connections the shard accepted.
async fn greet_and_echo(
    shard: Shard,
    doomed: usize,
    kill: Arc<Mutex<Option<oneshot::Receiver<()>>>>,
) -> io::Result<u64> {
    let mut stop = shard.stop;
    let mut kill = if shard.index == doomed {
        kill.lock().unwrap().take()
    } else {
        None
    };
    let mark = u8::try_from(shard.index).unwrap();
    let mut accepted = 0;
    loop {
        let (mut conn, _) = evloop::select! {
            _ = &mut stop => return Ok(accepted),
            Some(_) = async { Some(kill.as_mut()?.await) } => {
                panic!("shard {} killed by the test", shard.index)
            }
            accepted = shard.listener.accept() => accepted?,
        };
        accepted += 1;
        drop(evloop::spawn(async move {
            conn.write_all(&[mark]).await?;
            let mut buf = [0; 256];
            loop {
                let n = conn.read(&mut buf).await?;
                if n == 0 {
                    return conn.shutdown().await;
                }
                conn.write_all(&buf[..n]).await?;
            }
        }));
    }
}

/// A client connection and the shard that greeted it.
struct Client {
    stream: TcpStream,
    shard: usize,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.set_write_timeout(Some(WAIT)).unwrap();
        let mut mark = [0; 1];
        stream.read_exact(&mut mark).expect("the shard's greeting");
        Client {
            stream,
            shard: usize::from(mark[0]),
        }
    }

    /// Sends `message` and checks it comes back.
    fn echo(&mut self, message: &[u8]) {
        self.stream.write_all(message).expect("send");
        let mut reply = vec![0; message.len()];
        self.stream.read_exact(&mut reply).expect("echo");
        assert_eq!(reply, message);
    }

    /// True if the server closed (or reset) the connection; false if it is still open.
    fn was_closed(&mut self) -> bool {
        let mut buf = [0; 1];
        match self.stream.read(&mut buf) {
            Ok(0) => true,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => true,
            Ok(_) => panic!("unexpected bytes from a dead shard"),
            Err(e) => panic!("the connection neither closed nor answered: {e}"),
        }
    }
}

/// How many of `clients` each of `count` shards greeted.
fn per_shard(clients: &[Client], count: usize) -> Vec<usize> {
    let mut counts = vec![0; count];
    for client in clients {
        counts[client.shard] += 1;
    }
    counts
}

/// Stops the shards and joins them, failing the test if that takes longer than [`WAIT`].
fn stop_and_join(mut shards: Shards<u64>) -> Vec<Report<u64>> {
    shards.stop();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || done_tx.send(shards.join()));
    done_rx
        .recv_timeout(WAIT)
        .expect("the shards did not stop within the time allowed")
}

#[test]
fn a_shard_that_panics_leaves_the_others_serving() {
    const SHARDS: usize = 3;
    const DOOMED: usize = 1;
    let sockets = shards::bind((Ipv4Addr::LOCALHOST, 0).into(), SHARDS).unwrap();
    let addr = sockets[0].local_addr().unwrap();
    let (kill_tx, kill_rx) = oneshot::channel();
    let kill = Arc::new(Mutex::new(Some(kill_rx)));
    let mut shards = Shards::start(sockets, move |shard| {
        greet_and_echo(shard, DOOMED, kill.clone())
    })
    .unwrap();
    let main = rt();
    main.block_on(with_deadline(WAIT, "shards ready", shards.ready()))
        .expect("every shard listens");

    // Every shard accepts and serves.
    let mut before: Vec<Client> = (0..CONNECTIONS).map(|_| Client::connect(addr)).collect();
    let counts = per_shard(&before, SHARDS);
    assert!(
        counts.iter().all(|&n| n > 0),
        "a shard got no connection: {counts:?}"
    );
    for client in &mut before {
        client.echo(b"before");
    }

    // One shard panics; the main thread sees it end, once its listener is closed.
    kill_tx.send(()).unwrap();
    let ended = main.block_on(with_deadline(WAIT, "the shard's end", shards.next_end()));
    assert_eq!(ended, Some(DOOMED));
    assert_eq!(shards.running(), SHARDS - 1);

    // Its connections went down with it; every other one is still served.
    for client in &mut before {
        if client.shard == DOOMED {
            assert!(client.was_closed(), "a dead shard's connection stayed open");
        } else {
            client.echo(b"after the panic");
        }
    }
    // New connections go to the living shards only, and all of them are served.
    let mut after: Vec<Client> = (0..CONNECTIONS).map(|_| Client::connect(addr)).collect();
    for client in &mut after {
        assert_ne!(client.shard, DOOMED, "a connection reached the dead shard");
        client.echo(b"new");
    }
    let counts_after = per_shard(&after, SHARDS);

    let reports = stop_and_join(shards);
    for report in &reports {
        match (&report.outcome, report.index) {
            (Outcome::Panicked(message), DOOMED) => {
                assert!(message.contains("killed by the test"), "{message}")
            }
            (Outcome::Served(accepted), index) if index != DOOMED => {
                let seen = counts[index] + counts_after[index];
                assert_eq!(*accepted, seen as u64, "shard {index}'s count");
            }
            (outcome, index) => panic!("shard {index} ended unexpectedly: {outcome:?}"),
        }
    }
}

#[test]
fn shards_bind_one_port_and_start_nothing_when_it_is_taken() {
    let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let error = shards::bind(taken.local_addr().unwrap(), 2).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AddrInUse);
    let sockets = shards::bind((Ipv4Addr::LOCALHOST, 0).into(), 4).unwrap();
    let port = sockets[0].local_addr().unwrap().port();
    assert_ne!(port, 0);
    for socket in &sockets {
        assert_eq!(socket.local_addr().unwrap().port(), port);
    }
}

// ---- echo-server --shards, end to end ----

/// Runs `echo-server` with `args` until it exits by itself (a usage error); kills it and
/// fails the test after [`WAIT`]. `None` if the example is not built.
fn run_to_exit(args: &[&str]) -> Option<(Option<i32>, String)> {
    let Some(binary) = example_binary("echo-server") else {
        println!("skipped: examples/echo-server is not built (cargo test builds it)");
        return None;
    };
    let mut child = Command::new(binary)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start echo-server");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > WAIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("echo-server {args:?} did not exit: it started instead of refusing");
        }
        thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Some((status.code(), stderr))
}

#[test]
fn echo_server_refuses_a_shard_count_out_of_range() {
    for (value, expected) in [
        ("0", "error: --shards 0 is too small: at least 1 shard"),
        (
            "1025",
            "error: --shards 1025 is too large: at most 1024 shards",
        ),
        ("two", "error: --shards two is not a whole number of shards"),
        ("", "error: --shards '' is not a whole number of shards"),
    ] {
        let Some((code, stderr)) = run_to_exit(&["--addr", "127.0.0.1:0", "--shards", value])
        else {
            return;
        };
        assert_eq!(code, Some(2), "--shards {value:?}: {stderr}");
        assert_eq!(stderr.trim_end(), expected, "--shards {value:?}");
    }
}

#[test]
fn echo_server_with_two_shards_serves_on_both_and_stops_on_sigterm() {
    let Some(binary) = example_binary("echo-server") else {
        println!("skipped: examples/echo-server is not built (cargo test builds it)");
        return;
    };
    let mut child = Command::new(binary)
        .args([
            "--addr",
            "127.0.0.1:0",
            "--shards",
            "2",
            "--grace-ms",
            "5000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start echo-server");
    // Read stdout on a thread, line by line, so that every wait on it is bounded.
    let (line_tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_line = || lines.recv_timeout(WAIT).expect("a line from echo-server");
    let first = next_line();
    let addr: SocketAddr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();
    let placement = next_line();
    assert!(placement.starts_with("2 shards on "), "{placement:?}");

    for i in 0..CONNECTIONS {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let message = format!("hello {i}");
        stream.write_all(message.as_bytes()).unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        assert_eq!(reply, message);
    }

    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: `kill` takes plain integers; `pid` is our own child, not yet reaped (we hold its
    // `Child` and have not waited on it), so the number cannot name another process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > WAIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("echo-server --shards 2 did not exit after SIGTERM");
        }
        thread::sleep(Duration::from_millis(10));
    };
    assert!(
        status.success(),
        "echo-server --shards 2 exited with {status}"
    );

    // The rest of stdout, up to its end (the reader thread ends at EOF and drops its sender).
    let mut rest = Vec::new();
    loop {
        match lines.recv_timeout(WAIT) {
            Ok(line) => rest.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("stdout stayed open: {rest:#?}"),
        }
    }
    let mut accepted = [0; 2];
    for line in &rest {
        if let Some((shard, count)) = line
            .strip_prefix("shard ")
            .and_then(|line| line.split_once(' '))
            .and_then(|(shard, line)| Some((shard, line.split_once(": accepted ")?.1)))
        {
            let shard: usize = shard.parse().unwrap();
            accepted[shard] = count.trim_end_matches(" connections").parse().unwrap();
        }
    }
    assert_eq!(
        accepted.iter().sum::<usize>(),
        CONNECTIONS,
        "every connection counted once: {rest:#?}"
    );
    assert!(
        accepted.iter().all(|&n| n > 0),
        "a shard accepted nothing: {rest:#?}"
    );
    for shard in 0..2 {
        let done = format!("shard {shard}: shut down: every connection finished");
        assert!(rest.contains(&done), "no {done:?} in {rest:#?}");
    }
}
