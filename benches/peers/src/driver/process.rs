//! Child processes: starting them pinned to a CPU, reading their output, and always ending
//! them; and the driver's own placement (its CPU and priority).
//!
//! # Invariants
//!
//! - Every child the driver starts is owned by one [`Child`], whose `Drop` stops it (SIGTERM,
//!   then SIGKILL after [`STOP_GRACE`]) and reaps it, on every path out: normal end, error or
//!   panic. Nothing else signals or waits for the child.
//! - A child is reaped only by [`Child::stop`] or [`Child::wait_timeout`], which record its
//!   status. Until then its PID cannot be reused by another process, so signalling the PID
//!   always reaches our child (or its zombie, harmlessly).

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io::{self, BufRead, BufReader, Read};
use std::mem;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a stopped child may take to exit after SIGTERM before it gets SIGKILL.
/// `echo-server` shuts down gracefully, waiting for open connections up to its own grace
/// period (5 s); by the time the driver stops it its connections are closed, so it exits at
/// once, and this only bounds a server that hangs.
pub const STOP_GRACE: Duration = Duration::from_secs(6);

/// How long a server may take from exec to its `listening on` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How often [`Child::wait_timeout`] looks whether the child has exited.
const EXIT_POLL: Duration = Duration::from_millis(5);

/// How many of a child's last stderr lines are kept, for error messages.
const STDERR_TAIL: usize = 20;

/// The nice value the driver asks for its own threads when it may (as root, or with
/// `CAP_SYS_NICE`): the server and the client keep every CPU busy, and a driver thread that
/// wakes late to timestamp the client's `connect_secs` line, or to read the server's CPU time
/// at the window's end, shifts the window it measures. The driver's threads sleep almost all
/// the time, so their priority takes next to nothing from the processes under test.
const DRIVER_NICE: libc::c_int = -10;

/// The CPUs the server, the load generator and the driver run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pinning {
    /// The CPU every server runs on.
    pub server: usize,
    /// The CPU `echo-client` runs on.
    pub client: usize,
    /// A third CPU for the driver itself, if there is one; otherwise the driver runs wherever
    /// the scheduler puts it.
    pub driver: Option<usize>,
}

/// A set of CPUs in the kernel's `cpu_set_t` layout: bit `i % 64` of word `i / 64` is CPU
/// `i`. 1024 CPUs, glibc's `CPU_SETSIZE`; the kernel accepts any size at least its own.
type CpuMask = [u64; 16];

impl Pinning {
    /// The first CPUs this process may run on: server, client, then driver; `None` if there
    /// are fewer than two (then nothing is pinned: two processes pinned to one CPU would only
    /// share it worse).
    pub fn choose() -> io::Result<Option<Pinning>> {
        let mut mask: CpuMask = [0; 16];
        // SAFETY: the kernel writes at most `size_of_val(&mask)` bytes through the pointer,
        // which points to `mask`, a live and writable local of exactly that size.
        let result = unsafe {
            libc::sched_getaffinity(0, mem::size_of_val(&mask), mask.as_mut_ptr().cast())
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut allowed =
            (0..mask.len() * 64).filter(|&cpu| mask[cpu / 64] & (1 << (cpu % 64)) != 0);
        Ok(match (allowed.next(), allowed.next()) {
            (Some(server), Some(client)) => Some(Pinning {
                server,
                client,
                driver: allowed.next(),
            }),
            _ => None,
        })
    }
}

/// Places the driver itself: on its own CPU if `pinning` has one, and at [`DRIVER_NICE`] if
/// the system allows. Call it before the driver starts any thread, so that every thread
/// inherits both. Returns what it did, in words, for the report.
pub fn place_driver(pinning: Option<Pinning>) -> String {
    let mut placed = Vec::new();
    if let Some(cpu) = pinning.and_then(|pinning| pinning.driver) {
        match set_affinity(cpu) {
            Ok(()) => placed.push(format!("the driver on CPU {cpu}")),
            Err(e) => placed.push(format!("the driver unpinned ({e})")),
        }
    } else {
        placed.push("the driver unpinned (no third CPU)".to_string());
    }
    // SAFETY: setpriority has no memory-safety preconditions. On Linux, PRIO_PROCESS with
    // `who` 0 sets the calling thread's nice value, which threads and children inherit.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, DRIVER_NICE) } == 0 {
        placed.push(format!("at nice {DRIVER_NICE} (servers and client at 0)"));
    } else {
        placed.push("at nice 0 (no permission for a higher priority)".to_string());
    }
    placed.join(", ")
}

/// Pins the calling thread (and the threads and children it starts afterwards) to `cpu`.
fn set_affinity(cpu: usize) -> io::Result<()> {
    let mask = single_cpu(cpu);
    // SAFETY: the kernel reads `size_of_val(&mask)` bytes from the pointer, which points to
    // `mask`, a live local of exactly that size.
    let result =
        unsafe { libc::sched_setaffinity(0, mem::size_of_val(&mask), mask.as_ptr().cast()) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The mask holding `cpu` alone.
fn single_cpu(cpu: usize) -> CpuMask {
    let mut mask: CpuMask = [0; 16];
    mask[cpu / 64] |= 1 << (cpu % 64);
    mask
}

/// Prepares `command`'s child between fork and exec: back to nice 0 (it inherited the
/// driver's [`DRIVER_NICE`]), and onto `cpu` alone if given, so that the program's very first
/// instruction already runs there and every thread it starts inherits the mask.
fn prepare_child(command: &mut Command, cpu: Option<usize>) {
    let mask = cpu.map(single_cpu);
    let prepare = move || {
        // SAFETY: setpriority has no memory-safety preconditions; raising the nice value
        // back to 0 needs no privilege.
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if let Some(mask) = &mask {
            // SAFETY: the kernel reads `size_of_val(mask)` bytes from the pointer, which
            // points to the mask moved into this closure, alive for the call.
            let result =
                unsafe { libc::sched_setaffinity(0, mem::size_of_val(mask), mask.as_ptr().cast()) };
            if result != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    };
    // SAFETY: `pre_exec` runs the closure in the forked child, where only async-signal-safe
    // work is allowed: the closure makes two system calls on values built before the fork
    // and allocates nothing (an `io::Error` from errno holds no allocation).
    unsafe {
        command.pre_exec(prepare);
    }
}

/// A line a child printed on stdout, with the instant the driver read it.
pub struct Line {
    /// When the driver received it: within microseconds of the child's flush, since a
    /// thread blocks on the pipe for it.
    pub at: Instant,
    /// The line, without its newline.
    pub text: String,
}

/// What waiting for a child's next stdout line produced.
pub enum NextLine {
    /// A line.
    Line(Line),
    /// Nothing within the timeout.
    Timeout,
    /// The child closed its stdout (usually: it exited).
    Closed,
}

/// The last lines of a child's stderr, filled by a reader thread.
#[derive(Default)]
struct Tail {
    lines: VecDeque<String>,
    /// Every line ever read, including those no longer kept.
    total: usize,
}

/// A running child process, stopped and reaped when dropped (see the module's invariants).
pub struct Child {
    name: String,
    process: std::process::Child,
    stdout: Receiver<Line>,
    stderr: Arc<Mutex<Tail>>,
    /// Set once the child has been reaped.
    status: Option<ExitStatus>,
}

impl Child {
    /// Starts `program` with `args`, on `cpu` if given, with stdout and stderr piped to reader
    /// threads. `name` is how errors refer to it.
    pub fn spawn<I, S>(name: &str, program: &Path, args: I, cpu: Option<usize>) -> io::Result<Child>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        prepare_child(&mut command, cpu);
        let mut process = command.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start {name} ({}): {e}", program.display()),
            )
        })?;
        let stdout = process.stdout.take().expect("stdout was piped");
        let stderr = process.stderr.take().expect("stderr was piped");
        let (lines, receiver) = mpsc::channel();
        // The reader threads end when the child's end of the pipe closes, that is when the
        // child exits (or a grandchild holding it does); they own nothing else.
        thread::spawn(move || {
            for text in BufReader::new(stdout).lines() {
                let Ok(text) = text else { break };
                let line = Line {
                    at: Instant::now(),
                    text,
                };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let tail = Arc::new(Mutex::new(Tail::default()));
        let filler = Arc::clone(&tail);
        thread::spawn(move || keep_tail(stderr, &filler));
        Ok(Child {
            name: name.to_string(),
            process,
            stdout: receiver,
            stderr: tail,
            status: None,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// The name errors use for it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits up to `timeout` for the next line on the child's stdout.
    pub fn next_line(&self, timeout: Duration) -> NextLine {
        match self.stdout.recv_timeout(timeout) {
            Ok(line) => NextLine::Line(line),
            Err(RecvTimeoutError::Timeout) => NextLine::Timeout,
            Err(RecvTimeoutError::Disconnected) => NextLine::Closed,
        }
    }

    /// The child's last stderr lines, joined, for an error message.
    pub fn stderr_tail(&self) -> String {
        let tail = self
            .stderr
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let kept: Vec<&str> = tail.lines.iter().map(String::as_str).collect();
        kept.join("\n")
    }

    /// How many lines the child has written to stderr so far.
    pub fn stderr_lines(&self) -> usize {
        let tail = self
            .stderr
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tail.total
    }

    /// The child's last stderr line, if it wrote any.
    pub fn last_stderr_line(&self) -> Option<String> {
        let tail = self
            .stderr
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tail.lines.back().cloned()
    }

    /// Whether the child has exited; reaps it if so.
    pub fn exited(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.process.try_wait()?;
        }
        Ok(self.status)
    }

    /// Waits up to `timeout` for the child to exit; reaps it if it did.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            thread::sleep(EXIT_POLL);
        }
    }

    /// Stops the child: SIGTERM, up to [`STOP_GRACE`] to exit, then SIGKILL. Returns its exit
    /// status. Does nothing more to a child that has already exited.
    pub fn stop(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.exited()? {
            return Ok(status);
        }
        let pid = libc::pid_t::try_from(self.pid()).map_err(io::Error::other)?;
        // SAFETY: kill has no memory-safety preconditions. The PID is our unreaped child's
        // (see the module's invariants), so the signal cannot reach another process.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if let Some(status) = self.wait_timeout(STOP_GRACE)? {
            return Ok(status);
        }
        eprintln!(
            "{} did not exit within {STOP_GRACE:?} of SIGTERM; killing it",
            self.name
        );
        self.process.kill()?;
        let status = self.process.wait()?;
        self.status = Some(status);
        Ok(status)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            // Nothing better can be done from a destructor; the message at least names it.
            eprintln!("cannot stop {} (pid {}): {e}", self.name, self.pid());
        }
    }
}

/// Reads `stderr` line by line into `tail` until the pipe closes.
fn keep_tail(stderr: impl Read, tail: &Mutex<Tail>) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let mut tail = tail.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if tail.lines.len() == STDERR_TAIL {
            tail.lines.pop_front();
        }
        tail.lines.push_back(line);
        tail.total += 1;
    }
}

/// An echo server that is running and has announced its address.
pub struct RunningServer {
    /// The process; dropping it stops the server.
    pub child: Child,
    /// The address it printed in its `listening on` line.
    pub addr: SocketAddr,
}

impl RunningServer {
    /// Starts the echo server at `program` with `--addr 127.0.0.1:0 --buf BUF`, on `cpu` if
    /// given, and waits for its `listening on ADDR` line. A server that exits or stays silent
    /// instead is an error that names it and quotes its stderr.
    pub fn start(
        name: &str,
        program: &Path,
        buf: usize,
        cpu: Option<usize>,
    ) -> io::Result<RunningServer> {
        RunningServer::start_under(name, None, program, buf, cpu, STARTUP_TIMEOUT)
    }

    /// Like [`start`](RunningServer::start), but with `wrapper` (a program and its arguments,
    /// such as `valgrind --tool=callgrind`) running the server if given, and `startup` as the
    /// time allowed until the `listening on` line. The child's PID is the wrapper's, which
    /// for valgrind is the server's too (valgrind runs its guest in its own process).
    pub fn start_under(
        name: &str,
        wrapper: Option<(&Path, &[OsString])>,
        program: &Path,
        buf: usize,
        cpu: Option<usize>,
        startup: Duration,
    ) -> io::Result<RunningServer> {
        let buf = buf.to_string();
        let server_args = ["--addr", "127.0.0.1:0", "--buf", buf.as_str()].map(OsString::from);
        let mut child = match wrapper {
            None => Child::spawn(name, program, server_args, cpu)?,
            Some((wrapper, wrapper_args)) => {
                let args = wrapper_args
                    .iter()
                    .cloned()
                    .chain([program.as_os_str().to_owned()])
                    .chain(server_args);
                Child::spawn(name, wrapper, args, cpu)?
            }
        };
        let deadline = Instant::now() + startup;
        let problem = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match child.next_line(left) {
                NextLine::Line(line) => {
                    let Some(addr) = line.text.strip_prefix("listening on ") else {
                        continue;
                    };
                    match addr.trim().parse() {
                        Ok(addr) => return Ok(RunningServer { child, addr }),
                        Err(e) => break format!("printed an unreadable address `{addr}`: {e}"),
                    }
                }
                NextLine::Timeout => {
                    break format!("printed no `listening on` line within {startup:?}");
                }
                NextLine::Closed => {
                    // The stderr thread may still be reading the last lines; give it a moment
                    // so the message below quotes them.
                    let status = child.wait_timeout(Duration::from_secs(1))?;
                    thread::sleep(Duration::from_millis(50));
                    break match status {
                        Some(status) => format!("exited ({status}) before listening"),
                        None => "closed its stdout before listening".to_string(),
                    };
                }
            }
        };
        let stderr = child.stderr_tail();
        let stderr = if stderr.is_empty() {
            "(nothing)".to_string()
        } else {
            stderr
        };
        Err(io::Error::other(format!(
            "server {name} ({}) {problem}; its stderr:\n{stderr}",
            program.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_exits_is_an_error_naming_it() {
        let program = Path::new("/bin/false");
        let Err(e) = RunningServer::start("false", program, 4096, None) else {
            panic!("/bin/false cannot announce an address");
        };
        let message = e.to_string();
        assert!(message.contains("server false"), "{message}");
        assert!(message.contains("before listening"), "{message}");
    }

    #[test]
    fn dropping_a_child_ends_and_reaps_it() {
        let child = Child::spawn("sleep", Path::new("/bin/sleep"), ["60"], None)
            .expect("/bin/sleep starts");
        let pid = child.pid();
        drop(child);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }
}
