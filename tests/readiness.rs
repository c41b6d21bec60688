//! Readiness with many waiters on one source, the non-waiting `try_*` operations, and reads
//! that the urgent (out-of-band) mark cuts short. Regressions are named after what broke.

#![cfg(not(miri))] // Miri cannot create sockets.

mod support;

use std::io::{ErrorKind, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use evloop::future::join_all;
use evloop::io::AsyncReadExt;
use evloop::net::{Interest, TcpStream};
use evloop::time::sleep;
use support::{listen, rt, with_deadline};

/// Bounds every wait: far more than any of these operations needs on loopback.
const LIMIT: Duration = Duration::from_secs(10);

/// Long enough for spawned tasks to run up to their first `Pending`; if it were not, the tests
/// would only pass more easily, never fail spuriously.
const SETTLE: Duration = Duration::from_millis(20);

/// A blocking client connected to `addr`; the server side is accepted separately.
fn client(addr: SocketAddr) -> std::net::TcpStream {
    std::net::TcpStream::connect(addr).expect("connecting a std client to the test listener")
}

/// An evloop stream and its blocking peer.
async fn pair() -> (TcpStream, std::net::TcpStream) {
    let (listener, addr) = listen().await;
    let peer = client(addr);
    let (stream, _) = with_deadline(LIMIT, "accepting the peer", listener.accept())
        .await
        .expect("accept");
    (stream, peer)
}

/// Regression: the listener kept one waker for its read direction, so the second task to wait
/// in `accept` replaced the first, whose wake was lost: one of the two tasks never finished.
#[test]
fn two_tasks_accepting_on_one_listener_both_get_a_connection() {
    rt().block_on(async {
        let (listener, addr) = listen().await;
        let listener = Rc::new(listener);
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let listener = listener.clone();
                evloop::spawn(async move { listener.accept().await.map(|(_, peer)| peer) })
            })
            .collect();
        sleep(SETTLE).await; // both tasks wait in accept
        let _clients = [client(addr), client(addr)];
        for task in tasks {
            with_deadline(LIMIT, "each accepting task", task)
                .await
                .expect("task")
                .expect("accept");
        }
    });
}

/// More tasks than the listener keeps inline: the waiters beyond those spill into a list, and
/// every one of them still gets its connection.
#[test]
fn five_tasks_accepting_on_one_listener_all_get_a_connection() {
    rt().block_on(async {
        let (listener, addr) = listen().await;
        let listener = Rc::new(listener);
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let listener = listener.clone();
                evloop::spawn(async move { listener.accept().await.map(drop) })
            })
            .collect();
        sleep(SETTLE).await;
        let _clients: Vec<_> = (0..5).map(|_| client(addr)).collect();
        for task in tasks {
            with_deadline(LIMIT, "each of five accepting tasks", task)
                .await
                .expect("task")
                .expect("accept");
        }
    });
}

/// Regression: `join_all` polls each child with a waker of its own, and the listener kept only
/// the last one, so `join_all` of two `accept`s in one task never finished.
#[test]
fn join_all_of_two_accepts_in_one_task_finishes() {
    rt().block_on(async {
        let (listener, addr) = listen().await;
        let connect_later = evloop::spawn(async move {
            sleep(SETTLE).await; // both children wait in accept first
            [client(addr), client(addr)]
        });
        let accepted = with_deadline(
            LIMIT,
            "join_all of two accepts",
            join_all([listener.accept(), listener.accept()]),
        )
        .await;
        for result in accepted {
            result.expect("accept");
        }
        drop(connect_later.await.expect("connecting task"));
    });
}

/// Two tasks wait in `readable()` on one stream; one write from the peer wakes both.
#[test]
fn two_tasks_awaiting_readable_on_one_stream_are_both_woken() {
    rt().block_on(async {
        let (stream, mut peer) = pair().await;
        let stream = Rc::new(stream);
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let stream = stream.clone();
                evloop::spawn(async move { stream.readable().await })
            })
            .collect();
        sleep(SETTLE).await;
        peer.write_all(b"x").expect("peer write");
        for task in tasks {
            with_deadline(LIMIT, "each readable() task", task)
                .await
                .expect("task")
                .expect("readable");
        }
        let mut buf = [0; 4];
        assert_eq!(stream.try_read(&mut buf).expect("try_read"), 1);
    });
}

/// Regression guard: a `readable()` future dropped while it waits (here by a timeout) must
/// neither keep the others from being woken nor leave a wake-up behind that loops.
#[test]
fn a_waiter_dropped_while_waiting_takes_no_wake_from_the_others() {
    rt().block_on(async {
        let (stream, mut peer) = pair().await;
        let stream = Rc::new(stream);
        let waiting = evloop::spawn({
            let stream = stream.clone();
            async move { stream.readable().await }
        });
        sleep(SETTLE).await; // `waiting` is parked first
        // A second waiter parks after it, then is dropped while still waiting.
        let dropped = evloop::time::timeout(SETTLE, stream.readable()).await;
        assert!(dropped.is_err(), "nothing was sent yet: {dropped:?}");
        peer.write_all(b"x").expect("peer write");
        with_deadline(LIMIT, "the waiter that stayed", waiting)
            .await
            .expect("task")
            .expect("readable");
        // A fresh waiter still works after all that.
        with_deadline(LIMIT, "a later readable()", stream.readable())
            .await
            .expect("readable");
    });
}

/// Waiters for reading and for writing on one stream, in one task: `ready` reports each
/// direction, and `try_write` then `try_read` move the bytes.
#[test]
fn readiness_api_moves_bytes_without_waiting_inside_the_operations() {
    rt().block_on(async {
        let (stream, mut peer) = pair().await;
        let ready = with_deadline(LIMIT, "writable", stream.ready(Interest::WRITABLE))
            .await
            .expect("ready");
        assert!(ready.is_writable() && !ready.is_readable(), "{ready:?}");
        assert_eq!(stream.try_write(b"ping").expect("try_write"), 4);
        let mut buf = [0; 8];
        std::io::Read::read_exact(&mut peer, &mut buf[..4]).expect("peer read");
        assert_eq!(&buf[..4], b"ping");

        let mut buf = [0; 8];
        match stream.try_read(&mut buf) {
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            other => panic!("nothing was sent, yet try_read gave {other:?}"),
        }
        peer.write_all(b"pong").expect("peer write");
        let n = loop {
            with_deadline(LIMIT, "readable", stream.readable())
                .await
                .expect("readable");
            match stream.try_read(&mut buf) {
                Ok(n) => break n,
                Err(error) if error.kind() == ErrorKind::WouldBlock => continue,
                Err(error) => panic!("try_read: {error}"),
            }
        };
        assert_eq!(&buf[..n], b"pong");

        drop(peer);
        let ready = with_deadline(LIMIT, "EOF", stream.ready(Interest::READABLE))
            .await
            .expect("ready");
        assert!(ready.is_read_closed() && ready.is_readable(), "{ready:?}");
        assert_eq!(stream.try_read(&mut buf).expect("try_read at EOF"), 0);
    });
}

/// The owned halves wait and move bytes through the readiness API in two tasks.
#[test]
fn owned_halves_wait_with_readable_and_writable() {
    rt().block_on(async {
        let (stream, mut peer) = pair().await;
        let (read, write) = stream.into_split();
        let reader = evloop::spawn(async move {
            let mut buf = [0; 8];
            loop {
                read.readable().await?;
                match read.try_read(&mut buf) {
                    Ok(n) => return Ok::<_, std::io::Error>(buf[..n].to_vec()),
                    Err(error) if error.kind() == ErrorKind::WouldBlock => continue,
                    Err(error) => return Err(error),
                }
            }
        });
        write.writable().await.expect("writable");
        assert_eq!(write.try_write(b"hi").expect("try_write"), 2);
        let mut buf = [0; 2];
        std::io::Read::read_exact(&mut peer, &mut buf).expect("peer read");
        peer.write_all(b"yo").expect("peer write");
        let got = with_deadline(LIMIT, "reader half", reader)
            .await
            .expect("task")
            .expect("read");
        assert_eq!(got, b"yo");
    });
}

/// `try_accept` never waits: `WouldBlock` with no connection queued, the connection after
/// `readable()`.
#[test]
fn try_accept_says_would_block_then_takes_the_connection() {
    rt().block_on(async {
        let (listener, addr) = listen().await;
        match listener.try_accept() {
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            other => panic!("no client yet, but try_accept gave {other:?}"),
        }
        let _client = client(addr);
        let accepted = loop {
            with_deadline(LIMIT, "listener readable", listener.readable())
                .await
                .expect("readable");
            match listener.try_accept() {
                Ok(accepted) => break accepted,
                Err(error) if error.kind() == ErrorKind::WouldBlock => continue,
                Err(error) => panic!("try_accept: {error}"),
            }
        };
        assert_eq!(accepted.1, _client.local_addr().expect("client address"));
    });
}

/// Sends `byte` as TCP urgent (out-of-band) data.
fn send_urgent(stream: &std::net::TcpStream, byte: u8) {
    // SAFETY: `send` reads one byte from `&byte`, a live local; the descriptor is borrowed
    // from `stream`, open for the duration of the call.
    let sent = unsafe {
        libc::send(
            stream.as_raw_fd(),
            (&byte as *const u8).cast(),
            1,
            libc::MSG_OOB,
        )
    };
    assert_eq!(
        sent,
        1,
        "send(MSG_OOB): {}",
        std::io::Error::last_os_error()
    );
}

/// The peer sends `abc`, an urgent `X`, then `def`, and closes its end if `close`.
fn send_with_urgent_byte(
    mut peer: std::net::TcpStream,
    close: bool,
) -> Option<std::net::TcpStream> {
    peer.write_all(b"abc").expect("peer write");
    send_urgent(&peer, b'X');
    peer.write_all(b"def").expect("peer write");
    if close {
        drop(peer);
        None
    } else {
        Some(peer)
    }
}

/// Reads until `want` bytes or EOF, into a buffer larger than anything sent, so every read
/// that returns is short.
async fn read_up_to(stream: &mut TcpStream, want: usize) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0; 64];
    while received.len() < want {
        let n = stream.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
    }
    received
}

/// Regression: Linux ends a read at the urgent mark (`abc`) with `def` still queued; the short
/// read cleared `READABLE`, no new edge came, and the next read waited forever. The urgent
/// byte is not inline (no `SO_OOBINLINE`): it is not part of the stream and is not returned.
#[test]
fn an_urgent_byte_does_not_stall_the_read_of_an_open_connection() {
    rt().block_on(async {
        let (mut stream, peer) = pair().await;
        let _open = send_with_urgent_byte(peer, false);
        sleep(SETTLE).await; // everything is queued before the first read
        let received = with_deadline(LIMIT, "reading past the urgent mark", async {
            read_up_to(&mut stream, 6).await
        })
        .await;
        assert_eq!(received, b"abcdef");
    });
}

/// As above with the peer reading at once, before the urgent byte arrives, then again.
#[test]
fn an_urgent_byte_after_the_first_read_does_not_stall_the_next() {
    rt().block_on(async {
        let (mut stream, mut peer) = pair().await;
        peer.write_all(b"abc").expect("peer write");
        let first = with_deadline(LIMIT, "first read", read_up_to(&mut stream, 3)).await;
        assert_eq!(first, b"abc");
        peer.write_all(b"ghi").expect("peer write");
        send_urgent(&peer, b'X');
        peer.write_all(b"def").expect("peer write");
        sleep(SETTLE).await;
        let rest = with_deadline(LIMIT, "reading past the urgent mark", async {
            read_up_to(&mut stream, 6).await
        })
        .await;
        assert_eq!(rest, b"ghidef");
    });
}

/// The same with the peer closing after `def`: the stream ends after `abcdef`. (The FIN always
/// raises an edge of its own, so this case never stalled; it checks nothing is lost or added.)
#[test]
fn an_urgent_byte_before_the_peer_closes_loses_no_data() {
    rt().block_on(async {
        let (mut stream, peer) = pair().await;
        send_with_urgent_byte(peer, true);
        sleep(SETTLE).await;
        let mut received = Vec::new();
        with_deadline(LIMIT, "reading to EOF past the urgent mark", async {
            stream.read_to_end(&mut received).await
        })
        .await
        .expect("read_to_end");
        assert_eq!(received, b"abcdef");
    });
}
