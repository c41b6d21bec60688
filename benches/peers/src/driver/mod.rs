//! The echo benchmark driver's parts, one job each; `src/bin/echo-bench.rs` strings them
//! together.
//!
//! - [`cli`]: the command line;
//! - [`servers`]: the programs (four servers, one client), where they are, how to build them;
//! - [`process`]: children pinned to a CPU, their output, and stopping them on every path;
//! - [`procfs`]: CPU time, threads and resident memory from `/proc`;
//! - [`load`]: one run of `echo-client` against one server, with the server sampled;
//! - [`matrix`]: every cell, every server, every round, alternating, and the kept rounds;
//! - [`idle`]: resident memory per idle connection;
//! - [`targets`]: the project's performance targets, pass or fail;
//! - [`machine`]: the machine's description;
//! - [`report`] and [`svg`]: CSV, markdown and charts;
//! - [`micro`]: the criterion micro-benchmark table;
//! - [`instr`] and [`callgrind`]: instructions and system calls per message under callgrind;
//! - [`udp`]: the round-trip rate of the `udp-echo` example, one line of the report.

pub mod callgrind;
pub mod cli;
pub mod idle;
pub mod instr;
pub mod load;
pub mod machine;
pub mod matrix;
pub mod micro;
pub mod process;
pub mod procfs;
pub mod report;
pub mod servers;
pub mod svg;
pub mod targets;
pub mod udp;
