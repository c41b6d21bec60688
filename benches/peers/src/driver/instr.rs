//! The deterministic benchmark: user-space instructions and system calls per echoed message,
//! counted by callgrind, for each echo server at a few cells.
//!
//! # How a cell is measured
//!
//! The server runs under `valgrind --tool=callgrind --collect-systime=yes`, which counts
//! every instruction the server executes in user space (`Ir`) and every system call it makes
//! (`sysCount`). Then, against the one server process:
//!
//! 1. `callgrind_control --dump` once it listens: part 1 holds the start-up, and is not used;
//! 2. `echo-client` runs [`SHORT_LOAD`]: it connects, echoes `M1` messages in its window,
//!    drains and closes; `callgrind_control --dump` writes part 2 (`I1` instructions, `S1`
//!    system calls);
//! 3. `echo-client` runs again with the same connections and depth for [`LONG_LOAD`] (`M2`
//!    messages); the dump writes part 3 (`I2`, `S2`).
//!
//! Each dump resets the counters, so part 2 is exactly load 1 and part 3 exactly load 2.
//! Both loads pay the same fixed costs (accepting the connections, spawning their tasks, the
//! drain, the closes, the idle turns of the loop between loads), so the difference leaves
//! only the per-message work:
//!
//! ```text
//! instructions per message = (I2 − I1) / (M2 − M1)
//! system calls per message = (S2 − S1) / (M2 − M1)
//! ```
//!
//! valgrind runs its guest without the vDSO, so every clock read (`clock_gettime`), which
//! natively never enters the kernel, is a system call here. The clock reads are counted apart
//! (the self `sysCount` of the functions named in [`VDSO_CALLS`]) and shown beside the total,
//! so that the total minus them is what the server makes natively.
//!
//! `M` is the client's `messages`, the echoes completed inside its window; the drain then
//! echoes up to `conns × depth` more, which the server counts but the client does not. Under
//! valgrind the server is the bottleneck and the client keeps every connection full, so both
//! drains are `conns × depth` to within a few messages and cancel with the rest.
//!
//! The top functions per message are the same difference per function: each function's self
//! instructions in part 3 minus part 2, over `M2 − M1`.
//!
//! The profiles stay in `<target dir>/echo-bench-instr/<server>-<conns>x<depth>.callgrind.N`
//! (part 2 is load 1, part 3 load 2) for `callgrind_annotate` or KCachegrind.
//!
//! Instruction counts are deterministic for a given interleaving; what still varies from run
//! to run is the interleaving with the client: how many messages each read finds waiting
//! (more at depth 16 when the server is slower), and whether a read that would find the socket
//! empty runs at all. In practice evloop's and tokio's figures move by under 1 %, the mio
//! server's (which reads until `WouldBlock`) by up to 3 % on a busy machine.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::callgrind::Profile;
use super::cli::{Cell, InstrOptions};
use super::load::{self, Load, Measurement};
use super::machine::Machine;
use super::process::{Child, Pinning, RunningServer};
use super::servers::{Layout, SERVER_BUF, Server};

/// The first load's window: long enough for thousands of messages at every cell under
/// callgrind (about 50 times slower than native), short enough to keep a cell near 10 s.
pub const SHORT_LOAD: Duration = Duration::from_secs(1);

/// The second load's window. Three times the first, so the difference holds twice the first
/// load's messages.
pub const LONG_LOAD: Duration = Duration::from_secs(3);

/// The message size, as in the echo matrix's small cells.
const MESSAGE_SIZE: usize = 64;

/// How long a server under valgrind may take to print `listening on`: valgrind translates
/// the program's start-up code first, which takes a second or two here.
const STARTUP_UNDER_VALGRIND: Duration = Duration::from_secs(60);

/// How long `callgrind_control --dump` may take. It asks the server through `vgdb`, which
/// interrupts even a server blocked in `epoll_wait`; it answers in a fraction of a second.
const DUMP_TIMEOUT: Duration = Duration::from_secs(30);

/// The C library functions that are system calls under valgrind but natively served by the
/// vDSO without entering the kernel.
const VDSO_CALLS: [&str; 3] = ["clock_gettime", "gettimeofday", "time"];

/// How many functions the per-message table lists for each cell.
const TOP_FUNCTIONS: usize = 15;

/// What one server measured at one cell.
#[derive(Clone, Debug)]
pub struct Row {
    /// The server.
    pub server: Server,
    /// The cell.
    pub cell: Cell,
    /// The figures, or why there are none.
    pub result: Result<Counts, String>,
    /// Anything odd the loads reported (client errors, server stderr), even with figures.
    pub note: String,
}

/// The counters of both loads.
#[derive(Clone, Debug)]
pub struct Counts {
    /// Messages in each load's window, `[M1, M2]`.
    pub messages: [u64; 2],
    /// User-space instructions of each load's part, `[I1, I2]`.
    pub instructions: [u64; 2],
    /// System calls of each load's part, `[S1, S2]`.
    pub syscalls: [u64; 2],
    /// Of those, calls of [`VDSO_CALLS`] (native clock reads that enter no kernel).
    pub clock_reads: [u64; 2],
    /// The functions with the most self instructions per message, most first:
    /// `(name, instructions per message)`.
    pub top: Vec<(String, f64)>,
}

impl Counts {
    fn extra_messages(&self) -> f64 {
        self.messages[1] as f64 - self.messages[0] as f64
    }

    /// `(I2 − I1) / (M2 − M1)`.
    pub fn instructions_per_msg(&self) -> f64 {
        (self.instructions[1] as f64 - self.instructions[0] as f64) / self.extra_messages()
    }

    /// `(S2 − S1) / (M2 − M1)`.
    pub fn syscalls_per_msg(&self) -> f64 {
        (self.syscalls[1] as f64 - self.syscalls[0] as f64) / self.extra_messages()
    }

    /// The clock reads' share of [`syscalls_per_msg`](Counts::syscalls_per_msg).
    pub fn clock_reads_per_msg(&self) -> f64 {
        (self.clock_reads[1] as f64 - self.clock_reads[0] as f64) / self.extra_messages()
    }
}

/// Builds, measures every server at every cell, writes `instr.csv`, `instr-functions.csv`
/// and `instr.md` into the output directory, and prints the markdown.
pub fn run(layout: &Layout, options: &InstrOptions, command: &str) -> io::Result<()> {
    let valgrind = check_tools()?;
    let other_tree;
    let layout = match &options.root {
        Some(root) => {
            other_tree = Layout::at(root)?;
            eprintln!(
                "instr: measuring the workspace at {}",
                other_tree.root.display()
            );
            &other_tree
        }
        None => layout,
    };
    let out = match (&options.out, &options.root) {
        (Some(out), _) => out.clone(),
        (None, Some(_)) => layout.target.join("echo-bench-instr"),
        (None, None) => layout.root.join("benches").join("results"),
    };
    if options.build {
        layout.build(&options.servers)?;
    }
    layout.check_built(&options.servers)?;
    let pinning = Pinning::choose()?;
    let scratch = layout.target.join("echo-bench-instr");
    fs::create_dir_all(&scratch)?;
    let started = Instant::now();
    let mut rows = Vec::new();
    for &cell in &options.cells {
        for &server in &options.servers {
            eprint!("instr: {server}, {cell}: ");
            let row = measure(layout, server, cell, pinning, &scratch);
            match &row.result {
                Ok(counts) => eprintln!(
                    "{:.1} instructions, {:.2} system calls ({:.2} clock reads) per message \
                     ({} − {} messages)",
                    counts.instructions_per_msg(),
                    counts.syscalls_per_msg(),
                    counts.clock_reads_per_msg(),
                    counts.messages[1],
                    counts.messages[0]
                ),
                Err(why) => eprintln!("failed: {why}"),
            }
            if !row.note.is_empty() {
                eprintln!("  note: {}", row.note);
            }
            rows.push(row);
        }
    }
    let took = started.elapsed();
    let machine = Machine::describe();
    let md = markdown(&rows, options, &machine, &valgrind, command, took);
    fs::create_dir_all(&out)?;
    fs::write(out.join("instr.csv"), rows_csv(&rows))?;
    fs::write(out.join("instr-functions.csv"), functions_csv(&rows))?;
    fs::write(out.join("instr.md"), &md)?;
    print!("\n{md}");
    println!(
        "\nwrote instr.md, instr.csv and instr-functions.csv to {} in {:.0} s",
        out.display(),
        took.as_secs_f64()
    );
    Ok(())
}

/// Checks that valgrind and `callgrind_control` can run; returns valgrind's version line.
fn check_tools() -> io::Result<String> {
    let missing = |tool: &str, e: io::Error| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot run `{tool}` ({e}): `echo-bench instr` needs valgrind's callgrind; \
                 install with: apt-get install valgrind (Debian, Ubuntu; dnf on Fedora)"
            ),
        )
    };
    let version = Command::new("valgrind")
        .arg("--version")
        .output()
        .map_err(|e| missing("valgrind", e))?;
    Command::new("callgrind_control")
        .arg("--version")
        .output()
        .map_err(|e| missing("callgrind_control", e))?;
    Ok(String::from_utf8_lossy(&version.stdout).trim().to_string())
}

/// Measures one server at one cell; every failure ends up in the row, not in an error, so
/// that one cell a server cannot serve does not end the run.
fn measure(
    layout: &Layout,
    server: Server,
    cell: Cell,
    pinning: Option<Pinning>,
    scratch: &Path,
) -> Row {
    let mut note = Vec::new();
    let result = measure_loads(layout, server, cell, pinning, scratch, &mut note);
    Row {
        server,
        cell,
        result,
        note: note.join("; "),
    }
}

fn measure_loads(
    layout: &Layout,
    server: Server,
    cell: Cell,
    pinning: Option<Pinning>,
    scratch: &Path,
    note: &mut Vec<String>,
) -> Result<Counts, String> {
    let out = scratch.join(format!(
        "{}-{}x{}.callgrind",
        server.name(),
        cell.conns,
        cell.depth
    ));
    remove_parts(&out).map_err(|e| format!("cannot clear old profiles: {e}"))?;
    let mut out_flag = OsString::from("--callgrind-out-file=");
    out_flag.push(&out);
    let wrapper_args = [
        OsString::from("--tool=callgrind"),
        OsString::from("--collect-systime=yes"),
        out_flag,
    ];
    let mut running = RunningServer::start_under(
        server.name(),
        Some((Path::new("valgrind"), &wrapper_args)),
        &layout.server(server),
        SERVER_BUF,
        pinning.map(|pinning| pinning.server),
        STARTUP_UNDER_VALGRIND,
    )
    .map_err(|e| e.to_string())?;
    let pid = running.child.pid();
    dump(pid, "start-up")?;
    let load = Load {
        conns: cell.conns,
        depth: cell.depth,
        size: MESSAGE_SIZE,
    };
    let client = layout.client();
    let cpu = pinning.map(|pinning| pinning.client);
    let mut messages = [0; 2];
    for (slot, secs) in [SHORT_LOAD, LONG_LOAD].into_iter().enumerate() {
        let measured = load::drive(&client, &mut running, load, secs, cpu);
        messages[slot] = check_load(&measured, cell, note)?;
        dump(pid, &format!("load-{}", slot + 1))?;
    }
    // The profiles are written; stop the server now (SIGTERM, then SIGKILL) rather than
    // at the end of the scope, so that its exit is reported against this cell.
    if let Err(e) = running.child.stop() {
        note.push(format!("cannot stop the server: {e}"));
    }
    let parts = [2, 3].map(|part| read_part(&out, part));
    let [first, second] = parts;
    let (first, second) = (first?, second?);
    let column = |profile: &Profile, event: &str| {
        profile
            .event(event)
            .ok_or_else(|| format!("the profile has no `{event}` event"))
    };
    let ir = column(&second, "Ir")?;
    let sys = column(&second, "sysCount")?;
    if column(&first, "Ir")? != ir || column(&first, "sysCount")? != sys {
        return Err("the two parts record different events".to_string());
    }
    if messages[1] <= messages[0] {
        return Err(format!(
            "the long load echoed no more messages than the short one ({} ≤ {})",
            messages[1], messages[0]
        ));
    }
    let extra = (messages[1] - messages[0]) as f64;
    let names: BTreeSet<&String> = first
        .self_cost
        .keys()
        .chain(second.self_cost.keys())
        .collect();
    let mut top: Vec<(String, f64)> = names
        .into_iter()
        .map(|name| {
            let delta = second.self_of(name, ir) as f64 - first.self_of(name, ir) as f64;
            (name.clone(), delta / extra)
        })
        .collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(TOP_FUNCTIONS);
    let clock_reads = |profile: &Profile| -> u64 {
        profile
            .self_cost
            .iter()
            .filter(|(name, _)| is_vdso_call(name))
            .map(|(_, costs)| costs.get(sys).copied().unwrap_or(0))
            .sum()
    };
    Ok(Counts {
        messages,
        instructions: [first.total(ir), second.total(ir)],
        syscalls: [first.total(sys), second.total(sys)],
        clock_reads: [clock_reads(&first), clock_reads(&second)],
        top,
    })
}

/// The messages of one load, or why the load does not count: a load that lost connections or
/// data would compare unlike with the other.
fn check_load(measured: &Measurement, cell: Cell, note: &mut Vec<String>) -> Result<u64, String> {
    let problem = |what: String| {
        if measured.note.is_empty() {
            what
        } else {
            format!("{what} ({})", measured.note)
        }
    };
    let messages = measured
        .messages
        .ok_or_else(|| problem("the client reported no messages".to_string()))?;
    if measured.connected != Some(cell.conns as u64) {
        return Err(problem(format!(
            "{:?} of {} connections opened",
            measured.connected, cell.conns
        )));
    }
    match (measured.errors, measured.mismatches) {
        (Some(0), Some(0)) => {}
        (errors, mismatches) => {
            return Err(problem(format!(
                "errors {errors:?}, mismatches {mismatches:?}"
            )));
        }
    }
    // The CPU-time window's notes concern a figure this benchmark does not use.
    let others: Vec<&str> = measured
        .note
        .split("; ")
        .filter(|part| !part.is_empty() && *part != load::LATE_OUTPUT_NOTE)
        .collect();
    if !others.is_empty() {
        note.push(others.join("; "));
    }
    Ok(messages)
}

/// Whether `function` (a callgrind name such as `clock_gettime@@GLIBC_2.17`) is one of
/// [`VDSO_CALLS`].
fn is_vdso_call(function: &str) -> bool {
    let base = function.split('@').next().unwrap_or(function);
    VDSO_CALLS.contains(&base)
}

/// Asks the callgrind process `pid` to write its counters to the next part and zero them.
fn dump(pid: u32, label: &str) -> Result<(), String> {
    let args = [format!("--dump={label}"), pid.to_string()];
    let mut control = Child::spawn(
        "callgrind_control",
        Path::new("callgrind_control"),
        args,
        None,
    )
    .map_err(|e| e.to_string())?;
    let status = control
        .wait_timeout(DUMP_TIMEOUT)
        .map_err(|e| format!("waiting for callgrind_control: {e}"))?;
    match status {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(format!(
            "callgrind_control --dump failed ({status}): {}",
            control.stderr_tail()
        )),
        // Dropping `control` stops it.
        None => Err(format!(
            "callgrind_control --dump did not answer within {DUMP_TIMEOUT:?}"
        )),
    }
}

/// Removes `<out>.N` files left by an earlier run, so that a part read later is this run's.
fn remove_parts(out: &Path) -> io::Result<()> {
    let (Some(dir), Some(stem)) = (out.parent(), out.file_name()) else {
        return Ok(());
    };
    let prefix = format!("{}.", stem.to_string_lossy());
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name
            .strip_prefix(&prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|byte| byte.is_ascii_digit()))
            || *name == *stem.to_string_lossy()
        {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Reads and parses part `part` of the profile at `out`.
fn read_part(out: &Path, part: u32) -> Result<Profile, String> {
    let mut path = PathBuf::from(out);
    path.as_mut_os_string().push(format!(".{part}"));
    let text =
        fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Profile::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `instr.csv`: one row per server per cell, the raw counters beside the per-message figures.
fn rows_csv(rows: &[Row]) -> String {
    let mut csv = String::from(
        "server,conns,depth,size,load1_messages,load2_messages,load1_instructions,\
         load2_instructions,load1_syscalls,load2_syscalls,load1_clock_reads,load2_clock_reads,\
         instructions_per_msg,syscalls_per_msg,clock_reads_per_msg,note\n",
    );
    for row in rows {
        let (counts, note) = match &row.result {
            Ok(counts) => (
                format!(
                    "{},{},{},{},{},{},{},{},{:.1},{:.3},{:.3}",
                    counts.messages[0],
                    counts.messages[1],
                    counts.instructions[0],
                    counts.instructions[1],
                    counts.syscalls[0],
                    counts.syscalls[1],
                    counts.clock_reads[0],
                    counts.clock_reads[1],
                    counts.instructions_per_msg(),
                    counts.syscalls_per_msg(),
                    counts.clock_reads_per_msg()
                ),
                row.note.clone(),
            ),
            Err(why) => (",,,,,,,,,,".to_string(), join_notes(why, &row.note)),
        };
        let _ = writeln!(
            csv,
            "{},{},{},{MESSAGE_SIZE},{counts},\"{}\"",
            row.server,
            row.cell.conns,
            row.cell.depth,
            note.replace('"', "\"\"")
        );
    }
    csv
}

/// `instr-functions.csv`: each server's top functions per message at each cell.
fn functions_csv(rows: &[Row]) -> String {
    let mut csv = String::from("server,conns,depth,rank,function,self_instructions_per_msg\n");
    for row in rows {
        let Ok(counts) = &row.result else { continue };
        for (rank, (name, per_msg)) in counts.top.iter().enumerate() {
            let _ = writeln!(
                csv,
                "{},{},{},{},\"{}\",{per_msg:.2}",
                row.server,
                row.cell.conns,
                row.cell.depth,
                rank + 1,
                name.replace('"', "\"\"")
            );
        }
    }
    csv
}

fn join_notes(first: &str, second: &str) -> String {
    if second.is_empty() {
        first.to_string()
    } else {
        format!("{first}; {second}")
    }
}

/// `instr.md`: how it was measured, the per-message table, evloop's top functions.
fn markdown(
    rows: &[Row],
    options: &InstrOptions,
    machine: &Machine,
    valgrind: &str,
    command: &str,
    took: Duration,
) -> String {
    let mut md = String::from("# Instructions and system calls per message\n\n");
    let _ = writeln!(
        md,
        "Measured {} on {}, {} logical CPUs, kernel {}, {valgrind}, in {:.0} s:\n\n```sh\n{command}\n```\n",
        machine.date,
        machine.cpu_model,
        machine.cpus,
        machine.kernel,
        took.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "Each server runs under `valgrind --tool=callgrind --collect-systime=yes` with \
         `--buf {SERVER_BUF}`, and `echo-client` ({MESSAGE_SIZE}-byte messages) drives it twice \
         with the same connections and depth, for {} s and then {} s; \
         `callgrind_control --dump` after each load splits the counters. A figure per message \
         is the second load's count minus the first's, over the second load's messages minus \
         the first's, so start-up, connects, the drain and the closes cancel. Instructions are \
         user space only; system calls are those the server made (`sysCount`), with the clock \
         reads among them in parentheses: valgrind makes every `clock_gettime` a system call, \
         where natively the vDSO answers it without entering the kernel. How and why: \
         `benches/peers/src/driver/instr.rs`.\n",
        SHORT_LOAD.as_secs(),
        LONG_LOAD.as_secs()
    );
    md.push_str("| connections × depth |");
    for server in &options.servers {
        let _ = write!(md, " {server} instr/msg |");
    }
    for server in &options.servers {
        let _ = write!(md, " {server} syscalls/msg (clock) |");
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(2 * options.servers.len()));
    md.push('\n');
    let by_key: BTreeMap<(Server, Cell), &Row> = rows
        .iter()
        .map(|row| ((row.server, row.cell), row))
        .collect();
    for &cell in &options.cells {
        let _ = write!(md, "| {} × {} |", cell.conns, cell.depth);
        for syscalls in [false, true] {
            for server in &options.servers {
                let shown = match by_key.get(&(*server, cell)).map(|row| &row.result) {
                    Some(Ok(counts)) if syscalls => format!(
                        "{:.2} ({:.2})",
                        counts.syscalls_per_msg(),
                        counts.clock_reads_per_msg()
                    ),
                    Some(Ok(counts)) => {
                        let value = counts.instructions_per_msg();
                        if value >= 100.0 {
                            format!("{value:.0}")
                        } else {
                            format!("{value:.1}")
                        }
                    }
                    _ => "failed".to_string(),
                };
                let _ = write!(md, " {shown} |");
            }
        }
        md.push('\n');
    }
    let notes: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            let text = match &row.result {
                Ok(_) => row.note.clone(),
                Err(why) => join_notes(why, &row.note),
            };
            (!text.is_empty()).then(|| format!("- {} at {}: {text}", row.server, row.cell))
        })
        .collect();
    if !notes.is_empty() {
        md.push_str("\nNotes:\n\n");
        md.push_str(&notes.join("\n"));
        md.push('\n');
    }
    md.push_str(
        "\nThe raw counters of both loads are in `instr.csv`; every server's top functions in \
         `instr-functions.csv`.\n",
    );
    for row in rows.iter().filter(|row| row.server == Server::Evloop) {
        let Ok(counts) = &row.result else { continue };
        let _ = writeln!(
            md,
            "\n## evloop at {} × {}: top {TOP_FUNCTIONS} functions by self instructions per \
             message (load 2 minus load 1)\n\n| function | instr/msg | share |\n|---|---:|---:|",
            row.cell.conns, row.cell.depth
        );
        let total = counts.instructions_per_msg();
        for (name, per_msg) in &counts.top {
            let _ = writeln!(
                md,
                "| `{}` | {per_msg:.1} | {:.1} % |",
                name.replace('|', "\\|"),
                100.0 * per_msg / total
            );
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_are_told_from_other_calls_by_base_name() {
        assert!(is_vdso_call("clock_gettime@@GLIBC_2.17"));
        assert!(is_vdso_call("clock_gettime"));
        assert!(!is_vdso_call("clock_nanosleep"));
        assert!(!is_vdso_call("recv"));
    }

    #[test]
    fn per_message_figures_are_the_difference_of_the_loads() {
        let counts = Counts {
            messages: [1_000, 3_000],
            instructions: [1_500_000, 4_500_000],
            syscalls: [6_000, 16_000],
            clock_reads: [2_000, 6_000],
            top: Vec::new(),
        };
        assert_eq!(counts.instructions_per_msg(), 1_500.0);
        assert_eq!(counts.syscalls_per_msg(), 5.0);
        assert_eq!(counts.clock_reads_per_msg(), 2.0);
    }
}
