//! `UdpSocket`: datagrams both ways, what a too-small buffer gets, ICMP errors on a connected
//! socket, many waiters on one socket, the `try_*` operations, and the socket options. Every
//! socket is on 127.0.0.1 or ::1.

#![cfg(not(miri))] // Miri cannot create sockets.

#[path = "support/examples.rs"]
mod examples;
mod support;

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use evloop::net::{Interest, UdpSocket};
use evloop::time::{sleep, timeout};
use support::{join, pattern, rt, with_deadline};

/// Bounds every wait: far more than any of these operations needs on loopback.
const LIMIT: Duration = Duration::from_secs(10);

/// Long enough for spawned tasks to run up to their first `Pending`, and for the kernel to
/// deliver an ICMP error on loopback; were it too short, the tests would only pass more
/// easily, never fail spuriously.
const SETTLE: Duration = Duration::from_millis(50);

async fn bind_v4() -> UdpSocket {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind 127.0.0.1:0")
}

/// Two sockets connected to each other.
async fn connected_pair() -> (UdpSocket, UdpSocket) {
    let a = bind_v4().await;
    let b = bind_v4().await;
    a.connect(b.local_addr().unwrap()).await.unwrap();
    b.connect(a.local_addr().unwrap()).await.unwrap();
    (a, b)
}

/// A loopback address with nothing bound to it: bound, then closed.
fn closed_port() -> SocketAddr {
    std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|socket| socket.local_addr())
        .expect("bind and drop a std socket")
}

/// Runs `future`, counting how many times it is polled.
async fn counting_polls<F: Future>(polls: &Cell<usize>, future: F) -> F::Output {
    let mut future = pin!(future);
    poll_fn(|cx| {
        polls.set(polls.get() + 1);
        future.as_mut().poll(cx)
    })
    .await
}

#[test]
fn datagrams_go_both_ways_with_their_addresses() {
    rt().block_on(with_deadline(LIMIT, "round trip", async {
        let server = bind_v4().await;
        let client = bind_v4().await;
        let server_addr = server.local_addr().unwrap();
        assert_eq!(server_addr.ip(), Ipv4Addr::LOCALHOST);
        assert_ne!(
            server_addr.port(),
            0,
            "port 0 was replaced by the port picked"
        );
        assert_eq!(
            client.peer_addr().unwrap_err().kind(),
            ErrorKind::NotConnected
        );

        let sent = client.send_to(b"ping", server_addr).await.unwrap();
        assert_eq!(sent, 4);
        let mut buf = [0; 64];
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"ping"[..], client.local_addr().unwrap())
        );

        server.send_to(b"pong", from).await.unwrap();
        client.connect(server_addr).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), server_addr);
        let n = client.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pong");
    }));
}

#[test]
fn ipv6_loopback_round_trip() {
    rt().block_on(with_deadline(LIMIT, "v6 round trip", async {
        let server = match UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).await {
            Ok(server) => server,
            // A kernel or container without IPv6: nothing to test here.
            Err(e) if e.kind() == ErrorKind::AddrNotAvailable => return,
            Err(e) => panic!("bind [::1]:0: {e}"),
        };
        let client = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).await.unwrap();
        client.connect(server.local_addr().unwrap()).await.unwrap();
        client.send(b"six").await.unwrap();
        let mut buf = [0; 8];
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"six"[..], client.local_addr().unwrap())
        );
    }));
}

/// The bad input: a datagram larger than the buffer. `recv` returns the buffer's
/// length, the buffer holds the datagram's start, the rest is gone, and the next `recv` gets
/// the next datagram (not the rest of this one).
#[test]
fn a_datagram_larger_than_the_buffer_is_cut_to_the_buffer_and_the_rest_is_discarded() {
    rt().block_on(with_deadline(LIMIT, "truncation", async {
        let (a, b) = connected_pair().await;
        let big = pattern(1, 1000);
        assert_eq!(a.send(&big).await.unwrap(), 1000);
        a.send(b"next").await.unwrap();

        let mut small = [0; 100];
        let n = b.recv(&mut small).await.unwrap();
        assert_eq!(n, 100, "the buffer's length, not the datagram's");
        assert_eq!(&small[..], &big[..100]);

        let n = b.recv(&mut small).await.unwrap();
        assert_eq!(
            &small[..n],
            b"next",
            "the rest of the big datagram was discarded"
        );
    }));
}

/// A datagram shorter than the buffer says nothing about the queue behind it: with the
/// stream-socket shortcut (a short read means drained), the second `recv` parked with a
/// datagram queued and no edge to come, and hung.
#[test]
fn a_short_datagram_does_not_hide_the_one_queued_behind_it() {
    rt().block_on(with_deadline(LIMIT, "short datagrams", async {
        let (a, b) = connected_pair().await;
        a.send(b"first").await.unwrap();
        a.send(b"second").await.unwrap();
        sleep(SETTLE).await; // both are queued before the first recv
        let mut buf = [0; 64];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"first");
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"second");
    }));
}

#[test]
fn peek_from_leaves_the_whole_datagram_queued() {
    rt().block_on(with_deadline(LIMIT, "peek", async {
        let (a, b) = connected_pair().await;
        let data = pattern(2, 300);
        a.send(&data).await.unwrap();

        let mut small = [0; 10];
        let (n, from) = b.peek_from(&mut small).await.unwrap();
        assert_eq!((n, from), (10, a.local_addr().unwrap()));
        assert_eq!(&small[..], &data[..10]);
        let n = b.peek(&mut small).await.unwrap();
        assert_eq!(n, 10, "peeking again sees the same datagram");

        let mut whole = [0; 1000];
        let n = b.recv(&mut whole).await.unwrap();
        assert_eq!(&whole[..n], &data[..], "the peeks cut nothing off");
    }));
}

#[test]
fn an_empty_datagram_is_sent_and_received() {
    rt().block_on(with_deadline(LIMIT, "empty datagram", async {
        let (a, b) = connected_pair().await;
        assert_eq!(a.send(b"").await.unwrap(), 0);
        a.send(b"after").await.unwrap();
        let mut buf = [0; 16];
        assert_eq!(b.recv(&mut buf).await.unwrap(), 0, "the empty datagram");
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"after");
    }));
}

/// The bad input: a connected socket sends to a closed port. The ICMP port
/// unreachable comes back as an error on the socket (`EPOLLERR`); a `recv` already waiting is
/// woken and returns `ConnectionRefused`, and the next `recv` waits again instead of spinning
/// on the stale error bit.
#[test]
fn connection_refused_wakes_a_waiting_recv_once_and_then_it_waits_without_spinning() {
    rt().block_on(with_deadline(LIMIT, "refused", async {
        let socket = bind_v4().await;
        socket.connect(closed_port()).await.unwrap();

        let mut buf = [0; 16];
        let (received, sent) = join(socket.recv(&mut buf), async {
            sleep(SETTLE).await; // the recv is parked first
            socket.send(b"anyone?").await
        })
        .await;
        sent.expect("the send itself succeeds; the refusal comes back later");
        let error = received.expect_err("the port is closed");
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");

        // Nothing else will arrive: the recv must park and stay parked until the timeout.
        let polls = Cell::new(0);
        let waited = timeout(SETTLE, counting_polls(&polls, socket.recv(&mut buf))).await;
        assert!(waited.is_err(), "nothing to receive, got {waited:?}");
        assert!(
            polls.get() <= 2,
            "a parked recv is polled once (twice if an event raced it), not {} times",
            polls.get()
        );
    }));
}

#[test]
fn connection_refused_surfaces_on_the_next_send_too() {
    rt().block_on(with_deadline(LIMIT, "refused on send", async {
        let socket = bind_v4().await;
        socket.connect(closed_port()).await.unwrap();
        socket.send(b"anyone?").await.unwrap();
        socket.readable().await.unwrap(); // the error makes the socket ready
        let error = socket
            .send(b"still?")
            .await
            .expect_err("the error is pending");
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
        assert!(
            socket.take_error().unwrap().is_none(),
            "reported once, then cleared"
        );
    }));
}

/// Many waiters: each `recv` future is a waiter of its own, so two tasks waiting on one socket
/// both get a datagram (with one shared waker, one task's wake was lost).
#[test]
fn two_tasks_receiving_on_one_socket_each_get_a_datagram() {
    rt().block_on(with_deadline(LIMIT, "two receivers", async {
        let (a, b) = connected_pair().await;
        let b = Rc::new(b);
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                evloop::spawn(async move {
                    let mut buf = [0; 16];
                    let n = b.recv(&mut buf).await.unwrap();
                    buf[..n].to_vec()
                })
            })
            .collect();
        sleep(SETTLE).await; // both tasks wait in recv
        a.send(b"one").await.unwrap();
        a.send(b"two").await.unwrap();
        let mut got = Vec::new();
        for task in tasks {
            got.push(with_deadline(LIMIT, "each receiver", task).await.unwrap());
        }
        got.sort();
        assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
    }));
}

#[test]
fn try_operations_never_wait_and_readiness_says_when_to_retry() {
    rt().block_on(with_deadline(LIMIT, "try ops", async {
        let (a, b) = connected_pair().await;
        let mut buf = [0; 16];
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(
            b.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        let ready = a.ready(Interest::WRITABLE).await.unwrap();
        assert!(ready.is_writable());
        assert_eq!(a.try_send(b"hi").unwrap(), 2);
        a.writable().await.unwrap();
        assert_eq!(a.try_send_to(b"ho", b.local_addr().unwrap()).unwrap(), 2);

        let n = loop {
            b.readable().await.unwrap();
            match b.try_recv(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => panic!("try_recv: {e}"),
            }
        };
        assert_eq!(&buf[..n], b"hi");
        let (n, from) = b.try_peek_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"ho"[..], a.local_addr().unwrap()));
        let (n, _) = b.try_recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ho");
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock,
            "the queue is empty again"
        );
    }));
}

#[test]
fn poll_methods_send_and_receive() {
    rt().block_on(with_deadline(LIMIT, "poll methods", async {
        let (a, b) = connected_pair().await;
        let target = b.local_addr().unwrap();
        poll_fn(|cx| a.poll_send_ready(cx)).await.unwrap();
        assert_eq!(poll_fn(|cx| a.poll_send(cx, b"x")).await.unwrap(), 1);
        assert_eq!(
            poll_fn(|cx| a.poll_send_to(cx, b"yz", target))
                .await
                .unwrap(),
            2
        );
        let mut buf = [0; 8];
        poll_fn(|cx| b.poll_recv_ready(cx)).await.unwrap();
        let n = poll_fn(|cx| b.poll_peek(cx, &mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"x");
        let n = poll_fn(|cx| b.poll_recv(cx, &mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"x");
        let (n, from) = poll_fn(|cx| b.poll_peek_from(cx, &mut buf)).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"yz"[..], a.local_addr().unwrap()));
        let (n, _) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"yz");
        // Nothing left: a poll parks instead of returning.
        let parked = poll_fn(|cx| Poll::Ready(b.poll_recv(cx, &mut buf).is_pending())).await;
        assert!(parked);
    }));
}

#[test]
fn send_to_an_address_list_that_is_empty_is_invalid_input() {
    rt().block_on(with_deadline(LIMIT, "no address", async {
        let socket = bind_v4().await;
        let nowhere: &[SocketAddr] = &[];
        let error = socket.send_to(b"x", nowhere).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
        let error = UdpSocket::bind(nowhere).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    }));
}

#[test]
fn options_are_set_and_read_back_and_bad_values_are_refused() {
    rt().block_on(with_deadline(LIMIT, "options", async {
        let socket = bind_v4().await;
        socket.set_broadcast(true).unwrap();
        assert!(socket.broadcast().unwrap());
        socket.set_broadcast(false).unwrap();
        assert!(!socket.broadcast().unwrap());

        socket.set_ttl(7).unwrap();
        assert_eq!(socket.ttl().unwrap(), 7);
        let error = socket.set_ttl(256).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");

        socket.set_multicast_ttl_v4(3).unwrap();
        assert_eq!(socket.multicast_ttl_v4().unwrap(), 3);
        socket.set_multicast_loop_v4(false).unwrap();
        assert!(!socket.multicast_loop_v4().unwrap());

        let group = Ipv4Addr::new(239, 1, 2, 3);
        socket
            .join_multicast_v4(group, Ipv4Addr::LOCALHOST)
            .unwrap();
        let twice = socket
            .join_multicast_v4(group, Ipv4Addr::LOCALHOST)
            .unwrap_err();
        assert_eq!(twice.kind(), ErrorKind::AddrInUse, "{twice}");
        socket
            .leave_multicast_v4(group, Ipv4Addr::LOCALHOST)
            .unwrap();
        let not_joined = socket
            .leave_multicast_v4(group, Ipv4Addr::LOCALHOST)
            .unwrap_err();
        assert_eq!(
            not_joined.kind(),
            ErrorKind::AddrNotAvailable,
            "{not_joined}"
        );
        let not_multicast = socket
            .join_multicast_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST)
            .unwrap_err();
        assert_eq!(
            not_multicast.kind(),
            ErrorKind::InvalidInput,
            "{not_multicast}"
        );
    }));
}

#[test]
fn into_std_keeps_queued_datagrams_and_from_std_takes_a_socket_back() {
    rt().block_on(with_deadline(LIMIT, "std round trip", async {
        let (a, b) = connected_pair().await;
        let b_addr = b.local_addr().unwrap();
        a.send(b"queued").await.unwrap();
        let b = b.into_std().unwrap();
        assert_eq!(b.local_addr().unwrap(), b_addr);
        b.set_nonblocking(false).unwrap();
        b.set_read_timeout(Some(LIMIT)).unwrap();
        let mut buf = [0; 16];
        let n = b.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"queued");

        let b = UdpSocket::from_std(b).unwrap();
        a.send(b"again").await.unwrap();
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"again");
    }));
}

#[test]
fn dropped_sockets_leave_no_registration_behind() {
    let rt = rt();
    rt.block_on(with_deadline(LIMIT, "drop", async {
        let (a, b) = connected_pair().await;
        let std = a.into_std().unwrap();
        drop((std, b));
    }));
    assert_eq!(rt.metrics().io_registrations, 0);
}

/// Kills the child on drop, so that a failed assertion cannot leave the example running.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `examples/udp-echo` end to end: it announces its port, echoes datagrams up to `--buf`
/// bytes, and drops (and reports) a larger one instead of echoing it cut short.
#[test]
fn udp_echo_example_echoes_and_drops_datagrams_larger_than_its_buffer() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let Some(binary) = examples::example_binary("udp-echo") else {
        println!("skipped: examples/udp-echo is not built (cargo test builds it)");
        return;
    };
    let mut child = KillOnDrop(
        Command::new(binary)
            .args(["--addr", "127.0.0.1:0", "--buf", "8"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting udp-echo"),
    );
    // The first line, read on a thread so that the wait for it is bounded.
    let stdout = child.0.stdout.take().unwrap();
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = line_tx.send(line);
    });
    let line = line_rx
        .recv_timeout(LIMIT)
        .expect("udp-echo printed no line within the limit");
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .expect("an address after `listening on`");

    let client = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    client.set_read_timeout(Some(LIMIT)).unwrap();
    client.connect(addr).unwrap();
    let mut buf = [0; 64];
    client.send(b"12345678").unwrap();
    let n = client
        .recv(&mut buf)
        .expect("the 8-byte datagram is echoed");
    assert_eq!(&buf[..n], b"12345678");
    client.send(b"123456789").unwrap(); // one byte over --buf: dropped
    client.send(b"after").unwrap();
    let n = client.recv(&mut buf).expect("the next datagram is echoed");
    assert_eq!(&buf[..n], b"after", "the oversized datagram was not echoed");

    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("dropped 1 datagram(s) larger than --buf 8 bytes"),
        "{stderr:?}"
    );
}
