//! The command line: `echo-bench [OPTIONS]` runs the echo matrix, `echo-bench micro [--run]`
//! tabulates the criterion micro-benchmarks, `echo-bench instr` counts instructions and system
//! calls per message under callgrind.
//!
//! Hand-written like the examples' flags: `--name value` or `--name=value`, switches without
//! a value, and a usage error exits with status 2.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::servers::Server;

/// Printed by `--help` and after a usage error.
pub const USAGE: &str = "\
The echo benchmark driver: builds evloop's echo servers and their tokio and mio peers, drives
each with echo-client over a matrix of connections and pipelining depths, and writes CSV,
markdown and SVG charts.

Usage: cargo run --release -p evloop-peers --bin echo-bench -- [OPTIONS]
       cargo run --release -p evloop-peers --bin echo-bench -- micro [--run] [--out DIR]
       cargo run --release -p evloop-peers --bin echo-bench -- instr [--servers L] [--cells L]

Options:
  --secs N          seconds each client runs, fractions allowed (default 3)
  --rounds N        runs per server per cell, servers alternating; the best is kept (default 2)
  --conns LIST      connection counts, comma-separated (default 1,10,100,1000,10000)
  --depths LIST     messages in flight per connection (default 1,16)
  --large-conns L   connection counts also run with 4096-byte messages, `none` for none
                    (default 100)
  --servers LIST    any of evloop,threads,tokio,mio (default all four, in that order)
  --idle-conns N    idle connections held for the memory probe, 0 to skip (default 10000)
  --out DIR         where the results go (default benches/results; with --quick,
                    <target dir>/echo-bench-quick, so a smoke test never overwrites them)
  --quick           a smoke test: conns 1,10, depth 1, 1 s, 1 round, no 4 KiB cells, no
                    memory probe (flags given as well override these)
  --no-build        use the binaries already built instead of running cargo build
  -h, --help        print this help

micro: reads criterion's estimates for evloop's micro-benchmarks (`cargo bench` at the
root) and tokio's (`cargo bench -p evloop-peers`) and writes micro.md and micro.csv.
  --run             run both `cargo bench` commands first
  --out DIR         where micro.md and micro.csv go (default benches/results)

instr: runs each server under callgrind (valgrind, from the system's packages), drives it
with echo-client for 1 s and then 3 s, and writes the user-space instructions and system
calls per message (the second load minus the first, so start-up and connects cancel) and
evloop's top functions per message to instr.md, instr.csv and instr-functions.csv. About
6 s per server per cell: the default run about a minute, `--servers evloop --cells 1x1`
under 10 s.
  --servers LIST    any of evloop,threads,tokio,mio (default evloop,tokio,mio)
  --cells LIST      connections x depth, comma-separated (default 1x1,100x16,1000x16)
  --root DIR        measure the workspace at DIR (another worktree or checkout) instead of
                    this one: its examples and peers are built and run from there
  --out DIR         where the files go (default benches/results; with --root,
                    <DIR's target dir>/echo-bench-instr, so no tree's files change)
  --no-build        use the binaries already built instead of running cargo build
";

/// What to do.
#[derive(Debug)]
pub enum Command {
    /// Run the echo matrix.
    Echo(EchoOptions),
    /// Tabulate the micro-benchmarks.
    Micro(MicroOptions),
    /// Count instructions and system calls per message under callgrind.
    Instr(InstrOptions),
    /// Print the usage.
    Help,
}

/// The echo matrix's settings.
#[derive(Debug, Clone)]
pub struct EchoOptions {
    /// The client's measured window per run.
    pub secs: Duration,
    /// Runs per server per cell.
    pub rounds: usize,
    /// Connection counts of the 64-byte cells.
    pub conns: Vec<usize>,
    /// Pipelining depths of every cell.
    pub depths: Vec<usize>,
    /// Connection counts of the 4 KiB cells.
    pub large_conns: Vec<usize>,
    /// The servers, in the order they alternate.
    pub servers: Vec<Server>,
    /// Idle connections of the memory probe; 0 skips it.
    pub idle_conns: usize,
    /// The output directory.
    pub out: PathBuf,
    /// Whether to run `cargo build` first.
    pub build: bool,
}

/// The micro-benchmark table's settings.
#[derive(Debug, Clone)]
pub struct MicroOptions {
    /// Whether to run `cargo bench` first.
    pub run: bool,
    /// The output directory.
    pub out: PathBuf,
}

/// The instruction counts' settings.
#[derive(Debug, Clone)]
pub struct InstrOptions {
    /// The servers, in the order they run and appear in the table.
    pub servers: Vec<Server>,
    /// The cells, in order.
    pub cells: Vec<Cell>,
    /// The workspace to measure, if not this one (`--root`).
    pub root: Option<PathBuf>,
    /// The output directory, if given (`--out`); the default depends on `root`.
    pub out: Option<PathBuf>,
    /// Whether to run `cargo build` first.
    pub build: bool,
}

/// One load shape of `instr`: connections and messages in flight on each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    /// Connections (`--conns` of the client).
    pub conns: usize,
    /// Messages in flight per connection (`--depth`).
    pub depth: usize,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.conns, self.depth)
    }
}

/// `instr`'s cells unless `--cells` says otherwise: issue 13's.
const INSTR_CELLS: [Cell; 3] = [
    Cell { conns: 1, depth: 1 },
    Cell {
        conns: 100,
        depth: 16,
    },
    Cell {
        conns: 1000,
        depth: 16,
    },
];

/// `instr`'s servers unless `--servers` says otherwise: evloop and the two single-threaded
/// peers (the thread-per-connection server is left out: valgrind runs one thread at a time).
const INSTR_SERVERS: [Server; 3] = [Server::Evloop, Server::Tokio, Server::Mio];

/// Flags that take a value.
const VALUE_FLAGS: [&str; 10] = [
    "--secs",
    "--rounds",
    "--conns",
    "--depths",
    "--large-conns",
    "--servers",
    "--idle-conns",
    "--out",
    "--cells",
    "--root",
];

/// Flags that take none.
const SWITCHES: [&str; 3] = ["--quick", "--no-build", "--run"];

/// Parses the arguments (without the program name). `results` is the default output
/// directory, `quick_results` the one of `--quick`.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    results: &Path,
    quick_results: &Path,
) -> Result<Command, String> {
    let mut args = args.into_iter().peekable();
    let micro = args.peek().is_some_and(|first| first == "micro");
    let instr = args.peek().is_some_and(|first| first == "instr");
    if micro || instr {
        args.next();
    }
    let mut values: Vec<(String, String)> = Vec::new();
    let mut switches: Vec<String> = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(Command::Help);
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (arg, None),
        };
        if SWITCHES.contains(&name.as_str()) && inline.is_none() {
            switches.push(name);
        } else if VALUE_FLAGS.contains(&name.as_str()) {
            let value = inline
                .or_else(|| args.next())
                .ok_or_else(|| format!("`{name}` needs a value"))?;
            values.push((name, value));
        } else {
            return Err(format!("unknown argument `{name}`"));
        }
    }
    let value = |name: &str| {
        values
            .iter()
            .rev()
            .find(|(given, _)| given == name)
            .map(|(_, value)| value.as_str())
    };
    let switch = |name: &str| switches.iter().any(|given| given == name);

    if micro {
        if let Some((name, _)) = values.iter().find(|(name, _)| name != "--out") {
            return Err(format!("`{name}` does not apply to `micro`"));
        }
        return Ok(Command::Micro(MicroOptions {
            run: switch("--run"),
            out: value("--out").map_or_else(|| results.to_path_buf(), PathBuf::from),
        }));
    }
    if switch("--run") {
        return Err("`--run` applies to `micro` only".to_string());
    }
    if instr {
        const INSTR_FLAGS: [&str; 4] = ["--servers", "--cells", "--out", "--root"];
        if let Some((name, _)) = values
            .iter()
            .find(|(name, _)| !INSTR_FLAGS.contains(&name.as_str()))
        {
            return Err(format!("`{name}` does not apply to `instr`"));
        }
        if let Some(name) = switches.iter().find(|name| *name != "--no-build") {
            return Err(format!("`{name}` does not apply to `instr`"));
        }
        return Ok(Command::Instr(InstrOptions {
            servers: match value("--servers") {
                Some(text) => servers(text)?,
                None => INSTR_SERVERS.to_vec(),
            },
            cells: match value("--cells") {
                Some(text) => cells(text)?,
                None => INSTR_CELLS.to_vec(),
            },
            root: value("--root").map(PathBuf::from),
            out: value("--out").map(PathBuf::from),
            build: !switch("--no-build"),
        }));
    }
    if let Some(name) = ["--cells", "--root"]
        .into_iter()
        .find(|name| value(name).is_some())
    {
        return Err(format!("`{name}` applies to `instr` only"));
    }
    let quick = switch("--quick");
    let secs: f64 = match value("--secs") {
        Some(text) => number(text, "--secs")?,
        None if quick => 1.0,
        None => 3.0,
    };
    let secs = match Duration::try_from_secs_f64(secs) {
        Ok(secs) if !secs.is_zero() => secs,
        _ => return Err("`--secs` must be a positive number of seconds".to_string()),
    };
    let rounds = match value("--rounds") {
        Some(text) => positive(text, "--rounds")?,
        None if quick => 1,
        None => 2,
    };
    let conns = match value("--conns") {
        Some(text) => list(text, "--conns")?,
        None if quick => vec![1, 10],
        None => vec![1, 10, 100, 1000, 10_000],
    };
    let depths = match value("--depths") {
        Some(text) => list(text, "--depths")?,
        None if quick => vec![1],
        None => vec![1, 16],
    };
    let large_conns = match value("--large-conns") {
        Some("none") => Vec::new(),
        Some(text) => list(text, "--large-conns")?,
        None if quick => Vec::new(),
        None => vec![100],
    };
    let servers = match value("--servers") {
        Some(text) => servers(text)?,
        None => Server::ALL.to_vec(),
    };
    let idle_conns = match value("--idle-conns") {
        Some(text) => number(text, "--idle-conns")?,
        None if quick => 0,
        None => 10_000,
    };
    let out = match value("--out") {
        Some(dir) => PathBuf::from(dir),
        None if quick => quick_results.to_path_buf(),
        None => results.to_path_buf(),
    };
    Ok(Command::Echo(EchoOptions {
        secs,
        rounds,
        conns,
        depths,
        large_conns,
        servers,
        idle_conns,
        out,
        build: !switch("--no-build"),
    }))
}

fn number<T: std::str::FromStr>(text: &str, name: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("bad value `{text}` for `{name}`"))
}

fn positive(text: &str, name: &str) -> Result<usize, String> {
    match number(text, name)? {
        0 => Err(format!("`{name}` must be at least 1")),
        n => Ok(n),
    }
}

/// A comma-separated list of positive numbers, in the order given, without repeats.
fn list(text: &str, name: &str) -> Result<Vec<usize>, String> {
    let mut numbers = Vec::new();
    for item in text.split(',').filter(|item| !item.trim().is_empty()) {
        let n = positive(item, name)?;
        if !numbers.contains(&n) {
            numbers.push(n);
        }
    }
    if numbers.is_empty() {
        return Err(format!("`{name}` needs at least one number"));
    }
    Ok(numbers)
}

/// A comma-separated list of cells, `CONNSxDEPTH`, in the order given, without repeats.
fn cells(text: &str) -> Result<Vec<Cell>, String> {
    let mut cells = Vec::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let (conns, depth) = item.split_once(['x', 'X', '×']).ok_or_else(|| {
            format!("bad cell `{item}` for `--cells` (write CONNSxDEPTH, e.g. 100x16)")
        })?;
        let cell = Cell {
            conns: positive(conns, "--cells")?,
            depth: positive(depth, "--cells")?,
        };
        if !cells.contains(&cell) {
            cells.push(cell);
        }
    }
    if cells.is_empty() {
        return Err("`--cells` needs at least one cell".to_string());
    }
    Ok(cells)
}

/// A comma-separated list of server names.
fn servers(text: &str) -> Result<Vec<Server>, String> {
    let mut servers = Vec::new();
    for name in text
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let server = Server::from_name(name).ok_or_else(|| {
            format!("unknown server `{name}` (known: evloop, threads, tokio, mio)")
        })?;
        if !servers.contains(&server) {
            servers.push(server);
        }
    }
    if servers.is_empty() {
        return Err("`--servers` needs at least one server".to_string());
    }
    Ok(servers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Command, String> {
        let args = args.iter().map(|arg| arg.to_string());
        parse(args, Path::new("results"), Path::new("quick"))
    }

    #[test]
    fn defaults_are_the_issues_matrix() {
        let Ok(Command::Echo(options)) = parse_args(&[]) else {
            panic!("no arguments must parse as the echo matrix");
        };
        assert_eq!(options.conns, [1, 10, 100, 1000, 10_000]);
        assert_eq!(options.depths, [1, 16]);
        assert_eq!(options.large_conns, [100]);
        assert_eq!(options.servers, Server::ALL);
        assert_eq!(options.idle_conns, 10_000);
        assert_eq!(options.out, Path::new("results"));
    }

    #[test]
    fn flags_override_quick() {
        let Ok(Command::Echo(options)) =
            parse_args(&["--quick", "--conns=5", "--servers", "mio,evloop"])
        else {
            panic!("must parse");
        };
        assert_eq!(options.conns, [5]);
        assert_eq!(options.depths, [1]);
        assert_eq!(options.servers, [Server::Mio, Server::Evloop]);
        assert_eq!(options.out, Path::new("quick"));
    }

    #[test]
    fn mistakes_are_usage_errors() {
        assert!(parse_args(&["--conns", "0"]).is_err());
        assert!(parse_args(&["--servers", "nginx"]).is_err());
        assert!(parse_args(&["--secs"]).is_err());
        assert!(parse_args(&["--bogus"]).is_err());
        assert!(parse_args(&["micro", "--conns", "1"]).is_err());
        assert!(parse_args(&["instr", "--secs", "1"]).is_err());
        assert!(parse_args(&["instr", "--quick"]).is_err());
        assert!(parse_args(&["instr", "--cells", "100"]).is_err());
        assert!(parse_args(&["instr", "--cells", "0x16"]).is_err());
        assert!(parse_args(&["--cells", "1x1"]).is_err());
        assert!(parse_args(&["--root", "."]).is_err());
    }

    #[test]
    fn instr_takes_servers_and_cells() {
        let Ok(Command::Instr(options)) = parse_args(&["instr"]) else {
            panic!("`instr` alone must parse");
        };
        assert_eq!(options.servers, INSTR_SERVERS);
        assert_eq!(options.cells, INSTR_CELLS);
        assert!(options.build);
        let Ok(Command::Instr(options)) = parse_args(&[
            "instr",
            "--servers",
            "evloop",
            "--cells=1x1,100x16,1x1",
            "--no-build",
        ]) else {
            panic!("must parse");
        };
        assert_eq!(options.servers, [Server::Evloop]);
        assert_eq!(
            options.cells,
            [
                Cell { conns: 1, depth: 1 },
                Cell {
                    conns: 100,
                    depth: 16
                }
            ]
        );
        assert!(!options.build);
    }
}
