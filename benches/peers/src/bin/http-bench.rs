//! The HTTP benchmark: hyper on evloop (`hyper-server`, root example, `--features hyper`),
//! hyper on tokio current_thread (`tokio-hyper-server`) and a hand-written mio HTTP/1.1
//! keep-alive server (`mio-http-server`, no futures: the bound), driven by `wrk`, and counted
//! under callgrind.
//!
//! ```text
//! cargo run --release -p evloop-peers --bin http-bench            # timings, then instructions
//! cargo run --release -p evloop-peers --bin http-bench -- timing  # wrk only
//! cargo run --release -p evloop-peers --bin http-bench -- instr   # callgrind only
//! ```
//!
//! Flags: `--conns 10,100,1000` (timings; instructions use those of them at most 100),
//! `--rounds 2`, `--secs 5`, `--warmup 1`, `--no-build`, `--out DIR` (default
//! `benches/results`).
//!
//! # Timings (`http.csv`, `http.md`, `http-cpu.svg`)
//!
//! For every connection count, round after round, each server in turn (the order rotates
//! each round): a fresh server pinned to one CPU, `wrk -t1 -cN -d1s` pinned to another as a
//! warm-up, then `wrk -t1 -cN -dSECS --latency`. Reported: requests/s, p50 and p99 latency,
//! errors (socket errors plus non-2xx answers) from wrk, and the server's CPU time (user +
//! system, `/proc/PID/stat`) over the measured run divided by the requests wrk counted.
//! `wrk` is Debian's `wrk` package: the bench installs it with `apt-get` when it runs as root
//! and it is missing, else says how.
//!
//! # Instructions (`http-instr.csv`, in `http.md`, `http-instr.svg`)
//!
//! Each server runs under `valgrind --tool=callgrind`; after its start-up is dumped away, a
//! client in this driver opens N keep-alive connections and sends `R1` sequential `GET /`
//! requests spread over them, closes them, and the profile is dumped; then the same with
//! `R2` requests. Both loads pay the same fixed costs (accepts, connection set-up and
//! teardown), so `(I2 − I1) / (R2 − R1)` is the user-space instructions per request. The same
//! difference per function, grouped by crate, says where they go.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use std::process::ExitCode;

#[path = "../driver/callgrind.rs"]
mod callgrind;
#[path = "../http/mod.rs"]
mod http;
#[path = "../driver/machine.rs"]
mod machine;
#[path = "../driver/process.rs"]
#[allow(dead_code, reason = "shared with echo-bench, which uses more of it")]
mod process;
#[path = "../driver/procfs.rs"]
#[allow(dead_code, reason = "shared with echo-bench, which uses more of it")]
mod procfs;
#[path = "../driver/svg.rs"]
#[allow(dead_code, reason = "shared with echo-bench, which uses more of it")]
mod svg;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match http::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
