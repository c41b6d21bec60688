//! TCP micro-benchmark: a 64-byte round trip over loopback on one connection.
//!
//! Run with `cargo bench --bench tcp`. The client and the echo server are both evloop tasks
//! in one runtime; the connection is set up once, outside the timed part (`iter_custom`).

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "support/setup.rs"]
mod setup;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use setup::{config, runtime};

/// The message size of the TCP benchmark: 64 bytes, small enough that the loop's cost per
/// message, not the copy, is what it measures.
const MESSAGE: usize = 64;

/// Binds a listener on loopback and spawns a task that echoes one connection, 64 bytes at a
/// time, until the peer closes it; returns the listener's address.
async fn spawn_echo_server() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The server's error (`UnexpectedEof` once the client hangs up) goes to the detached
    // handle, where nobody needs it.
    evloop::spawn(echo_one(listener));
    Ok(addr)
}

/// Echoes the first connection `listener` accepts, 64 bytes at a time, until it fails;
/// `read_exact` fails with `UnexpectedEof` once the peer hangs up.
async fn echo_one(listener: TcpListener) -> io::Result<()> {
    let (mut conn, _) = listener.accept().await?;
    conn.set_nodelay(true)?;
    let mut buf = [0u8; MESSAGE];
    loop {
        conn.read_exact(&mut buf).await?;
        conn.write_all(&buf).await?;
    }
}

/// A 64-byte round trip over loopback: the client writes 64 bytes, the server task reads
/// and writes them back, the client reads them; reported per round trip.
///
/// With both ends in one runtime, each round trip is two writes, two reads, the readiness
/// events that wake each side, and two task switches: the per-message floor of any evloop
/// server, most of it in the kernel (`TCP_NODELAY` is set on both ends, so Nagle adds no
/// delay).
fn tcp_round_trip(c: &mut Criterion) {
    let rt = runtime();
    let mut client = rt
        .block_on(async {
            let addr = spawn_echo_server().await?;
            let client = TcpStream::connect(addr).await?;
            client.set_nodelay(true)?;
            Ok::<_, io::Error>(client)
        })
        .expect("setting up a loopback connection");
    let message = [0x5au8; MESSAGE];
    let mut reply = [0u8; MESSAGE];
    c.bench_function("tcp_round_trip_64B", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    client
                        .write_all(&message)
                        .await
                        .expect("writing to loopback");
                    client
                        .read_exact(&mut reply)
                        .await
                        .expect("reading the echo");
                }
                start.elapsed()
            })
        })
    });
    assert_eq!(reply, message, "the server echoes what it was sent");
}

criterion_group! {
    name = benches;
    config = config();
    targets = tcp_round_trip
}
criterion_main!(benches);
