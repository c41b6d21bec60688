//! User-space instructions per keep-alive `GET /`, counted by callgrind (see the binary's
//! docs for the two-load difference), and where they go, by crate.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use super::{Layout, Options, Server, start};
use crate::callgrind::Profile;
use crate::process::{Child, Pinning};

/// Requests in the first and the second load, spread evenly over the connections.
pub const LOADS: [u64; 2] = [2_000, 6_000];

/// The largest connection count counted: the targets are at 10 and 100.
const MAX_CONNS: usize = 100;

/// How long a server under valgrind may take to print its address.
const STARTUP: Duration = Duration::from_secs(60);

/// How long one response may take under valgrind before the load fails.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// The request every connection sends, as `wrk` sends it.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// One server at one connection count.
#[derive(Clone, Debug)]
pub struct Count {
    /// Which server.
    pub server: Server,
    /// Keep-alive connections.
    pub conns: usize,
    /// Instructions in each load.
    pub instructions: [u64; 2],
    /// `(I2 − I1) / (R2 − R1)`.
    pub per_request: f64,
    /// The same difference per request, summed by crate group (see [`group`]).
    pub by_group: BTreeMap<&'static str, f64>,
    /// The functions with the most instructions per request, most first.
    pub top: Vec<(String, f64)>,
}

/// Counts every server at each of `options.conns` up to [`MAX_CONNS`].
pub fn run(layout: &Layout, options: &Options, pinning: Option<Pinning>) -> io::Result<Vec<Count>> {
    for tool in ["valgrind", "callgrind_control"] {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot run {tool} ({e}): install with `apt-get install valgrind`"),
                )
            })?;
    }
    let scratch = layout.target.join("http-bench-instr");
    fs::create_dir_all(&scratch)?;
    let mut counts = Vec::new();
    for &conns in options.conns.iter().filter(|&&conns| conns <= MAX_CONNS) {
        for server in Server::ALL {
            let count = measure(layout, server, conns, pinning, &scratch)?;
            eprintln!(
                "http-bench instr: {:>12} {conns:>4} conns: {:.0} instructions per request",
                server.name(),
                count.per_request
            );
            counts.push(count);
        }
    }
    Ok(counts)
}

fn measure(
    layout: &Layout,
    server: Server,
    conns: usize,
    pinning: Option<Pinning>,
    scratch: &Path,
) -> io::Result<Count> {
    let out = scratch.join(format!("{}-{conns}.callgrind", server.name()));
    for part in 1..=4 {
        let _ = fs::remove_file(part_path(&out, part));
    }
    let _ = fs::remove_file(&out);
    let wrapper = (
        "valgrind",
        vec![
            "--tool=callgrind".to_string(),
            format!("--callgrind-out-file={}", out.display()),
        ],
    );
    let mut running = start(
        server,
        &server.program(layout),
        Some(wrapper),
        pinning.map(|pinning| pinning.server),
        STARTUP,
    )?;
    let pid = running.child.pid();
    dump(pid, "start-up")?;
    for requests in LOADS {
        drive(running.addr, conns, requests)?;
        dump(pid, &format!("load-{requests}"))?;
    }
    running.child.stop()?;
    let first = read_part(&out, 2)?;
    let second = read_part(&out, 3)?;
    let ir = second
        .event("Ir")
        .ok_or_else(|| io::Error::other("the profile has no Ir"))?;
    let extra = (LOADS[1] - LOADS[0]) as f64;
    let instructions = [first.total(ir), second.total(ir)];
    let per_request = (instructions[1] as f64 - instructions[0] as f64) / extra;
    let mut by_group = BTreeMap::new();
    let mut per_function = BTreeMap::new();
    for name in first.self_cost.keys().chain(second.self_cost.keys()) {
        if per_function.contains_key(name) {
            continue;
        }
        let delta = (second.self_of(name, ir) as f64 - first.self_of(name, ir) as f64) / extra;
        per_function.insert(name.clone(), delta);
        *by_group.entry(group(name)).or_insert(0.0) += delta;
    }
    let mut top: Vec<(String, f64)> = per_function.into_iter().collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    top.truncate(15);
    Ok(Count {
        server,
        conns,
        instructions,
        per_request,
        by_group,
        top,
    })
}

/// The crate group a function belongs to, by the first segment of its (demangled) path:
/// `hyper` (hyper and the crates it parses and buffers with), `runtime` (evloop, tokio, mio,
/// slab), `std` (std, core, alloc, and the C library: the allocator, `memcpy`, syscall
/// wrappers), or `other`.
pub fn group(name: &str) -> &'static str {
    let path = name.trim_start_matches(['<', '&', '*']);
    let path = path.strip_prefix("mut ").unwrap_or(path);
    let first = path.split("::").next().unwrap_or(path);
    match first {
        "hyper" | "http" | "httparse" | "http_body" | "bytes" | "httpdate" => "hyper",
        "evloop" | "tokio" | "mio" | "slab" => "runtime",
        "std" | "core" | "alloc" => "std",
        _ if !name.contains("::") => "std",
        _ => "other",
    }
}

/// Opens `conns` keep-alive connections and sends `requests` requests over them (each
/// connection its share, one after the other), reading every response; then closes them.
fn drive(addr: SocketAddr, conns: usize, requests: u64) -> io::Result<()> {
    let per_conn = requests / conns as u64;
    let extra = requests % conns as u64;
    let workers: Vec<_> = (0..conns)
        .map(|n| {
            let count = per_conn + u64::from((n as u64) < extra);
            thread::spawn(move || -> io::Result<()> {
                let mut stream = TcpStream::connect(addr)?;
                stream.set_nodelay(true)?;
                stream.set_read_timeout(Some(RESPONSE_TIMEOUT))?;
                let mut buf = Vec::with_capacity(512);
                for _ in 0..count {
                    stream.write_all(REQUEST)?;
                    read_response(&mut stream, &mut buf)?;
                }
                Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| io::Error::other("a client thread panicked"))??;
    }
    Ok(())
}

/// Reads one response (head and a `content-length` body) into `buf`, which keeps any bytes of
/// the next one.
fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    loop {
        if let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
            if !head.starts_with("http/1.1 200") {
                return Err(io::Error::other(format!("not a 200: {head}")));
            }
            let len: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|len| len.trim().parse().ok())
                .ok_or_else(|| io::Error::other("a response without content-length"))?;
            let total = head_end + 4 + len;
            if buf.len() >= total {
                buf.drain(..total);
                return Ok(());
            }
        }
        let mut chunk = [0; 4096];
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::other(
                "the server closed a keep-alive connection",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Asks callgrind to write (and reset) its counters.
fn dump(pid: u32, label: &str) -> io::Result<()> {
    let mut control = Child::spawn(
        "callgrind_control",
        Path::new("callgrind_control"),
        [format!("--dump={label}"), pid.to_string()],
        None,
    )?;
    match control.wait_timeout(Duration::from_secs(60))? {
        Some(status) if status.success() => Ok(()),
        other => Err(io::Error::other(format!(
            "callgrind_control --dump: {other:?}: {}",
            control.stderr_tail()
        ))),
    }
}

fn part_path(out: &Path, part: u32) -> PathBuf {
    let mut path = PathBuf::from(out);
    path.as_mut_os_string().push(format!(".{part}"));
    path
}

fn read_part(out: &Path, part: u32) -> io::Result<Profile> {
    let path = part_path(out, part);
    let text = fs::read_to_string(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))?;
    Profile::parse(&text).map_err(|e| io::Error::other(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn functions_group_by_their_crate() {
        assert_eq!(group("hyper::proto::h1::role::parse_headers"), "hyper");
        assert_eq!(
            group("<evloop::net::stream::TcpStream as hyper::rt::io::Read>::poll_read"),
            "runtime"
        );
        assert_eq!(group("tokio::runtime::task::raw::poll"), "runtime");
        assert_eq!(group("core::ptr::drop_in_place<hyper::Error>"), "std");
        assert_eq!(group("__memcpy_avx_unaligned_erms"), "std");
        assert_eq!(group("main"), "std");
    }
}
