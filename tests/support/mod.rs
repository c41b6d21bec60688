//! Helpers shared by the integration tests: a runtime, deterministic test data, a hang guard,
//! and a two-future join.
//!
//! Every test crate that says `mod support;` compiles this whole module but uses only part of
//! it, hence the `dead_code` allowance.

#![allow(
    dead_code,
    reason = "each test crate compiles this module and uses a subset of it"
)]

use std::future::{Future, IntoFuture, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use evloop::Runtime;

/// A runtime with the default settings.
pub fn rt() -> Runtime {
    Runtime::new().expect("creating an evloop runtime (epoll instance and eventfd)")
}

/// `len` bytes determined by `seed` and by each byte's position (splitmix64 output).
///
/// Two different seeds give different streams, and a stream that was truncated, reordered,
/// shifted by a byte or mixed with another no longer compares equal to its pattern.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0xA076_1D64_78BD_642F);
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        bytes.extend_from_slice(&z.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Awaits `future`, failing the test if it takes longer than `limit`.
///
/// A guard against hangs, not a timing assertion: pick a `limit` many times what the work
/// needs, so that only a future that never finishes trips it. It relies on evloop's own timer,
/// so it cannot catch a runtime whose timers are starved; tests of starvation bound their
/// loops themselves.
pub async fn with_deadline<F: IntoFuture>(limit: Duration, what: &str, future: F) -> F::Output {
    match evloop::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: not finished after {limit:?}; it hangs"),
    }
}

/// Runs `a` and `b` concurrently inside the calling task and returns both outputs.
///
/// Each poll polls whichever of the two has not finished yet, so both register their wakers
/// with the task and either one's wake-up polls both again.
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut out_a = None;
    let mut out_b = None;
    poll_fn(|cx| {
        if out_a.is_none()
            && let Poll::Ready(output) = a.as_mut().poll(cx)
        {
            out_a = Some(output);
        }
        if out_b.is_none()
            && let Poll::Ready(output) = b.as_mut().poll(cx)
        {
            out_b = Some(output);
        }
        if out_a.is_some() && out_b.is_some() {
            Poll::Ready((out_a.take().unwrap(), out_b.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Binds a listener on a free loopback port and returns it with its address.
pub async fn listen() -> (evloop::net::TcpListener, std::net::SocketAddr) {
    let listener = evloop::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("listener's local address");
    (listener, addr)
}
