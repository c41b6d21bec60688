//! The programs the driver runs: the four echo servers and the load generator, where cargo
//! puts them, and how to build them.
//!
//! evloop's servers and `echo-client` are examples of the `evloop-examples` member
//! (`examples/Cargo.toml`); the tokio and mio servers are binaries of this member
//! (`evloop-peers`). Both land in the same release directory of the workspace's target
//! directory.

use std::env;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The size of the one buffer every server reads into and echoes from, per connection
/// (`--buf`): the same for all four, so that they are compared like for like.
pub const SERVER_BUF: usize = 4096;

/// One of the echo servers under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Server {
    /// evloop's `echo-server`: one task per connection on one thread.
    Evloop,
    /// evloop's baseline `echo-server-threads`: one blocking OS thread per connection.
    Threads,
    /// `tokio-echo-server`: one task per connection on tokio's current_thread runtime.
    Tokio,
    /// `mio-echo-server`: a hand-written event loop on mio, the floor an executor adds to.
    Mio,
}

/// Where a program comes from.
enum Origin {
    /// An example of the `evloop-examples` member (`cargo build -p evloop-examples --example
    /// NAME`).
    Example,
    /// A binary of this member (`cargo build -p evloop-peers --bin NAME`).
    PeerBin,
}

impl Server {
    /// Every server, in the order they alternate inside a cell and appear in the reports.
    pub const ALL: [Server; 4] = [Server::Evloop, Server::Threads, Server::Tokio, Server::Mio];

    /// The short name used on the command line (`--servers`), in the CSV and in the charts.
    pub fn name(self) -> &'static str {
        match self {
            Server::Evloop => "evloop",
            Server::Threads => "threads",
            Server::Tokio => "tokio",
            Server::Mio => "mio",
        }
    }

    /// The program's file name.
    pub fn program(self) -> &'static str {
        match self {
            Server::Evloop => "echo-server",
            Server::Threads => "echo-server-threads",
            Server::Tokio => "tokio-echo-server",
            Server::Mio => "mio-echo-server",
        }
    }

    /// One line for the report: which program it is and how it runs connections.
    pub fn describe(self) -> &'static str {
        match self {
            Server::Evloop => "`echo-server` (example): one evloop task per connection, one thread",
            Server::Threads => {
                "`echo-server-threads` (example): one blocking OS thread per connection"
            }
            Server::Tokio => {
                "`tokio-echo-server` (evloop-peers): one task per connection on tokio's \
                 current_thread runtime"
            }
            Server::Mio => {
                "`mio-echo-server` (evloop-peers): a hand-written mio event loop, no executor"
            }
        }
    }

    /// Parses a name given to `--servers`.
    pub fn from_name(name: &str) -> Option<Server> {
        Server::ALL.into_iter().find(|server| server.name() == name)
    }

    fn origin(self) -> Origin {
        match self {
            Server::Evloop | Server::Threads => Origin::Example,
            Server::Tokio | Server::Mio => Origin::PeerBin,
        }
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that width and alignment flags (`{server:>7}`) apply.
        f.pad(self.name())
    }
}

/// The load generator, an example of the `evloop-examples` member.
const CLIENT: &str = "echo-client";

/// The UDP echo server, an example of the `evloop-examples` member, measured apart (`driver::udp`).
const UDP_SERVER: &str = "udp-echo";

/// Where the workspace and its build outputs are.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The workspace root (the root crate's directory).
    pub root: PathBuf,
    /// The target directory: `$CARGO_TARGET_DIR` if set (relative to the current directory,
    /// as cargo reads it), else `<root>/target`.
    pub target: PathBuf,
}

impl Layout {
    /// Finds the workspace from where this member was compiled: it sits at `benches/peers`.
    pub fn discover() -> io::Result<Layout> {
        let member = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = member
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| io::Error::other("benches/peers has no grandparent directory"))?;
        Layout::at(root)
    }

    /// The workspace at `root` (another checkout or worktree of the repository), with its
    /// target directory chosen as [`discover`](Layout::discover) chooses it. An error if
    /// `root` has no `Cargo.toml` and `benches/peers`.
    pub fn at(root: &Path) -> io::Result<Layout> {
        let root = root.canonicalize().map_err(|e| {
            io::Error::new(e.kind(), format!("cannot open {}: {e}", root.display()))
        })?;
        if !root.join("Cargo.toml").is_file() || !root.join("benches/peers").is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{} is not an evloop workspace (no Cargo.toml and benches/peers)",
                    root.display()
                ),
            ));
        }
        let target = match env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => env::current_dir()?.join(dir),
            _ => root.join("target"),
        };
        Ok(Layout { root, target })
    }

    /// The path of `server`'s release build.
    pub fn server(&self, server: Server) -> PathBuf {
        match server.origin() {
            Origin::Example => self.release().join("examples").join(server.program()),
            Origin::PeerBin => self.release().join(server.program()),
        }
    }

    /// The path of `echo-client`'s release build.
    pub fn client(&self) -> PathBuf {
        self.release().join("examples").join(CLIENT)
    }

    /// The path of `udp-echo`'s release build.
    pub fn udp_server(&self) -> PathBuf {
        self.release().join("examples").join(UDP_SERVER)
    }

    fn release(&self) -> PathBuf {
        self.target.join("release")
    }

    /// Builds, in release mode, the client, `udp-echo` and the servers in `servers`: one cargo
    /// command for the examples, one for the peer binaries if any is wanted. Cargo's progress
    /// goes to the terminal.
    pub fn build(&self, servers: &[Server]) -> io::Result<()> {
        let mut examples = vec![CLIENT, UDP_SERVER];
        let mut peer_bins = Vec::new();
        for &server in servers {
            match server.origin() {
                Origin::Example => examples.push(server.program()),
                Origin::PeerBin => peer_bins.push(server.program()),
            }
        }
        let mut examples_build = self.cargo();
        examples_build.args(["build", "--release", "-p", "evloop-examples"]);
        for example in examples {
            examples_build.args(["--example", example]);
        }
        run(examples_build)?;
        if !peer_bins.is_empty() {
            let mut peer_build = self.cargo();
            peer_build.args(["build", "--release", "-p", "evloop-peers"]);
            for bin in peer_bins {
                peer_build.args(["--bin", bin]);
            }
            run(peer_build)?;
        }
        Ok(())
    }

    /// A cargo command run from the workspace root: the cargo that runs this driver (`$CARGO`
    /// under `cargo run`), else the one on `PATH`.
    pub fn cargo(&self) -> Command {
        let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command.current_dir(&self.root);
        command
    }

    /// Checks that every program the run needs exists, naming the first that does not.
    pub fn check_built(&self, servers: &[Server]) -> io::Result<()> {
        let programs = servers.iter().map(|&server| self.server(server));
        for path in std::iter::once(self.client()).chain(programs) {
            if !path.is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "{} is not built (run without --no-build, or check CARGO_TARGET_DIR)",
                        path.display()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Runs a command to completion, turning a failure into an error that names it.
pub fn run(mut command: Command) -> io::Result<()> {
    let status = command
        .status()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {command:?}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("{command:?} failed: {status}")))
    }
}
