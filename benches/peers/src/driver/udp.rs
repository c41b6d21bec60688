//! The UDP echo line of the report: the round-trip rate of evloop's `udp-echo` example.
//!
//! # What is measured
//!
//! `udp-echo` runs pinned to the server CPU, as the TCP servers do. A client in the driver
//! itself (a blocking `std::net::UdpSocket`, connected to the server) sends one
//! [`DATAGRAM_SIZE`]-byte datagram, waits for its echo, checks it, and sends the next: one
//! datagram in flight, for the same window as each TCP run. The figure is completed round
//! trips per second: the latency of one datagram through the loopback, evloop's reactor and
//! one task, and back, with nothing to amortise it over. It is not comparable with the TCP
//! table's messages per second, whose client is `echo-client` on its own CPU, with its own
//! timing of each message; it is there to show that the UDP path works, and what one
//! unbatched round trip through it costs.
//!
//! A datagram whose echo does not come back within [`LOSS_TIMEOUT`] counts as lost and the
//! next one is sent (loopback does not lose datagrams unless a socket buffer overflows, so any
//! loss is worth a look); an echo that differs from what was sent counts as a mismatch.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use super::process::RunningServer;
use super::servers::{Layout, SERVER_BUF};

/// The size of each datagram, as the TCP matrix's small messages.
pub const DATAGRAM_SIZE: usize = 64;

/// How long the client waits for an echo before it counts the datagram as lost.
pub const LOSS_TIMEOUT: Duration = Duration::from_millis(200);

/// What one window of UDP round trips measured.
#[derive(Clone, Debug)]
pub struct UdpRate {
    /// Round trips completed (echo received and identical).
    pub round_trips: u64,
    /// Datagrams whose echo did not come back within [`LOSS_TIMEOUT`].
    pub lost: u64,
    /// Echoes that differed from what was sent.
    pub mismatches: u64,
    /// The measured window.
    pub secs: f64,
}

impl UdpRate {
    /// Completed round trips per second.
    pub fn per_sec(&self) -> f64 {
        self.round_trips as f64 / self.secs
    }
}

impl fmt::Display for UdpRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.0} round trips/s ({} in {:.1} s; {DATAGRAM_SIZE}-byte datagrams, one in flight, \
             from one blocking socket in the driver; {} lost, {} mismatched)",
            self.per_sec(),
            self.round_trips,
            self.secs,
            self.lost,
            self.mismatches
        )
    }
}

/// Starts `udp-echo` (on `cpu` if given) and measures round trips for `window`.
pub fn measure(layout: &Layout, window: Duration, cpu: Option<usize>) -> io::Result<UdpRate> {
    let program = layout.udp_server();
    if !program.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is not built", program.display()),
        ));
    }
    let server = RunningServer::start("udp-echo", &program, SERVER_BUF, cpu)?;
    let rate = round_trips(server.addr, window);
    drop(server); // stops it
    rate
}

/// Sends a datagram, waits for its echo, and again, for `window`.
fn round_trips(server: std::net::SocketAddr, window: Duration) -> io::Result<UdpRate> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    socket.connect(server)?;
    socket.set_read_timeout(Some(LOSS_TIMEOUT))?;
    let mut sent = [0u8; DATAGRAM_SIZE];
    let mut received = [0u8; DATAGRAM_SIZE + 1];
    let mut rate = UdpRate {
        round_trips: 0,
        lost: 0,
        mismatches: 0,
        secs: 0.0,
    };
    let started = Instant::now();
    let mut sequence: u64 = 0;
    while started.elapsed() < window {
        sequence += 1;
        // Each datagram carries its sequence number, so a late echo of an earlier one is told
        // from the one awaited.
        sent[..8].copy_from_slice(&sequence.to_le_bytes());
        socket.send(&sent)?;
        loop {
            match socket.recv(&mut received) {
                Ok(n) if received[..n] == sent[..] => {
                    rate.round_trips += 1;
                    break;
                }
                // A late echo of a datagram already counted as lost: wait on for this one.
                Ok(n) if n == DATAGRAM_SIZE && received[..8] != sent[..8] => {}
                Ok(_) => {
                    rate.mismatches += 1;
                    break;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    rate.lost += 1;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
    }
    rate.secs = started.elapsed().as_secs_f64();
    Ok(rate)
}
