//! One measurement: `echo-client` driving one running server, with the server's CPU time and
//! thread count sampled from `/proc` over the client's measured window.
//!
//! # How the server's CPU per message is measured
//!
//! `echo-client` first opens all its connections, prints `connected` and `connect_secs` (and
//! flushes), and only then starts its clock: its measured window is the `--secs` seconds that
//! follow that line, and `messages` counts the echoes completed inside it. The driver reads
//! the server's CPU time (`utime + stime` from `/proc/PID/stat`) the moment the
//! `connect_secs` line arrives and again `--secs` later, so both readings bracket the same
//! window as the client's count, to within the pipe's latency (microseconds) at both ends.
//! `cpu_ns_per_msg` is that CPU time divided by `messages`. Connection setup before the
//! window and the drain after it are left out of both numerator and denominator. The tick is
//! 10 ms, so a 3 s window resolves the server's CPU time to about 0.3%.
//!
//! The figure holds even where the load generator, not the server, is the bottleneck: a
//! server that is idle half the time shows half the CPU time, not a lower rate.

use std::io;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use super::process::{Child, NextLine, RunningServer};
use super::procfs;

/// How often the server's thread count is sampled while the client runs.
const THREAD_SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

/// How long the client may take beyond its `--secs`: opening 10,000 connections to a loaded
/// server, plus its own drain timeout (5 s), with room to spare. Past this it is killed and
/// the run is recorded as failed.
const CLIENT_SLACK: Duration = Duration::from_secs(90);

/// How long the client may take to exit once its stdout has closed.
const CLIENT_EXIT_WAIT: Duration = Duration::from_secs(5);

/// The note of a run whose `connect_secs` line reached the driver after the client had
/// already exited: it concerns the CPU-time window only, not the client's counts.
pub const LATE_OUTPUT_NOTE: &str =
    "the client's output reached the driver late; the CPU window ends at the client's exit";

/// The load of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Load {
    /// Connections (`--conns`).
    pub conns: usize,
    /// Messages in flight per connection (`--depth`).
    pub depth: usize,
    /// Message size in bytes (`--size`).
    pub size: usize,
}

/// What one run measured. Figures the run could not produce are `None`.
#[derive(Clone, Debug, Default)]
pub struct Measurement {
    /// Echoes completed in the client's window.
    pub messages: Option<u64>,
    /// `messages` over the window's length, as the client reports it.
    pub msgs_per_sec: Option<f64>,
    /// Median round trip in µs, over every message including the drain (the client's
    /// histogram, to about 1%).
    pub p50_us: Option<u64>,
    /// 99th percentile round trip in µs, likewise.
    pub p99_us: Option<u64>,
    /// 99.9th percentile round trip in µs, likewise.
    pub p999_us: Option<u64>,
    /// Connections the client opened.
    pub connected: Option<u64>,
    /// Open connections that completed no echo in the window.
    pub stalled: Option<u64>,
    /// Connections that ended in an error, failed connects included.
    pub errors: Option<u64>,
    /// Echoes with a wrong byte.
    pub mismatches: Option<u64>,
    /// Server CPU time (user + system) over the window, in seconds.
    pub server_cpu_s: Option<f64>,
    /// `server_cpu_s` per message, in ns.
    pub cpu_ns_per_msg: Option<f64>,
    /// The most threads the server had at any sample during the client's run.
    pub threads: Option<u64>,
    /// What went wrong, if anything did; empty for a clean run.
    pub note: String,
}

impl Measurement {
    /// A run that produced nothing, because of `why`.
    pub fn failed(why: impl Into<String>) -> Measurement {
        Measurement {
            note: why.into(),
            ..Measurement::default()
        }
    }

    fn add_note(&mut self, note: impl AsRef<str>) {
        if !self.note.is_empty() {
            self.note.push_str("; ");
        }
        self.note.push_str(note.as_ref());
    }
}

/// Runs `client` (on `cpu` if given) against `server` for `secs` with `load`, and measures.
/// Every failure is recorded in the measurement's note, never returned: one cell a server
/// cannot serve must not end the whole matrix.
pub fn drive(
    client: &Path,
    server: &mut RunningServer,
    load: Load,
    secs: Duration,
    cpu: Option<usize>,
) -> Measurement {
    let args = [
        "--addr".to_string(),
        server.addr.to_string(),
        "--conns".to_string(),
        load.conns.to_string(),
        "--depth".to_string(),
        load.depth.to_string(),
        "--size".to_string(),
        load.size.to_string(),
        "--secs".to_string(),
        format!("{}", secs.as_secs_f64()),
    ];
    let mut client = match Child::spawn("echo-client", client, args, cpu) {
        Ok(client) => client,
        Err(e) => return Measurement::failed(e.to_string()),
    };
    let stderr_before = server.child.stderr_lines();
    let mut measurement = match observe(&mut client, server, secs) {
        Ok(measurement) => measurement,
        Err(e) => Measurement::failed(format!("reading /proc of the server: {e}")),
    };
    // The client's stdout closes as it exits; give it a moment to be reaped before `stop`
    // would send it a signal (which only happens to a client that hangs).
    let _ = client.wait_timeout(CLIENT_EXIT_WAIT);
    match client.stop() {
        Ok(status) if status.success() => {}
        Ok(status) => measurement.add_note(client_failure(&client, status)),
        Err(e) => measurement.add_note(format!("cannot stop the client: {e}")),
    }
    match server.child.exited() {
        Ok(None) => {}
        Ok(Some(status)) => measurement.add_note(format!(
            "the server exited during the run ({status}): {}",
            server.child.stderr_tail()
        )),
        Err(e) => measurement.add_note(format!("cannot check on the server: {e}")),
    }
    let complaints = server.child.stderr_lines() - stderr_before;
    if complaints > 0 {
        let last = server.child.last_stderr_line().unwrap_or_default();
        measurement.add_note(format!("server stderr: {complaints} lines, last `{last}`"));
    }
    measurement
}

/// Follows the client's output to its end, sampling the server around the client's window.
fn observe(client: &mut Child, server: &RunningServer, secs: Duration) -> io::Result<Measurement> {
    let tick = procfs::clock_tick()?;
    let pid = server.child.pid();
    let give_up = Instant::now() + secs + CLIENT_SLACK;
    let mut measurement = Measurement::default();
    let mut threads = procfs::stat(pid)?.threads;
    // Set when the window opens: its end, and the server's CPU ticks at its start.
    let mut window: Option<(Instant, u64)> = None;
    let mut cpu_ticks = None;
    loop {
        let now = Instant::now();
        if now >= give_up {
            measurement.add_note(format!(
                "the client did not finish within {:?}; killed",
                secs + CLIENT_SLACK
            ));
            break;
        }
        // Sleep until the next thread sample, or the window's end if sooner.
        let mut wait = THREAD_SAMPLE_INTERVAL;
        if let (Some((end, _)), None) = (window, cpu_ticks) {
            wait = wait.min(end.saturating_duration_since(now));
        }
        let next = client.next_line(wait);
        if let Ok(stat) = procfs::stat(pid) {
            threads = threads.max(stat.threads);
        }
        if let (Some((end, start_ticks)), None) = (window, cpu_ticks)
            && Instant::now() >= end
        {
            cpu_ticks = Some(procfs::stat(pid)?.cpu_ticks - start_ticks);
        }
        match next {
            NextLine::Line(line) => {
                let Some((key, value)) = line.text.split_once(": ") else {
                    continue;
                };
                if key == "connect_secs" {
                    window = Some((line.at + secs, procfs::stat(pid)?.cpu_ticks));
                }
                record(&mut measurement, key, value.trim());
            }
            NextLine::Timeout => {}
            NextLine::Closed => {
                if let (Some((_, start_ticks)), None) = (window, cpu_ticks) {
                    // The client has exited, so its window is over, yet the driver's is not:
                    // the `connect_secs` line reached the driver late (both CPUs busy). The
                    // server did nothing but close connections since; end the window here.
                    cpu_ticks = Some(procfs::stat(pid)?.cpu_ticks - start_ticks);
                    measurement.add_note(LATE_OUTPUT_NOTE);
                }
                break;
            }
        }
    }
    measurement.threads = Some(threads);
    match (window, cpu_ticks) {
        (None, _) => measurement.add_note("the client never started its window"),
        (Some(_), None) => measurement.add_note("the window never ended (client killed)"),
        (Some(_), Some(ticks)) => {
            let cpu = tick * u32::try_from(ticks).map_err(io::Error::other)?;
            measurement.server_cpu_s = Some(cpu.as_secs_f64());
            measurement.cpu_ns_per_msg = match measurement.messages {
                Some(messages) if messages > 0 => Some(cpu.as_nanos() as f64 / messages as f64),
                _ => None,
            };
        }
    }
    Ok(measurement)
}

/// Stores one `key: value` line of the client's output (see `examples/echo-client.rs` for
/// the keys); keys the driver does not use are skipped.
fn record(measurement: &mut Measurement, key: &str, value: &str) {
    let int = || value.parse::<u64>().ok();
    match key {
        "connected" => measurement.connected = int(),
        "messages" => measurement.messages = int(),
        "messages_per_sec" => measurement.msgs_per_sec = value.parse().ok(),
        "p50_us" => measurement.p50_us = int(),
        "p99_us" => measurement.p99_us = int(),
        "p999_us" => measurement.p999_us = int(),
        "stalled" => measurement.stalled = int(),
        "errors" => measurement.errors = int(),
        "mismatches" => measurement.mismatches = int(),
        _ => {}
    }
}

/// Describes a client that exited unsuccessfully, with its first stderr line.
fn client_failure(client: &Child, status: ExitStatus) -> String {
    let stderr = client.stderr_tail();
    let first = stderr.lines().next().unwrap_or("no stderr");
    format!("{} exited with {status}: {first}", client.name())
}
