//! Issue 3's targets for the echo benchmark, checked against one run's figures.
//!
//! They are printed and written to the report, pass or fail, and never asserted: a benchmark
//! on a shared machine is evidence to read, not a test to gate on.

use std::fmt;

use super::idle::IdleMemory;
use super::load::Load;
use super::matrix::{Run, SMALL_MESSAGE};
use super::servers::Server;

/// The connection counts at which evloop's CPU per message is held against mio's.
const CPU_CHECK_CONNS: [usize; 3] = [100, 1000, 10_000];

/// The depth of those checks: with 16 messages in flight the server, not the round trip,
/// sets the pace, so its cost per message shows.
const CPU_CHECK_DEPTH: usize = 16;

/// evloop's CPU per message may be at most this many times mio's.
const CPU_RATIO_LIMIT: f64 = 1.00;

/// The connection count at which no connection may stall.
const STALL_CHECK_CONNS: usize = 10_000;

/// The most resident bytes an idle connection may cost beyond its buffer.
pub const IDLE_BYTES_LIMIT: f64 = 250.0;

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The figures meet the target.
    Pass,
    /// They do not.
    Fail,
    /// A figure it needs was not measured (the cell was not run, or the run failed).
    Missing,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Missing => "not measured",
        })
    }
}

/// One target checked against one cell (or the memory probe).
#[derive(Clone, Debug)]
pub struct Check {
    /// The target, in words.
    pub target: String,
    /// Which figures it was checked on.
    pub scope: String,
    /// The figures it compared.
    pub detail: String,
    /// Pass, fail, or not measured.
    pub verdict: Verdict,
}

/// Checks every target that the figures allow: those whose cells were not part of the run
/// come out as [`Verdict::Missing`] rather than being left out, so a report never looks
/// complete when it is not.
pub fn check(kept: &[Run], idle: &[IdleMemory]) -> Vec<Check> {
    let mut checks = Vec::new();
    let find = |server: Server, load: Load| {
        kept.iter()
            .find(|run| run.server == server && run.load == load)
            .map(|run| &run.measurement)
    };

    for conns in CPU_CHECK_CONNS {
        let load = Load {
            conns,
            depth: CPU_CHECK_DEPTH,
            size: SMALL_MESSAGE,
        };
        let evloop = find(Server::Evloop, load).and_then(|m| m.cpu_ns_per_msg);
        let mio = find(Server::Mio, load).and_then(|m| m.cpu_ns_per_msg);
        let (verdict, detail) = match (evloop, mio) {
            (Some(evloop), Some(mio)) => (
                verdict(evloop <= CPU_RATIO_LIMIT * mio),
                format!(
                    "evloop {evloop:.0} ns, mio {mio:.0} ns: {:.2}×",
                    evloop / mio
                ),
            ),
            _ => (
                Verdict::Missing,
                format!("evloop {} ns, mio {} ns", show_f(evloop), show_f(mio)),
            ),
        };
        checks.push(Check {
            target: format!("server CPU per message, evloop ≤ {CPU_RATIO_LIMIT:.2}× mio"),
            scope: cell_name(load),
            detail,
            verdict,
        });
    }

    let cells = kept
        .iter()
        .filter(|run| run.server == Server::Evloop)
        .map(|run| run.load);
    for load in cells {
        let evloop = find(Server::Evloop, load).and_then(|m| m.msgs_per_sec);
        let tokio = find(Server::Tokio, load).and_then(|m| m.msgs_per_sec);
        let (verdict, detail) = match (evloop, tokio) {
            (Some(evloop), Some(tokio)) => (
                verdict(evloop >= tokio),
                format!(
                    "evloop {evloop:.0}/s, tokio {tokio:.0}/s: {:.2}×",
                    evloop / tokio
                ),
            ),
            _ => (
                Verdict::Missing,
                format!("evloop {}, tokio {}", rate(evloop), rate(tokio)),
            ),
        };
        checks.push(Check {
            target: "throughput, evloop ≥ tokio".to_string(),
            scope: cell_name(load),
            detail,
            verdict,
        });
    }
    if !kept.iter().any(|run| run.server == Server::Evloop) {
        checks.push(missing("throughput, evloop ≥ tokio", "every cell"));
    }

    let at_stall_check = kept
        .iter()
        .filter(|run| run.server == Server::Evloop && run.load.conns == STALL_CHECK_CONNS);
    let mut any = false;
    for run in at_stall_check {
        any = true;
        let m = &run.measurement;
        let (verdict, detail) = match m.stalled {
            Some(stalled) => (
                verdict(stalled == 0),
                format!(
                    "stalled {stalled}, errors {}, connected {}",
                    show(m.errors),
                    show(m.connected)
                ),
            ),
            None => (Verdict::Missing, m.note.clone()),
        };
        checks.push(Check {
            target: format!("no stalled connection at {STALL_CHECK_CONNS} connections (evloop)"),
            scope: cell_name(run.load),
            detail,
            verdict,
        });
    }
    if !any {
        checks.push(missing(
            &format!("no stalled connection at {STALL_CHECK_CONNS} connections (evloop)"),
            &format!("{STALL_CHECK_CONNS} connections"),
        ));
    }

    let target =
        format!("≤ {IDLE_BYTES_LIMIT:.0} B per idle connection beyond the buffer (evloop)");
    match idle.iter().find(|probe| probe.server == Server::Evloop) {
        Some(probe) => {
            let (verdict, detail) = match probe.beyond_buffer() {
                Some(bytes) => (
                    verdict(bytes <= IDLE_BYTES_LIMIT),
                    format!("{bytes:.0} B ({} connections held)", probe.held),
                ),
                None => (Verdict::Missing, probe.note.clone()),
            };
            checks.push(Check {
                target,
                scope: format!("{} idle connections", probe.wanted),
                detail,
                verdict,
            });
        }
        None => checks.push(missing(&target, "idle-memory probe")),
    }
    checks
}

fn verdict(pass: bool) -> Verdict {
    if pass { Verdict::Pass } else { Verdict::Fail }
}

fn missing(target: &str, scope: &str) -> Check {
    Check {
        target: target.to_string(),
        scope: scope.to_string(),
        detail: "not part of this run".to_string(),
        verdict: Verdict::Missing,
    }
}

fn show_f(figure: Option<f64>) -> String {
    figure.map_or_else(|| "–".to_string(), |figure| format!("{figure:.0}"))
}

fn show(count: Option<u64>) -> String {
    count.map_or_else(|| "?".to_string(), |count| count.to_string())
}

/// A cell's name in reports: `100 conns, depth 16, 64 B`.
pub fn cell_name(load: Load) -> String {
    format!(
        "{} conns, depth {}, {} B",
        load.conns, load.depth, load.size
    )
}

/// A measured rate for a report line, or "not measured".
fn rate(msgs_per_sec: Option<f64>) -> String {
    match msgs_per_sec {
        Some(rate) => format!("{rate:.0}/s"),
        None => "not measured".to_string(),
    }
}
