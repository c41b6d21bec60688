//! `wrk`: making sure it is there, running it pinned, and reading its report.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::process::{Child, NextLine};

/// What one `wrk` run reported.
#[derive(Clone, Copy, Debug, Default)]
pub struct Report {
    /// Requests completed in the run (`N requests in …`).
    pub requests: u64,
    /// `Requests/sec`.
    pub per_sec: f64,
    /// The 50th and 99th latency percentiles, in microseconds (`--latency`).
    pub p50_us: f64,
    /// See `p50_us`.
    pub p99_us: f64,
    /// Socket errors (connect, read, write, timeout) plus non-2xx/3xx answers.
    pub errors: u64,
}

/// Returns `wrk`'s version line, installing Debian's `wrk` package first when it is missing
/// and this process may (root, with `apt-get`); otherwise an error that says how.
pub fn ensure_installed() -> io::Result<String> {
    if let Some(version) = version() {
        return Ok(version);
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if root && Path::new("/usr/bin/apt-get").exists() {
        eprintln!("http-bench: wrk is missing; installing Debian's wrk package");
        let install = || {
            Command::new("apt-get")
                .args(["install", "-y", "wrk"])
                .status()
                .is_ok_and(|status| status.success())
        };
        if !install() {
            let _ = Command::new("apt-get").arg("update").status();
            install();
        }
        if let Some(version) = version() {
            return Ok(version);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        "wrk is not installed: install it with `sudo apt-get install wrk` (Debian, Ubuntu)",
    ))
}

/// `wrk`'s first output line (`wrk 4.1.0 [epoll] …`), if it runs at all.
fn version() -> Option<String> {
    // `wrk -v` prints its version and usage, and exits with status 1.
    let output = Command::new("wrk").arg("-v").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    Some(text.lines().next().unwrap_or("wrk").trim().to_string())
}

/// Runs `wrk -t1 -cCONNS -dSECSs --latency http://ADDR/` on `cpu` and reads its report.
pub fn run(addr: SocketAddr, conns: usize, secs: u64, cpu: Option<usize>) -> io::Result<Report> {
    let args = [
        "-t1".to_string(),
        format!("-c{conns}"),
        format!("-d{secs}s"),
        "--latency".to_string(),
        format!("http://{addr}/"),
    ];
    let mut child = Child::spawn("wrk", Path::new("wrk"), args, cpu)?;
    let mut text = String::new();
    let limit = Duration::from_secs(secs + 30);
    loop {
        match child.next_line(limit) {
            NextLine::Line(line) => {
                text.push_str(&line.text);
                text.push('\n');
            }
            NextLine::Closed => break,
            NextLine::Timeout => {
                return Err(io::Error::other(format!(
                    "wrk did not finish within {limit:?}"
                )));
            }
        }
    }
    match child.wait_timeout(Duration::from_secs(5))? {
        Some(status) if status.success() => {}
        status => {
            return Err(io::Error::other(format!(
                "wrk failed ({status:?}): {}\n{text}",
                child.stderr_tail()
            )));
        }
    }
    parse(&text).map_err(|e| io::Error::other(format!("{e}; wrk said:\n{text}")))
}

/// Reads wrk's report.
pub fn parse(text: &str) -> Result<Report, String> {
    let mut report = Report::default();
    let mut seen_requests = false;
    let mut seen_rate = false;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("50%") {
            report.p50_us = duration_us(rest.trim()).ok_or("unreadable 50% line")?;
        } else if let Some(rest) = line.strip_prefix("99%") {
            report.p99_us = duration_us(rest.trim()).ok_or("unreadable 99% line")?;
        } else if line.contains(" requests in ") {
            report.requests = line
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or("unreadable request count")?;
            seen_requests = true;
        } else if let Some(rest) = line.strip_prefix("Requests/sec:") {
            report.per_sec = rest.trim().parse().map_err(|_| "unreadable Requests/sec")?;
            seen_rate = true;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // `connect 0, read 0, write 0, timeout 0`
            for part in rest.split(',') {
                let count = part
                    .split_whitespace()
                    .nth(1)
                    .and_then(|n| n.parse::<u64>().ok());
                report.errors += count.ok_or("unreadable socket errors")?;
            }
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            report.errors += rest
                .trim()
                .parse::<u64>()
                .map_err(|_| "unreadable non-2xx count")?;
        }
    }
    if !seen_requests || !seen_rate {
        return Err("no request count or rate in wrk's output".to_string());
    }
    Ok(report)
}

/// `123.45us`, `1.20ms`, `2.00s` in microseconds.
fn duration_us(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        _ => return None,
    };
    Some(number * scale)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_a_report_with_errors() {
        let text = "\
Running 5s test @ http://127.0.0.1:8080/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   150.00us   20.00us   1.00ms   90.00%
  Latency Distribution
     50%  143.00us
     75%  160.00us
     90%  180.00us
     99%    1.20ms
  312345 requests in 5.00s, 30.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  62469.00
Transfer/sec:      6.00MB
";
        let report = parse(text).expect("parses");
        assert_eq!(report.requests, 312_345);
        assert_eq!(report.p50_us, 143.0);
        assert_eq!(report.p99_us, 1200.0);
        assert_eq!(report.errors, 7);
        assert_eq!(report.per_sec, 62_469.0);
    }
}
