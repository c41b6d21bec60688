//! The micro-benchmark table: evloop's criterion figures beside tokio's and the
//! project's performance targets, read from what `cargo bench` left behind.
//!
//! Criterion writes each benchmark's statistics to `<criterion dir>/<id>/new/estimates.json`
//! (a group's `group/function` id is two directories). The table takes `mean.point_estimate`:
//! nanoseconds per iteration. Every evloop bench here counts one iteration as one operation
//! (`iter_custom` over batches, rescaled: one task for `spawn_join`, one switch, one timer,
//! one round trip; `timers_fire` reports the runtime thread's CPU time per timer), so the
//! estimate is already per operation and nothing is normalised. tokio's benches mirror them
//! under `tokio_<id>`.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::machine::Machine;
use super::servers::{self, Layout};

/// One row: a benchmark id, what it measures, and its target if the issue sets one.
struct Bench {
    id: &'static str,
    what: &'static str,
    target_ns: Option<f64>,
}

/// The benchmarks tabulated, in the order of the table.
const BENCHES: [Bench; 10] = [
    Bench {
        id: "spawn_join",
        what: "spawn + join, per task (batches of 10,000)",
        target_ns: Some(150.0),
    },
    Bench {
        id: "switch_yield",
        what: "task switch through `yield_now`",
        target_ns: Some(80.0),
    },
    Bench {
        id: "switch_notify",
        what: "task switch through `Notify`",
        target_ns: None,
    },
    Bench {
        id: "switch_waker",
        what: "task switch through a stored `Waker`",
        target_ns: None,
    },
    Bench {
        id: "wake_remote",
        what: "wake from another thread, round trip",
        target_ns: None,
    },
    Bench {
        id: "timer_register/sleep",
        what: "timer register, `sleep` (reads the clock)",
        target_ns: Some(60.0),
    },
    Bench {
        id: "timer_register/sleep_until",
        what: "timer register, `sleep_until`",
        target_ns: Some(60.0),
    },
    Bench {
        id: "timer_cancel",
        what: "timer cancel (drop a registered `Sleep`)",
        target_ns: Some(40.0),
    },
    Bench {
        id: "timers_fire/100k_random_0_50ms",
        what: "firing 100k timers, CPU per timer",
        target_ns: None,
    },
    Bench {
        id: "tcp_round_trip_64B",
        what: "TCP round trip, 64 bytes, loopback",
        target_ns: None,
    },
];

/// The prefix of tokio's ids.
const TOKIO_PREFIX: &str = "tokio_";

/// Where criterion keeps its results: `$CRITERION_HOME`, else `<target dir>/criterion`, as
/// criterion itself decides.
fn criterion_dir(layout: &Layout) -> PathBuf {
    match std::env::var_os("CRITERION_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => layout.target.join("criterion"),
    }
}

/// Runs the benches if asked, then writes `micro.md` and `micro.csv` into `out` and prints
/// the markdown.
pub fn run(layout: &Layout, run_benches: bool, out: &Path) -> io::Result<()> {
    if run_benches {
        let mut evloop = layout.cargo();
        evloop.arg("bench");
        servers::run(evloop)?;
        let mut peers = layout.cargo();
        peers.args(["bench", "-p", "evloop-peers"]);
        servers::run(peers)?;
    }
    let dir = criterion_dir(layout);
    let rows: Vec<(&Bench, Option<f64>, Option<f64>)> = BENCHES
        .iter()
        .map(|bench| {
            let evloop = mean_ns(&dir, bench.id);
            let tokio = mean_ns(&dir, &format!("{TOKIO_PREFIX}{}", bench.id));
            (bench, evloop, tokio)
        })
        .collect();

    let mut csv = String::from("id,what,evloop_ns,tokio_ns,evloop_over_tokio,target_ns,verdict\n");
    let mut md = String::from("# Micro-benchmarks\n\n");
    let _ = writeln!(
        md,
        "Criterion's mean per operation, read from `{}`. Regenerate with `cargo bench` (evloop) \
         and `cargo bench -p evloop-peers` (tokio, ids `tokio_<id>`), then \
         `cargo run --release -p evloop-peers --bin echo-bench -- micro`.\n",
        dir.display()
    );
    let machine = Machine::describe();
    let _ = writeln!(
        md,
        "Tabulated {} on {}, {} logical CPUs, kernel {} (the estimates are from whenever the \
         benches last ran).\n",
        machine.date, machine.cpu_model, machine.cpus, machine.kernel
    );
    md.push_str(
        "| benchmark | measures | evloop ns | tokio ns | evloop / tokio | target | verdict |\n",
    );
    md.push_str("|---|---|---:|---:|---:|---:|---|\n");
    for (bench, evloop, tokio) in rows {
        let ratio = match (evloop, tokio) {
            (Some(evloop), Some(tokio)) if tokio > 0.0 => Some(evloop / tokio),
            _ => None,
        };
        let verdict = match (bench.target_ns, evloop) {
            (Some(target), Some(evloop)) if evloop <= target => "PASS",
            (Some(_), Some(_)) => "FAIL",
            (Some(_), None) => "not measured",
            (None, _) => "",
        };
        let show = |value: Option<f64>, decimals: usize| {
            value.map_or_else(|| "–".to_string(), |value| format!("{value:.decimals$}"))
        };
        let target = bench.target_ns.map(|target| format!("≤ {target:.0}"));
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            bench.id,
            bench.what,
            show(evloop, 1),
            show(tokio, 1),
            show(ratio, 2),
            target.unwrap_or_default(),
            if verdict.is_empty() {
                String::new()
            } else {
                format!("**{verdict}**")
            },
        );
        let field = |value: Option<f64>, decimals: usize| {
            value.map_or_else(String::new, |value| format!("{value:.decimals$}"))
        };
        let _ = writeln!(
            csv,
            "{},\"{}\",{},{},{},{},{}",
            bench.id,
            bench.what.replace('"', "\"\""),
            field(evloop, 2),
            field(tokio, 2),
            field(ratio, 3),
            field(bench.target_ns, 0),
            verdict
        );
    }
    fs::create_dir_all(out)?;
    fs::write(out.join("micro.md"), &md)?;
    fs::write(out.join("micro.csv"), csv)?;
    print!("{md}");
    println!("\nwrote {} and micro.csv", out.join("micro.md").display());
    Ok(())
}

/// The mean estimate of benchmark `id` in ns, if criterion has one.
fn mean_ns(dir: &Path, id: &str) -> Option<f64> {
    let path = dir.join(id).join("new").join("estimates.json");
    let json = fs::read_to_string(path).ok()?;
    mean_point_estimate(&json)
}

/// Picks `mean.point_estimate` out of criterion's `estimates.json`, which looks like
/// `{"mean":{"confidence_interval":{...},"point_estimate":123.4,"standard_error":1.2},...}`.
/// A full JSON parser would be a dependency for one number; the file's shape is fixed.
fn mean_point_estimate(json: &str) -> Option<f64> {
    let mean = &json[json.find("\"mean\"")?..];
    let after_key = &mean[mean.find("\"point_estimate\"")? + "\"point_estimate\"".len()..];
    let value = after_key.trim_start().strip_prefix(':')?.trim_start();
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(value.len());
    value[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::mean_point_estimate;

    #[test]
    fn reads_the_mean_not_the_median() {
        let json = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":101.5,"upper_bound":103.0},"point_estimate":102.25,"standard_error":0.4},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":99.0,"upper_bound":100.0},"point_estimate":99.5,"standard_error":0.3}}"#;
        assert_eq!(mean_point_estimate(json), Some(102.25));
        assert_eq!(mean_point_estimate("{}"), None);
    }
}
