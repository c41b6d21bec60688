//! The echo benchmark driver: one command that builds evloop's two echo servers and the tokio
//! and mio peers, drives each with the same `echo-client` over a matrix of connections and
//! pipelining depths, measures each server's CPU time, threads and idle memory, and writes the
//! results to `benches/results/` as CSV, markdown and SVG charts.
//!
//! ```text
//! cargo run --release -p evloop-peers --bin echo-bench                 # the full matrix
//! cargo run --release -p evloop-peers --bin echo-bench -- --quick      # a smoke test
//! cargo run --release -p evloop-peers --bin echo-bench -- --servers evloop,threads --conns 1,100
//! cargo run --release -p evloop-peers --bin echo-bench -- micro        # criterion table
//! cargo run --release -p evloop-peers --bin echo-bench -- instr        # callgrind counts
//! cargo run --release -p evloop-peers --bin echo-bench -- instr --servers evloop --cells 1x1
//! ```
//!
//! Every server gets `--buf 4096` and runs pinned to one CPU, the client to another; inside
//! each cell the servers alternate, round after round, and each run starts a fresh server.
//! `--help` lists the flags; `src/driver/` holds the parts, each documenting what it measures
//! and how.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use std::env;
use std::io;
use std::process::ExitCode;

#[path = "../driver/mod.rs"]
mod driver;

// The examples' own helper (through this crate), so the driver raises its limit as they do.
use evloop_peers::fd_limit;

use driver::cli::{self, Command, EchoOptions};
use driver::idle::{self, IdleMemory};
use driver::machine::Machine;
use driver::matrix::{self, Plan};
use driver::process::{self, Pinning};
use driver::report::{self, Report};
use driver::servers::Layout;
use driver::{instr, micro, targets, udp};

/// Descriptors the driver needs beside the idle probe's sockets: stdio, the pipes to its
/// children, with room to spare.
const FD_HEADROOM: u64 = 64;

fn main() -> ExitCode {
    let layout = match Layout::discover() {
        Ok(layout) => layout,
        Err(e) => {
            eprintln!("error: cannot find the workspace: {e}");
            return ExitCode::FAILURE;
        }
    };
    let results = layout.root.join("benches").join("results");
    let quick_results = layout.target.join("echo-bench-quick");
    let args: Vec<String> = env::args().skip(1).collect();
    let command = match cli::parse(args.clone(), &results, &quick_results) {
        Ok(command) => command,
        Err(problem) => {
            eprint!("error: {problem}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let outcome = match command {
        Command::Help => {
            print!("{}", cli::USAGE);
            Ok(())
        }
        Command::Micro(options) => micro::run(&layout, options.run, &options.out),
        Command::Instr(options) => {
            let command = format!(
                "cargo run --release -p evloop-peers --bin echo-bench -- {}",
                args.join(" ")
            );
            instr::run(&layout, &options, &command)
        }
        Command::Echo(options) => echo(&layout, &options, &args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Builds, runs the matrix and the idle probe, checks the targets, writes the report.
fn echo(layout: &Layout, options: &EchoOptions, args: &[String]) -> io::Result<()> {
    prepare_descriptors(options);
    if options.build {
        layout.build(&options.servers)?;
    }
    layout.check_built(&options.servers)?;
    let pinning = Pinning::choose()?;
    // Before any thread starts, so that all of the driver's threads inherit it.
    let driver = process::place_driver(pinning);
    let placement = match pinning {
        Some(Pinning { server, client, .. }) => format!(
            "every server pinned to CPU {server}, echo-client to CPU {client} \
             (sched_setaffinity); {driver}"
        ),
        None => format!("not pinned: fewer than two CPUs are available; {driver}"),
    };
    eprintln!("placement: {placement}");
    let machine = Machine::describe();

    let cells = matrix::cells(&options.conns, &options.depths, &options.large_conns);
    let plan = Plan {
        cells: &cells,
        servers: &options.servers,
        rounds: options.rounds,
        secs: options.secs,
        pinning,
    };
    let runs = matrix::run_all(&plan, layout);
    let kept = matrix::best_rounds(&runs, &plan);

    let mut idle: Vec<IdleMemory> = Vec::new();
    if options.idle_conns > 0 {
        for &server in &options.servers {
            eprint!(
                "idle memory: {server}, {} connections: ",
                options.idle_conns
            );
            let cpu = pinning.map(|pinning| pinning.server);
            let probe = idle::probe(server, layout, options.idle_conns, cpu);
            match probe.beyond_buffer() {
                Some(bytes) => eprintln!("{bytes:.0} B beyond the buffer"),
                None => eprintln!("failed: {}", probe.note),
            }
            idle.push(probe);
        }
    }

    eprint!("udp-echo: ");
    let udp = udp::measure(layout, options.secs, pinning.map(|pinning| pinning.server))
        .map_err(|e| e.to_string());
    match &udp {
        Ok(rate) => eprintln!("{rate}"),
        Err(why) => eprintln!("failed: {why}"),
    }

    let checks = targets::check(&kept, &idle);
    let mut command = "cargo run --release -p evloop-peers --bin echo-bench".to_string();
    if !args.is_empty() {
        command = format!("{command} -- {}", args.join(" "));
    }
    let report = Report {
        command,
        machine: &machine,
        pinning: placement,
        secs: options.secs.as_secs_f64(),
        rounds: options.rounds,
        servers: &options.servers,
        runs: &runs,
        kept: &kept,
        idle: &idle,
        udp: &udp,
        checks: &checks,
    };
    report::write_all(&report, &options.out)?;

    println!("\n{}", report::results_table(&kept));
    if !idle.is_empty() {
        println!("{}", report::idle_table(&idle));
    }
    println!("{}\n", report::udp_line(&udp));
    println!("{}", report::targets_markdown(&checks));
    println!(
        "wrote echo.csv, echo-rounds.csv, idle-memory.csv, echo.md and the charts to {}",
        options.out.display()
    );
    Ok(())
}

/// Raises the driver's own descriptor limit for the idle probe's connections, and warns when
/// the hard limit is too low for the largest cell (the client and the servers raise their own
/// limits up to the same hard limit, so they would fail too).
fn prepare_descriptors(options: &EchoOptions) {
    let most_conns = options
        .conns
        .iter()
        .chain(&options.large_conns)
        .chain([&options.idle_conns])
        .copied()
        .max()
        .unwrap_or(0) as u64;
    let wanted = most_conns + FD_HEADROOM;
    match fd_limit::raise_nofile_limit(wanted) {
        Ok(limit) if limit < wanted => eprintln!(
            "warning: {most_conns} connections need about {wanted} descriptors per process, but \
             the hard limit is {limit}: the largest cells will record errors (raise `ulimit -Hn`)"
        ),
        Ok(_) => {}
        Err(e) => eprintln!("warning: cannot read or raise the descriptor limit: {e}"),
    }
}
