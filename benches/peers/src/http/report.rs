//! `http.csv`, `http-instr.csv`, `http.md`, `http-cpu.svg` and `http-instr.svg`.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::time::Duration;

use super::instr::{Count, LOADS};
use super::timing::Row;
use super::{Options, Server};
use crate::machine::Machine;
use crate::svg::{self, Bar, BarChart};

/// The bound on instructions per request at 10 and 100 connections.
const INSTRUCTION_TARGET: f64 = 4000.0;

/// Writes every file for what was measured, and prints the markdown.
pub fn write(
    options: &Options,
    timings: Option<&(Vec<Row>, String)>,
    counts: Option<&[Count]>,
    command: &str,
    took: Duration,
) -> io::Result<()> {
    fs::create_dir_all(&options.out)?;
    let machine = Machine::describe();
    let mut md = String::from("# HTTP: hyper on evloop, hyper on tokio, and mio by hand\n\n");
    let _ = writeln!(
        md,
        "Measured {} on {} ({} CPUs), Linux {}, with `{command}` ({:.0} s).\n",
        machine.date,
        machine.cpu_model,
        machine.cpus,
        machine.kernel,
        took.as_secs_f64()
    );
    for server in Server::ALL {
        let _ = writeln!(md, "- **{}**: {}", server.name(), server.describe());
    }
    md.push('\n');
    if let Some((rows, wrk_version)) = timings {
        fs::write(options.out.join("http.csv"), timing_csv(rows))?;
        fs::write(options.out.join("http-cpu.svg"), cpu_chart(rows, options))?;
        timing_markdown(&mut md, rows, options, wrk_version);
    }
    if let Some(counts) = counts {
        fs::write(options.out.join("http-instr.csv"), instr_csv(counts))?;
        fs::write(options.out.join("http-instr.svg"), instr_chart(counts))?;
        instr_markdown(&mut md, counts);
    }
    fs::write(options.out.join("http.md"), &md)?;
    print!("\n{md}");
    eprintln!("wrote the results to {}", options.out.display());
    Ok(())
}

fn timing_csv(rows: &[Row]) -> String {
    let mut csv = String::from(
        "server,conns,round,requests,requests_per_sec,p50_us,p99_us,errors,server_cpu_us,\
         cpu_us_per_request\n",
    );
    for row in rows {
        let _ = writeln!(
            csv,
            "{},{},{},{},{:.0},{:.1},{:.1},{},{:.0},{:.3}",
            row.server.name(),
            row.conns,
            row.round + 1,
            row.wrk.requests,
            row.wrk.per_sec,
            row.wrk.p50_us,
            row.wrk.p99_us,
            row.wrk.errors,
            row.cpu_us,
            row.cpu_per_request_us()
        );
    }
    csv
}

/// The rounds of one server at one connection count, averaged (errors summed).
struct Cell {
    per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    errors: u64,
    cpu_per_request_us: f64,
}

fn cell(rows: &[Row], server: Server, conns: usize) -> Option<Cell> {
    let runs: Vec<&Row> = rows
        .iter()
        .filter(|row| row.server == server && row.conns == conns)
        .collect();
    if runs.is_empty() {
        return None;
    }
    let n = runs.len() as f64;
    let mean = |f: &dyn Fn(&Row) -> f64| runs.iter().map(|row| f(row)).sum::<f64>() / n;
    Some(Cell {
        per_sec: mean(&|row| row.wrk.per_sec),
        p50_us: mean(&|row| row.wrk.p50_us),
        p99_us: mean(&|row| row.wrk.p99_us),
        errors: runs.iter().map(|row| row.wrk.errors).sum(),
        cpu_per_request_us: mean(&|row| row.cpu_per_request_us()),
    })
}

fn timing_markdown(md: &mut String, rows: &[Row], options: &Options, wrk_version: &str) {
    let _ = writeln!(
        md,
        "## Timings under `wrk`\n\n`{wrk_version}`, `wrk -t1 -cN -d{}s --latency` after a {} s \
         warm-up, server and wrk pinned to different CPUs, servers alternated inside each \
         cell, {} rounds averaged (errors summed). Server CPU is user + system time from \
         `/proc/PID/stat` over the measured run, per request wrk counted.\n",
        options.secs, options.warmup, options.rounds
    );
    md.push_str(
        "| conns | server | requests/s | p50 µs | p99 µs | errors | server CPU µs/request |\n\
         |---:|---|---:|---:|---:|---:|---:|\n",
    );
    for &conns in &options.conns {
        for server in Server::ALL {
            if let Some(cell) = cell(rows, server, conns) {
                let _ = writeln!(
                    md,
                    "| {conns} | {} | {:.0} | {:.0} | {:.0} | {} | {:.2} |",
                    server.name(),
                    cell.per_sec,
                    cell.p50_us,
                    cell.p99_us,
                    cell.errors,
                    cell.cpu_per_request_us
                );
            }
        }
    }
    md.push_str("\nTargets (same run):\n\n");
    let errors: u64 = rows.iter().map(|row| row.wrk.errors).sum();
    let _ = writeln!(
        md,
        "- zero errors: **{}** ({errors} in all)",
        if errors == 0 { "met" } else { "missed" }
    );
    for &conns in &options.conns {
        if let (Some(evloop), Some(tokio)) = (
            cell(rows, Server::Evloop, conns),
            cell(rows, Server::Tokio, conns),
        ) {
            let met = evloop.cpu_per_request_us < tokio.cpu_per_request_us;
            let _ = writeln!(
                md,
                "- {conns} connections, server CPU per request below hyper on tokio's: **{}** \
                 ({:.2} vs {:.2} µs)",
                if met { "met" } else { "missed" },
                evloop.cpu_per_request_us,
                tokio.cpu_per_request_us
            );
        }
    }
    md.push_str("\n![server CPU per request](http-cpu.svg)\n\n");
}

fn cpu_chart(rows: &[Row], options: &Options) -> String {
    let mut bars = Vec::new();
    for &conns in &options.conns {
        for server in Server::ALL {
            if let Some(cell) = cell(rows, server, conns) {
                bars.push(Bar {
                    label: format!("{} {conns}c", server.name()),
                    value: cell.cpu_per_request_us,
                    color: server.color(),
                });
            }
        }
    }
    svg::bar_chart(&BarChart {
        title: "Server CPU per request under wrk (lower is better)".to_string(),
        y_label: "µs per request".to_string(),
        bars,
        threshold: None,
        unit: " µs",
    })
}

fn instr_csv(counts: &[Count]) -> String {
    let mut csv = String::from(
        "server,conns,load1_requests,load2_requests,load1_instructions,load2_instructions,\
         instructions_per_request,hyper,runtime,std,other\n",
    );
    for count in counts {
        let group = |name: &str| count.by_group.get(name).copied().unwrap_or(0.0);
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{:.0},{:.0},{:.0},{:.0},{:.0}",
            count.server.name(),
            count.conns,
            LOADS[0],
            LOADS[1],
            count.instructions[0],
            count.instructions[1],
            count.per_request,
            group("hyper"),
            group("runtime"),
            group("std"),
            group("other")
        );
    }
    csv
}

fn instr_markdown(md: &mut String, counts: &[Count]) {
    let _ = writeln!(
        md,
        "## User-space instructions per request (callgrind)\n\n\
         Each server under `valgrind --tool=callgrind`; a client sends {} and then {} \
         keep-alive `GET /` requests spread over N connections (one after the other on each), \
         the profile dumped after each load; the difference over the {} extra requests \
         leaves the per-request work. Grouped by the crate of each function: `hyper` (hyper, \
         http, httparse, bytes), `runtime` (evloop, tokio, mio, slab), `std` (std, core, \
         alloc and the C library: allocator, `memcpy`, syscall wrappers), `other` (the \
         server's own code).\n",
        LOADS[0],
        LOADS[1],
        LOADS[1] - LOADS[0]
    );
    md.push_str(
        "| conns | server | instructions/request | hyper | runtime | std + libc | other |\n\
         |---:|---|---:|---:|---:|---:|---:|\n",
    );
    for count in counts {
        let group = |name: &str| count.by_group.get(name).copied().unwrap_or(0.0);
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            count.conns,
            count.server.name(),
            count.per_request,
            group("hyper"),
            group("runtime"),
            group("std"),
            group("other")
        );
    }
    md.push_str("\nTarget: at most 4,000 instructions per request for hyper on evloop:\n\n");
    for count in counts.iter().filter(|count| count.server == Server::Evloop) {
        let _ = writeln!(
            md,
            "- {} connections: **{}** ({:.0})",
            count.conns,
            if count.per_request <= INSTRUCTION_TARGET {
                "met"
            } else {
                "missed"
            },
            count.per_request
        );
    }
    if let Some(count) = counts.iter().find(|count| count.server == Server::Evloop) {
        let _ = writeln!(
            md,
            "\nThe top functions of hyper on evloop at {} connections, instructions per \
             request (self cost):\n\n| function | instructions |\n|---|---:|",
            count.conns
        );
        for (name, per) in &count.top {
            let _ = writeln!(md, "| `{}` | {per:.0} |", name.replace('|', "\\|"));
        }
    }
    md.push_str("\n![instructions per request](http-instr.svg)\n");
}

fn instr_chart(counts: &[Count]) -> String {
    let bars = counts
        .iter()
        .map(|count| Bar {
            label: format!("{} {}c", count.server.name(), count.conns),
            value: count.per_request,
            color: count.server.color(),
        })
        .collect();
    svg::bar_chart(&BarChart {
        title: "User-space instructions per keep-alive GET (callgrind)".to_string(),
        y_label: "instructions per request".to_string(),
        bars,
        threshold: Some((INSTRUCTION_TARGET, "target: 4,000".to_string())),
        unit: "",
    })
}
