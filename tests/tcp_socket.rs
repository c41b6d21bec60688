//! `TcpSocket` and the socket options of `TcpStream` and `TcpListener`: every option
//! round-trips through its getter; `SO_REUSEPORT` lets listeners share a port and nothing
//! else does; `connect` reports a refusal; `peek` leaves the data where it was.

// Miri cannot open sockets or call epoll, so this whole file is left out under it.
#![cfg(not(miri))]

mod support;

use std::cell::Cell;
use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{FromRawFd, IntoRawFd};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpSocket, TcpStream};

use support::{rt, with_deadline};

/// Hang guard for a whole test: far above the milliseconds each one needs.
const TEST_LIMIT: Duration = Duration::from_secs(20);

fn localhost_v4() -> SocketAddr {
    (Ipv4Addr::LOCALHOST, 0).into()
}

/// A bound, listening socket made with our builder, and its address.
fn listening(reuseport: bool, addr: SocketAddr) -> (TcpListener, SocketAddr) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseport(reuseport).unwrap();
    socket.bind(addr).unwrap();
    let listener = socket.listen(128).unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// A loopback port nobody listens on: bound once by the system's choice, then closed.
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind(localhost_v4()).unwrap();
    listener.local_addr().unwrap()
}

#[test]
fn every_socket_option_round_trips_through_its_getter() {
    let socket = TcpSocket::new_v4().unwrap();
    assert!(
        socket.take_error().unwrap().is_none(),
        "SO_ERROR on a fresh socket"
    );
    for on in [true, false, true] {
        socket.set_reuseaddr(on).unwrap();
        assert_eq!(socket.reuseaddr().unwrap(), on, "SO_REUSEADDR");
        socket.set_reuseport(on).unwrap();
        assert_eq!(socket.reuseport().unwrap(), on, "SO_REUSEPORT");
        socket.set_nodelay(on).unwrap();
        assert_eq!(socket.nodelay().unwrap(), on, "TCP_NODELAY");
        socket.set_keepalive(on).unwrap();
        assert_eq!(socket.keepalive().unwrap(), on, "SO_KEEPALIVE");
    }
    for linger in [Some(Duration::from_secs(3)), Some(Duration::ZERO), None] {
        socket.set_linger(linger).unwrap();
        assert_eq!(socket.linger().unwrap(), linger, "SO_LINGER");
    }
    // Linux doubles what it is given (the second half is its bookkeeping); both sizes are far
    // below the default caps (`net.core.[rw]mem_max`, 208 KiB or more) and above the minimum.
    for size in [32 * 1024, 48 * 1024] {
        socket.set_send_buffer_size(size).unwrap();
        assert_eq!(socket.send_buffer_size().unwrap(), 2 * size, "SO_SNDBUF");
        socket.set_recv_buffer_size(size).unwrap();
        assert_eq!(socket.recv_buffer_size().unwrap(), 2 * size, "SO_RCVBUF");
    }
}

#[test]
fn stream_and_listener_options_round_trip_through_their_getters() {
    rt().block_on(with_deadline(TEST_LIMIT, "options", async {
        let (listener, addr) = listening(false, localhost_v4());
        listener.set_ttl(17).unwrap();
        assert_eq!(listener.ttl().unwrap(), 17);
        let stream = TcpStream::connect(addr).await.unwrap();
        for ttl in [1, 64, 255] {
            stream.set_ttl(ttl).unwrap();
            assert_eq!(stream.ttl().unwrap(), ttl);
        }
        for linger in [Some(Duration::from_secs(2)), Some(Duration::ZERO), None] {
            stream.set_linger(linger).unwrap();
            assert_eq!(stream.linger().unwrap(), linger);
        }
        for nodelay in [true, false] {
            stream.set_nodelay(nodelay).unwrap();
            assert_eq!(stream.nodelay().unwrap(), nodelay);
        }
        // The accepted side inherits the listener's TTL.
        let (accepted, _) = listener.accept().await.unwrap();
        assert_eq!(accepted.ttl().unwrap(), 17);
    }));
}

#[test]
fn options_set_before_connect_stay_on_the_stream() {
    rt().block_on(with_deadline(TEST_LIMIT, "connect", async {
        let (listener, addr) = listening(false, localhost_v4());
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_nodelay(true).unwrap();
        socket.set_linger(Some(Duration::ZERO)).unwrap();
        let mut client = socket.connect(addr).await.unwrap();
        assert!(client.nodelay().unwrap());
        assert_eq!(client.linger().unwrap(), Some(Duration::ZERO));
        assert_eq!(client.peer_addr().unwrap(), addr);
        let (mut conn, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        client.write_all(b"over v4").await.unwrap();
        let mut got = [0; 7];
        conn.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"over v4");
    }));
}

#[test]
fn a_v6_socket_binds_listens_and_connects() {
    rt().block_on(with_deadline(TEST_LIMIT, "v6", async {
        let server = TcpSocket::new_v6().unwrap();
        server.bind((Ipv6Addr::LOCALHOST, 0).into()).unwrap();
        let addr = server.local_addr().unwrap();
        assert_eq!(addr.ip(), Ipv6Addr::LOCALHOST);
        assert_ne!(addr.port(), 0);
        let listener = server.listen(16).unwrap();
        assert_eq!(listener.local_addr().unwrap(), addr);
        let mut client = TcpSocket::new_v6().unwrap().connect(addr).await.unwrap();
        let (mut conn, _) = listener.accept().await.unwrap();
        conn.write_all(b"over v6").await.unwrap();
        drop(conn);
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"over v6");
    }));
}

#[test]
fn an_address_of_the_other_family_is_an_error() {
    let v4 = TcpSocket::new_v4().unwrap();
    assert!(v4.bind((Ipv6Addr::LOCALHOST, 0).into()).is_err());
    let v6 = TcpSocket::new_v6().unwrap();
    assert!(v6.bind(localhost_v4()).is_err());
}

#[test]
fn binding_a_port_in_use_fails_with_addr_in_use_unless_both_set_reuseport() {
    rt().block_on(async {
        // (first sets reuseport, second sets reuseport): only both together share the port.
        for (first, second) in [(false, false), (true, false), (false, true)] {
            let (_listener, addr) = listening(first, localhost_v4());
            let other = TcpSocket::new_v4().unwrap();
            other.set_reuseport(second).unwrap();
            // SO_REUSEADDR does not let a second socket onto a listening port either.
            other.set_reuseaddr(true).unwrap();
            let error = other.bind(addr).unwrap_err();
            assert_eq!(
                error.kind(),
                ErrorKind::AddrInUse,
                "reuseport {first}/{second}: {error}"
            );
        }
        let (_first, addr) = listening(true, localhost_v4());
        let (_second, second_addr) = listening(true, addr);
        assert_eq!(second_addr, addr);
    });
}

#[test]
fn two_reuseport_listeners_on_one_port_both_accept() {
    /// Connections in all. The kernel picks a listener by a hash of each connection's ports,
    /// so the chance that all of them land on one listener is 2^-63: never, in practice.
    const CONNECTIONS: usize = 64;
    rt().block_on(with_deadline(TEST_LIMIT, "reuseport", async {
        let (first, addr) = listening(true, localhost_v4());
        let (second, _) = listening(true, addr);
        let accepted = [Rc::new(Cell::new(0)), Rc::new(Cell::new(0))];
        for (listener, count) in [first, second].into_iter().zip(&accepted) {
            let count = count.clone();
            // Each accepted connection gets one byte, its listener's mark, and is closed.
            drop(evloop::spawn(async move {
                loop {
                    let (mut conn, _) = listener.accept().await.unwrap();
                    count.set(count.get() + 1);
                    conn.write_all(b"x").await.unwrap();
                }
            }));
        }
        for _ in 0..CONNECTIONS {
            let mut client = TcpStream::connect(addr).await.unwrap();
            let mut mark = [0; 1];
            // A reply means one of the two accepted the connection.
            client.read_exact(&mut mark).await.unwrap();
        }
        let counts = accepted.map(|count| count.get());
        assert_eq!(counts[0] + counts[1], CONNECTIONS, "{counts:?}");
        assert!(
            counts[0] > 0 && counts[1] > 0,
            "one listener got every connection: {counts:?}"
        );
    }));
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let addr = closed_port();
    rt().block_on(async {
        let outcome = with_deadline(
            TEST_LIMIT,
            "connect",
            TcpSocket::new_v4().unwrap().connect(addr),
        )
        .await;
        let error = outcome.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
    });
}

#[test]
fn listen_and_connect_outside_a_runtime_are_errors() {
    let error = TcpSocket::new_v4().unwrap().listen(16).unwrap_err();
    assert!(error.to_string().contains("runtime"), "{error}");
    // Outside a runtime there is nothing to poll the future with but a bare executor; the
    // error comes before the first wait.
    let (listener, addr) = {
        let listener = std::net::TcpListener::bind(localhost_v4()).unwrap();
        let addr = listener.local_addr().unwrap();
        (listener, addr)
    };
    let connect = TcpSocket::new_v4().unwrap().connect(addr);
    let error = poll_once(connect).expect("completes at once").unwrap_err();
    assert!(error.to_string().contains("runtime"), "{error}");
    drop(listener);
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

#[test]
fn an_unbound_socket_listens_on_a_port_the_kernel_picks() {
    rt().block_on(async {
        let socket = TcpSocket::new_v4().unwrap();
        let unbound = socket.local_addr().unwrap();
        assert_eq!(unbound.port(), 0);
        let listener = socket.listen(8).unwrap();
        assert_ne!(listener.local_addr().unwrap().port(), 0);
    });
}

#[test]
fn a_socket_survives_a_trip_through_a_raw_descriptor() {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseport(true).unwrap();
    let fd = socket.into_raw_fd();
    // SAFETY: `fd` was just released by `into_raw_fd`; nothing else owns it.
    let socket = unsafe { TcpSocket::from_raw_fd(fd) };
    assert!(socket.reuseport().unwrap());
}

/// `from_std_stream` accepts a blocking socket (std's sockets are); `connect` must make it
/// non-blocking, or the first read with nothing to read would block the runtime's thread.
#[test]
fn a_blocking_std_socket_is_made_non_blocking_by_connect() {
    let (done_tx, done_rx) = mpsc::channel();
    let (peer_tx, peer_rx) = mpsc::channel::<std::net::TcpStream>();
    let listener = std::net::TcpListener::bind(localhost_v4()).unwrap();
    let addr = listener.local_addr().unwrap();
    let runner = thread::spawn(move || {
        rt().block_on(async {
            let raw = TcpSocket::new_v4().unwrap().into_raw_fd();
            // SAFETY: `raw` was just released by `into_raw_fd`; the std stream owns it now.
            let std_socket = unsafe { std::net::TcpStream::from_raw_fd(raw) };
            std_socket.set_nonblocking(false).unwrap();
            let socket = TcpSocket::from_std_stream(std_socket);
            let mut stream = socket.connect(addr).await.unwrap();
            // The peer sent exactly 8 bytes: a read that fills its buffer keeps the socket
            // marked readable, so the next read makes the system call.
            let mut buf = [0; 8];
            stream.read_exact(&mut buf).await.unwrap();
            // Nothing more was sent: a non-blocking read returns `WouldBlock` and waits in the
            // reactor, where the timeout ends the wait. A blocking one blocks this thread
            // inside the system call.
            let read = evloop::time::timeout(Duration::from_millis(50), stream.read(&mut buf));
            done_tx.send(read.await.is_err()).unwrap();
        });
    });
    let (mut peer, _) = listener.accept().unwrap();
    std::io::Write::write_all(&mut peer, b"8 bytes!").unwrap();
    let outcome = done_rx.recv_timeout(TEST_LIMIT);
    // Either way, closing the peer ends a read that blocked, so the thread can be joined.
    peer_tx.send(peer).unwrap();
    drop(peer_rx);
    assert_eq!(
        outcome,
        Ok(true),
        "the read did not time out: the socket blocked"
    );
    runner.join().unwrap();
}

#[test]
fn peek_does_not_consume() {
    rt().block_on(with_deadline(TEST_LIMIT, "peek", async {
        let (listener, addr) = listening(false, localhost_v4());
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut conn, _) = listener.accept().await.unwrap();
        client.write_all(b"hello").await.unwrap();
        let mut peeked = [0; 5];
        let mut n = 0;
        // One 5-byte write on loopback arrives whole; the loop only guards against a split.
        while n < 5 {
            n = conn.peek(&mut peeked).await.unwrap();
        }
        assert_eq!(&peeked, b"hello");
        // Peeking again sees the same bytes: nothing was taken.
        let mut again = [0; 2];
        assert_eq!(conn.peek(&mut again).await.unwrap(), 2);
        assert_eq!(&again, b"he");
        assert_eq!(conn.peek(&mut []).await.unwrap(), 0);
        let mut read = [0; 5];
        conn.read_exact(&mut read).await.unwrap();
        assert_eq!(&read, b"hello");
    }));
}

/// Regression guard: a peek that returns fewer bytes than asked has not drained the receive
/// buffer (the bytes are still there). Counting it as a drain, as a short read is counted,
/// makes the next read wait for new data that never comes.
#[test]
fn a_short_peek_leaves_the_stream_readable() {
    rt().block_on(with_deadline(
        TEST_LIMIT,
        "read after a short peek",
        async {
            let (listener, addr) = listening(false, localhost_v4());
            let mut client = TcpStream::connect(addr).await.unwrap();
            let (mut conn, _) = listener.accept().await.unwrap();
            client.write_all(b"abc").await.unwrap();
            let mut big = [0; 64];
            let n = conn.peek(&mut big).await.unwrap();
            assert!(n > 0 && n < big.len());
            let mut read = [0; 3];
            conn.read_exact(&mut read).await.unwrap();
            assert_eq!(&read, b"abc");
        },
    ));
}

#[test]
fn peek_sees_end_of_stream() {
    rt().block_on(with_deadline(TEST_LIMIT, "peek at EOF", async {
        let (listener, addr) = listening(false, localhost_v4());
        let client = TcpStream::connect(addr).await.unwrap();
        let (conn, _) = listener.accept().await.unwrap();
        drop(client);
        let mut buf = [0; 4];
        assert_eq!(conn.peek(&mut buf).await.unwrap(), 0);
    }));
}

#[test]
fn a_socket_moves_to_another_thread_before_it_listens() {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(localhost_v4()).unwrap();
    let addr = socket.local_addr().unwrap();
    let listened = thread::spawn(move || -> io::Result<SocketAddr> {
        rt().block_on(async { socket.listen(4)?.local_addr() })
    })
    .join()
    .unwrap();
    assert_eq!(listened.unwrap(), addr);
}
