//! The examples' command lines, end to end: every bad input gets exactly one `error:` line on
//! stderr that names the flag and the value (and the limit it broke), and exit status 2; a
//! resource the system refuses (an address in use, memory under a limit) gets one `error:` line
//! naming the address or the size, and exit status 1. Never a panic, an abort or a hang.
//!
//! The tests run the example binaries that `cargo test` builds next to this test binary
//! (`target/<profile>/examples/`), as child processes, each under a watchdog that kills it.
#![cfg(not(miri))] // child processes are beyond Miri

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

#[path = "support/examples.rs"]
mod examples;
use examples::example_binary;

/// How long a child may run before the watchdog kills it and fails the test. Every case here
/// ends within milliseconds (a usage error ends before any work starts); only a hang, or a
/// server that started instead of refusing, reaches this.
const WATCHDOG: Duration = Duration::from_secs(10);

/// The address-space limit (`RLIMIT_AS`) for the memory cases: 64 MiB, enough for a debug
/// build of an example to start (they need a few MiB), never enough for one more 64 MiB
/// buffer on top.
const MEMORY_LIMIT: u64 = 64 << 20;

/// The largest `--size` and `--buf`, as the examples document it (`MAX_SIZE`, `MAX_BUF`).
const MAX_BYTES: &str = "67108864";

/// How a child ended.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs example `name` with `args` (and, if given, an address-space limit in bytes) until it
/// exits; kills it and fails the test if it is still running after [`WATCHDOG`]. `None` when
/// the example is not built.
fn run(name: &str, args: &[&str], address_space: Option<u64>) -> Option<Outcome> {
    let Some(binary) = example_binary(name) else {
        println!("skipped: examples/{name} is not built (cargo test builds it)");
        return None;
    };
    let mut command = Command::new(binary);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(bytes) = address_space {
        let limit = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: bytes,
        };
        // SAFETY: the closure runs in the forked child before `exec`, where only
        // async-signal-safe calls are allowed: `setrlimit` is one (a plain system call), it
        // reads `limit`, a copy owned by the closure, and nothing here allocates or locks.
        unsafe {
            command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    let mut child = command.spawn().expect("cannot start the example");
    // Read both pipes while the child runs, so that a chatty child cannot block on a full pipe
    // and pass for a hang.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} {args:?} still running after {WATCHDOG:?}; killed it");
        }
        thread::sleep(Duration::from_millis(5));
    };
    Some(Outcome {
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    })
}

/// Asserts that the child exited with `code` after printing exactly one line on stderr, an
/// `error:` line that contains every one of `names`; returns that line.
fn assert_one_error_line(outcome: &Outcome, code: i32, names: &[&str], what: &str) -> String {
    assert_eq!(outcome.code, Some(code), "{what}: {outcome:?}");
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{what}: not one line on stderr: {outcome:?}"
    );
    assert!(lines[0].starts_with("error: "), "{what}: {:?}", lines[0]);
    for name in names {
        assert!(
            lines[0].contains(name),
            "{what}: {:?} does not name {name:?}",
            lines[0]
        );
    }
    lines[0].to_string()
}

/// Runs example `name` with `args`, which are bad input, and asserts status 2 and one `error:`
/// line naming each of `names` (the flag and the value, and the limit where there is one). A
/// usage error prints nothing on stdout: the example never started.
fn assert_bad_input(name: &str, args: &[&str], names: &[&str]) {
    let Some(outcome) = run(name, args, None) else {
        return;
    };
    let what = format!("{name} {}", args.join(" "));
    assert_one_error_line(&outcome, 2, names, &what);
    assert_eq!(outcome.stdout, "", "{what}: printed on stdout");
}

#[test]
fn echo_client_size_beyond_64_bits_is_refused_not_a_capacity_overflow_panic() {
    let huge = "18446744073709551615";
    assert_bad_input(
        "echo-client",
        &["--size", huge],
        &["--size", huge, MAX_BYTES],
    );
    // One more than u64::MAX does not parse at all, and is still "too large".
    let beyond = "18446744073709551616";
    assert_bad_input(
        "echo-client",
        &["--size", beyond],
        &["--size", beyond, MAX_BYTES],
    );
}

#[test]
fn echo_client_size_above_the_limit_is_bad_input_not_an_allocation() {
    // 10 GB: it used to be allocated (and aborted under a memory limit).
    let args = ["--size", "10000000000", "--addr", "127.0.0.1:1"];
    assert_bad_input("echo-client", &args, &["--size", "10000000000", MAX_BYTES]);
}

#[test]
fn echo_client_refused_message_memory_names_the_size() {
    // At the limit, so not bad input: the allocator refuses it under `MEMORY_LIMIT`. The
    // buffers are allocated before any connect, so no server is needed (port 1 refuses).
    let args = ["--size", MAX_BYTES, "--addr", "127.0.0.1:1"];
    let Some(outcome) = run("echo-client", &args, Some(MEMORY_LIMIT)) else {
        return;
    };
    assert_one_error_line(
        &outcome,
        1,
        &[MAX_BYTES, "cannot allocate"],
        "echo-client --size 64 MiB under a 64 MiB address space",
    );
}

#[test]
fn echo_client_secs_out_of_range_or_not_finite_is_bad_input() {
    for (secs, limit) in [
        ("1e30", "86400"),
        ("86401", "86400"),
        ("0", "0.001"),
        ("-1", "0.001"),
        ("1e-300", "0.001"),
        ("inf", "finite"),
        ("NaN", "finite"),
        ("five", "number"),
    ] {
        assert_bad_input("echo-client", &["--secs", secs], &["--secs", secs, limit]);
    }
}

#[test]
fn echo_client_counts_out_of_range_or_malformed_are_bad_input() {
    for (flag, value, limit) in [
        ("--size", "0", "at least 1"),
        ("--size", "-5", "whole number"),
        ("--size", "+5", "whole number"),
        ("--size", "64k", "whole number"),
        ("--size", "", "whole number"),
        ("--depth", "0", "at least 1"),
        ("--depth", "1025", "1024"),
        ("--depth", "18446744073709551615", "1024"),
        ("--conns", "0", "at least 1"),
        ("--conns", "1048577", "1048576"),
        ("--conns", "4294967296", "1048576"),
    ] {
        let inline = format!("{flag}={value}");
        assert_bad_input("echo-client", &[&inline], &[flag, value, limit]);
    }
}

#[test]
fn echo_client_conns_beyond_the_descriptor_limit_are_bad_input() {
    // Within `MAX_CONNS`, but far above any hard descriptor limit this test runs under (the
    // client raises its soft limit as far as the hard one, and no further).
    let mut hard = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through the pointer, which points to `hard`, a
    // live, exclusively borrowed local of that type.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut hard) },
        0
    );
    if hard.rlim_max >= 1_000_000 {
        println!(
            "skipped: the hard descriptor limit ({}) is too high",
            hard.rlim_max
        );
        return;
    }
    assert_bad_input(
        "echo-client",
        &["--conns", "1000000"],
        &["--conns", "1000000", "descriptor limit"],
    );
}

#[test]
fn unknown_flags_and_missing_values_are_bad_input() {
    for example in [
        "echo-client",
        "echo-server",
        "echo-server-threads",
        "udp-echo",
    ] {
        assert_bad_input(example, &["--verbose", "1"], &["--verbose", "unknown"]);
        assert_bad_input(example, &["--addr"], &["--addr", "needs a value"]);
        assert_bad_input(
            example,
            &["--addr", "127.0.0.1:70000"],
            &["--addr", "127.0.0.1:70000"],
        );
    }
}

#[test]
fn server_buf_beyond_the_limit_is_refused_before_it_starts() {
    let huge = "18446744073709551615";
    for server in ["echo-server", "echo-server-threads"] {
        // It used to start, and then every connection task panicked (capacity overflow).
        assert_bad_input(server, &["--buf", huge], &["--buf", huge, MAX_BYTES]);
        assert_bad_input(server, &["--buf", "0"], &["--buf", "0", "at least 1"]);
        assert_bad_input(
            server,
            &["--grace-ms", "3600001"],
            &["--grace-ms", "3600001", "3600000"],
        );
    }
}

#[test]
fn server_refused_buffer_memory_names_the_size() {
    for server in ["echo-server", "echo-server-threads"] {
        let args = ["--addr", "127.0.0.1:0", "--buf", MAX_BYTES];
        let Some(outcome) = run(server, &args, Some(MEMORY_LIMIT)) else {
            return;
        };
        assert_one_error_line(&outcome, 1, &["--buf", MAX_BYTES], server);
        assert_eq!(
            outcome.stdout, "",
            "{server} announced a port it cannot serve"
        );
    }
}

#[test]
fn server_on_an_address_in_use_names_the_address() {
    // Held open for the whole test: the servers' `bind` must fail with `AddrInUse`.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for server in ["echo-server", "echo-server-threads"] {
        let Some(outcome) = run(server, &["--addr", &addr], None) else {
            return;
        };
        let line = assert_one_error_line(&outcome, 1, &[&addr], server);
        assert!(
            line.contains("cannot listen on") && line.contains("in use"),
            "{server}: {line:?}"
        );
        assert!(!line.contains("Os {"), "{server}: Debug format: {line:?}");
    }
}

#[test]
fn udp_echo_buf_out_of_range_is_bad_input() {
    assert_bad_input("udp-echo", &["--buf", "0"], &["--buf", "0", "at least 1"]);
    assert_bad_input(
        "udp-echo",
        &["--buf", "65537"],
        &["--buf", "65537", "at most 65536"],
    );
    assert_bad_input(
        "udp-echo",
        &["--buf", "4k"],
        &["--buf", "4k", "whole number"],
    );
}

#[test]
fn udp_echo_on_an_address_in_use_names_the_address() {
    // Held open for the whole test: the example's `bind` must fail with `AddrInUse`.
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let Some(outcome) = run("udp-echo", &["--addr", &addr], None) else {
        return;
    };
    let line = assert_one_error_line(&outcome, 1, &[&addr], "udp-echo");
    assert!(
        line.contains("cannot bind") && line.contains("in use"),
        "{line:?}"
    );
    assert_eq!(outcome.stdout, "", "announced an address it cannot serve");
}

#[test]
fn lessons_refuse_unknown_arguments_with_one_line() {
    for lesson in [
        "pipelining",
        "blocking",
        "fanout",
        "batch-fetch",
        "many-tasks",
    ] {
        assert_bad_input(lesson, &["--conns", "10"], &["--conns"]);
    }
}

#[test]
fn many_tasks_child_arguments_out_of_range_are_bad_input() {
    let flag = "--child-run";
    for (args, names) in [
        (
            [flag, "evloop", "1e9", "5"],
            ["COUNT", "1e9", "whole number"],
        ),
        (
            [flag, "evloop", "100001", "5"],
            ["COUNT", "100001", "100000"],
        ),
        (
            [flag, "threads", "1", "18446744073709551616"],
            ["MILLIS", "18446744073709551616", "60000"],
        ),
        ([flag, "fibers", "1", "5"], ["KIND", "fibers", "evloop"]),
    ] {
        assert_bad_input("many-tasks", &args, &names);
    }
}
