//! Accepting through descriptor exhaustion (`EMFILE`): the accept loop must not spin, existing
//! connections must keep being served, and accepting must resume by itself once descriptors
//! free up, even when every queued connection belongs to a client that already gave up.
//!
//! Each case runs in a child process (this test binary again, selected by [`CHILD_ENV`] and
//! `--exact`) whose `RLIMIT_NOFILE` is lowered and whose descriptor table is then filled, so
//! that the parent test process is never short of descriptors. Three cases: a listener created
//! before the table fills (it holds its spare descriptor and sheds queued connections), one
//! created after (no spare: it must fall back to pausing on its timer), and two `accept`s
//! paused at once on one listener (both must resume).

// Miri cannot open sockets, call epoll or spawn processes.
#![cfg(not(miri))]

mod support;

use std::cell::Cell;
use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::process::{Command, Output, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};

use support::{pattern, rt, with_deadline};

/// Set in the child's environment; its value names the case the child runs.
const CHILD_ENV: &str = "EVLOOP_ACCEPT_EMFILE_CHILD";

/// The child's soft descriptor limit: small, so filling the table takes a few dozen opens.
const FD_LIMIT: libc::rlim_t = 128;

/// How long the child stays out of descriptors while its CPU time is measured.
const EXHAUSTED_WINDOW: Duration = Duration::from_millis(500);

/// CPU the child may use (user + system, all threads) during [`EXHAUSTED_WINDOW`]. A spinning
/// accept loop uses all 500 ms; an idle one uses well under 10.
const CPU_LIMIT: Duration = Duration::from_millis(150);

/// Clients that connect and close while the server is out of descriptors.
const GAVE_UP_CLIENTS: u64 = 3;

/// Hang guard for one echo round trip, or for serving a new client after descriptors free up
/// (the issue allows "a second or two"; the pause is at most one second).
const OP_LIMIT: Duration = Duration::from_secs(10);

/// Hang guard for a whole child process.
const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// When the listener under test is created, relative to filling the descriptor table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Created {
    /// Before: the listener holds its spare descriptor.
    BeforeExhaustion,
    /// After: the spare could not be opened, so only the pause timer is left.
    AfterExhaustion,
}

#[test]
fn emfile_with_spare_sheds_queue_without_spinning() {
    run_child("child_listener_created_before_exhaustion");
}

#[test]
fn emfile_without_spare_pauses_and_recovers() {
    run_child("child_listener_created_after_exhaustion");
}

/// Runs only as a child of [`emfile_with_spare_sheds_queue_without_spinning`].
#[test]
fn child_listener_created_before_exhaustion() {
    if std::env::var_os(CHILD_ENV).is_some() {
        out_of_descriptors(Created::BeforeExhaustion);
    }
}

/// Runs only as a child of [`emfile_without_spare_pauses_and_recovers`].
#[test]
fn child_listener_created_after_exhaustion() {
    if std::env::var_os(CHILD_ENV).is_some() {
        out_of_descriptors(Created::AfterExhaustion);
    }
}

/// Regression: the pause after `EMFILE` was one timer per listener, and a timer wakes one
/// waker, so of two `accept`s paused at once only the last one polled was woken when it
/// ended; the other waited forever for an edge that a queued connection never raises.
#[test]
fn two_accepts_paused_at_once_both_resume() {
    run_child("child_two_accepts_paused_at_once");
}

/// Runs only as a child of [`two_accepts_paused_at_once_both_resume`].
#[test]
fn child_two_accepts_paused_at_once() {
    if std::env::var_os(CHILD_ENV).is_some() {
        two_paused_accepts();
    }
}

/// The child's scenario: two tasks wait in `accept` on a listener with no spare descriptor;
/// two clients queue while the table is full, so both tasks pause; once descriptors free up,
/// each task must get its connection.
fn two_paused_accepts() {
    lower_descriptor_limit(FD_LIMIT);
    rt().block_on(async {
        let std_listener =
            std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let addr = std_listener.local_addr().expect("listener's local address");
        let mut fillers = fill_descriptor_table();
        let listener = wrap(Some(std_listener));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let listener = listener.clone();
                evloop::spawn(async move { listener.accept().await.map(drop) })
            })
            .collect();
        evloop::time::sleep(Duration::from_millis(20)).await; // both wait in accept
        // Each client takes a filler's slot: the table stays full.
        let mut clients = Vec::new();
        for _ in 0..2 {
            drop(fillers.pop());
            clients.push(std::net::TcpStream::connect(addr).expect("connect while exhausted"));
        }
        // Long enough for both tasks to fail with EMFILE and pause, more than once.
        evloop::time::sleep(EXHAUSTED_WINDOW).await;
        assert!(listener.exhausted_accepts() >= 2, "accept never ran out");
        assert!(
            tasks.iter().all(|task| !task.is_finished()),
            "an accept finished while the table was full"
        );
        drop(fillers);
        for task in tasks {
            with_deadline(OP_LIMIT, "each paused accept after freeing", task)
                .await
                .expect("task")
                .expect("accept");
        }
        println!(
            "accept_emfile: recovered (two paused accepts): {} exhausted accepts",
            listener.exhausted_accepts()
        );
    });
}

/// Re-runs this binary with only `test_name` selected and [`CHILD_ENV`] set, and fails if the
/// child fails or outlives [`CHILD_LIMIT`]. The child's report is printed (see it with
/// `--nocapture`).
fn run_child(test_name: &str) {
    let exe = std::env::current_exe().expect("path of this test binary");
    let child = Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test_name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the child test process");
    let pid = child.id();
    let (done_tx, done_rx) = mpsc::channel::<io::Result<Output>>();
    let waiter = thread::spawn(move || {
        let _ = done_tx.send(child.wait_with_output());
    });
    let output = match done_rx.recv_timeout(CHILD_LIMIT) {
        Ok(output) => output.expect("waiting for the child"),
        Err(_) => {
            let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
            // SAFETY: `kill` only sends a signal; `pid` is our own child, which has not been
            // reaped (the waiter thread is still blocked in `wait`), so the pid is not reused.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = waiter.join();
            panic!("child {test_name} still running after {CHILD_LIMIT:?}: it hangs");
        }
    };
    let _ = waiter.join();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // libtest may print "test <name> ... " on the same line, before the report.
    for line in stdout.lines() {
        if let Some(at) = line.find("accept_emfile:") {
            println!("{}", &line[at..]);
        }
    }
    assert!(
        output.status.success(),
        "child {test_name} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("accept_emfile: recovered"),
        "child {test_name} did not run its scenario:\n{stdout}"
    );
}

/// What the server's accept loop saw.
#[derive(Default)]
struct ServeCounts {
    accepted: Cell<u64>,
    /// Errors `accept` returned: the listener must handle exhaustion itself.
    errors: Cell<u64>,
}

/// The child's scenario: an echo server runs out of descriptors, keeps serving an open
/// connection without spinning, and serves a new client once descriptors free up.
fn out_of_descriptors(created: Created) {
    lower_descriptor_limit(FD_LIMIT);
    rt().block_on(async {
        let std_listener =
            std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let addr = std_listener.local_addr().expect("listener's local address");
        let mut std_listener = Some(std_listener);
        let mut listener = None;
        if created == Created::BeforeExhaustion {
            listener = Some(wrap(std_listener.take()));
        }

        // An open connection, echoed by the server while it is out of descriptors.
        let (mut open_client, open_server) = scratch_pair().await;
        evloop::spawn(echo(open_server));
        ping(&mut open_client, 1).await;

        let mut fillers = fill_descriptor_table();
        let listener = listener.unwrap_or_else(|| wrap(std_listener.take()));
        let counts = Rc::new(ServeCounts::default());
        let server = evloop::spawn(serve(listener.clone(), counts.clone()));

        // Clients that connect and give up while the server cannot accept: half close in
        // order, half reset. Each borrows one filler's slot and gives it back.
        for client in 0..GAVE_UP_CLIENTS {
            drop(fillers.pop());
            let stream = std::net::TcpStream::connect(addr).expect("connect while exhausted");
            if client % 2 == 1 {
                reset_on_close(&stream);
            }
            drop(stream);
            fillers.push(File::open("/dev/null").expect("refill the freed slot"));
        }

        // Out of descriptors for EXHAUSTED_WINDOW: the open connection is still echoed, and
        // the process stays nearly idle.
        let cpu_before = cpu_time();
        let window = Instant::now();
        let mut pings = 0;
        while window.elapsed() < EXHAUSTED_WINDOW {
            ping(&mut open_client, 100 + pings).await;
            pings += 1;
            evloop::time::sleep(Duration::from_millis(50)).await;
        }
        let cpu = cpu_time() - cpu_before;
        let window = window.elapsed();
        assert_eq!(
            File::open("/dev/null")
                .map(drop)
                .map_err(|e| e.raw_os_error()),
            Err(Some(libc::EMFILE)),
            "the descriptor table must still be full at the end of the window"
        );
        assert!(
            cpu < CPU_LIMIT,
            "{cpu:?} of CPU in {window:?} out of descriptors: the accept path spins"
        );
        assert!(
            listener.exhausted_accepts() > 0,
            "accept never ran out of descriptors"
        );

        // Descriptors free up. With no new connection (so no new readiness edge), the queued
        // connections of the clients that gave up are taken off the queue...
        drop(fillers);
        let freed = Instant::now();
        with_deadline(OP_LIMIT, "draining the queue with no new edge", async {
            while counts.accepted.get() + listener.shed_connections() < GAVE_UP_CLIENTS {
                evloop::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        let drained = freed.elapsed();

        // ...and a new client is served.
        let mut new_client = with_deadline(OP_LIMIT, "serving a new client", async {
            let mut client = TcpStream::connect(addr)
                .await
                .expect("connect after freeing");
            ping(&mut client, 2).await;
            client
        })
        .await;
        let recovery = freed.elapsed();
        ping(&mut new_client, 3).await;
        ping(&mut open_client, 4).await;

        println!(
            "accept_emfile: recovered ({created:?}): cpu {} ms in {} ms out of descriptors \
             ({pings} echoes meanwhile); after freeing, queue drained in {} ms, new client \
             served {} ms after freeing; \
             {} exhausted accepts, {} shed, {} accepted",
            cpu.as_millis(),
            window.as_millis(),
            drained.as_millis(),
            recovery.as_millis(),
            listener.exhausted_accepts(),
            listener.shed_connections(),
            counts.accepted.get(),
        );
        assert_eq!(counts.errors.get(), 0, "accept returned an error");
        // Every connection that reached the queue was either accepted or shed, in order: the
        // new client comes last, so all the others were dealt with before it.
        assert_eq!(
            counts.accepted.get() + listener.shed_connections(),
            GAVE_UP_CLIENTS + 1
        );
        let expected_shed = match created {
            Created::BeforeExhaustion => GAVE_UP_CLIENTS,
            Created::AfterExhaustion => 0,
        };
        assert_eq!(listener.shed_connections(), expected_shed);
        server.abort();
    });
}

/// Registers the listener under test with the current runtime.
fn wrap(std_listener: Option<std::net::TcpListener>) -> Rc<TcpListener> {
    let std_listener = std_listener.expect("the listener is wrapped once");
    Rc::new(TcpListener::from_std(std_listener).expect("register the listener"))
}

/// The server: accepts forever, echoing each connection in its own task. Errors are counted
/// and the loop goes on, as a long-running server's would.
async fn serve(listener: Rc<TcpListener>, counts: Rc<ServeCounts>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                counts.accepted.set(counts.accepted.get() + 1);
                evloop::spawn(echo(stream));
            }
            Err(_) => counts.errors.set(counts.errors.get() + 1),
        }
    }
}

/// Echoes until end of stream or an error (a client that gave up may have reset).
async fn echo(mut stream: TcpStream) {
    let mut buf = [0u8; 1024];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        if stream.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

/// Sends a 64-byte pattern and checks that exactly it comes back.
async fn ping(client: &mut TcpStream, seed: u64) {
    let message = pattern(seed, 64);
    with_deadline(OP_LIMIT, "echo round trip", async {
        client.write_all(&message).await.expect("write to echo");
        let mut reply = vec![0; message.len()];
        client.read_exact(&mut reply).await.expect("read echo");
        assert_eq!(reply, message, "echo must return the same bytes");
    })
    .await;
}

/// A connected `(client, server side)` pair made through a throwaway listener.
async fn scratch_pair() -> (TcpStream, TcpStream) {
    let scratch = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind scratch");
    let addr: SocketAddr = scratch.local_addr().expect("scratch address");
    let client = std::net::TcpStream::connect(addr).expect("connect to scratch");
    let (server, _) = scratch.accept().expect("accept on scratch");
    (
        TcpStream::from_std(client).expect("register client"),
        TcpStream::from_std(server).expect("register server side"),
    )
}

/// Opens `/dev/null` until the table is full; the files keep it full until dropped.
fn fill_descriptor_table() -> Vec<File> {
    let mut fillers = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(file) => fillers.push(file),
            Err(error) if error.raw_os_error() == Some(libc::EMFILE) => return fillers,
            Err(error) => panic!("filling the descriptor table: {error}"),
        }
        assert!(
            fillers.len() <= FD_LIMIT as usize,
            "more descriptors open than the limit allows"
        );
    }
}

/// Lowers this process's soft `RLIMIT_NOFILE` to `limit`, keeping the hard limit.
fn lower_descriptor_limit(limit: libc::rlim_t) {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through the pointer, which points to `current`,
    // a live, exclusively borrowed local of that type.
    let result = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut current) };
    assert_eq!(result, 0, "getrlimit: {}", io::Error::last_os_error());
    let lowered = libc::rlimit {
        rlim_cur: limit.min(current.rlim_max),
        rlim_max: current.rlim_max,
    };
    // SAFETY: `setrlimit` reads one `rlimit` through the pointer, which points to `lowered`,
    // a live local of that type.
    let result = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) };
    assert_eq!(result, 0, "setrlimit: {}", io::Error::last_os_error());
}

/// Makes closing `stream` send a reset instead of a FIN (`SO_LINGER` 0).
fn reset_on_close(stream: &std::net::TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `setsockopt` reads `size_of::<linger>()` bytes from the pointer, which points to
    // `linger`, a live local of that type; `stream` keeps the descriptor open during the call.
    let result = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(result, 0, "SO_LINGER: {}", io::Error::last_os_error());
}

/// CPU time (user + system, all threads) this process has used so far.
fn cpu_time() -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct of integers.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `getrusage` writes one `rusage` through the pointer, which points to `usage`, a
    // live, exclusively borrowed local of that type.
    let result = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(result, 0, "getrusage: {}", io::Error::last_os_error());
    let micros = |time: libc::timeval| {
        Duration::from_secs(time.tv_sec as u64) + Duration::from_micros(time.tv_usec as u64)
    };
    micros(usage.ru_utime) + micros(usage.ru_stime)
}
