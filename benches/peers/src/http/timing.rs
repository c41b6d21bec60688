//! The wrk matrix: every connection count, every round, every server in turn.

use std::io;
use std::time::Duration;

use super::{Layout, Options, Server, start, wrk};
use crate::process::Pinning;
use crate::procfs;

/// How long a server may take to print its address.
const STARTUP: Duration = Duration::from_secs(10);

/// One measured run.
#[derive(Clone, Debug)]
pub struct Row {
    /// Which server.
    pub server: Server,
    /// wrk's connections.
    pub conns: usize,
    /// Which round (0-based).
    pub round: usize,
    /// What wrk reported.
    pub wrk: wrk::Report,
    /// The server's CPU time (user + system) over the measured run, in microseconds.
    pub cpu_us: f64,
}

impl Row {
    /// Server CPU microseconds per request.
    pub fn cpu_per_request_us(&self) -> f64 {
        self.cpu_us / self.wrk.requests.max(1) as f64
    }
}

/// Runs the matrix; a run that fails ends the bench with its error (a bench with holes in
/// it would compare nothing).
pub fn run(layout: &Layout, options: &Options, pinning: Option<Pinning>) -> io::Result<Vec<Row>> {
    let tick_us = procfs::clock_tick()?.as_secs_f64() * 1e6;
    let server_cpu = pinning.map(|pinning| pinning.server);
    let client_cpu = pinning.map(|pinning| pinning.client);
    let mut rows = Vec::new();
    for &conns in &options.conns {
        for round in 0..options.rounds {
            // Rotated each round, so no server always runs first (or last) in a cell.
            let mut order = Server::ALL;
            order.rotate_left(round % Server::ALL.len());
            for server in order {
                let running = start(server, &server.program(layout), None, server_cpu, STARTUP)?;
                let pid = running.child.pid();
                wrk::run(running.addr, conns, options.warmup, client_cpu)?;
                let before = procfs::stat(pid)?;
                let report = wrk::run(running.addr, conns, options.secs, client_cpu)?;
                let after = procfs::stat(pid)?;
                drop(running);
                let row = Row {
                    server,
                    conns,
                    round,
                    wrk: report,
                    cpu_us: (after.cpu_ticks - before.cpu_ticks) as f64 * tick_us,
                };
                eprintln!(
                    "http-bench: {:>12} {conns:>4} conns, round {}: {:>8.0} req/s, p50 {:.0} µs, \
                     p99 {:.0} µs, {} errors, {:.2} µs CPU/request",
                    server.name(),
                    round + 1,
                    row.wrk.per_sec,
                    row.wrk.p50_us,
                    row.wrk.p99_us,
                    row.wrk.errors,
                    row.cpu_per_request_us()
                );
                rows.push(row);
            }
        }
    }
    Ok(rows)
}
