//! Writing the results: CSV for tools, markdown for people, SVG charts for both.
//!
//! Files written to the output directory:
//!
//! - `echo.csv`: one row per server per cell, the kept (best) round;
//! - `echo-rounds.csv`: every round of every server in every cell, in the order they ran;
//! - `idle-memory.csv`: one row per server from the idle-memory probe;
//! - `echo.md`: the machine, the settings, the targets, the tables, and links to the charts;
//! - `throughput.svg`, `cpu-per-msg.svg` (64-byte cells, one panel per depth, log x) and
//!   `idle-memory.svg` (bytes per idle connection beyond the buffer, one bar per server).

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use super::idle::IdleMemory;
use super::load::Measurement;
use super::machine::Machine;
use super::matrix::{Run, SMALL_MESSAGE};
use super::servers::{SERVER_BUF, Server};
use super::svg::{self, Bar, BarChart, LineChart, Panel, Series};
use super::targets::{Check, IDLE_BYTES_LIMIT as IDLE_TARGET_BYTES, cell_name};
use super::udp::UdpRate;

/// Everything a report is made of.
pub struct Report<'a> {
    /// The command line that produced it, as the user would type it again.
    pub command: String,
    /// The machine it ran on.
    pub machine: &'a Machine,
    /// How the server and the client were placed, in words.
    pub pinning: String,
    /// The client's window per run, in seconds.
    pub secs: f64,
    /// Rounds per server per cell.
    pub rounds: usize,
    /// The servers, in their order.
    pub servers: &'a [Server],
    /// Every run.
    pub runs: &'a [Run],
    /// The kept run per server per cell.
    pub kept: &'a [Run],
    /// The idle-memory probes (empty if skipped).
    pub idle: &'a [IdleMemory],
    /// The `udp-echo` round-trip rate, or why there is none.
    pub udp: &'a Result<UdpRate, String>,
    /// The targets checked.
    pub checks: &'a [Check],
}

/// Writes every file of the report into `dir`, creating it if needed.
pub fn write_all(report: &Report<'_>, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join("echo.csv"), runs_csv(report.kept, false))?;
    fs::write(dir.join("echo-rounds.csv"), runs_csv(report.runs, true))?;
    fs::write(dir.join("idle-memory.csv"), idle_csv(report.idle))?;
    fs::write(dir.join("echo.md"), markdown(report))?;
    let small: Vec<&Run> = report
        .kept
        .iter()
        .filter(|run| run.load.size == SMALL_MESSAGE)
        .collect();
    let throughput = per_depth_chart(
        "Echo throughput, 64-byte messages",
        "messages per second",
        &small,
        |m| m.msgs_per_sec,
    );
    fs::write(dir.join("throughput.svg"), svg::line_chart(&throughput))?;
    let cpu = per_depth_chart(
        "Server CPU time per message, 64-byte messages",
        "server CPU ns per message",
        &small,
        |m| m.cpu_ns_per_msg,
    );
    fs::write(dir.join("cpu-per-msg.svg"), svg::line_chart(&cpu))?;
    if !report.idle.is_empty() {
        fs::write(
            dir.join("idle-memory.svg"),
            svg::bar_chart(&idle_chart(report.idle)),
        )?;
    }
    Ok(())
}

/// Colour and dash pattern of a server in every chart.
fn style(server: Server) -> (&'static str, &'static str) {
    match server {
        Server::Evloop => ("#1f5fbf", ""),
        Server::Threads => ("#8c8c8c", "7 4"),
        Server::Tokio => ("#d0352b", "2 3"),
        Server::Mio => ("#2a9d3a", "10 3 2 3"),
    }
}

/// A line chart with one panel per depth, one line per server, connections on x.
fn per_depth_chart(
    title: &str,
    y_label: &str,
    runs: &[&Run],
    figure: impl Fn(&Measurement) -> Option<f64>,
) -> LineChart {
    let mut depths: Vec<usize> = runs.iter().map(|run| run.load.depth).collect();
    depths.sort_unstable();
    depths.dedup();
    let mut servers: Vec<Server> = runs.iter().map(|run| run.server).collect();
    servers.sort_unstable();
    servers.dedup();
    let panels = depths
        .iter()
        .map(|&depth| Panel {
            title: format!("depth {depth} (messages in flight per connection)"),
            series: servers
                .iter()
                .map(|&server| {
                    let (color, dash) = style(server);
                    Series {
                        name: server.name().to_string(),
                        color,
                        dash,
                        points: runs
                            .iter()
                            .filter(|run| run.server == server && run.load.depth == depth)
                            .filter_map(|run| {
                                Some((run.load.conns as f64, figure(&run.measurement)?))
                            })
                            .collect(),
                    }
                })
                .collect(),
        })
        .collect();
    LineChart {
        title: title.to_string(),
        x_label: "connections (log scale)".to_string(),
        y_label: y_label.to_string(),
        panels,
    }
}

/// The bar chart of bytes per idle connection beyond the buffer.
fn idle_chart(idle: &[IdleMemory]) -> BarChart {
    let conns = idle.first().map_or(0, |probe| probe.wanted);
    BarChart {
        title: format!(
            "Resident bytes per idle connection beyond the {SERVER_BUF} B buffer ({conns} held)"
        ),
        y_label: "bytes per connection".to_string(),
        bars: idle
            .iter()
            .filter_map(|probe| {
                Some(Bar {
                    label: probe.server.name().to_string(),
                    value: probe.beyond_buffer()?,
                    color: style(probe.server).0,
                })
            })
            .collect(),
        threshold: Some((
            IDLE_TARGET_BYTES,
            format!("target for evloop: at most {IDLE_TARGET_BYTES:.0} B"),
        )),
        unit: "B",
    }
}

/// The header of `echo.csv` and `echo-rounds.csv` (the latter with `round` added).
const RUN_COLUMNS: &str = "server,conns,depth,size,msgs_per_sec,p50_us,p99_us,p999_us,\
                           server_cpu_s,cpu_ns_per_msg,stalled,errors,mismatches,threads,\
                           connected,messages";

fn runs_csv(runs: &[Run], with_round: bool) -> String {
    let mut csv = String::from(RUN_COLUMNS);
    csv.push_str(if with_round {
        ",round,note\n"
    } else {
        ",note\n"
    });
    for run in runs {
        let m = &run.measurement;
        let mut fields = vec![
            run.server.name().to_string(),
            run.load.conns.to_string(),
            run.load.depth.to_string(),
            run.load.size.to_string(),
            opt(m.msgs_per_sec, 0),
            opt_int(m.p50_us),
            opt_int(m.p99_us),
            opt_int(m.p999_us),
            opt(m.server_cpu_s, 2),
            opt(m.cpu_ns_per_msg, 1),
            opt_int(m.stalled),
            opt_int(m.errors),
            opt_int(m.mismatches),
            opt_int(m.threads),
            opt_int(m.connected),
            opt_int(m.messages),
        ];
        if with_round {
            fields.push(run.round.to_string());
        }
        fields.push(csv_text(&m.note));
        csv.push_str(&fields.join(","));
        csv.push('\n');
    }
    csv
}

fn idle_csv(idle: &[IdleMemory]) -> String {
    let mut csv = String::from(
        "server,conns_wanted,conns_held,rss_before_bytes,rss_after_bytes,bytes_per_conn,\
         buffer_bytes,beyond_buffer_bytes,threads,note\n",
    );
    for probe in idle {
        let fields = [
            probe.server.name().to_string(),
            probe.wanted.to_string(),
            probe.held.to_string(),
            opt_int(probe.rss_before),
            opt_int(probe.rss_after),
            opt(probe.per_conn(), 1),
            SERVER_BUF.to_string(),
            opt(probe.beyond_buffer(), 1),
            opt_int(probe.threads),
            csv_text(&probe.note),
        ];
        csv.push_str(&fields.join(","));
        csv.push('\n');
    }
    csv
}

/// A number with `decimals` decimals, or an empty field.
fn opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(String::new, |value| format!("{value:.decimals$}"))
}

fn opt_int(value: Option<u64>) -> String {
    value.map_or_else(String::new, |value| value.to_string())
}

/// A text field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_text(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The whole of `echo.md`.
pub fn markdown(report: &Report<'_>) -> String {
    let mut md = String::new();
    let machine = report.machine;
    let _ = writeln!(md, "# Echo benchmark\n");
    let _ = writeln!(
        md,
        "Produced by `{}` on {}.\n",
        report.command, machine.date
    );
    let _ = writeln!(md, "## Machine and settings\n");
    let _ = writeln!(
        md,
        "- CPU: {}, {} logical CPUs",
        machine.cpu_model, machine.cpus
    );
    let _ = writeln!(md, "- Kernel: {}", machine.kernel);
    let _ = writeln!(md, "- Placement: {}", report.pinning);
    let _ = writeln!(
        md,
        "- Each run: a fresh server with `--buf {SERVER_BUF}`, then `echo-client` for {} s; \
         servers alternate inside each cell, {} round(s); the round with the highest message \
         rate is kept (interference only slows a run, so the best round is the least \
         disturbed); every round is in `echo-rounds.csv`.",
        report.secs, report.rounds
    );
    let _ = writeln!(md, "- Servers:");
    for server in report.servers {
        let _ = writeln!(md, "  - **{server}**: {}", server.describe());
    }
    md.push('\n');

    md.push_str(&targets_markdown(report.checks));

    let _ = writeln!(md, "\n## Results\n");
    let _ = writeln!(
        md,
        "Latency is the client's round trip (p50/p99 over all messages); server CPU is user + \
         system time over the client's measured window, and CPU ns/msg divides it by the \
         messages echoed in that window. Threads is the most the server had during the run.\n"
    );
    md.push_str(&results_table(report.kept));
    let notes: Vec<&Run> = report
        .runs
        .iter()
        .filter(|run| !run.measurement.note.is_empty())
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(md, "\nRuns with something to report (all rounds):\n");
        for run in notes {
            let _ = writeln!(
                md,
                "- {} at {}, round {}: {}",
                run.server,
                cell_name(run.load),
                run.round,
                run.measurement.note.replace('\n', " ")
            );
        }
    }

    if !report.idle.is_empty() {
        let _ = writeln!(md, "\n## Idle connections\n");
        let _ = writeln!(
            md,
            "Resident memory (`VmRSS`) before and after the driver opened the connections; each \
             connection first echoed one full {SERVER_BUF}-byte buffer, so every server holds its \
             buffer resident, then stayed idle.\n"
        );
        md.push_str(&idle_table(report.idle));
    }

    let _ = writeln!(md, "\n## UDP echo\n");
    let _ = writeln!(
        md,
        "`udp-echo` (example, `--buf {SERVER_BUF}`) pinned like the servers above; a client in \
         the driver sends one datagram, waits for its echo and sends the next (how and why: \
         `benches/peers/src/driver/udp.rs`).\n"
    );
    let _ = writeln!(md, "{}", udp_line(report.udp));

    let _ = writeln!(md, "\n## Charts\n");
    let _ = writeln!(md, "![throughput](throughput.svg)\n");
    let _ = writeln!(md, "![server CPU per message](cpu-per-msg.svg)\n");
    if !report.idle.is_empty() {
        let _ = writeln!(md, "![memory per idle connection](idle-memory.svg)");
    }
    md
}

/// The one line the report gives `udp-echo`.
pub fn udp_line(udp: &Result<UdpRate, String>) -> String {
    match udp {
        Ok(rate) => format!("- **udp-echo**: {rate}"),
        Err(why) => format!("- **udp-echo**: not measured: {why}"),
    }
}

/// The targets as a markdown section (also printed at the end of a run).
pub fn targets_markdown(checks: &[Check]) -> String {
    let mut md = String::from("## Targets\n\n");
    md.push_str("| target | where | figures | verdict |\n|---|---|---|---|\n");
    for check in checks {
        let _ = writeln!(
            md,
            "| {} | {} | {} | **{}** |",
            check.target, check.scope, check.detail, check.verdict
        );
    }
    md
}

/// The kept runs as one markdown table, a block of rows per cell.
pub fn results_table(kept: &[Run]) -> String {
    let mut md = String::from(
        "| conns | depth | size | server | messages/s | p50 µs | p99 µs | server CPU s | \
         CPU ns/msg | stalled | errors | mismatches | threads |\n\
         |---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for run in kept {
        let m = &run.measurement;
        let dash = |text: String| {
            if text.is_empty() {
                "–".to_string()
            } else {
                text
            }
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            run.load.conns,
            run.load.depth,
            run.load.size,
            run.server,
            dash(opt(m.msgs_per_sec, 0)),
            dash(opt_int(m.p50_us)),
            dash(opt_int(m.p99_us)),
            dash(opt(m.server_cpu_s, 2)),
            dash(opt(m.cpu_ns_per_msg, 0)),
            dash(opt_int(m.stalled)),
            dash(opt_int(m.errors)),
            dash(opt_int(m.mismatches)),
            dash(opt_int(m.threads)),
        );
    }
    md
}

/// The idle-memory probes as a markdown table.
pub fn idle_table(idle: &[IdleMemory]) -> String {
    let mut md = format!(
        "| server | connections held | RSS before | RSS after | per connection | beyond the \
         {SERVER_BUF} B buffer | threads | note |\n|---|---:|---:|---:|---:|---:|---:|---|\n"
    );
    let mib = |bytes: Option<u64>| {
        bytes.map_or_else(
            || "–".to_string(),
            |b| format!("{:.1} MiB", b as f64 / 1048576.0),
        )
    };
    let bytes = |value: Option<f64>| value.map_or_else(|| "–".to_string(), |b| format!("{b:.0} B"));
    for probe in idle {
        let _ = writeln!(
            md,
            "| {} | {} / {} | {} | {} | {} | {} | {} | {} |",
            probe.server,
            probe.held,
            probe.wanted,
            mib(probe.rss_before),
            mib(probe.rss_after),
            bytes(probe.per_conn()),
            bytes(probe.beyond_buffer()),
            opt_int(probe.threads),
            probe.note.replace('\n', " ").replace('|', "/"),
        );
    }
    md
}
