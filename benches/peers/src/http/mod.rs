//! `http-bench`'s parts: the servers and their build ([`Server`]), the command line
//! ([`Options`]), the timing matrix ([`timing`], with [`wrk`]), the callgrind counts
//! ([`instr`]) and the report ([`report`]). The binary's docs say what is measured and how.

pub mod instr;
pub mod report;
pub mod timing;
pub mod wrk;

use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{Child, NextLine};

/// One of the HTTP servers under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// evloop's `hyper-server` example: hyper on evloop through `evloop::compat::hyper`.
    Evloop,
    /// `tokio-hyper-server`: hyper on tokio's current_thread runtime.
    Tokio,
    /// `mio-http-server`: HTTP/1.1 by hand on mio, the bound.
    Mio,
}

impl Server {
    /// Every server, in report order.
    pub const ALL: [Server; 3] = [Server::Evloop, Server::Tokio, Server::Mio];

    /// The name in the CSV, the markdown and the charts.
    pub fn name(self) -> &'static str {
        match self {
            Server::Evloop => "hyper-evloop",
            Server::Tokio => "hyper-tokio",
            Server::Mio => "mio-http",
        }
    }

    /// The chart colour.
    pub fn color(self) -> &'static str {
        match self {
            Server::Evloop => "#1f77b4",
            Server::Tokio => "#d62728",
            Server::Mio => "#7f7f7f",
        }
    }

    /// The release build's path.
    pub fn program(self, layout: &Layout) -> PathBuf {
        let release = layout.target.join("release");
        match self {
            Server::Evloop => release.join("examples").join("hyper-server"),
            Server::Tokio => release.join("tokio-hyper-server"),
            Server::Mio => release.join("mio-http-server"),
        }
    }

    /// One line for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Server::Evloop => {
                "`hyper-server` (example, `--features hyper`): hyper 1.x on evloop, \
                 `evloop::compat::hyper`'s I/O, executor and timer"
            }
            Server::Tokio => {
                "`tokio-hyper-server` (evloop-peers): hyper 1.x on tokio current_thread, a \
                 hand adapter (vectored writes, tokio's timer)"
            }
            Server::Mio => {
                "`mio-http-server` (evloop-peers): HTTP/1.1 keep-alive by hand on mio, no \
                 futures: the bound"
            }
        }
    }
}

/// The workspace and its target directory.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The workspace root.
    pub root: PathBuf,
    /// `$CARGO_TARGET_DIR`, else `<root>/target`.
    pub target: PathBuf,
}

impl Layout {
    /// The workspace this member sits in (`benches/peers`).
    pub fn discover() -> io::Result<Layout> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()?;
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => std::env::current_dir()?.join(dir),
            _ => root.join("target"),
        };
        Ok(Layout { root, target })
    }

    /// Builds the three servers in release mode.
    pub fn build(&self) -> io::Result<()> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let builds: [&[&str]; 2] = [
            &[
                "build",
                "--release",
                "--features",
                "hyper",
                "--example",
                "hyper-server",
            ],
            &[
                "build",
                "--release",
                "-p",
                "evloop-peers",
                "--bin",
                "tokio-hyper-server",
                "--bin",
                "mio-http-server",
            ],
        ];
        for args in builds {
            let status = Command::new(&cargo)
                .args(args)
                .current_dir(&self.root)
                .status()?;
            if !status.success() {
                return Err(io::Error::other(format!("cargo {} failed", args.join(" "))));
            }
        }
        Ok(())
    }
}

/// The command line.
#[derive(Clone, Debug)]
pub struct Options {
    /// Run the wrk matrix.
    pub timing: bool,
    /// Run the callgrind counts.
    pub instr: bool,
    /// Connection counts.
    pub conns: Vec<usize>,
    /// Rounds per cell.
    pub rounds: usize,
    /// Measured seconds per run.
    pub secs: u64,
    /// Warm-up seconds per run.
    pub warmup: u64,
    /// Build the servers first.
    pub build: bool,
    /// Where the results go.
    pub out: PathBuf,
}

/// The usage text.
pub const USAGE: &str = "\
Usage: cargo run --release -p evloop-peers --bin http-bench -- [timing|instr] [FLAGS]

  (no command)        the wrk timings, then the callgrind instruction counts
  timing              the wrk timings only
  instr               the callgrind counts only (connection counts of at most 100)

  --conns LIST        connection counts, comma-separated (default 10,100,1000)
  --rounds N          runs per server per connection count, alternated (default 2)
  --secs S            measured seconds per run (default 5)
  --warmup S          warm-up seconds per run (default 1)
  --no-build          use the release builds as they are
  --out DIR           where to write http.csv, http-instr.csv, http.md and the charts
                      (default benches/results)
";

/// Parses the command line.
pub fn parse(args: &[String], layout: &Layout) -> Result<Options, String> {
    let mut options = Options {
        timing: true,
        instr: true,
        conns: vec![10, 100, 1000],
        rounds: 2,
        secs: 5,
        warmup: 1,
        build: true,
        out: layout.root.join("benches").join("results"),
    };
    let mut args = args.iter();
    let number = |flag: &str, value: Option<&String>| -> Result<u64, String> {
        value
            .and_then(|value| value.parse().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{flag} needs a positive number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "timing" => options.instr = false,
            "instr" => options.timing = false,
            "--conns" => {
                let list = args.next().ok_or("--conns needs a list")?;
                options.conns = list
                    .split(',')
                    .map(|n| n.parse().ok().filter(|&n| n > 0 && n <= 10_000))
                    .collect::<Option<Vec<usize>>>()
                    .ok_or_else(|| format!("--conns {list}: counts of 1 to 10000"))?;
            }
            "--rounds" => options.rounds = number("--rounds", args.next())? as usize,
            "--secs" => options.secs = number("--secs", args.next())?,
            "--warmup" => options.warmup = number("--warmup", args.next())?,
            "--no-build" => options.build = false,
            "--out" => options.out = args.next().ok_or("--out needs a directory")?.into(),
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(options)
}

/// Parses, builds, measures, reports.
pub fn run(args: &[String]) -> io::Result<()> {
    let layout = Layout::discover()?;
    let options = parse(args, &layout).map_err(io::Error::other)?;
    // 1000 connections on each side of loopback need the descriptors.
    if let Err(e) = evloop_peers::fd_limit::raise_nofile_limit(u64::MAX) {
        eprintln!("warning: cannot raise the descriptor limit: {e}");
    }
    if options.build {
        layout.build()?;
    }
    for server in Server::ALL {
        let program = server.program(&layout);
        if !program.is_file() {
            return Err(io::Error::other(format!(
                "{} is not built (run without --no-build)",
                program.display()
            )));
        }
    }
    let pinning = crate::process::Pinning::choose()?;
    let command = format!(
        "cargo run --release -p evloop-peers --bin http-bench -- {}",
        args.join(" ")
    );
    let started = Instant::now();
    let timings = if options.timing {
        let wrk_version = wrk::ensure_installed()?;
        let rows = timing::run(&layout, &options, pinning)?;
        Some((rows, wrk_version))
    } else {
        None
    };
    let counts = if options.instr {
        Some(instr::run(&layout, &options, pinning)?)
    } else {
        None
    };
    report::write(
        &options,
        timings.as_ref(),
        counts.as_deref(),
        &command,
        started.elapsed(),
    )
}

/// A server that has printed its `listening on ADDR` line.
pub struct Running {
    /// The process; dropping it stops the server.
    pub child: Child,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
}

/// Starts `program` (under `wrapper` if given) with `--addr 127.0.0.1:0`, on `cpu`, and waits
/// up to `startup` for its address.
pub fn start(
    server: Server,
    program: &std::path::Path,
    wrapper: Option<(&str, Vec<String>)>,
    cpu: Option<usize>,
    startup: Duration,
) -> io::Result<Running> {
    let server_args = ["--addr".to_string(), "127.0.0.1:0".to_string()];
    let child = match wrapper {
        None => Child::spawn(server.name(), program, server_args, cpu)?,
        Some((wrapper, mut args)) => {
            args.push(program.display().to_string());
            args.extend(server_args);
            Child::spawn(server.name(), std::path::Path::new(wrapper), args, cpu)?
        }
    };
    let deadline = Instant::now() + startup;
    loop {
        match child.next_line(deadline.saturating_duration_since(Instant::now())) {
            NextLine::Line(line) => {
                if let Some(addr) = line.text.strip_prefix("listening on ") {
                    let addr = addr.trim().parse().map_err(|e| {
                        io::Error::other(format!("{}: bad address `{addr}`: {e}", server.name()))
                    })?;
                    return Ok(Running { child, addr });
                }
            }
            NextLine::Timeout | NextLine::Closed => {
                return Err(io::Error::other(format!(
                    "{} did not start listening; its stderr:\n{}",
                    server.name(),
                    child.stderr_tail()
                )));
            }
        }
    }
}
