//! The echo matrix: every cell (connections × depth × message size), every server, every
//! round, with the servers alternating inside each cell.
//!
//! # Order and selection
//!
//! Inside a cell the servers run in turn, A B C D, and then again for the next round, A B C D:
//! slow drifts of a shared machine (another job starting, the CPU's clock changing) then
//! fall on every server alike instead of on whichever ran its whole sweep at the wrong time.
//! Every run starts a fresh server, so no run inherits another's memory or sockets.
//!
//! Of a server's rounds in a cell the one with the highest message rate is kept, whole (its
//! latency, CPU time and counts, all from the same run). Interference on a shared machine
//! only ever slows a run down, never speeds it up, so the best round is the one closest to
//! what the server does undisturbed; a median of two rounds would be their mean, and carry
//! half of any disturbance. All rounds are still written to `echo-rounds.csv`.

use std::time::Duration;

use super::load::{self, Load, Measurement};
use super::process::{Pinning, RunningServer};
use super::servers::{Layout, SERVER_BUF, Server};

/// The message size of the main matrix, in bytes.
pub const SMALL_MESSAGE: usize = 64;

/// The message size of the large-message cells: as large as the server's buffer, so every
/// read can fill it.
pub const LARGE_MESSAGE: usize = 4096;

/// How long to leave the machine between runs: sockets of the previous run are closing and
/// its server's memory is returning to the system.
const PAUSE_BETWEEN_RUNS: Duration = Duration::from_millis(200);

/// One run: a server under one load in one round.
#[derive(Clone, Debug)]
pub struct Run {
    /// The server that ran.
    pub server: Server,
    /// The cell.
    pub load: Load,
    /// Which round (from 1).
    pub round: usize,
    /// What it measured.
    pub measurement: Measurement,
}

/// The cells to measure: every connection count × depth at [`SMALL_MESSAGE`] bytes, then
/// [`LARGE_MESSAGE`] bytes at each of `large_conns` × depth.
pub fn cells(conns: &[usize], depths: &[usize], large_conns: &[usize]) -> Vec<Load> {
    let small = conns.iter().flat_map(|&conns| {
        depths.iter().map(move |&depth| Load {
            conns,
            depth,
            size: SMALL_MESSAGE,
        })
    });
    let large = large_conns.iter().flat_map(|&conns| {
        depths.iter().map(move |&depth| Load {
            conns,
            depth,
            size: LARGE_MESSAGE,
        })
    });
    small.chain(large).collect()
}

/// The settings of a matrix run.
pub struct Plan<'a> {
    /// The cells, in order.
    pub cells: &'a [Load],
    /// The servers, in the order they alternate.
    pub servers: &'a [Server],
    /// Rounds per cell.
    pub rounds: usize,
    /// The client's measured window.
    pub secs: Duration,
    /// Where the server and the client run, if pinned.
    pub pinning: Option<Pinning>,
}

/// Runs every cell of `plan`, printing a line per run, and returns every run in order.
pub fn run_all(plan: &Plan<'_>, layout: &Layout) -> Vec<Run> {
    let mut runs = Vec::new();
    let total = plan.cells.len() * plan.rounds * plan.servers.len();
    for &load in plan.cells {
        for round in 1..=plan.rounds {
            for &server in plan.servers {
                eprint!(
                    "[{}/{total}] {server:>7}  conns {:>5}  depth {:>2}  size {:>4}  round {round}: ",
                    runs.len() + 1,
                    load.conns,
                    load.depth,
                    load.size
                );
                let measurement = run_one(plan, server, layout, load);
                eprintln!("{}", summary(&measurement));
                runs.push(Run {
                    server,
                    load,
                    round,
                    measurement,
                });
                std::thread::sleep(PAUSE_BETWEEN_RUNS);
            }
        }
    }
    runs
}

/// Starts `server`, drives it with `load`, and stops it.
fn run_one(plan: &Plan<'_>, server: Server, layout: &Layout, load: Load) -> Measurement {
    let server_cpu = plan.pinning.map(|pinning| pinning.server);
    let client_cpu = plan.pinning.map(|pinning| pinning.client);
    let program = layout.server(server);
    let mut running = match RunningServer::start(server.name(), &program, SERVER_BUF, server_cpu) {
        Ok(running) => running,
        Err(e) => {
            eprintln!("\n{e}");
            return Measurement::failed(e.to_string());
        }
    };
    let measurement = load::drive(&layout.client(), &mut running, load, plan.secs, client_cpu);
    if let Err(e) = running.child.stop() {
        eprintln!("\ncannot stop {server}: {e}");
    }
    measurement
}

/// One line on how a run went, for the progress output.
fn summary(measurement: &Measurement) -> String {
    let mut line = match (measurement.msgs_per_sec, measurement.cpu_ns_per_msg) {
        (Some(rate), Some(cpu)) => format!("{rate:>10.0} msg/s  {cpu:>7.0} ns/msg"),
        (Some(rate), None) => format!("{rate:>10.0} msg/s"),
        _ => "failed".to_string(),
    };
    let counts = [
        ("stalled", measurement.stalled),
        ("errors", measurement.errors),
        ("mismatches", measurement.mismatches),
    ];
    for (what, count) in counts {
        if let Some(count @ 1..) = count {
            line.push_str(&format!("  {what} {count}"));
        }
    }
    if !measurement.note.is_empty() {
        line.push_str(&format!("  ({})", measurement.note));
    }
    line
}

/// Keeps one run per server per cell: the round with the highest message rate (see the
/// module docs for why); a run without a rate ranks below any with one. The result follows
/// the cells' order, then the servers' order.
pub fn best_rounds(runs: &[Run], plan: &Plan<'_>) -> Vec<Run> {
    let mut kept = Vec::new();
    for &load in plan.cells {
        for &server in plan.servers {
            let best = runs
                .iter()
                .filter(|run| run.load == load && run.server == server)
                .max_by(|a, b| {
                    let rate = |run: &Run| run.measurement.msgs_per_sec.unwrap_or(-1.0);
                    rate(a).total_cmp(&rate(b))
                });
            if let Some(best) = best {
                kept.push(best.clone());
            }
        }
    }
    kept
}
